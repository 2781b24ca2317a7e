//! Where the wallets under test meet the fake network: the fake node in process, or lnd-sim or
//! cln-sim in front of it (real gRPC over TLS, a real unix socket). The ledger is the fake node
//! underneath either way.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cln_sim::ClnSimulator;
use lnd_sim::{LndSimulator, SimOptions};
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_conformance::fixtures::TempDir;
use wallet_core::Wallet;
use wallet_fake::{FakeNode, FakeWallet};
use wallet_lnd::{LndConfig, LndWallet};

/// The backend whose wallets a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `FakeWallet`, on the fake node in process (paused time: a seed replays exactly).
    Fake,
    /// `LndWallet` against lnd-sim.
    Lnd,
    /// `CoreLightningWallet` against cln-sim.
    Cln,
}

/// Every backend with a campaign, by its command-line name.
pub const BACKENDS: &[(&str, Backend)] = &[
    ("fake", Backend::Fake),
    ("lnd", Backend::Lnd),
    ("cln", Backend::Cln),
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
                let options = SimOptions {
                    dir: scratch.path().to_path_buf(),
                    port: None,
                };
                let simulator = LndSimulator::start(node.clone(), options)
                    .await
                    .map_err(|err| err.to_string())?;
                (Served::Lnd(Box::new(simulator)), Some(scratch))
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
        })
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
        }
    }
}
