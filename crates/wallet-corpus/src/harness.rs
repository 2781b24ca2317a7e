//! The backends' fuzz targets' bodies: any bytes become one answer of a scripted node to one call
//! of the public [`Wallet`], so that each backend's own readers and state mappings (private to
//! it) meet what the fuzzer makes. A [`Bed`] starts the node once per process; each input takes
//! one loopback round trip.
//!
//! Input layout: the first byte picks the call ([`OPS`]), the rest is the answer (the JSON
//! `result` for lightningd, the protobuf message for lnd, for LNbits a status byte and the
//! body). Every outcome is held to the contract: no panic, no hang past the call's deadline, a
//! paid invoice or a succeeded payment only with a preimage of the hash asked about, `Failed`
//! only from an answer that names that hash, amounts that exist, and server text without control
//! characters.

// A harness exists to panic when the contract breaks: that is how libFuzzer and the replay
// tests see it.
#![allow(clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cln_sim::{ClnSimulator, ScriptedAnswer};
use lnd_sim::{LndSimulator, ScriptedReply, SimOptions};
use tokio::net::TcpListener;
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_conformance::fixtures::TempDir;
use wallet_core::amount::MAX_MONEY_MSAT;
use wallet_core::{
    InvoiceRequest, InvoiceStatus, PaymentHash, PaymentStatus, Preimage, Wallet, WalletError,
};
use wallet_fake::{FakeNetwork, NodeConfig};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};
use wallet_lnd::{LndConfig, LndWallet};

/// The calls an input can pick, by its first byte (modulo their number).
pub const OPS: [Op; 8] = [
    Op::InvoiceStatus,
    Op::PaymentStatus,
    Op::Status,
    Op::CreateInvoice,
    Op::Cursor,
    Op::NodeInfo,
    Op::ListChannels,
    Op::ListPeers,
];

/// A call of the [`Wallet`] trait whose first request gets the fuzzed answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `get_invoice_status` of [`asked_hash`].
    InvoiceStatus,
    /// `get_payment_status` of [`asked_hash`].
    PaymentStatus,
    /// `status`.
    Status,
    /// `create_invoice` of 21 000 msat.
    CreateInvoice,
    /// `paid_invoices_cursor`.
    Cursor,
    /// `node_info`.
    NodeInfo,
    /// `list_channels`.
    ListChannels,
    /// `list_peers`.
    ListPeers,
}

/// The preimage whose hash every status call asks about; seeds carry the hash so that the
/// fuzzer mutates records about it.
pub const ASKED_PREIMAGE: [u8; 32] = [7; 32];

/// The hash every status call asks about.
pub fn asked_hash() -> PaymentHash {
    Preimage::from_bytes(ASKED_PREIMAGE).payment_hash()
}

/// Each call's deadline: short, since a fuzzed answer that makes the client wait costs this.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Past this, a call hangs: every call has [`CALL_TIMEOUT`], and a few calls make a few requests.
const HANG: Duration = Duration::from_secs(10);

/// The amount [`Op::CreateInvoice`] asks for.
const INVOICE_MSAT: u64 = 21_000;

/// Which backend a bed runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `CoreLightningWallet` against cln-sim.
    Cln,
    /// `LndWallet` against lnd-sim.
    Lnd,
    /// `LnbitsWallet` against a scripted HTTP server.
    Lnbits,
}

/// Every backend harness, by the name of its fuzz target and corpus folder.
pub const TARGETS: &[(&str, Backend)] = &[
    ("cln_answer", Backend::Cln),
    ("lnd_reply", Backend::Lnd),
    ("lnbits_answer", Backend::Lnbits),
];

enum Node {
    Cln(ClnSimulator),
    Lnd(Box<LndSimulator>),
    Lnbits(Arc<ScriptedHttp>),
}

/// A node of one backend and a wallet connected to it, started once.
pub struct Bed {
    runtime: tokio::runtime::Runtime,
    node: Node,
    wallet: Arc<dyn Wallet>,
    // Kept for the node's files; removed when the bed is dropped.
    _dir: TempDir,
}

impl Bed {
    /// Starts `backend`'s node on loopback and connects a wallet to it.
    pub fn start(backend: Backend) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?;
        let dir = TempDir::new("wallet-fuzz").map_err(|err| err.to_string())?;
        let (node, wallet) = runtime.block_on(start(backend, &dir))?;
        Ok(Self {
            runtime,
            node,
            wallet,
            _dir: dir,
        })
    }

    /// Runs one input; panics where the contract breaks. Returns what the call gave (`None`
    /// for an input that cannot be an answer), for tests that check where seeds lead.
    pub fn run(&self, data: &[u8]) -> Option<String> {
        let (&pick, answer) = data.split_first()?;
        let op = OPS[usize::from(pick) % OPS.len()];
        if !self.script(op, answer) {
            return None;
        }
        self.runtime.block_on(async {
            let outcome = tokio::time::timeout(HANG, call(self.wallet.as_ref(), op)).await;
            self.clear();
            match outcome {
                Ok(outcome) => {
                    check(op, &outcome, answer);
                    Some(format!("{outcome:?}"))
                }
                Err(_) => panic!("{op:?} did not end within {HANG:?}"),
            }
        })
    }

    /// Queues `answer` for `op`'s first request; `false` when it cannot be one.
    fn script(&self, op: Op, answer: &[u8]) -> bool {
        match &self.node {
            Node::Cln(simulator) => {
                let Ok(result) = serde_json::from_slice(answer) else {
                    return false;
                };
                simulator.script_next(cln_method(op), ScriptedAnswer::Result(result));
            }
            Node::Lnd(simulator) => {
                simulator.script_next(lnd_path(op), ScriptedReply::Message(answer.to_vec()));
            }
            Node::Lnbits(server) => {
                let Some((&status, body)) = answer.split_first() else {
                    return false;
                };
                server.push(lnbits_answer(status, body));
            }
        }
        true
    }

    fn clear(&self) {
        match &self.node {
            Node::Cln(simulator) => simulator.clear_scripted(),
            Node::Lnd(simulator) => simulator.clear_scripted(),
            Node::Lnbits(server) => server.clear(),
        }
    }
}

async fn start(backend: Backend, dir: &TempDir) -> Result<(Node, Arc<dyn Wallet>), String> {
    let network = FakeNetwork::new();
    let node = network
        .add_node(NodeConfig::new("fuzzed"))
        .map_err(|err| err.to_string())?;
    Ok(match backend {
        Backend::Cln => {
            let simulator = ClnSimulator::start(node, dir.path().to_path_buf())
                .await
                .map_err(|err| err.to_string())?;
            let mut config = ClnConfig::new(simulator.socket_path());
            config.timeout = CALL_TIMEOUT;
            (
                Node::Cln(simulator),
                Arc::new(CoreLightningWallet::new(config)),
            )
        }
        Backend::Lnd => {
            let simulator = LndSimulator::start(node, SimOptions::in_dir(dir.path().to_path_buf()))
                .await
                .map_err(|err| err.to_string())?;
            let mut config =
                LndConfig::from_settings(&simulator.settings()).map_err(|err| err.to_string())?;
            config.timeout = CALL_TIMEOUT;
            let wallet = LndWallet::new(config).map_err(|err| err.to_string())?;
            (Node::Lnd(Box::new(simulator)), Arc::new(wallet))
        }
        Backend::Lnbits => {
            let server = ScriptedHttp::start().await?;
            let mut config = LnbitsConfig::new(
                &format!("http://{}", server.address),
                Some("fuzz-admin-key".into()),
                Some("fuzz-invoice-key".into()),
            )
            .map_err(|err| err.to_string())?;
            config.request_timeout = CALL_TIMEOUT;
            let wallet = LnbitsWallet::new(config).map_err(|err| err.to_string())?;
            (Node::Lnbits(server), Arc::new(wallet))
        }
    })
}

fn cln_method(op: Op) -> &'static str {
    match op {
        Op::InvoiceStatus | Op::Cursor => "listinvoices",
        Op::PaymentStatus => "listpays",
        Op::Status => "listfunds",
        Op::CreateInvoice => "invoice",
        Op::NodeInfo => "getinfo",
        Op::ListChannels => "listpeerchannels",
        Op::ListPeers => "listpeers",
    }
}

fn lnd_path(op: Op) -> &'static str {
    match op {
        Op::InvoiceStatus => "/lnrpc.Lightning/LookupInvoice",
        Op::PaymentStatus => "/routerrpc.Router/TrackPaymentV2",
        Op::Status => "/lnrpc.Lightning/ChannelBalance",
        Op::CreateInvoice => "/lnrpc.Lightning/AddInvoice",
        Op::Cursor => "/lnrpc.Lightning/ListInvoices",
        Op::NodeInfo => "/lnrpc.Lightning/GetInfo",
        Op::ListChannels => "/lnrpc.Lightning/ListChannels",
        Op::ListPeers => "/lnrpc.Lightning/ListPeers",
    }
}

/// The statuses an LNbits answer can have, by the status byte.
const LNBITS_STATUSES: [&str; 6] = [
    "200 OK",
    "201 Created",
    "400 Bad Request",
    "404 Not Found",
    "500 Internal Server Error",
    "520 Unknown",
];

fn lnbits_answer(status: u8, body: &[u8]) -> Vec<u8> {
    let status = LNBITS_STATUSES[usize::from(status) % LNBITS_STATUSES.len()];
    hostile_input::http::answer(status, "", body)
}

/// What a call gave, reduced to what the contract speaks about.
#[derive(Debug)]
enum Outcome {
    Invoice(InvoiceStatus),
    Payment(PaymentStatus),
    Amounts(Vec<u64>),
    Issued {
        payment_request: String,
        checking_id: PaymentHash,
    },
    Texts(Vec<String>),
    Cursor,
    Error(WalletError),
}

async fn call(wallet: &dyn Wallet, op: Op) -> Outcome {
    let hash = asked_hash();
    let outcome = match op {
        Op::InvoiceStatus => wallet.get_invoice_status(&hash).await.map(Outcome::Invoice),
        Op::PaymentStatus => wallet.get_payment_status(&hash).await.map(Outcome::Payment),
        Op::Status => wallet
            .status()
            .await
            .map(|status| Outcome::Amounts(vec![status.balance_msat])),
        Op::CreateInvoice => wallet
            .create_invoice(InvoiceRequest::new(INVOICE_MSAT).memo("fuzz"))
            .await
            .map(|issued| Outcome::Issued {
                payment_request: issued.payment_request,
                checking_id: issued.checking_id,
            }),
        Op::Cursor => wallet.paid_invoices_cursor().await.map(|_| Outcome::Cursor),
        Op::NodeInfo => wallet
            .node_info()
            .await
            .map(|info| Outcome::Texts(vec![info.pubkey, info.alias, info.network])),
        Op::ListChannels => wallet.list_channels().await.map(|channels| {
            let mut amounts = Vec::new();
            for channel in channels {
                amounts.extend([
                    channel.capacity_msat,
                    channel.local_balance_msat,
                    channel.remote_balance_msat,
                ]);
                check_texts(&[channel.id, channel.peer_pubkey]);
            }
            Outcome::Amounts(amounts)
        }),
        Op::ListPeers => wallet.list_peers().await.map(|peers| {
            Outcome::Texts(
                peers
                    .into_iter()
                    .flat_map(|peer| [Some(peer.pubkey), peer.address])
                    .flatten()
                    .collect(),
            )
        }),
    };
    outcome.unwrap_or_else(Outcome::Error)
}

/// Whether `answer` names `hash`: as hex in either case, or as its bytes.
fn names_hash(answer: &[u8], hash: &PaymentHash) -> bool {
    let text = String::from_utf8_lossy(answer).to_lowercase();
    text.contains(&hash.to_hex())
        || answer
            .windows(32)
            .any(|window| window == hash.as_bytes().as_slice())
}

fn check_texts(texts: &[String]) {
    for text in texts {
        assert!(
            !text.chars().any(char::is_control),
            "server text with control characters: {text:?}"
        );
    }
}

fn check(op: Op, outcome: &Outcome, answer: &[u8]) {
    let hash = asked_hash();
    match outcome {
        Outcome::Invoice(status) => assert!(
            hostile_input::invoice_claim_holds(status, &hash),
            "{op:?}: {status:?}"
        ),
        Outcome::Payment(PaymentStatus::Succeeded { preimage, fee_msat }) => assert!(
            hash.is_paid_by(preimage) && *fee_msat <= MAX_MONEY_MSAT,
            "{op:?}: a success with preimage {preimage:?} and fee {fee_msat}"
        ),
        Outcome::Payment(PaymentStatus::Failed { reason }) => assert!(
            names_hash(answer, &hash),
            "{op:?}: failed ({reason:?}) on an answer that never names the hash"
        ),
        Outcome::Payment(_) | Outcome::Cursor => {}
        Outcome::Amounts(amounts) => assert!(
            amounts.iter().all(|amount| *amount <= MAX_MONEY_MSAT),
            "{op:?}: amounts past 21 million BTC: {amounts:?}"
        ),
        Outcome::Issued {
            payment_request,
            checking_id,
        } => {
            let invoice = wallet_core::bolt11::Bolt11::parse(payment_request)
                .unwrap_or_else(|err| panic!("{op:?}: issued an unreadable invoice: {err}"));
            assert_eq!(invoice.payment_hash(), *checking_id, "{op:?}: checking_id");
            assert_eq!(invoice.amount_msat(), Some(INVOICE_MSAT), "{op:?}: amount");
        }
        Outcome::Texts(texts) => check_texts(texts),
        Outcome::Error(error) => {
            for text in wallet_core::chain_texts(error) {
                check_texts(&[text]);
            }
        }
    }
}

/// A loopback HTTP server answering each request with the next queued answer, and with 404
/// once the queue is empty.
struct ScriptedHttp {
    address: std::net::SocketAddr,
    queued: Mutex<VecDeque<Vec<u8>>>,
}

impl ScriptedHttp {
    async fn start() -> Result<Arc<Self>, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| err.to_string())?;
        let server = Arc::new(Self {
            address: listener.local_addr().map_err(|err| err.to_string())?,
            queued: Mutex::new(VecDeque::new()),
        });
        let serving = Arc::clone(&server);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let server = Arc::clone(&serving);
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    if hostile_input::http::read_request(&mut socket)
                        .await
                        .is_some()
                    {
                        let answer = server.pop().unwrap_or_else(|| {
                            hostile_input::http::answer(
                                "404 Not Found",
                                "",
                                br#"{"detail":"Not Found"}"#,
                            )
                        });
                        let _ = socket.write_all(&answer).await;
                        let _ = socket.shutdown().await;
                    }
                });
            }
        });
        Ok(server)
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Vec<u8>>> {
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, answer: Vec<u8>) {
        self.queue().push_back(answer);
    }

    fn pop(&self) -> Option<Vec<u8>> {
        self.queue().pop_front()
    }

    fn clear(&self) {
        self.queue().clear();
    }
}
