//! Where the wallets under test meet the fake network: the fake node in process, lnd-sim or
//! cln-sim in front of it (real gRPC over TLS, a real unix socket), or a real LNbits server funded
//! by lnd-sim (the LNbits test bed). The ledger is the fake node underneath every time.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use cln_sim::ClnSimulator;
use lnbits_testserver::{LndFundedBed, WalletKeys};
use lnd_sim::{LndSimulator, SimOptions};
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_conformance::fixtures::TempDir;
use wallet_core::{PaymentHash, Wallet};
use wallet_fake::{FakeNetwork, FakeNode, FakePaymentState, FakeWallet, NodeConfig};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};
use wallet_lnd::{LndConfig, LndWallet};

/// The most LNbits restarts one campaign makes (each costs seconds); later payer restarts restart
/// lnd-sim under LNbits instead, and the output says how many were made.
pub const MAX_LNBITS_RESTARTS: u32 = 3;
/// What each campaign's LNbits wallet is funded with, in sats.
const LNBITS_FUNDS_SATS: u64 = 10_000_000;

/// The backend whose wallets a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `FakeWallet`, on the fake node in process (paused time: a seed replays exactly).
    Fake,
    /// `LndWallet` against lnd-sim.
    Lnd,
    /// `CoreLightningWallet` against cln-sim.
    Cln,
    /// `LnbitsWallet`s on a real LNbits funded by lnd-sim, paying a fake node's invoices.
    Lnbits,
}

/// Every backend with a campaign, by its command-line name.
pub const BACKENDS: &[(&str, Backend)] = &[
    ("fake", Backend::Fake),
    ("lnd", Backend::Lnd),
    ("cln", Backend::Cln),
    ("lnbits", Backend::Lnbits),
];

impl Backend {
    /// Its command-line name.
    pub fn name(self) -> &'static str {
        BACKENDS
            .iter()
            .find(|(_, backend)| *backend == self)
            .map_or("?", |(name, _)| name)
    }

    /// Each payment's budget: short on the simulators, where a stalled payment waits it out in
    /// real time.
    pub(crate) fn pay_timeout(self) -> Duration {
        match self {
            Self::Fake => Duration::from_secs(5),
            Self::Lnd | Self::Cln => Duration::from_secs(2),
            // LNbits' own wait for the node comes first.
            Self::Lnbits => Duration::from_secs(3),
        }
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        BACKENDS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, backend)| *backend)
            .ok_or_else(|| {
                let names: Vec<&str> = BACKENDS.iter().map(|(known, _)| *known).collect();
                format!(
                    "unknown backend {name:?}: campaigns exist for {}",
                    names.join(", ")
                )
            })
    }
}

/// A directory for a simulator's files, removed when dropped.
fn scratch(alias: &str) -> Result<TempDir, String> {
    TempDir::new(&format!("wallet-chaos-{alias}")).map_err(|err| err.to_string())
}

enum Served {
    InProcess,
    Lnd(Box<LndSimulator>),
    Cln(ClnSimulator),
    Lnbits {
        bed: &'static LndFundedBed,
        endpoint: String,
        keys: WalletKeys,
        restarts: AtomicU32,
    },
}

/// The payer's and the payee's nodes, as the wallets under test reach them.
pub(crate) struct Pair {
    pub(crate) payer: FakeNode,
    pub(crate) payer_server: Server,
    pub(crate) payee: FakeNode,
    pub(crate) payee_server: Server,
}

/// The nodes of one campaign: two on a new fake network, each served as `backend` serves its
/// node; on the LNbits bed, the node funding LNbits pays a new fake node of the bed's network
/// (LNbits settles payments between its own wallets without its node, so the payee is outside).
pub(crate) async fn pair(backend: Backend, payer_balance_msat: u64) -> Result<Pair, String> {
    if backend == Backend::Lnbits {
        return lnbits_pair().await;
    }
    let network = FakeNetwork::new();
    let payer = network
        .add_node(NodeConfig::new("chaos-payer").balance_msat(payer_balance_msat))
        .map_err(|err| err.to_string())?;
    let payee = network
        .add_node(NodeConfig::new("chaos-payee"))
        .map_err(|err| err.to_string())?;
    Ok(Pair {
        payer_server: Server::start(payer.clone(), backend).await?,
        payee_server: Server::start(payee.clone(), backend).await?,
        payer,
        payee,
    })
}

async fn lnbits_pair() -> Result<Pair, String> {
    static CAMPAIGNS: AtomicU64 = AtomicU64::new(0);
    let campaign = CAMPAIGNS.fetch_add(1, Ordering::SeqCst);
    let bed = LndFundedBed::shared_from_env().await?;
    let server = bed.server();
    let endpoint = server.endpoint()?;
    // The server's client belongs to the bed's runtime, which outlives this campaign's.
    let name = format!("chaos-payer-{campaign}");
    let keys = bed
        .run(async move { server.new_wallet(&name, LNBITS_FUNDS_SATS).await })
        .await??;
    let payee = bed
        .network()
        .add_node(NodeConfig::new(format!("chaos-payee-{campaign}")))
        .map_err(|err| err.to_string())?;
    let payer = bed.funding_node().clone();
    Ok(Pair {
        payer_server: Server {
            node: payer.clone(),
            served: Served::Lnbits {
                bed,
                endpoint,
                keys,
                restarts: AtomicU32::new(0),
            },
            _scratch: None,
        },
        payee_server: Server::start(payee.clone(), Backend::Fake).await?,
        payer,
        payee,
    })
}

/// One node of the fake network, as the wallets under test reach it.
pub(crate) struct Server {
    node: FakeNode,
    served: Served,
    _scratch: Option<TempDir>,
}

impl Server {
    /// Serves `node` the way `backend` is reached.
    pub(crate) async fn start(node: FakeNode, backend: Backend) -> Result<Self, String> {
        let (served, scratch) = match backend {
            Backend::Fake => (Served::InProcess, None),
            Backend::Lnd => {
                let scratch = scratch(node.alias())?;
                let options = SimOptions::in_dir(scratch.path().to_path_buf());
                let simulator = LndSimulator::start(node.clone(), options)
                    .await
                    .map_err(|err| err.to_string())?;
                (Served::Lnd(Box::new(simulator)), Some(scratch))
            }
            Backend::Lnbits => {
                return Err(
                    "an LNbits server serves the bed's funding node only (beds::pair)".into(),
                );
            }
            Backend::Cln => {
                let scratch = scratch(node.alias())?;
                let simulator = ClnSimulator::start(node.clone(), scratch.path().to_path_buf())
                    .await
                    .map_err(|err| err.to_string())?;
                (Served::Cln(simulator), Some(scratch))
            }
        };
        Ok(Self {
            node,
            served,
            _scratch: scratch,
        })
    }

    /// A new wallet instance on this node, as another process would make one.
    pub(crate) fn wallet(&self, timeout: Duration) -> Result<Arc<dyn Wallet>, String> {
        Ok(match &self.served {
            Served::InProcess => Arc::new(FakeWallet::new(self.node.clone())),
            Served::Lnd(simulator) => {
                let mut config = LndConfig::from_settings(&simulator.settings())
                    .map_err(|err| err.to_string())?;
                config.timeout = timeout;
                Arc::new(LndWallet::new(config).map_err(|err| err.to_string())?)
            }
            Served::Cln(simulator) => {
                let mut config = ClnConfig::new(simulator.socket_path());
                config.timeout = timeout;
                config.hold_invoices = true;
                Arc::new(CoreLightningWallet::new(config))
            }
            Served::Lnbits { endpoint, keys, .. } => {
                let mut config = LnbitsConfig::new(
                    endpoint,
                    Some(keys.admin_key.clone()),
                    Some(keys.invoice_key.clone()),
                )
                .map_err(|err| err.to_string())?;
                config.request_timeout = timeout;
                Arc::new(LnbitsWallet::new(config).map_err(|err| err.to_string())?)
            }
        })
    }

    /// The balances the payer's wallets may report after quiescence, lowest and highest, from
    /// the ledger and `issued` (each invoice's hash and the amount paying it moves). On a node
    /// both are its balance. LNbits' wallets keep their own books over one node: at most the
    /// funds less every payment the node completed, with its fee (more would be money that does
    /// not exist); at least that less, for each payment the node did not complete, its amount and
    /// LNbits' fee reserve (1 %, at least 2 sat), which LNbits keeps while a payment it could not
    /// confirm stays pending.
    pub(crate) fn ledger_balance(
        &self,
        issued: &[(PaymentHash, u64)],
    ) -> Result<(u64, u64), String> {
        let Served::Lnbits { .. } = &self.served else {
            let balance = self.node.balance_msat().map_err(|err| err.to_string())?;
            return Ok((balance, balance));
        };
        let mut spent: u64 = 0;
        let mut held: u64 = 0;
        for (hash, amount_msat) in issued {
            let payment = self.node.payment(hash).map_err(|err| err.to_string())?;
            let completed = payment
                .iter()
                .flat_map(|payment| {
                    payment
                        .attempts
                        .iter()
                        .filter_map(|attempt| match attempt.state {
                            FakePaymentState::Succeeded { fee_msat, .. } => {
                                Some(payment.amount_msat.saturating_add(fee_msat))
                            }
                            _ => None,
                        })
                })
                .fold(0u64, u64::saturating_add);
            if completed > 0 {
                spent = spent.saturating_add(completed);
            } else {
                let reserve = wallet_core::amount::default_fee_limit_msat(*amount_msat);
                held = held.saturating_add(amount_msat.saturating_add(reserve));
            }
        }
        let highest = (LNBITS_FUNDS_SATS * 1_000).saturating_sub(spent);
        Ok((highest.saturating_sub(held), highest))
    }

    /// How many LNbits restarts were made, on the LNbits bed.
    pub(crate) fn lnbits_restarts(&self) -> Option<u32> {
        match &self.served {
            Served::Lnbits { restarts, .. } => Some(restarts.load(Ordering::SeqCst)),
            _ => None,
        }
    }

    /// A `FakeWallet` on this node, when the node is reached in process.
    pub(crate) fn fake_wallet(&self) -> Option<FakeWallet> {
        matches!(self.served, Served::InProcess).then(|| FakeWallet::new(self.node.clone()))
    }

    /// Restarts what serves the node: connections and streams break, the state stays.
    pub(crate) async fn restart(&self) -> Result<(), String> {
        match &self.served {
            Served::InProcess => {
                self.node.control().restart();
                Ok(())
            }
            Served::Lnd(simulator) => simulator.restart().await.map_err(|err| err.to_string()),
            Served::Cln(simulator) => simulator.restart().await.map_err(|err| err.to_string()),
            Served::Lnbits { bed, restarts, .. } => {
                if restarts.fetch_add(1, Ordering::SeqCst) < MAX_LNBITS_RESTARTS {
                    let server = bed.server();
                    bed.run(async move { server.restart().await }).await?
                } else {
                    restarts.fetch_sub(1, Ordering::SeqCst);
                    bed.restart_lnd().await
                }
            }
        }
    }

    /// Drops every connection to what serves the node (and the streams on them); it keeps
    /// listening. In process, the node's streams end.
    pub(crate) fn kill_connections(&self) {
        match &self.served {
            Served::InProcess => self.node.control().cut_streams(),
            Served::Lnd(simulator) => simulator.drop_connections(),
            Served::Cln(simulator) => simulator.drop_connections(),
            Served::Lnbits { bed, .. } => bed.drop_lnd_connections(),
        }
    }

    /// Makes the node unreachable (`false`) or reachable again (`true`).
    pub(crate) async fn reachable(&self, reachable: bool) -> Result<(), String> {
        match (&self.served, reachable) {
            (Served::InProcess, _) => {
                self.node.control().set_offline(!reachable);
                Ok(())
            }
            (Served::Lnd(simulator), false) => {
                simulator.stop().await;
                Ok(())
            }
            (Served::Lnd(simulator), true) => {
                simulator.resume().await.map_err(|err| err.to_string())
            }
            (Served::Cln(simulator), false) => {
                simulator.stop().await;
                Ok(())
            }
            (Served::Cln(simulator), true) => {
                simulator.resume().await.map_err(|err| err.to_string())
            }
            // LNbits stays up; the node under it does not answer.
            (Served::Lnbits { bed, .. }, false) => bed.stop_lnd().await,
            (Served::Lnbits { bed, .. }, true) => bed.start_lnd().await,
        }
    }
}
