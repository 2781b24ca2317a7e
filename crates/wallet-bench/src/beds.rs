//! A payer and a payee on one fake network, the payer reached the way a backend reaches its
//! node: in process, through the lnd simulator (gRPC over TLS) or through the lightningd
//! simulator (JSON-RPC on a unix socket).

use std::sync::Arc;

use cln_sim::ClnSimulator;
use lnd_sim::{LndSimulator, SimOptions};
use tempfile::TempDir;
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_core::{Wallet, WalletError};
use wallet_fake::{FakeNetwork, FakeNode, FakeWallet, NewInvoice, NodeConfig};
use wallet_lnd::{LndConfig, LndWallet};

/// How the payer's wallet reaches its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Fake,
    Lnd,
    Cln,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Fake => "fake",
            Self::Lnd => "lnd-sim",
            Self::Cln => "cln-sim",
        }
    }
}

/// What serves the payer's node, kept alive with the bed.
enum Served {
    InProcess,
    Lnd(Box<LndSimulator>),
    Cln(ClnSimulator),
}

/// The bed: the payer's wallet and a payee to pay.
pub(crate) struct Bed {
    pub(crate) payee: FakeNode,
    pub(crate) wallet: Arc<dyn Wallet>,
    served: Served,
    _scratch: Option<TempDir>,
}

fn error(err: impl std::fmt::Display) -> WalletError {
    WalletError::backend(None, err.to_string())
}

impl Bed {
    pub(crate) async fn start(kind: Kind) -> Result<Self, WalletError> {
        let network = FakeNetwork::new();
        let payer_node =
            network.add_node(NodeConfig::new("bench payer").balance_msat(u64::MAX / 1024))?;
        let payee = network.add_node(NodeConfig::new("bench payee"))?;
        let (served, wallet, scratch): (Served, Arc<dyn Wallet>, Option<TempDir>) = match kind {
            Kind::Fake => (
                Served::InProcess,
                Arc::new(FakeWallet::new(payer_node.clone())),
                None,
            ),
            Kind::Lnd => {
                let scratch = tempfile::tempdir().map_err(error)?;
                let simulator = LndSimulator::start(
                    payer_node.clone(),
                    SimOptions::in_dir(scratch.path().to_path_buf()),
                )
                .await
                .map_err(error)?;
                let wallet = LndWallet::new(LndConfig::from_settings(&simulator.settings())?)?;
                (
                    Served::Lnd(Box::new(simulator)),
                    Arc::new(wallet),
                    Some(scratch),
                )
            }
            Kind::Cln => {
                let scratch = tempfile::tempdir().map_err(error)?;
                let simulator =
                    ClnSimulator::start(payer_node.clone(), scratch.path().to_path_buf())
                        .await
                        .map_err(error)?;
                let wallet = CoreLightningWallet::new(ClnConfig::new(simulator.socket_path()));
                (Served::Cln(simulator), Arc::new(wallet), Some(scratch))
            }
        };
        Ok(Self {
            payee,
            wallet,
            served,
            _scratch: scratch,
        })
    }

    /// `count` invoices of the payee for `amount_msat` each.
    pub(crate) fn invoices(
        &self,
        count: usize,
        amount_msat: u64,
    ) -> Result<Vec<String>, WalletError> {
        invoices_of(&self.payee, count, amount_msat)
    }

    /// The settings that reach the lnd simulator, if it serves the payer.
    pub(crate) fn settings(&self) -> Option<wallet_core::Settings> {
        match &self.served {
            Served::Lnd(simulator) => Some(simulator.settings()),
            _ => None,
        }
    }

    /// The lightningd simulator's socket, if it serves the payer.
    pub(crate) fn socket(&self) -> Option<std::path::PathBuf> {
        match &self.served {
            Served::Cln(simulator) => Some(simulator.socket_path().to_path_buf()),
            _ => None,
        }
    }

    /// Stops the simulator, if any.
    pub(crate) async fn stop(self) {
        match &self.served {
            Served::InProcess => {}
            Served::Lnd(simulator) => simulator.stop().await,
            Served::Cln(simulator) => simulator.stop().await,
        }
    }
}

/// `count` invoices of `payee` for `amount_msat` each.
pub(crate) fn invoices_of(
    payee: &FakeNode,
    count: usize,
    amount_msat: u64,
) -> Result<Vec<String>, WalletError> {
    (0..count)
        .map(|_| {
            payee
                .create_invoice(NewInvoice {
                    amount_msat: Some(amount_msat),
                    ..NewInvoice::default()
                })
                .map(|invoice| invoice.bolt11)
                .map_err(WalletError::from)
        })
        .collect()
}
