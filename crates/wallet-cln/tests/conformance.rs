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
use wallet_conformance::{CommandFaults, FaultHooks, Harness, HarnessError, TestBed, Timing};
use wallet_core::{FailureReason, PaymentHash, async_trait};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig, Release};

struct ClnHarness;

struct ClnFaults {
    cln: SimulatedCln,
}

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

#[async_trait]
impl FaultHooks for ClnFaults {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.cln.simulator.restart().await.map_err(failed)
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.cln.simulator.stop().await;
        Ok(())
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.cln.simulator.resume().await.map_err(failed)
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        self.cln.simulator.node().control().stall_next_payment();
        Ok(())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        self.cln
            .simulator
            .node()
            .control()
            .release_all(Release::Succeed);
        Ok(())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        self.cln
            .simulator
            .node()
            .control()
            .fail_next_payment(FailureReason::NoRoute);
        Ok(())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        self.cln.simulator.lose_next_payment_answer();
        Ok(())
    }

    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let payment = self
            .cln
            .simulator
            .node()
            .payment(payment_hash)
            .map_err(failed)?;
        Ok(payment.map_or(0, |payment| payment.attempts.len()))
    }
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
        Ok(TestBed::new(Arc::new(wallet), Arc::new(counterparty))
            .faults(Arc::new(ClnFaults { cln })))
    }
}

wallet_conformance::suite!(ClnHarness);
