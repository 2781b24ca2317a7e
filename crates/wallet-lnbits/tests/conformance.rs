//! The conformance suite against a real LNbits server funded by LNbits' FakeWallet: each
//! behaviour gets a fresh funded wallet under test, reached through a `FaultProxy`, and a fresh
//! funded wallet on the same server as the counterparty, so every payment is LNbits-internal.
//! `conformance_on_lnd.rs` runs the same suite with LNbits funded by lnd-sim.
//!
//! Run with `cargo xtask conformance --backend lnbits-fakewallet`, which installs and starts the
//! server, runs these tests one at a time (some restart the server) and stops it afterwards.

mod support;

use lnbits_testserver::TestServer;
use wallet_conformance::{Harness, HarnessError, TestBed};
use wallet_core::async_trait;

struct LnbitsHarness;

#[async_trait]
impl Harness for LnbitsHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let server = TestServer::from_env().map_err(HarnessError::Failed)?;
        support::test_bed(server, None).await
    }
}

wallet_conformance::suite!(
    LnbitsHarness,
    ignore =
        "needs a real LNbits server: run `cargo xtask conformance --backend lnbits-fakewallet`"
);
