//! [`LndWallet`]: the [`Wallet`] trait over lnd's gRPC API.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lnd_grpc::invoicesrpc::{AddHoldInvoiceRequest, CancelInvoiceMsg, SettleInvoiceMsg};
use lnd_grpc::lnrpc;
use lnd_grpc::routerrpc::TrackPaymentRequest;
use tokio::sync::OnceCell;
use tonic::{Code, Status};
use wallet_core::amount::{MAX_MONEY_MSAT, sat_to_msat};
use wallet_core::bolt11::Currency;
use wallet_core::call::{call_repeatable_within, call_within};
use wallet_core::pay::{Payments, payment_status};
use wallet_core::untrusted::server_text;
use wallet_core::{
    ChannelInfo, Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    NodeInfo, PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse,
    PaymentStatus, PeerInfo, Preimage, Registry, Settings, StatusResponse, StreamCursor, Wallet,
    WalletError, async_trait,
};

use crate::client::{CallFailure, LndClients, classify, lnd_error, node_error};
use crate::config::{CLASS_NAME, LndConfig, SETTING_KEYS};
use crate::mapping;

/// The expiry this wallet asks for when the request gives none (lnd's own default is a day).
const DEFAULT_EXPIRY_SECS: i64 = 3_600;

/// lnd as a funding source, over gRPC with its certificate pinned and a macaroon.
///
/// Payments use `SendPaymentV2` with the caller's fee limit and timeout; whatever is not known
/// at the timeout is `Pending`. They are idempotent: `TrackPaymentV2` is asked first, an
/// `AlreadyExists` refusal is answered from it, and concurrent calls in this process are
/// serialised. Self-payments are refused, as lnd refuses them by default.
#[derive(Clone)]
pub struct LndWallet {
    inner: Arc<Inner>,
}

struct Inner {
    config: LndConfig,
    clients: LndClients,
    payments: Payments,
    network: OnceCell<Currency>,
}

impl fmt::Debug for LndWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LndWallet")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Runs one call within `deadline`, sorting its failure.
pub(crate) async fn call<T, F>(deadline: Duration, what: &str, call: F) -> Result<T, CallFailure>
where
    F: Future<Output = Result<tonic::Response<T>, Status>>,
{
    call_within(deadline, "lnd", what, async {
        call.await
            .map(tonic::Response::into_inner)
            .map_err(classify)
    })
    .await
}

/// Runs a call that is safe to send twice (see [`call_repeatable_within`]) within `deadline`:
/// `send` makes the request on a clone of `client`, once more if the transport failed.
pub(crate) async fn call_repeatable<C, T, F, Fut>(
    deadline: Duration,
    what: &str,
    client: &C,
    send: F,
) -> Result<T, CallFailure>
where
    C: Clone,
    F: Fn(C) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    call_repeatable_within(deadline, "lnd", what, || {
        let reply = send(client.clone());
        async move {
            reply
                .await
                .map(tonic::Response::into_inner)
                .map_err(classify)
        }
    })
    .await
}

fn lnd_network(name: &str) -> Option<Currency> {
    match name {
        "mainnet" => Some(Currency::Bitcoin),
        "testnet" | "testnet4" => Some(Currency::BitcoinTestnet),
        "regtest" => Some(Currency::Regtest),
        "signet" => Some(Currency::Signet),
        "simnet" => Some(Currency::Simnet),
        _ => None,
    }
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn hold_error(failure: CallFailure) -> WalletError {
    match failure {
        CallFailure::Node(status) if status.code() == Code::Unknown => {
            let message = status.message();
            if message.contains("unable to locate invoice") {
                WalletError::NotFound("invoice".into())
            } else if ["invoice still open", "already canceled", "already settled"]
                .iter()
                .any(|text| message.contains(text))
            {
                WalletError::InvalidState(server_text(message))
            } else {
                node_error(&status)
            }
        }
        other => lnd_error(other),
    }
}

impl LndWallet {
    /// A wallet with `config`. Nothing connects until the first call.
    pub fn new(config: LndConfig) -> Result<Self, WalletError> {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let clients = crate::client::clients(&config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                clients,
                payments: Payments::new(),
                network: OnceCell::new(),
            }),
        })
    }

    /// A wallet from LNbits' settings (`LND_GRPC_ENDPOINT`, `LND_GRPC_CERT`, ...).
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        Self::new(LndConfig::from_settings(settings)?)
    }

    /// Registers `LndWallet` in `registry`.
    pub fn register(registry: &mut Registry) {
        registry.register(CLASS_NAME, SETTING_KEYS, |settings| {
            Ok(Box::new(LndWallet::from_settings(settings)?))
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

    async fn get_info(&self, deadline: Duration) -> Result<lnrpc::GetInfoResponse, WalletError> {
        call_repeatable(
            deadline,
            "GetInfo",
            &self.inner.clients.lightning,
            |mut client| async move { client.get_info(lnrpc::GetInfoRequest {}).await },
        )
        .await
        .map_err(lnd_error)
    }

    /// The node's network, learned once from `GetInfo`; `None` if lnd does not say in time.
    pub(crate) async fn network(&self, deadline: Duration) -> Option<Currency> {
        self.inner
            .network
            .get_or_try_init(|| async {
                let info = self.get_info(deadline).await?;
                info.chains
                    .first()
                    .and_then(|chain| lnd_network(&chain.network))
                    .ok_or_else(|| WalletError::backend(None, "lnd reported no known network"))
            })
            .await
            .ok()
            .cloned()
    }

    /// The first update `TrackPaymentV2` gives: the payment's current state. `None` when lnd
    /// has no payment of this hash.
    pub(crate) async fn track(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Option<lnrpc::Payment>, CallFailure> {
        let started = tokio::time::Instant::now();
        let request = TrackPaymentRequest {
            payment_hash: payment_hash.as_bytes().to_vec(),
            no_inflight_updates: false,
        };
        let opened = call_repeatable(
            deadline,
            "TrackPaymentV2",
            &self.inner.clients.router,
            |mut router| {
                let request = request.clone();
                async move { router.track_payment_v2(request).await }
            },
        )
        .await;
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(CallFailure::Node(status)) if status.code() == Code::NotFound => return Ok(None),
            Err(failure) => return Err(failure),
        };
        let left = deadline.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.message()).await {
            Ok(Ok(Some(payment))) => Ok(Some(payment)),
            Ok(Ok(None)) => Err(CallFailure::Lost(
                "TrackPaymentV2 ended without an update".into(),
            )),
            Ok(Err(status)) if status.code() == Code::NotFound => Ok(None),
            Ok(Err(status)) => Err(classify(status)),
            Err(_) => Err(CallFailure::deadline("lnd", "TrackPaymentV2", deadline)),
        }
    }

    pub(crate) fn clients(&self) -> &LndClients {
        &self.inner.clients
    }
}

#[async_trait]
impl Wallet for LndWallet {
    fn features(&self) -> Features {
        Features::all()
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "lnd"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        let balance = call_repeatable(
            self.timeout(),
            "ChannelBalance",
            &self.inner.clients.lightning,
            |mut client| async move {
                client
                    .channel_balance(lnrpc::ChannelBalanceRequest {})
                    .await
            },
        )
        .await
        .map_err(lnd_error)?;
        let local = balance
            .local_balance
            .ok_or_else(|| WalletError::backend(None, "lnd sent no local_balance"))?;
        if local.msat > MAX_MONEY_MSAT {
            return Err(WalletError::backend(
                None,
                format!(
                    "lnd reported a balance of {} msat, past 21 million BTC",
                    local.msat
                ),
            ));
        }
        Ok(StatusResponse {
            balance_msat: local.msat,
        })
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnd", amount_msat = ?request.amount_msat), ret(level = "info"), err(Display))]
    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.validate()?;
        let invoice = lnrpc::Invoice {
            memo: request.memo.clone().unwrap_or_default(),
            value_msat: to_i64(request.amount_msat.unwrap_or(0)),
            description_hash: request
                .effective_description_hash()
                .map(|hash| hash.as_bytes().to_vec())
                .unwrap_or_default(),
            expiry: request
                .expiry
                .map_or(DEFAULT_EXPIRY_SECS, |expiry| to_i64(expiry.as_secs())),
            ..lnrpc::Invoice::default()
        };
        // A second copy is harmless: lnd makes a new preimage for it, and the first stays unpaid.
        let added = call_repeatable(
            self.timeout(),
            "AddInvoice",
            &self.inner.clients.lightning,
            |mut client| {
                let invoice = invoice.clone();
                async move { client.add_invoice(invoice).await }
            },
        )
        .await
        .map_err(lnd_error)?;
        let r_hash = PaymentHash::from_slice(&added.r_hash)
            .map_err(|_| WalletError::backend(None, "lnd returned an invoice without r_hash"))?;
        request.issued("lnd", added.payment_request, Some(r_hash))
    }

    #[tracing::instrument(
        level = "info",
        skip_all,
        fields(backend = "lnd"),
        ret(level = "info"),
        err(Display)
    )]
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.inner
            .payments
            .pay(&crate::pay::Driver { wallet: self }, request)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnd", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        let request = lnrpc::PaymentHash {
            r_hash: checking_id.as_bytes().to_vec(),
            ..lnrpc::PaymentHash::default()
        };
        let looked_up = call_repeatable(
            self.timeout(),
            "LookupInvoice",
            &self.inner.clients.lightning,
            |mut client| {
                let request = request.clone();
                async move { client.lookup_invoice(request).await }
            },
        )
        .await;
        match looked_up {
            Ok(invoice) => {
                mapping::invoice_status(checking_id, &invoice, wallet_core::time::unix_now())
            }
            Err(CallFailure::Node(status)) if status.code() == Code::NotFound => {
                Ok(InvoiceStatus::Unknown)
            }
            Err(failure) => Err(lnd_error(failure)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnd", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let payment = self
            .track(checking_id, self.timeout())
            .await
            .map_err(lnd_error)?;
        Ok(payment_status(
            checking_id,
            &payment.iter().map(mapping::attempt).collect::<Vec<_>>(),
        ))
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "lnd"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        let highest =
            crate::stream::highest_settle_index(&self.inner.clients.lightning, self.timeout())
                .await?;
        Ok(StreamCursor::from_index(highest))
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnd", resume_from = ?resume_from), err(Display))]
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        // Without a cursor, from "now": see `stream.rs` for why lnd needs it spelled out.
        let after = match resume_from {
            Some(cursor) => cursor,
            None => self.paid_invoices_cursor().await?,
        }
        .to_index()?;
        Ok(crate::stream::paid_invoices(&self.inner.clients, after, self.timeout()).await)
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnd", payment_hash = %request.payment_hash), ret(level = "info"), err(Display))]
    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.invoice.validate()?;
        let invoice = &request.invoice;
        let hold = AddHoldInvoiceRequest {
            memo: invoice.memo.clone().unwrap_or_default(),
            hash: request.payment_hash.as_bytes().to_vec(),
            value_msat: to_i64(invoice.amount_msat.unwrap_or(0)),
            description_hash: invoice
                .effective_description_hash()
                .map(|hash| hash.as_bytes().to_vec())
                .unwrap_or_default(),
            expiry: invoice
                .expiry
                .map_or(DEFAULT_EXPIRY_SECS, |expiry| to_i64(expiry.as_secs())),
            ..AddHoldInvoiceRequest::default()
        };
        let mut client = self.inner.clients.invoices.clone();
        let added = call(
            self.timeout(),
            "AddHoldInvoice",
            client.add_hold_invoice(hold),
        )
        .await
        .map_err(hold_error)?;
        request
            .invoice
            .issued("lnd", added.payment_request, Some(request.payment_hash))
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnd", payment_hash = %preimage.payment_hash()), err(Display))]
    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        let mut client = self.inner.clients.invoices.clone();
        let settle = SettleInvoiceMsg {
            preimage: preimage.as_bytes().to_vec(),
        };
        call(
            self.timeout(),
            "SettleInvoice",
            client.settle_invoice(settle),
        )
        .await
        .map(drop)
        .map_err(|failure| hold_error(failure).redacted(&preimage.to_hex(), "<preimage>"))
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "lnd", payment_hash = %payment_hash), err(Display))]
    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        let mut client = self.inner.clients.invoices.clone();
        let cancel = CancelInvoiceMsg {
            payment_hash: payment_hash.as_bytes().to_vec(),
        };
        call(
            self.timeout(),
            "CancelInvoice",
            client.cancel_invoice(cancel),
        )
        .await
        .map(drop)
        .map_err(hold_error)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnd"), err(Display))]
    async fn node_info(&self) -> Result<NodeInfo, WalletError> {
        let info = self.get_info(self.timeout()).await?;
        let balance = self.status().await?;
        Ok(NodeInfo {
            // Whatever lnd says is shown, so all of it is made safe to show (anyone can set an
            // alias; a proxy can say anything).
            pubkey: server_text(&info.identity_pubkey),
            alias: server_text(&info.alias),
            network: info
                .chains
                .first()
                .map(|chain| server_text(&chain.network))
                .unwrap_or_default(),
            block_height: info.block_height,
            num_peers: info.num_peers,
            num_active_channels: info.num_active_channels,
            channel_balance_msat: balance.balance_msat,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnd"), err(Display))]
    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, WalletError> {
        let channels = call_repeatable(
            self.timeout(),
            "ListChannels",
            &self.inner.clients.lightning,
            |mut client| async move {
                client
                    .list_channels(lnrpc::ListChannelsRequest::default())
                    .await
            },
        )
        .await
        .map_err(lnd_error)?;
        let msat = |sat: i64, what: &str| {
            u64::try_from(sat)
                .ok()
                .and_then(|sat| sat_to_msat(sat, "sat").ok())
                .ok_or_else(|| {
                    WalletError::backend(None, format!("lnd reported {what} of {sat} sat"))
                })
        };
        channels
            .channels
            .into_iter()
            .map(|channel| {
                Ok(ChannelInfo {
                    id: mapping::short_channel_id(channel.chan_id),
                    peer_pubkey: server_text(&channel.remote_pubkey),
                    capacity_msat: msat(channel.capacity, "a channel capacity")?,
                    local_balance_msat: msat(channel.local_balance, "a local balance")?,
                    remote_balance_msat: msat(channel.remote_balance, "a remote balance")?,
                    active: channel.active,
                })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "lnd"), err(Display))]
    async fn list_peers(&self) -> Result<Vec<PeerInfo>, WalletError> {
        let peers = call_repeatable(
            self.timeout(),
            "ListPeers",
            &self.inner.clients.lightning,
            |mut client| async move { client.list_peers(lnrpc::ListPeersRequest::default()).await },
        )
        .await
        .map_err(lnd_error)?;
        Ok(peers
            .peers
            .into_iter()
            .map(|peer| PeerInfo {
                pubkey: server_text(&peer.pub_key),
                address: (!peer.address.is_empty()).then(|| server_text(&peer.address)),
                connected: true,
            })
            .collect())
    }
}
