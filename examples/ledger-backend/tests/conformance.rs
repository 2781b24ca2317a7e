//! The conformance suite against `LedgerWallet`, through the suite's public API only, as any
//! third party runs it: each behaviour gets a fresh fake network, a ledger serving a node of it
//! on a free loopback port, and the wallet under test reaching the ledger through a
//! `FaultProxy`. The counterparty is a `FakeWallet` on the same network, so every payment
//! crosses the network for real.
//!
//! Faults: restarts are the ledger's own; outages, lost and spoiled answers, slow and
//! misdirected lookups are the proxy's (the ledger stays honest); stalled and failed payments
//! and the attempt count are its node's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ledger_backend::{LedgerConfig, LedgerServer, LedgerWallet};
use wallet_conformance::fixtures::random_bytes;
use wallet_conformance::{FaultHooks, FaultProxy, Harness, HarnessError, SpoiledAnswer, TestBed};
use wallet_core::{FailureReason, PaymentHash, WalletFeature, async_trait, hex};
use wallet_fake::{FakeNetwork, FakeNode, FakeWallet, NodeConfig, Release};

/// The request that pays.
const PAY_REQUEST: &[u8] = b"POST /v1/payments ";

/// The start every lookup of a payment or invoice by hash shares.
const LOOKUP_REQUEST: &[u8] = b"GET /v1/lookup/";

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

/// Restarts go to the ledger; outages, answers and lookups to the proxy in front of it; payment
/// faults to the node behind it.
struct LedgerFaults {
    server: LedgerServer,
    proxy: FaultProxy,
    node: FakeNode,
}

#[async_trait]
impl FaultHooks for LedgerFaults {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.server.restart().await.map_err(failed)
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.proxy.set_offline(true);
        Ok(())
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.proxy.set_offline(false);
        Ok(())
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        self.node.control().stall_next_payment();
        Ok(())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        self.node.control().release_all(Release::Succeed);
        Ok(())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        self.node
            .control()
            .fail_next_payment(FailureReason::NoRoute);
        Ok(())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        self.proxy.lose_answer_to_next(PAY_REQUEST);
        Ok(())
    }

    async fn spoil_next_payment_answer(
        &self,
        answer: SpoiledAnswer,
        dispatch_after: Duration,
    ) -> Result<(), HarnessError> {
        self.proxy
            .spoil_answer_to_next(PAY_REQUEST, answer, dispatch_after);
        Ok(())
    }

    async fn misdirect_lookups(&self, to: Option<PaymentHash>) -> Result<(), HarnessError> {
        let to = to.map(|hash| hash.to_hex());
        self.proxy
            .rewrite_payment_hashes(LOOKUP_REQUEST, to.as_deref());
        Ok(())
    }

    async fn delay_lookups(&self, delay: Duration) -> Result<(), HarnessError> {
        self.proxy.delay_requests(LOOKUP_REQUEST, delay);
        Ok(())
    }

    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let payment = self.node.payment(payment_hash).map_err(failed)?;
        Ok(payment.map_or(0, |payment| payment.attempts.len()))
    }
}

fn ledger_wallet(endpoint: &str, api_key: &str) -> Result<LedgerWallet, HarnessError> {
    LedgerConfig::new(endpoint, api_key)
        .and_then(LedgerWallet::new)
        .map_err(failed)
}

struct LedgerHarness;

#[async_trait]
impl Harness for LedgerHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let network = FakeNetwork::new();
        let node = network
            .add_node(NodeConfig::new("ledger"))
            .map_err(failed)?;
        let peer = network
            .add_node(NodeConfig::new("counterparty"))
            .map_err(failed)?;
        let api_key = hex::encode(&random_bytes());
        let server = LedgerServer::start(
            node.clone(),
            api_key.clone(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .map_err(failed)?;
        let proxy = FaultProxy::start(server.address()).await.map_err(failed)?;
        let wallet = ledger_wallet(&format!("http://{}", proxy.address()), &api_key)?;
        // Another key, straight at the ledger: every call must be refused as unauthorized.
        let impostor = ledger_wallet(&server.endpoint(), &hex::encode(&random_bytes()))?;
        Ok(
            TestBed::new(Arc::new(wallet), Arc::new(FakeWallet::new(peer)))
                .with_bad_credentials(Arc::new(impostor))
                .secret(api_key)
                .faults(Arc::new(LedgerFaults {
                    server,
                    proxy,
                    node,
                }))
                .unsupported_because(
                    WalletFeature::HoldInvoice,
                    "the ledger's API has no hold invoices",
                )
                .unsupported_because(
                    WalletFeature::NodeManager,
                    "a custodial ledger does not expose its node",
                ),
        )
    }
}

wallet_conformance::suite!(LedgerHarness);
