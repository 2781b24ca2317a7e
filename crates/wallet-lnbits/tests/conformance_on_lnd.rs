//! The conformance suite against a real LNbits server funded by lnd-sim through LNbits' own
//! `LndWallet` (gRPC, TLS, macaroon): external payments, payments pending at the node, the node's
//! failures and hold invoices. Each behaviour gets a fresh funded LNbits wallet, reached through a
//! `FaultProxy`; the counterparty is a fresh node of the funding node's network. Payment faults
//! (stalls, releases, attempt counts) act on the funding node.
//!
//! The test process starts the bed itself on first use (`LndFundedBed::shared`), with the LNbits
//! venv under `$LNBITS_TEST_WORK_DIR` (default `target/lnbits`). Run with
//! `cargo xtask conformance --backend lnbits`.

mod support;

use lnbits_testserver::LndFundedBed;
use wallet_conformance::{Harness, HarnessError, TestBed};
use wallet_core::async_trait;

struct LnbitsOnLndHarness;

#[async_trait]
impl Harness for LnbitsOnLndHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let bed = LndFundedBed::shared_from_env()
            .await
            .map_err(HarnessError::Failed)?;
        support::test_bed(bed.server().clone(), Some(bed)).await
    }
}

wallet_conformance::suite!(
    LnbitsOnLndHarness,
    ignore = "starts LNbits (installed from PyPI) funded by lnd-sim: run `cargo xtask conformance --backend lnbits`"
);
