//! [`LnbitsWallet`]: the [`Wallet`] trait over LNbits' REST API.

use std::fmt;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use wallet_core::amount::msat_to_sat_exact;
use wallet_core::bolt11::{Bolt11, check_payable};
use wallet_core::pay_lock::PaymentLocks;
use wallet_core::{
    Features, InvoiceRequest, InvoiceResponse, InvoiceStatus, PaidInvoiceStream, PayError,
    PayInvoiceRequest, PaymentHash, PaymentResponse, PaymentStatus, Registry, Secret, Settings,
    StatusResponse, StreamCursor, Wallet, WalletError, WalletFeature, async_trait, hex,
};

use crate::api::{PaymentRecord, Side};
use crate::config::{CLASS_NAME, LnbitsConfig, SETTING_KEYS};
use crate::http::{Api, NoReply, api_error};
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
    locks: PaymentLocks,
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
        let api = Api::new(config.endpoint.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                api,
                locks: PaymentLocks::new(),
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
    }

    /// The configuration.
    pub fn config(&self) -> &LnbitsConfig {
        &self.inner.config
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
            .map_err(NoReply::into_error)?;
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(api_error(&reply))
        }
    }

    pub(crate) async fn records(
        &self,
        payment_hash: &PaymentHash,
        side: Side,
    ) -> Result<Vec<PaymentRecord>, WalletError> {
        self.api
            .records(
                self.config.read_key(),
                payment_hash,
                side,
                self.config.request_timeout,
            )
            .await
    }

    async fn payment_status(
        &self,
        payment_hash: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let records = self.records(payment_hash, Side::Outgoing).await?;
        Ok(mapping::outgoing_status(payment_hash, &records))
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
        Features::NONE.with(WalletFeature::DescriptionHash)
    }

    async fn status(&self) -> Result<StatusResponse, WalletError> {
        let body = self.inner.read(Method::GET, "/api/v1/wallet", None).await?;
        let balance_msat = body["balance"]
            .as_i64()
            .ok_or_else(|| invalid_answer("GET /api/v1/wallet"))?;
        Ok(StatusResponse {
            balance_msat: u64::try_from(balance_msat).unwrap_or(0),
        })
    }

    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.validate()?;
        let Some(amount_msat) = request.amount_msat else {
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
        let invoice = Bolt11::parse(&payment_request)?;
        if record.hash() != Some(invoice.payment_hash())
            || invoice.amount_msat() != Some(amount_msat)
        {
            return Err(WalletError::backend(
                None,
                "LNbits returned an invoice that does not match its own record or the request",
            ));
        }
        Ok(InvoiceResponse {
            checking_id: invoice.payment_hash(),
            expires_at: invoice.expires_at(),
            payment_request,
        })
    }

    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        let checked = check_payable(&request, None)?;
        if checked.amount_supplied {
            return Err(PayError::not_sent(WalletError::Unsupported(
                WalletFeature::AmountlessPayment,
            )));
        }
        let admin_key = self.admin_key().map_err(PayError::not_sent)?;
        let payment_hash = checked.invoice.payment_hash();
        let inner = &self.inner;
        let _one_at_a_time = inner.locks.lock(&payment_hash).await;

        // Never pay twice: report an earlier payment of this hash instead of sending again.
        let earlier = inner
            .payment_status(&payment_hash)
            .await
            .map_err(PayError::not_sent)?;
        if matches!(
            earlier,
            PaymentStatus::Succeeded { .. } | PaymentStatus::Pending
        ) {
            return Ok(PaymentResponse {
                checking_id: payment_hash,
                status: earlier,
            });
        }

        let reserve_msat = fee_reserve_msat(inner, &request.bolt11)
            .await
            .map_err(PayError::not_sent)?;
        if reserve_msat > request.max_fee_msat {
            return Err(PayError::not_sent(WalletError::invalid(
                "max_fee_msat",
                format!(
                    "LNbits has no fee limit and lets this payment spend up to {reserve_msat} msat \
                     on fees; allow at least that"
                ),
            )));
        }

        let url = inner
            .api
            .url("/api/v1/payments")
            .map_err(PayError::not_sent)?;
        let body = json!({ "out": true, "bolt11": request.bolt11.trim() });
        let status = match inner
            .api
            .call(
                Method::POST,
                url,
                Some(admin_key),
                Some(&body),
                request.timeout,
            )
            .await
        {
            Err(NoReply::NotSent(message)) => {
                return Err(PayError::not_sent(WalletError::Unavailable(message)));
            }
            Err(NoReply::Lost(_)) => PaymentStatus::Pending,
            Ok(reply) => mapping::pay_reply(&payment_hash, &reply)?,
        };
        // A pending answer may be stale already: ask once more, and keep Pending on any doubt.
        let status = if status == PaymentStatus::Pending {
            match inner.payment_status(&payment_hash).await {
                Ok(PaymentStatus::Unknown) | Err(_) => PaymentStatus::Pending,
                Ok(latest) => latest,
            }
        } else {
            status
        };
        Ok(PaymentResponse {
            checking_id: payment_hash,
            status,
        })
    }

    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        let records = self.inner.records(checking_id, Side::Incoming).await?;
        mapping::incoming_status(checking_id, &records)
    }

    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        self.inner.payment_status(checking_id).await
    }

    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        crate::stream::open(Arc::clone(&self.inner), resume_from).await
    }
}

async fn fee_reserve_msat(inner: &Inner, bolt11: &str) -> Result<u64, WalletError> {
    // `check_payable` decoded the invoice, so it is bech32: letters and digits, safe in a query.
    let path = format!("/api/v1/payments/fee-reserve?invoice={}", bolt11.trim());
    let body = inner.read(Method::GET, &path, None).await?;
    body["fee_reserve"]
        .as_u64()
        .ok_or_else(|| invalid_answer("GET /api/v1/payments/fee-reserve"))
}
