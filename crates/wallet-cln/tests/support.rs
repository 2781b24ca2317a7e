//! A simulated Core Lightning node for tests: a `ClnSimulator` in a temporary directory and a
//! `CoreLightningWallet` pointed at its socket.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use cln_sim::ClnSimulator;
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_fake::{FakeNetwork, NodeConfig};

/// A directory removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "wallet-cln-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A lightningd simulator for a new node of `network`, with its directory.
pub(crate) struct SimulatedCln {
    pub(crate) simulator: ClnSimulator,
    pub(crate) dir: TempDir,
}

impl SimulatedCln {
    pub(crate) async fn start(network: &FakeNetwork, alias: &str) -> Result<Self, String> {
        let dir = TempDir::new(alias);
        let secret = format!("{alias}-{}", dir.0.display());
        let node = network
            .add_node(NodeConfig::new(alias).secret(secret))
            .map_err(|err| err.to_string())?;
        let simulator = ClnSimulator::start(node, dir.0.clone())
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
        .add_node(NodeConfig::new(alias).secret(format!("{alias}-{}", dir.0.display())))
        .unwrap();
    let options = lnd_sim::SimOptions {
        dir: dir.0.clone(),
        port: None,
    };
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
