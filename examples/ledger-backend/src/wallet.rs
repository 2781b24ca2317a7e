//! [`LedgerWallet`]: the [`Wallet`] trait over the ledger's API.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;
use wallet_core::bolt11::{CheckedPayment, Currency};
use wallet_core::endpoint::require_tls;
use wallet_core::pay::{Attempt, Dispatched, PaymentDriver, Payments, payment_status};
use wallet_core::untrusted::server_text;
use wallet_core::{
    Features, InvoiceRequest, InvoiceResponse, InvoiceStatus, PaidInvoiceStream, PayError,
    PayInvoiceRequest, PaymentHash, PaymentResponse, PaymentStatus, StatusResponse, StreamCursor,
    Wallet, WalletError, WalletFeature,
};

use crate::LedgerConfig;
use crate::client::Api;
use crate::error::{ledger_error, refused_payment};
use crate::mapping::{
    self, Balance, Cursor, Info, InvoiceLookup, Issued, PayAnswer, PaymentLookup,
};

/// What the ledger offers: invoices without an amount or committing to a description hash, and
/// paying amountless invoices. It has no hold invoices and does not expose its node.
const FEATURES: Features = Features::NONE
    .with(WalletFeature::AmountlessInvoice)
    .with(WalletFeature::AmountlessPayment)
    .with(WalletFeature::DescriptionHash);

/// How long before the payment's deadline the ledger is asked to answer a payment still in
/// flight, so that its answer arrives, and is read, before the protocol gives up on it.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// A wallet on a custodial ledger, reached over its JSON API with an API key.
///
/// Payments go through wallet-core's payment protocol ([`Payments`]): the ledger's record of the
/// hash is read before anything is sent, concurrent calls in this process are serialised per
/// hash, and an answer lost or unreadable after a dispatch is `Pending` until the ledger's
/// records say otherwise. Every other call has the deadline of [`LedgerConfig::timeout`], and a
/// read whose transport failed is sent once more within it.
///
/// Clones share the connection pool and the payment locks.
#[derive(Clone)]
pub struct LedgerWallet {
    inner: Arc<Inner>,
}

struct Inner {
    config: LedgerConfig,
    api: Api,
    payments: Payments,
    /// The ledger's network, once read: it does not change.
    network: OnceLock<Currency>,
}

impl fmt::Debug for LedgerWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerWallet")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl LedgerWallet {
    /// A wallet with `config`. Nothing is sent until the first call. Plaintext `http://` is
    /// refused unless the host is loopback or onion, or `config` allows it (contract rule 10).
    pub fn new(config: LedgerConfig) -> Result<Self, WalletError> {
        let endpoint = &config.endpoint;
        require_tls(
            endpoint.scheme() == "https",
            endpoint.host_str().unwrap_or_default(),
            config.allow_plaintext,
            "endpoint",
            "allow_plaintext",
        )?;
        let api = Api::new(&config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                api,
                payments: Payments::new(),
                network: OnceLock::new(),
            }),
        })
    }

    /// The configuration this wallet was made with.
    pub fn config(&self) -> &LedgerConfig {
        &self.inner.config
    }
}

fn lookup_path(kind: &str, payment_hash: &PaymentHash) -> String {
    // Both lookups share `/v1/lookup/` and carry the hash as `payment_hash=`: one path prefix
    // for everything that reads a record by hash (see server.rs).
    format!("/v1/lookup/{kind}?payment_hash={}", payment_hash.to_hex())
}

impl Inner {
    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        let lookup: PaymentLookup = self
            .api
            .repeatable(
                "a payment lookup",
                Method::GET,
                &lookup_path("payment", payment_hash),
                None,
                deadline,
            )
            .await
            .map_err(ledger_error)?;
        Ok(lookup
            .payment
            .map(|record| mapping::attempts(&record))
            .unwrap_or_default())
    }

    async fn network(&self, deadline: Duration) -> Result<Currency, WalletError> {
        if let Some(network) = self.network.get() {
            return Ok(network.clone());
        }
        let info: Info = self
            .api
            .repeatable("info", Method::GET, "/v1/info", None, deadline)
            .await
            .map_err(ledger_error)?;
        let network: Currency = info.network.parse().map_err(|_| {
            WalletError::backend(
                None,
                format!(
                    "the ledger names a network this crate does not know: {}",
                    server_text(&info.network)
                ),
            )
        })?;
        Ok(self.network.get_or_init(|| network).clone())
    }

    async fn cursor(&self) -> Result<u64, WalletError> {
        let cursor: Cursor = self
            .api
            .repeatable(
                "the paid-invoice cursor",
                Method::GET,
                "/v1/paid/cursor",
                None,
                self.config.timeout,
            )
            .await
            .map_err(ledger_error)?;
        Ok(cursor.settle_index)
    }
}

/// How the payment protocol reaches the ledger: its record of the hash for the attempts,
/// `POST /v1/payments` to dispatch.
struct Driver<'a> {
    inner: &'a Inner,
}

#[async_trait]
impl PaymentDriver for Driver<'_> {
    fn features(&self) -> Features {
        FEATURES
    }

    async fn network(&self, deadline: Duration) -> Option<Currency> {
        self.inner.network(deadline).await.ok()
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        self.inner.attempts(payment_hash, deadline).await
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        let payment_hash = payment.invoice.payment_hash();
        let left = deadline.saturating_duration_since(Instant::now());
        let wait_ms =
            u64::try_from(left.saturating_sub(ANSWER_MARGIN).as_millis()).unwrap_or(u64::MAX);
        let body = json!({
            "bolt11": payment.invoice.to_string(),
            "amount_msat": payment.amount_msat,
            "max_fee_msat": request.max_fee_msat,
            "wait_ms": wait_ms,
        });
        match self
            .inner
            .api
            .once::<PayAnswer>("a payment", Method::POST, "/v1/payments", Some(&body), left)
            .await
        {
            // The payment as the ledger's node records it, read by the protocol's one rule.
            Ok(answer) => Dispatched::Answered(payment_status(
                &payment_hash,
                &mapping::attempts(&answer.payment),
            )),
            Err(failure) => failure.into_dispatched(refused_payment),
        }
    }
}

#[async_trait]
impl Wallet for LedgerWallet {
    fn features(&self) -> Features {
        FEATURES
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "ledger"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        let balance: Balance = self
            .inner
            .api
            .repeatable(
                "the balance",
                Method::GET,
                "/v1/balance",
                None,
                self.inner.config.timeout,
            )
            .await
            .map_err(ledger_error)?;
        Ok(StatusResponse {
            balance_msat: balance.balance_msat,
        })
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "ledger", amount_msat = ?request.amount_msat), ret(level = "info"), err(Display))]
    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.validate()?;
        // Features are data (contract rule 8): every option is checked against them, also those
        // this ledger happens to support.
        if request.amount_msat.is_none() {
            FEATURES.require(WalletFeature::AmountlessInvoice)?;
        }
        if request.description_hash.is_some() {
            FEATURES.require(WalletFeature::DescriptionHash)?;
        }
        let body = json!({
            "amount_msat": request.amount_msat,
            "memo": request.memo,
            "description_hash": request.effective_description_hash().map(|hash| hash.to_hex()),
            "expiry_secs": request.expiry.map(|expiry| expiry.as_secs()),
        });
        // A second unpaid invoice is harmless, so a lost request may be sent again.
        let issued: Issued = self
            .inner
            .api
            .repeatable(
                "a new invoice",
                Method::POST,
                "/v1/invoices",
                Some(&body),
                self.inner.config.timeout,
            )
            .await
            .map_err(ledger_error)?;
        let payment_hash = mapping::issued_hash(&issued)?;
        // Decoded and checked against the request before anyone sees it (contract rule 12).
        request.issued("the ledger", issued.bolt11, Some(payment_hash))
    }

    #[tracing::instrument(
        level = "info",
        skip_all,
        fields(backend = "ledger"),
        ret(level = "info"),
        err(Display)
    )]
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.inner
            .payments
            .pay(&Driver { inner: &self.inner }, request)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "ledger", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        let lookup: InvoiceLookup = self
            .inner
            .api
            .repeatable(
                "an invoice lookup",
                Method::GET,
                &lookup_path("invoice", checking_id),
                None,
                self.inner.config.timeout,
            )
            .await
            .map_err(ledger_error)?;
        mapping::invoice_status(checking_id, lookup.invoice.as_ref())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "ledger", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let attempts = self
            .inner
            .attempts(checking_id, self.inner.config.timeout)
            .await?;
        Ok(payment_status(checking_id, &attempts))
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "ledger"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        Ok(StreamCursor::from_index(self.inner.cursor().await?))
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "ledger", resume_from = ?resume_from), err(Display))]
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        // Without a cursor the stream starts at "now", read before this call returns, so that an
        // invoice paid right after it is delivered.
        let after = match resume_from {
            Some(cursor) => cursor.to_index()?,
            None => self.inner.cursor().await?,
        };
        crate::stream::paid_after(self.inner.api.clone(), self.inner.config.timeout, after).await
    }
}
