//! A simulated Core Lightning node for tests: a `ClnSimulator` in a temporary directory and a
//! `CoreLightningWallet` pointed at its socket.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use cln_sim::ClnSimulator;
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_conformance::fixtures::TempDir;
use wallet_fake::{FakeNetwork, NodeConfig};

/// A lightningd simulator for a new node of `network`, with its directory.
pub(crate) struct SimulatedCln {
    pub(crate) simulator: ClnSimulator,
    pub(crate) dir: TempDir,
}

impl SimulatedCln {
    pub(crate) async fn start(network: &FakeNetwork, alias: &str) -> Result<Self, String> {
        let dir = TempDir::new(&format!("wallet-cln-{alias}")).map_err(|err| err.to_string())?;
        let secret = format!("{alias}-{}", dir.path().display());
        let node = network
            .add_node(NodeConfig::new(alias).secret(secret))
            .map_err(|err| err.to_string())?;
        let simulator = ClnSimulator::start(node, dir.path().to_path_buf())
            .await
            .map_err(|err| err.to_string())?;
        Ok(Self { simulator, dir })
    }

    /// The settings an LNbits `.env` would have for this node.
    pub(crate) fn settings(&self) -> wallet_core::Settings {
        wallet_core::Settings::new()
            .with(
                "CORELIGHTNING_RPC",
                self.simulator.socket_path().display().to_string(),
            )
            .with("CORELIGHTNING_HOLD_INVOICES", "true")
    }

    pub(crate) fn wallet(&self) -> CoreLightningWallet {
        let mut config = ClnConfig::new(self.simulator.socket_path());
        config.hold_invoices = true;
        CoreLightningWallet::new(config)
    }
}

/// An lnd simulator for a new node of `network` in `dir`, and a wallet for it: the other
/// implementation cross-implementation payments go through.
pub(crate) async fn lnd_node(
    network: &FakeNetwork,
    alias: &str,
    dir: &TempDir,
) -> (lnd_sim::LndSimulator, wallet_lnd::LndWallet) {
    let node = network
        .add_node(NodeConfig::new(alias).secret(format!("{alias}-{}", dir.path().display())))
        .unwrap();
    let options = lnd_sim::SimOptions::in_dir(dir.path().to_path_buf());
    let simulator = lnd_sim::LndSimulator::start(node, options).await.unwrap();
    let files = simulator.files();
    let settings = wallet_core::Settings::new()
        .with("LND_GRPC_ENDPOINT", "127.0.0.1")
        .with("LND_GRPC_PORT", simulator.port().to_string())
        .with("LND_GRPC_CERT", files.tls_cert.display().to_string())
        .with(
            "LND_GRPC_MACAROON",
            files.admin_macaroon.display().to_string(),
        );
    let wallet = wallet_lnd::LndWallet::from_settings(&settings).unwrap();
    (simulator, wallet)
}
