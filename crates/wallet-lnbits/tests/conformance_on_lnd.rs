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

use std::path::PathBuf;

use lnbits_testserver::{LndFundedBed, TestServer};
use wallet_conformance::{Harness, HarnessError, TestBed};
use wallet_core::async_trait;

struct LnbitsOnLndHarness;

fn work_dir() -> PathBuf {
    std::env::var_os("LNBITS_TEST_WORK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/lnbits"))
}

#[async_trait]
impl Harness for LnbitsOnLndHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let bed = LndFundedBed::shared(&work_dir())
            .await
            .map_err(HarnessError::Failed)?;
        let server = TestServer::at(bed.server().control_path().to_path_buf())
            .map_err(HarnessError::Failed)?;
        support::test_bed(server, Some(bed)).await
    }
}

wallet_conformance::suite!(
    LnbitsOnLndHarness,
    ignore = "starts LNbits (installed from PyPI) funded by lnd-sim: run `cargo xtask conformance --backend lnbits`"
);
