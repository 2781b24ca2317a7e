//! The conformance suite against `FakeWallet`, with another node of the same network as the
//! counterparty and `FakeControl` as the fault hooks.

use std::sync::Arc;

use wallet_conformance::{Harness, HarnessError, TestBed};
use wallet_core::{async_trait, hex};
use wallet_fake::conformance::NodeFaults;
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

struct FakeHarness;

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
        let faults = NodeFaults(wallet.control());
        Ok(
            TestBed::new(Arc::new(wallet), Arc::new(FakeWallet::new(peer)))
                .faults(Arc::new(faults))
                .secret(secret),
        )
    }
}

wallet_conformance::suite!(FakeHarness);
