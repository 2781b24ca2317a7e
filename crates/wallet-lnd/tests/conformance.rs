//! The conformance suite against `LndWallet` talking to the lnd simulator over TLS with
//! macaroons; the counterparty is a plain fake node of the same network, so every payment in
//! the suite crosses implementations.

mod support;

use std::sync::Arc;

use support::SimulatedLnd;
use wallet_conformance::{FaultHooks, Harness, HarnessError, SelfPayment, TestBed};
use wallet_core::{FailureReason, PaymentHash, async_trait};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig, Release};

struct LndHarness;

struct LndFaults {
    lnd: SimulatedLnd,
}

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

#[async_trait]
impl FaultHooks for LndFaults {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.restart().await.map_err(failed)
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.stop().await;
        Ok(())
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.resume().await.map_err(failed)
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.node().control().stall_next_payment();
        Ok(())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.node().control().release_all(Release::Succeed);
        Ok(())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.node().control().fail_next_payment(FailureReason::NoRoute);
        Ok(())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        self.lnd.simulator.lose_next_payment_answer();
        Ok(())
    }

    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let payment = self.lnd.simulator.node().payment(payment_hash).map_err(failed)?;
        Ok(payment.map_or(0, |payment| payment.attempts.len()))
    }
}

#[async_trait]
impl Harness for LndHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let network = FakeNetwork::new();
        let lnd = SimulatedLnd::start(&network, "lnd-under-test").await.map_err(failed)?;
        let wallet = lnd.wallet().map_err(failed)?;
        let foreign_macaroon = lnd_sim::macaroon::mint(&[9; 32], [0; 16], lnd_sim::macaroon::ADMIN);
        let impostor = lnd.wallet_with(&lnd.cert_pem(), foreign_macaroon).map_err(failed)?;
        let counterparty = FakeWallet::new(network.add_node(NodeConfig::new("fake-counterparty")).map_err(failed)?);
        let macaroon = lnd.admin_macaroon_hex();
        Ok(TestBed::new(Arc::new(wallet), Arc::new(counterparty))
            .with_bad_credentials(Arc::new(impostor))
            .secret(macaroon)
            .self_payment(SelfPayment::Refused)
            .faults(Arc::new(LndFaults { lnd })))
    }
}

wallet_conformance::suite!(LndHarness);
