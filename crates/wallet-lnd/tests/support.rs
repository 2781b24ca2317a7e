//! A simulated lnd node for tests: a fake network, an `LndSimulator` in a temporary directory,
//! and an `LndWallet` pointed at it.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use lnd_sim::{LndSimulator, SimOptions};
use wallet_conformance::fixtures::TempDir;
use wallet_core::WalletError;
use wallet_fake::{FakeNetwork, NodeConfig};
use wallet_lnd::{LndConfig, LndWallet};

/// An lnd simulator for a new node of `network`, with its directory.
pub(crate) struct SimulatedLnd {
    pub(crate) simulator: LndSimulator,
    pub(crate) dir: TempDir,
}

impl SimulatedLnd {
    pub(crate) async fn start(network: &FakeNetwork, alias: &str) -> Result<Self, String> {
        let dir = TempDir::new(&format!("wallet-lnd-{alias}")).map_err(|err| err.to_string())?;
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(|err| err.to_string())?;
        let node = network
            .add_node(NodeConfig::new(alias).secret(wallet_core::hex::encode(&secret)))
            .map_err(|err| err.to_string())?;
        let simulator = LndSimulator::start(node, SimOptions::in_dir(dir.path().to_path_buf()))
            .await
            .map_err(|err| err.to_string())?;
        Ok(Self { simulator, dir })
    }

    /// The settings an LNbits `.env` would have for this node.
    pub(crate) fn settings(&self) -> wallet_core::Settings {
        self.simulator
            .settings()
            // Short, so that the quiet-stream behaviour outlasts it.
            .with("LND_GRPC_TIMEOUT", "2")
    }

    pub(crate) fn wallet(&self) -> Result<LndWallet, WalletError> {
        LndWallet::from_settings(&self.settings())
    }

    pub(crate) fn admin_macaroon_hex(&self) -> String {
        wallet_core::hex::encode(&std::fs::read(&self.simulator.files().admin_macaroon).unwrap())
    }

    /// A wallet presenting `macaroon` and `cert_pem` instead of this node's own.
    pub(crate) fn wallet_with(
        &self,
        cert_pem: &[u8],
        macaroon: Vec<u8>,
    ) -> Result<LndWallet, WalletError> {
        LndWallet::new(LndConfig::new(
            "127.0.0.1",
            self.simulator.port(),
            cert_pem,
            macaroon,
        )?)
    }

    pub(crate) fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(&self.simulator.files().tls_cert).unwrap()
    }
}
