//! The conformance suite against `CoreLightningWallet` talking to the lightningd simulator over
//! its unix socket; the counterparty is a plain fake node of the same network, so every payment
//! in the suite crosses implementations.
//!
//! Against a real lightningd instead: set `CLN_CONFORMANCE_NODE` and `CLN_CONFORMANCE_PEER` to
//! `.env` files with `CORELIGHTNING_RPC` (and `CORELIGHTNING_HOLD_INVOICES=true` if the hold
//! plugin runs) of two funded nodes with a channel between them, and run
//! `cargo test -p wallet-cln --test conformance -- --test-threads=1`. Fault behaviours use
//! `CLN_CONFORMANCE_RESTART`, `CLN_CONFORMANCE_STOP` and `CLN_CONFORMANCE_START` (shell commands)
//! and are reported unsupported without them.

mod support;

use std::sync::Arc;

use support::SimulatedCln;
use wallet_conformance::{CommandFaults, Harness, HarnessError, TestBed, Timing};
use wallet_core::async_trait;
use wallet_fake::conformance::NodeFaults;
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

struct ClnHarness;

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

fn real_wallet(
    variable: &str,
    path: &str,
) -> Result<wallet_cln::CoreLightningWallet, HarnessError> {
    let text =
        std::fs::read_to_string(path).map_err(|err| failed(format!("{variable}={path}: {err}")))?;
    let settings = wallet_core::Settings::from_dotenv(&text).map_err(failed)?;
    wallet_cln::CoreLightningWallet::from_settings(&settings).map_err(failed)
}

fn real_nodes(node: &str) -> Result<TestBed, HarnessError> {
    let peer = std::env::var("CLN_CONFORMANCE_PEER")
        .map_err(|_| failed("CLN_CONFORMANCE_NODE is set, so CLN_CONFORMANCE_PEER must name the counterparty's .env"))?;
    Ok(TestBed::new(
        Arc::new(real_wallet("CLN_CONFORMANCE_NODE", node)?),
        Arc::new(real_wallet("CLN_CONFORMANCE_PEER", &peer)?),
    )
    .inexact_balances()
    .timing(Timing::real_nodes())
    .faults(Arc::new(CommandFaults::from_env(
        "CLN_CONFORMANCE",
        "lightningd",
    ))))
}

#[async_trait]
impl Harness for ClnHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        if let Ok(node) = std::env::var("CLN_CONFORMANCE_NODE") {
            return real_nodes(&node);
        }
        let network = FakeNetwork::new();
        let cln = SimulatedCln::start(&network, "cln-under-test")
            .await
            .map_err(failed)?;
        let wallet = cln.wallet();
        let counterparty = FakeWallet::new(
            network
                .add_node(NodeConfig::new("fake-counterparty"))
                .map_err(failed)?,
        );
        let SimulatedCln { simulator, dir } = cln;
        Ok(TestBed::new(Arc::new(wallet), Arc::new(counterparty))
            .faults(Arc::new(NodeFaults(simulator)))
            .keep_alive(dir))
    }
}

wallet_conformance::suite!(ClnHarness);
