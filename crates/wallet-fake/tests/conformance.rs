//! The conformance suite against `FakeWallet`, with another node of the same network as the
//! counterparty and `FakeControl` as the fault hooks.

use std::sync::Arc;

use wallet_conformance::{FaultHooks, Harness, HarnessError, TestBed};
use wallet_core::{FailureReason, PaymentHash, async_trait, hex};
use wallet_fake::{FakeControl, FakeNetwork, FakeWallet, NodeConfig, Release};

struct FakeHarness;

struct FakeFaults(FakeControl);

#[async_trait]
impl FaultHooks for FakeFaults {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.0.restart();
        Ok(())
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.0.set_offline(true);
        Ok(())
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.0.set_offline(false);
        Ok(())
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        self.0.stall_next_payment();
        Ok(())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        self.0.release_all(Release::Succeed);
        Ok(())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        self.0.lose_next_payment_answer();
        Ok(())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        self.0.fail_next_payment(FailureReason::NoRoute);
        Ok(())
    }

    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let payment = self
            .0
            .node()
            .payment(payment_hash)
            .map_err(|err| HarnessError::Failed(err.to_string()))?;
        Ok(payment.map_or(0, |payment| payment.attempts.len()))
    }
}

#[async_trait]
impl Harness for FakeHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let network = FakeNetwork::new();
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(|err| HarnessError::Failed(err.to_string()))?;
        let secret = hex::encode(&secret);
        let node = network
            .add_node(NodeConfig::new("under-test").secret(secret.clone()))
            .map_err(|err| HarnessError::Failed(err.to_string()))?;
        let peer = network
            .add_node(NodeConfig::new("counterparty"))
            .map_err(|err| HarnessError::Failed(err.to_string()))?;
        let wallet = FakeWallet::new(node);
        let faults = FakeFaults(wallet.control());
        Ok(
            TestBed::new(Arc::new(wallet), Arc::new(FakeWallet::new(peer)))
                .faults(Arc::new(faults))
                .secret(secret),
        )
    }
}

wallet_conformance::suite!(FakeHarness);
