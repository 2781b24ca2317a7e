//! [`CoreLightningWallet`]: the [`Wallet`] trait over lightningd's JSON-RPC socket.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::OnceCell;
use wallet_core::amount::sum_msat;
use wallet_core::bolt11::Currency;
use wallet_core::pay::{Attempt, Payments, payment_status};
use wallet_core::untrusted::server_text;
use wallet_core::{
    ChannelInfo, Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    NodeInfo, PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse,
    PaymentStatus, PeerInfo, Preimage, Registry, Settings, StatusResponse, StreamCursor, Wallet,
    WalletError, WalletFeature, async_trait, hex,
};

use crate::config::{CLASS_NAME, ClnConfig, SETTING_KEYS};
use crate::mapping::{self, msat};
use crate::position::{HoldMark, Position};
use crate::rpc::{CallFailure, Rpc, cln_error};

/// The expiry this wallet asks for when the request gives none (lightningd's own default is a
/// week).
const DEFAULT_EXPIRY_SECS: u64 = 3_600;

/// Core Lightning as a funding source, over its `lightning-rpc` unix socket with cln-rpc.
///
/// Invoices get unique labels; a bare description hash is `Unsupported` (lightningd needs the
/// description itself, with `deschashonly`). Payments use `xpay` with the caller's fee limit and
/// timeout, and are idempotent: `listpays` is asked first, and concurrent calls in this process
/// are serialised. Every call has a connection of its own.
#[derive(Clone, Debug)]
pub struct CoreLightningWallet {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: ClnConfig,
    pub(crate) rpc: Rpc,
    payments: Payments,
    network: OnceCell<Currency>,
}

fn cln_network(name: &str) -> Option<Currency> {
    match name {
        "bitcoin" => Some(Currency::Bitcoin),
        "testnet" | "testnet4" => Some(Currency::BitcoinTestnet),
        "signet" => Some(Currency::Signet),
        "regtest" => Some(Currency::Regtest),
        _ => None,
    }
}

/// A label no other invoice has: time and randomness.
fn unique_label() -> Result<String, WalletError> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random)
        .map_err(|err| WalletError::backend(None, format!("no randomness: {err}")))?;
    Ok(format!(
        "lnwallet-{}-{}",
        wallet_core::time::unix_now_micros(),
        hex::encode(&random)
    ))
}

/// The list `field` of an answer; an answer without it is unreadable, never an empty list
/// (contract rule 12).
pub(crate) fn list<'a>(value: &'a Value, field: &str) -> Result<&'a [Value], WalletError> {
    value
        .get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| WalletError::backend(None, format!("lightningd answered without {field}")))
}

/// The record in `records` about `payment_hash`: contract rule 3, a record about another hash
/// says nothing about this one.
fn about<'a>(payment_hash: &PaymentHash, records: &'a [Value]) -> Option<&'a Value> {
    let hex = payment_hash.to_hex();
    records
        .iter()
        .find(|record| record.get("payment_hash").and_then(Value::as_str) == Some(hex.as_str()))
}

impl CoreLightningWallet {
    /// A wallet with `config`. Nothing connects until the first call.
    pub fn new(config: ClnConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                rpc: Rpc {
                    socket: config.socket.clone(),
                    max_reply_bytes: config.max_reply_bytes,
                },
                config,
                payments: Payments::new(),
                network: OnceCell::new(),
            }),
        }
    }

    /// A wallet from LNbits' settings (`CORELIGHTNING_RPC`, ...).
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        Ok(Self::new(ClnConfig::from_settings(settings)?))
    }

    /// Registers `CoreLightningWallet` in `registry`.
    pub fn register(registry: &mut Registry) {
        registry.register(CLASS_NAME, SETTING_KEYS, |settings| {
            Ok(Box::new(CoreLightningWallet::from_settings(settings)?))
        });
        registry.register_connection_type(
            crate::connection::CONNECTION_TYPE,
            CLASS_NAME,
            crate::connection::settings_from_connection,
        );
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.inner.config.timeout
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, WalletError> {
        self.inner
            .rpc
            .call(method, params, self.timeout())
            .await
            .map_err(cln_error)
    }

    /// The node's network, learned once from `getinfo`; `None` if lightningd does not say in
    /// time.
    pub(crate) async fn network(&self, deadline: Duration) -> Option<Currency> {
        self.inner
            .network
            .get_or_try_init(|| async {
                let info = self
                    .inner
                    .rpc
                    .call("getinfo", json!({}), deadline.min(self.timeout()))
                    .await
                    .map_err(cln_error)?;
                info.get("network")
                    .and_then(Value::as_str)
                    .and_then(cln_network)
                    .ok_or_else(|| {
                        WalletError::backend(None, "lightningd reported no known network")
                    })
            })
            .await
            .ok()
            .cloned()
    }

    /// Every attempt lightningd records for `payment_hash` (`listpays`), within `deadline`.
    pub(crate) async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, CallFailure> {
        let pays = self
            .inner
            .rpc
            .call(
                "listpays",
                json!({"payment_hash": payment_hash.to_hex()}),
                deadline.min(self.timeout()),
            )
            .await?;
        // Contract rule 12: an answer without its list is unreadable, not "no attempts".
        let entries = pays.get("pays").and_then(Value::as_array).ok_or_else(|| {
            CallFailure::Lost("lightningd answered listpays without a pays list".into())
        })?;
        Ok(crate::pay::attempts(entries))
    }

    async fn hold_invoice(&self, payment_hash: &PaymentHash) -> Result<Option<Value>, WalletError> {
        let holds = self
            .call(
                "listholdinvoices",
                json!({"payment_hash": payment_hash.to_hex()}),
            )
            .await?;
        Ok(about(payment_hash, list(&holds, "holdinvoices")?).cloned())
    }

    fn require_hold(&self) -> Result<(), WalletError> {
        self.features().require(WalletFeature::HoldInvoice)
    }

    /// After the plugin refused to settle or cancel, says why in wallet-core's terms.
    async fn hold_refusal(
        &self,
        payment_hash: &PaymentHash,
        failure: CallFailure,
        settling: bool,
    ) -> WalletError {
        let CallFailure::Node(_) = &failure else {
            return cln_error(failure);
        };
        // The state explains the refusal; the plugin's own words stay in the message.
        let said = cln_error(failure);
        let because = |state: &str| format!("{state} (the hold plugin answered: {said})");
        match self.hold_invoice(payment_hash).await {
            Ok(None) => WalletError::NotFound(because("hold invoice")),
            Ok(Some(hold)) => match hold.get("state").and_then(Value::as_str) {
                Some("unpaid") if settling => {
                    WalletError::InvalidState(because("invoice still open"))
                }
                Some("cancelled") if settling => {
                    WalletError::InvalidState(because("invoice already canceled"))
                }
                Some("paid") if !settling => {
                    WalletError::InvalidState(because("invoice already settled"))
                }
                _ => said,
            },
            Err(err) => err,
        }
    }
}

#[async_trait]
impl Wallet for CoreLightningWallet {
    fn features(&self) -> Features {
        let features = Features::all().without(WalletFeature::DescriptionHash);
        if self.inner.config.hold_invoices {
            features
        } else {
            features.without(WalletFeature::HoldInvoice)
        }
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "cln"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        let funds = self.call("listfunds", json!({})).await?;
        let channels = list(&funds, "channels")?;
        // Only channels that can send count: the balance must be spendable. An amount that cannot
        // be read is an error, never a channel left out (contract rule 12).
        let mut amounts = Vec::new();
        for channel in channels {
            let state = channel
                .get("state")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    WalletError::backend(None, "listfunds: a channel's state is unreadable")
                })?;
            if state != "CHANNELD_NORMAL" {
                continue;
            }
            amounts.push(
                channel
                    .get("our_amount_msat")
                    .and_then(msat)
                    .ok_or_else(|| {
                        WalletError::backend(
                            None,
                            "listfunds: a channel's our_amount_msat is unreadable",
                        )
                    })?,
            );
        }
        let balance_msat = sum_msat(amounts, "channel balances")?;
        Ok(StatusResponse { balance_msat })
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "cln", amount_msat = ?request.amount_msat), ret(level = "info"), err(Display))]
    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.validate()?;
        if request.description_hash.is_some() {
            return Err(WalletError::Unsupported(WalletFeature::DescriptionHash));
        }
        let (description, hash_only) = match &request.unhashed_description {
            Some(bytes) => (
                String::from_utf8(bytes.clone()).map_err(|_| {
                    WalletError::invalid("unhashed_description", "must be UTF-8 for Core Lightning")
                })?,
                true,
            ),
            None => (request.memo.clone().unwrap_or_default(), false),
        };
        let mut params = json!({
            "amount_msat": request.amount_msat.map_or_else(|| json!("any"), |amount| json!(amount)),
            "label": unique_label()?,
            "description": description,
            "expiry": request.expiry.map_or(DEFAULT_EXPIRY_SECS, |expiry| expiry.as_secs()),
        });
        if hash_only {
            params["deschashonly"] = json!(true);
        }
        let created = self.call("invoice", params).await?;
        let bolt11 = created
            .get("bolt11")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                WalletError::backend(None, "lightningd's invoice answer has no bolt11")
            })?;
        let payment_hash = created
            .get("payment_hash")
            .and_then(Value::as_str)
            .and_then(|hex| PaymentHash::from_hex(hex).ok())
            .ok_or_else(|| {
                WalletError::backend(None, "lightningd's invoice answer has no payment_hash")
            })?;
        request.issued("lightningd", bolt11.to_owned(), Some(payment_hash))
    }

    #[tracing::instrument(
        level = "info",
        skip_all,
        fields(backend = "cln"),
        ret(level = "info"),
        err(Display)
    )]
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.inner
            .payments
            .pay(&crate::pay::Driver { wallet: self }, request)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "cln", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        let invoices = self
            .call(
                "listinvoices",
                json!({"payment_hash": checking_id.to_hex()}),
            )
            .await?;
        let invoices = list(&invoices, "invoices")?;
        if let Some(invoice) = about(checking_id, invoices) {
            return mapping::invoice_status(checking_id, invoice);
        }
        // Asked for one hash, a record whose hash does not read may be about it: no proof that
        // the node has no such invoice (contract rule 12).
        if invoices.iter().any(|invoice| {
            invoice
                .get("payment_hash")
                .and_then(Value::as_str)
                .and_then(|hex| PaymentHash::from_hex(hex).ok())
                .is_none()
        }) {
            return Err(WalletError::backend(
                None,
                "listinvoices answered with an invoice whose payment_hash is unreadable",
            ));
        }
        if self.inner.config.hold_invoices
            && let Some(hold) = self.hold_invoice(checking_id).await?
        {
            return mapping::hold_status(checking_id, &hold);
        }
        Ok(InvoiceStatus::Unknown)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "cln", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let attempts = self
            .attempts(checking_id, self.timeout())
            .await
            .map_err(cln_error)?;
        Ok(payment_status(checking_id, &attempts))
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "cln"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        let pay_index = crate::stream::highest_pay_index(&self.inner.rpc, self.timeout()).await?;
        let holds = if self.inner.config.hold_invoices {
            let listed = self.call("listholdinvoices", json!({})).await?;
            // Ids and states only: what was paid before now is not read, only marked passed.
            let holds: Vec<_> = crate::stream::hold_entries(&listed)?
                .into_iter()
                .map(|(entry, _)| entry)
                .collect();
            Some(HoldMark::now(&holds)?)
        } else {
            None
        };
        Ok(Position { pay_index, holds }.cursor())
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "cln", resume_from = ?resume_from), err(Display))]
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        let after = match resume_from {
            Some(cursor) => cursor,
            None => self.paid_invoices_cursor().await?,
        };
        crate::stream::paid_invoices(
            &self.inner.rpc,
            Position::parse(&after)?,
            self.inner.config.hold_invoices,
            self.timeout(),
        )
        .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "cln", payment_hash = %request.payment_hash), ret(level = "info"), err(Display))]
    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.require_hold()?;
        request.invoice.validate()?;
        // The plugin takes the hash, the amount, a description and an expiry; no amountless hold
        // invoices.
        let amount_msat = request
            .invoice
            .amount_msat
            .ok_or(WalletError::Unsupported(WalletFeature::AmountlessInvoice))?;
        let mut params =
            json!({"payment_hash": request.payment_hash.to_hex(), "amount": amount_msat});
        if let Some(memo) = &request.invoice.memo {
            params["description"] = json!(memo);
        }
        if let Some(expiry) = request.invoice.expiry {
            params["expiry"] = json!(expiry.as_secs());
        }
        let created = self.call("holdinvoice", params).await?;
        let bolt11 = created
            .get("bolt11")
            .and_then(Value::as_str)
            .ok_or_else(|| WalletError::backend(None, "the hold plugin's answer has no bolt11"))?;
        request.invoice.issued(
            "the hold plugin",
            bolt11.to_owned(),
            Some(request.payment_hash),
        )
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "cln", payment_hash = %preimage.payment_hash()), err(Display))]
    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        self.require_hold()?;
        let settle = self
            .inner
            .rpc
            .call(
                "settleholdinvoice",
                json!({"preimage": preimage.to_hex()}),
                self.timeout(),
            )
            .await;
        match settle {
            Ok(_) => Ok(()),
            // The plugin's error may quote the preimage of a payment still held: redacted whole
            // before the text is cut to show, then once more in what the refusal adds.
            Err(failure) => {
                let hex = preimage.to_hex();
                let failure = match failure {
                    CallFailure::Node(error) => {
                        CallFailure::Node(error.redacted(&hex, "<preimage>"))
                    }
                    other => other,
                };
                Err(self
                    .hold_refusal(&preimage.payment_hash(), failure, true)
                    .await
                    .redacted(&hex, "<preimage>"))
            }
        }
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "cln", payment_hash = %payment_hash), err(Display))]
    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        self.require_hold()?;
        let cancel = self
            .inner
            .rpc
            .call(
                "cancelholdinvoice",
                json!({"payment_hash": payment_hash.to_hex()}),
                self.timeout(),
            )
            .await;
        match cancel {
            Ok(_) => Ok(()),
            Err(failure) => match self.hold_refusal(payment_hash, failure, false).await {
                // Cancelling twice is fine, as in lnd.
                WalletError::Backend { .. }
                    if self
                        .hold_invoice(payment_hash)
                        .await
                        .ok()
                        .flatten()
                        .is_some_and(|hold| {
                            hold.get("state").and_then(Value::as_str) == Some("cancelled")
                        }) =>
                {
                    Ok(())
                }
                other => Err(other),
            },
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "cln"), err(Display))]
    async fn node_info(&self) -> Result<NodeInfo, WalletError> {
        let info = self.call("getinfo", json!({})).await?;
        let balance = self.status().await?;
        let number = |field: &str| {
            info.get(field)
                .and_then(Value::as_u64)
                .and_then(|value| u32::try_from(value).ok())
                .unwrap_or(0)
        };
        Ok(NodeInfo {
            // Whatever lightningd says is shown, so all of it is made safe to show (anyone can
            // set an alias; a proxy or plugin can say anything).
            pubkey: server_text(info.get("id").and_then(Value::as_str).unwrap_or_default()),
            alias: server_text(
                info.get("alias")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            network: server_text(
                info.get("network")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            block_height: number("blockheight"),
            num_peers: number("num_peers"),
            num_active_channels: number("num_active_channels"),
            channel_balance_msat: balance.balance_msat,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "cln"), err(Display))]
    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, WalletError> {
        let channels = self.call("listpeerchannels", json!({})).await?;
        list(&channels, "channels")?
            .iter()
            .map(|channel| {
                let text = |field: &str| {
                    server_text(
                        channel
                            .get(field)
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    )
                };
                let unreadable = || {
                    WalletError::backend(
                        None,
                        "listpeerchannels: a channel's total_msat or to_us_msat is unreadable",
                    )
                };
                let total = channel
                    .get("total_msat")
                    .and_then(msat)
                    .ok_or_else(unreadable)?;
                let ours = channel
                    .get("to_us_msat")
                    .and_then(msat)
                    .ok_or_else(unreadable)?;
                let theirs = total.checked_sub(ours).ok_or_else(unreadable)?;
                let id = channel
                    .get("short_channel_id")
                    .and_then(Value::as_str)
                    .map_or_else(|| text("channel_id"), server_text);
                Ok(ChannelInfo {
                    id,
                    peer_pubkey: text("peer_id"),
                    capacity_msat: total,
                    local_balance_msat: ours,
                    remote_balance_msat: theirs,
                    active: channel.get("state").and_then(Value::as_str) == Some("CHANNELD_NORMAL")
                        && channel
                            .get("peer_connected")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "cln"), err(Display))]
    async fn list_peers(&self) -> Result<Vec<PeerInfo>, WalletError> {
        let peers = self.call("listpeers", json!({})).await?;
        Ok(list(&peers, "peers")?
            .iter()
            .map(|peer| PeerInfo {
                pubkey: server_text(peer.get("id").and_then(Value::as_str).unwrap_or_default()),
                // lightningd leaves netaddr out for a peer it has no address of.
                address: peer
                    .get("netaddr")
                    .and_then(Value::as_array)
                    .and_then(|addresses| addresses.first())
                    .and_then(Value::as_str)
                    .map(server_text),
                connected: peer
                    .get("connected")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
            .collect())
    }
}
