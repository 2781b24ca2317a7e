//! The simulated lightningd: a fake node plus what Core Lightning keeps that the fake node does
//! not (labels, deleted invoices), and the fault switches.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::watch;
use wallet_core::PaymentHash;
use wallet_core::bolt11::Currency;
use wallet_fake::{FakeInvoiceState, FakeNode, InvoiceSnapshot};

/// Core Lightning's name for a network.
pub(crate) fn network_name(currency: &Currency) -> &'static str {
    match currency {
        Currency::Bitcoin => "bitcoin",
        Currency::BitcoinTestnet => "testnet",
        Currency::Regtest => "regtest",
        Currency::Signet => "signet",
        Currency::Simnet => "simnet",
    }
}

#[derive(Default)]
struct Labels {
    by_label: HashMap<String, PaymentHash>,
    by_hash: HashMap<PaymentHash, String>,
    deleted: HashSet<PaymentHash>,
}

/// One of lightningd's own invoices (hold invoices live in the plugin), with its label and
/// `pay_index`.
#[derive(Clone, Debug)]
pub(crate) struct ClnInvoice {
    pub(crate) label: String,
    pub(crate) invoice: InvoiceSnapshot,
    /// Position among paid invoices, from 1, if paid.
    pub(crate) pay_index: Option<u64>,
    /// Position among invoice changes since creation (paid, expired), from 1, if changed: its
    /// own counter, which runs ahead of `pay_index` once an invoice has expired.
    pub(crate) updated_index: Option<u64>,
}

/// The fees a node asks on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChannelFees {
    pub(crate) base_msat: u64,
    pub(crate) ppm: u64,
}

/// What lightningd answers a call with instead of running it, as a buggy or hostile lightningd
/// (or plugin, or a proxy in front of the socket) might.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptedAnswer {
    /// A result envelope with this result, whatever its shape.
    Result(Value),
    /// An error envelope with this code and message.
    Error {
        /// The JSON-RPC error code.
        code: i64,
        /// The message, as it is.
        message: String,
    },
    /// These bytes instead of an envelope (garbage, a truncated reply, a huge one).
    Raw(Vec<u8>),
    /// No answer at all: the request is read and nothing comes back.
    Silence,
    /// The connection closes once the request has been read.
    Close,
}

pub(crate) type Scripted = ScriptedAnswer;

pub(crate) struct Daemon {
    pub(crate) node: FakeNode,
    pub(crate) network: &'static str,
    pub(crate) lightning_dir: PathBuf,
    pub(crate) socket: PathBuf,
    labels: Mutex<Labels>,
    calls: Mutex<HashMap<String, usize>>,
    pub(crate) kill: watch::Sender<u64>,
    xpay_disabled: AtomicBool,
    fees: Mutex<ChannelFees>,
    /// xpay codes to answer at once while the payment stays in flight, one per call.
    early_failures: Mutex<VecDeque<i32>>,
    /// Results to answer the next calls of a method with, as a buggy or hostile lightningd (or
    /// plugin) might, instead of doing anything.
    scripted: Mutex<HashMap<String, VecDeque<Scripted>>>,
}

impl Daemon {
    pub(crate) fn new(node: FakeNode, lightning_dir: PathBuf, socket: PathBuf) -> Self {
        Self {
            network: network_name(node.currency()),
            node,
            lightning_dir,
            socket,
            labels: Mutex::new(Labels::default()),
            calls: Mutex::new(HashMap::new()),
            scripted: Mutex::new(HashMap::new()),
            kill: watch::Sender::new(0),
            xpay_disabled: AtomicBool::new(false),
            fees: Mutex::new(ChannelFees {
                base_msat: 1_000,
                ppm: 1,
            }),
            early_failures: Mutex::new(VecDeque::new()),
        }
    }

    fn labels(&self) -> std::sync::MutexGuard<'_, Labels> {
        self.labels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `create` under `label`, which no other invoice may have: 900 if one does. The label
    /// stays locked while `create` runs, so two calls with one label cannot both succeed.
    pub(crate) fn create_labelled<T>(
        &self,
        label: String,
        create: impl FnOnce() -> Result<(T, PaymentHash), crate::rpc::RpcError>,
    ) -> Result<T, crate::rpc::RpcError> {
        let mut labels = self.labels();
        if labels.by_label.contains_key(&label) {
            return Err(crate::rpc::RpcError::new(
                900,
                format!("Duplicate label '{label}'"),
            ));
        }
        let (created, hash) = create()?;
        labels.by_hash.insert(hash, label.clone());
        labels.by_label.insert(label, hash);
        Ok(created)
    }

    pub(crate) fn hash_of_label(&self, label: &str) -> Option<PaymentHash> {
        let labels = self.labels();
        labels
            .by_label
            .get(label)
            .filter(|hash| !labels.deleted.contains(hash))
            .copied()
    }

    pub(crate) fn delete(&self, hash: PaymentHash) {
        self.labels().deleted.insert(hash);
    }

    /// lightningd's invoices, in creation order, with pay indices.
    pub(crate) fn invoices(&self) -> Result<Vec<ClnInvoice>, crate::rpc::RpcError> {
        let snapshots = self
            .node
            .invoices()
            .map_err(|err| crate::rpc::RpcError::general(err.to_string()))?;
        let labels = self.labels();
        let mut paid: Vec<(u64, PaymentHash)> = snapshots
            .iter()
            .filter(|invoice| !invoice.is_hold)
            .filter_map(|invoice| match invoice.state {
                FakeInvoiceState::Settled { settle_index, .. } => {
                    Some((settle_index, invoice.payment_hash))
                }
                _ => None,
            })
            .collect();
        paid.sort_unstable();
        let pay_index: HashMap<PaymentHash, u64> = paid
            .into_iter()
            .enumerate()
            .map(|(position, (_, hash))| (hash, position as u64 + 1))
            .collect();
        // Changes in the order they happened: payments when paid, expiries when they expired
        // (a payment first within one second).
        let mut changes: Vec<(u64, u64, PaymentHash)> = snapshots
            .iter()
            .filter(|invoice| !invoice.is_hold)
            .filter_map(|invoice| match invoice.state {
                FakeInvoiceState::Settled {
                    paid_at,
                    settle_index,
                    ..
                } => Some((paid_at, settle_index, invoice.payment_hash)),
                FakeInvoiceState::Expired => Some((
                    invoice.expires_at(),
                    u64::MAX / 2 + invoice.add_index,
                    invoice.payment_hash,
                )),
                _ => None,
            })
            .collect();
        changes.sort_unstable();
        let updated_index: HashMap<PaymentHash, u64> = changes
            .into_iter()
            .enumerate()
            .map(|(position, (_, _, hash))| (hash, position as u64 + 1))
            .collect();
        Ok(snapshots
            .into_iter()
            .filter(|invoice| !invoice.is_hold && !labels.deleted.contains(&invoice.payment_hash))
            .filter_map(|invoice| {
                let label = labels.by_hash.get(&invoice.payment_hash)?.clone();
                Some(ClnInvoice {
                    label,
                    pay_index: pay_index.get(&invoice.payment_hash).copied(),
                    updated_index: updated_index.get(&invoice.payment_hash).copied(),
                    invoice,
                })
            })
            .collect())
    }

    /// Whether lightningd offers `method` now (xpay can be switched off, as with
    /// `disable-plugin=cln-xpay` or a Core Lightning before 24.11).
    pub(crate) fn offers(&self, method: &str) -> bool {
        method != "xpay" || !self.xpay_disabled.load(Ordering::SeqCst)
    }

    pub(crate) fn set_xpay_disabled(&self, disabled: bool) {
        self.xpay_disabled.store(disabled, Ordering::SeqCst);
    }

    pub(crate) fn push_early_failure(&self, code: i32) {
        self.early_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(code);
    }

    pub(crate) fn take_early_failure(&self) -> Option<i32> {
        self.early_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    /// The fees this node asks on its channel to the hub.
    pub(crate) fn channel_fees(&self) -> ChannelFees {
        *self.fees.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the channel's fees (`setchannel`); `None` keeps one as it is.
    pub(crate) fn set_channel_fees(&self, base_msat: Option<u64>, ppm: Option<u64>) -> ChannelFees {
        let mut fees = self.fees.lock().unwrap_or_else(PoisonError::into_inner);
        fees.base_msat = base_msat.unwrap_or(fees.base_msat);
        fees.ppm = ppm.unwrap_or(fees.ppm);
        *fees
    }

    /// Counts a call of `method`.
    pub(crate) fn count_call(&self, method: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls.entry(method.to_owned()).or_default() += 1;
    }

    /// Answers the next call of `method` with `answer` (a result, or an error's code and
    /// message), doing nothing else.
    pub(crate) fn script(&self, method: &str, result: Scripted) {
        let mut scripted = self.scripted.lock().unwrap_or_else(PoisonError::into_inner);
        scripted
            .entry(method.to_owned())
            .or_default()
            .push_back(result);
    }

    pub(crate) fn clear_scripted(&self) {
        self.scripted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The scripted result for this call of `method`, if one is queued.
    pub(crate) fn take_scripted(&self, method: &str) -> Option<Scripted> {
        let mut scripted = self.scripted.lock().unwrap_or_else(PoisonError::into_inner);
        scripted.get_mut(method)?.pop_front()
    }

    /// How many times `method` was called.
    pub(crate) fn calls_of(&self, method: &str) -> usize {
        let calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.get(method).copied().unwrap_or(0)
    }

    /// Drops every open connection, as a crash would.
    pub(crate) fn drop_connections(&self) {
        self.kill
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}
