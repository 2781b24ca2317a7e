//! [`LnbitsWallet`]: the [`Wallet`] trait over LNbits' REST API.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};
use wallet_core::amount::{msat_to_sat_exact, reported_msat};
use wallet_core::backoff::Backoff;
use wallet_core::bolt11::CheckedPayment;
use wallet_core::pay::{Attempt, Dispatched, PaymentDriver, Payments, payment_status};
use wallet_core::{
    Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse, PaymentStatus,
    Preimage, Registry, Secret, Settings, StatusResponse, StreamCursor, Wallet, WalletError,
    WalletFeature, async_trait, hex,
};

use crate::api::{PaymentRecord, Side};
use crate::config::{CLASS_NAME, LnbitsConfig, SETTING_KEYS};
use crate::http::{Api, lnbits_error};
use crate::mapping;

/// LNbits as a funding source: a wallet on an LNbits server, reached with its admin or invoice
/// key.
///
/// Payments are idempotent per payment hash (this wallet's record of the hash is checked
/// first, and concurrent calls in this process are serialised). LNbits has no fee limit of its
/// own: it reserves the larger of 2 sat and 1 % for fees, so a payment whose `max_fee_msat` is
/// below that reserve is refused before sending. LNbits takes whole sats only: an invoice amount
/// that is not a multiple of 1000 msat is refused.
#[derive(Clone)]
pub struct LnbitsWallet {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: LnbitsConfig,
    pub(crate) api: Api,
    payments: Payments,
}

impl fmt::Debug for LnbitsWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LnbitsWallet")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl LnbitsWallet {
    /// A wallet with `config`. Nothing is sent until the first call.
    pub fn new(config: LnbitsConfig) -> Result<Self, WalletError> {
        let api = Api::new(config.endpoint.clone(), config.max_reply_bytes)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                api,
                payments: Payments::new(),
            }),
        })
    }

    /// A wallet from LNbits' settings (`LNBITS_ENDPOINT`, `LNBITS_ADMIN_KEY`, ...).
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        Self::new(LnbitsConfig::from_settings(settings)?)
    }

    /// Registers `LNbitsWallet` in `registry`.
    pub fn register(registry: &mut Registry) {
        registry.register(CLASS_NAME, SETTING_KEYS, |settings| {
            Ok(Box::new(LnbitsWallet::from_settings(settings)?))
        });
        registry.register_connection_type(
            crate::connection::CONNECTION_TYPE,
            CLASS_NAME,
            crate::connection::settings_from_connection,
        );
    }

    /// The configuration.
    pub fn config(&self) -> &LnbitsConfig {
        &self.inner.config
    }

    /// Creates an invoice, or a hold invoice for `hold_hash`, and checks LNbits' answer against
    /// the request.
    async fn create(
        &self,
        request: &InvoiceRequest,
        hold_hash: Option<PaymentHash>,
    ) -> Result<InvoiceResponse, WalletError> {
        let Some(amount_msat) = request.amount_msat else {
            // LNbits 1.6.2 refuses them: "Amountless invoices not supported."
            return Err(WalletError::Unsupported(WalletFeature::AmountlessInvoice));
        };
        // LNbits takes whole sats and would silently truncate a fraction.
        let amount_sat = msat_to_sat_exact(amount_msat, "amount_msat")?;
        let mut body = json!({
            "out": false,
            "amount": amount_sat,
            "unit": "sat",
            "memo": request.memo.as_deref().unwrap_or(""),
        });
        if let Some(expiry) = request.expiry {
            body["expiry"] = json!(expiry.as_secs());
        }
        if let Some(hash) = &request.description_hash {
            body["description_hash"] = json!(hash.to_hex());
        }
        if let Some(description) = &request.unhashed_description {
            body["unhashed_description"] = json!(hex::encode(description));
        }
        if let Some(hash) = &hold_hash {
            body["payment_hash"] = json!(hash.to_hex());
        }
        let created = self
            .inner
            .read(Method::POST, "/api/v1/payments", Some(&body))
            .await?;
        let record: PaymentRecord =
            serde_json::from_value(created).map_err(|_| invalid_answer("POST /api/v1/payments"))?;
        let payment_request = record
            .invoice()
            .ok_or_else(|| invalid_answer("POST /api/v1/payments"))?
            .to_owned();
        let record_hash = record
            .hash()
            .ok_or_else(|| invalid_answer("POST /api/v1/payments"))?;
        if hold_hash.is_some_and(|hash| hash != record_hash) {
            return Err(WalletError::backend(
                None,
                "LNbits returned a hold invoice for another payment hash than requested",
            ));
        }
        request.issued("LNbits", payment_request, Some(record_hash))
    }

    /// Settles or cancels a hold invoice: `path` with the admin key. LNbits answers with its
    /// funding source's `InvoiceResponse` serialised as a JSON array (`[ok, checking_id,
    /// payment_request, error_message, preimage, fee_msat]`), and with 520 when the node refused,
    /// e.g. an invoice with no payment held yet.
    async fn resolve_hold_invoice(&self, path: &str, body: &Value) -> Result<(), WalletError> {
        self.features().require(WalletFeature::HoldInvoice)?;
        let url = self.inner.api.url(path)?;
        let admin_key = self.admin_key()?;
        let reply = self
            .inner
            .api
            .call(
                Method::POST,
                url,
                Some(admin_key),
                Some(body),
                self.inner.config.request_timeout,
            )
            .await
            .map_err(|failure| {
                failure.into_error(|reply| match reply.status.as_u16() {
                    520 => WalletError::InvalidState(format!(
                        "LNbits' node refused: {}",
                        reply.detail()
                    )),
                    _ => crate::http::api_error(&reply),
                })
            })?;
        match mapping::hold_answer_ok(&reply.body) {
            Some(true) => Ok(()),
            Some(false) => Err(WalletError::InvalidState(format!(
                "LNbits' node refused: {}",
                mapping::hold_answer_error(&reply.body)
            ))),
            None => Err(invalid_answer(path)),
        }
    }

    fn admin_key(&self) -> Result<&Secret<String>, WalletError> {
        self.inner.config.admin_key.as_ref().ok_or_else(|| {
            WalletError::Unauthorized(
                "paying needs LNBITS_ADMIN_KEY; only an invoice key is set".into(),
            )
        })
    }
}

impl Inner {
    /// A request with the read key and the configured deadline; errors for anything but 2xx.
    pub(crate) async fn read(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WalletError> {
        let url = self.api.url(path)?;
        let reply = self
            .api
            .call(
                method,
                url,
                Some(self.config.read_key()),
                body,
                self.config.request_timeout,
            )
            .await
            .map_err(lnbits_error)?;
        Ok(reply.body)
    }

    pub(crate) async fn records(
        &self,
        payment_hash: &PaymentHash,
        side: Side,
    ) -> Result<Vec<PaymentRecord>, WalletError> {
        self.records_within(payment_hash, side, self.config.request_timeout)
            .await
    }

    async fn records_within(
        &self,
        payment_hash: &PaymentHash,
        side: Side,
        deadline: Duration,
    ) -> Result<Vec<PaymentRecord>, WalletError> {
        self.api
            .records(
                self.config.read_key(),
                payment_hash,
                side,
                deadline.min(self.config.request_timeout),
            )
            .await
    }

    /// Asks LNbits about `payment_hash` until its record is final or `deadline` is near. LNbits
    /// answers a payment still in flight at the node `pending` once its own wait
    /// (`LNBITS_FUNDING_SOURCE_PAY_INVOICE_WAIT_SECONDS`) is over, and updates the record only
    /// when a client asks it to re-check (`recheck_pending`); nobody tells the payer otherwise.
    /// The payment protocol then reads the records itself, so this only waits.
    async fn wait_until_final(&self, payment_hash: &PaymentHash, deadline: Instant) {
        let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
        for poll in 0..u32::MAX {
            let pause = backoff.delay(poll);
            if Instant::now() + pause >= deadline {
                return;
            }
            tokio::time::sleep(pause).await;
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(attempts) = self.attempts(payment_hash, left).await
                && payment_status(payment_hash, &attempts).is_final()
            {
                return;
            }
        }
    }

    /// This wallet's outgoing records of `payment_hash` as attempts.
    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        let records = self
            .records_within(payment_hash, Side::Outgoing, deadline)
            .await?;
        Ok(records.iter().map(mapping::attempt).collect())
    }
}

/// How the payment protocol reaches LNbits: this wallet's outgoing records for the attempts of
/// a hash, `POST /api/v1/payments` to dispatch.
struct Driver<'a> {
    wallet: &'a LnbitsWallet,
}

#[async_trait]
impl PaymentDriver for Driver<'_> {
    fn features(&self) -> Features {
        self.wallet.features()
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        self.wallet.inner.attempts(payment_hash, deadline).await
    }

    /// Paying needs the admin key; and LNbits has no fee limit of its own, so a payment whose
    /// `max_fee_msat` is below the reserve LNbits may spend is refused.
    async fn check(
        &self,
        _payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Duration,
    ) -> Result<(), WalletError> {
        self.wallet.admin_key()?;
        let reserve_msat = fee_reserve_msat(&self.wallet.inner, &request.bolt11, deadline).await?;
        if reserve_msat > request.max_fee_msat {
            return Err(WalletError::invalid(
                "max_fee_msat",
                format!(
                    "LNbits has no fee limit and lets this payment spend up to {reserve_msat} msat \
                     on fees; allow at least that"
                ),
            ));
        }
        Ok(())
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        let inner = &self.wallet.inner;
        let (url, admin_key) = match (inner.api.url("/api/v1/payments"), self.wallet.admin_key()) {
            (Ok(url), Ok(key)) => (url, key),
            (Err(err), _) | (_, Err(err)) => return Dispatched::NotSent(err),
        };
        let body = json!({ "out": true, "bolt11": request.bolt11.trim() });
        let left = deadline.saturating_duration_since(Instant::now());
        let hash = payment.invoice.payment_hash();
        let dispatched = match inner
            .api
            .call(Method::POST, url, Some(admin_key), Some(&body), left)
            .await
        {
            Ok(reply) => mapping::pay_reply(&hash, &reply),
            Err(failure) => failure.into_dispatched(|reply| mapping::pay_reply(&hash, &reply)),
        };
        if let Dispatched::Unanswered(reason) = &dispatched {
            tracing::debug!(%hash, %reason, "waiting for LNbits' record to become final");
            inner.wait_until_final(&hash, deadline).await;
        }
        dispatched
    }
}

fn invalid_answer(what: &str) -> WalletError {
    WalletError::backend(
        None,
        format!("LNbits answered {what} with an unexpected body"),
    )
}

#[async_trait]
impl Wallet for LnbitsWallet {
    fn features(&self) -> Features {
        let features = Features::NONE.with(WalletFeature::DescriptionHash);
        if self.inner.config.hold_invoices {
            features.with(WalletFeature::HoldInvoice)
        } else {
            features
        }
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "lnbits"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        let body = self.inner.read(Method::GET, "/api/v1/wallet", None).await?;
        let balance_msat = body["balance"]
            .as_i64()
            .ok_or_else(|| invalid_answer("GET /api/v1/wallet"))?;
        // A negative balance is an error, never a confident zero (contract rule 12).
        Ok(StatusResponse {
            balance_msat: reported_msat(balance_msat, "a wallet balance")?,
        })
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnbits", amount_msat = ?request.amount_msat), ret(level = "info"), err(Display))]
    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.validate()?;
        self.create(&request, None).await
    }

    #[tracing::instrument(
        level = "info",
        skip_all,
        fields(backend = "lnbits"),
        ret(level = "info"),
        err(Display)
    )]
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.inner
            .payments
            .pay(&Driver { wallet: self }, request)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnbits", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        let records = self.inner.records(checking_id, Side::Incoming).await?;
        mapping::incoming_status(checking_id, &records, wallet_core::time::unix_now_micros())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnbits", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let attempts = self
            .inner
            .attempts(checking_id, self.inner.config.request_timeout)
            .await?;
        Ok(payment_status(checking_id, &attempts))
    }

    /// A hold invoice through LNbits (`POST /api/v1/payments` with `payment_hash`). LNbits
    /// reports a payment waiting at it as `pending`, like an unpaid invoice: it has no held
    /// state, so [`InvoiceStatus::Held`] is never reported (see the crate docs).
    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnbits", payment_hash = %request.payment_hash), ret(level = "info"), err(Display))]
    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.features().require(WalletFeature::HoldInvoice)?;
        request.invoice.validate()?;
        self.create(&request.invoice, Some(request.payment_hash))
            .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnbits", payment_hash = %preimage.payment_hash()), err(Display))]
    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        let body = json!({ "preimage": preimage.to_hex() });
        // LNbits' validation errors quote the request, preimage included.
        self.resolve_hold_invoice("/api/v1/payments/settle", &body)
            .await
            .map_err(|err| err.redacted(&preimage.to_hex(), "<preimage>"))
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnbits", payment_hash = %payment_hash), err(Display))]
    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        let body = json!({ "payment_hash": payment_hash.to_hex() });
        self.resolve_hold_invoice("/api/v1/payments/cancel", &body)
            .await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "lnbits"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        crate::stream::now(&self.inner).await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnbits", resume_from = ?resume_from), err(Display))]
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        crate::stream::open(Arc::clone(&self.inner), resume_from).await
    }
}

async fn fee_reserve_msat(
    inner: &Inner,
    bolt11: &str,
    deadline: Duration,
) -> Result<u64, WalletError> {
    // The protocol decoded the invoice, so it is bech32: letters and digits, safe in a query.
    let path = format!("/api/v1/payments/fee-reserve?invoice={}", bolt11.trim());
    let url = inner.api.url(&path)?;
    let reply = inner
        .api
        .call(
            Method::GET,
            url,
            Some(inner.config.read_key()),
            None,
            deadline.min(inner.config.request_timeout),
        )
        .await
        .map_err(lnbits_error)?;
    reply.body["fee_reserve"]
        .as_u64()
        .ok_or_else(|| invalid_answer("GET /api/v1/payments/fee-reserve"))
}
