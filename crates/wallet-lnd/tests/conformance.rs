//! The conformance suite against `LndWallet` talking to the lnd simulator over TLS with
//! macaroons; the counterparty is a plain fake node of the same network, so every payment in
//! the suite crosses implementations.
//!
//! Against real nodes instead: set `LND_CONFORMANCE_NODE` and `LND_CONFORMANCE_PEER` to `.env`
//! files with LNbits' lnd settings (`LND_GRPC_ENDPOINT`, `LND_GRPC_PORT`, `LND_GRPC_CERT`,
//! `LND_GRPC_MACAROON`) of two funded lnd nodes with a channel between them, and run
//! `cargo test -p wallet-lnd --test conformance -- --test-threads=1`. Fault behaviours use
//! `LND_CONFORMANCE_RESTART`, `LND_CONFORMANCE_STOP` and `LND_CONFORMANCE_START` (shell commands
//! that restart, stop and start the node under test) and are reported unsupported without them;
//! stalling and failing payments on request cannot be done to a real node and are unsupported.

mod support;

use std::sync::Arc;

use support::SimulatedLnd;
use wallet_conformance::{CommandFaults, Harness, HarnessError, SelfPayment, TestBed, Timing};
use wallet_core::async_trait;
use wallet_fake::conformance::NodeFaults;
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

struct LndHarness;

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

fn real_wallet(variable: &str, path: &str) -> Result<wallet_lnd::LndWallet, HarnessError> {
    let text =
        std::fs::read_to_string(path).map_err(|err| failed(format!("{variable}={path}: {err}")))?;
    let settings = wallet_core::Settings::from_dotenv(&text).map_err(failed)?;
    wallet_lnd::LndWallet::from_settings(&settings).map_err(failed)
}

/// The test bed on real nodes named by `LND_CONFORMANCE_NODE` and `LND_CONFORMANCE_PEER`.
fn real_nodes(node: &str) -> Result<TestBed, HarnessError> {
    let peer = std::env::var("LND_CONFORMANCE_PEER")
        .map_err(|_| failed("LND_CONFORMANCE_NODE is set, so LND_CONFORMANCE_PEER must name the counterparty's .env"))?;
    let wallet = real_wallet("LND_CONFORMANCE_NODE", node)?;
    let counterparty = real_wallet("LND_CONFORMANCE_PEER", &peer)?;
    Ok(TestBed::new(Arc::new(wallet), Arc::new(counterparty))
        .self_payment(SelfPayment::Refused)
        .inexact_balances()
        .timing(Timing::real_nodes())
        .faults(Arc::new(CommandFaults::from_env("LND_CONFORMANCE", "lnd"))))
}

#[async_trait]
impl Harness for LndHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        if let Ok(node) = std::env::var("LND_CONFORMANCE_NODE") {
            return real_nodes(&node);
        }
        let network = FakeNetwork::new();
        let lnd = SimulatedLnd::start(&network, "lnd-under-test")
            .await
            .map_err(failed)?;
        let wallet = lnd.wallet().map_err(failed)?;
        let foreign_macaroon = lnd_sim::macaroon::mint(&[9; 32], [0; 16], lnd_sim::macaroon::ADMIN);
        let impostor = lnd
            .wallet_with(&lnd.cert_pem(), foreign_macaroon)
            .map_err(failed)?;
        let counterparty = FakeWallet::new(
            network
                .add_node(NodeConfig::new("fake-counterparty"))
                .map_err(failed)?,
        );
        let macaroon = lnd.admin_macaroon_hex();
        let SimulatedLnd { simulator, dir } = lnd;
        Ok(TestBed::new(Arc::new(wallet), Arc::new(counterparty))
            .with_bad_credentials(Arc::new(impostor))
            .secret(macaroon)
            .self_payment(SelfPayment::Refused)
            .faults(Arc::new(NodeFaults(simulator)))
            .keep_alive(dir))
    }
}

wallet_conformance::suite!(LndHarness);
