//! Contract rule 10: a full pay, receive and stream cycle against cln-sim (JSON-RPC on a unix
//! socket, hold invoices through the plugin), with every target logged at TRACE, logs no preimage
//! of an unpaid invoice.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

mod support;

use support::SimulatedCln;
use wallet_conformance::log_capture::{capture_everything, pay_receive_stream_cycle};
use wallet_fake::FakeNetwork;

#[tokio::test]
async fn a_full_cycle_logged_at_trace_shows_no_unpaid_preimage() {
    let capture = capture_everything();
    let network = FakeNetwork::new();
    let payer = SimulatedCln::start(&network, "log-payer").await.unwrap();
    let payee = SimulatedCln::start(&network, "log-payee").await.unwrap();
    let secrets = pay_receive_stream_cycle(&payer.wallet(), &payee.wallet())
        .await
        .unwrap();
    assert!(!secrets.is_empty(), "the hold plugin is configured");
    capture.assert_free_of(&secrets);
    assert!(
        capture.text().contains("pay_invoice"),
        "no wallet span captured"
    );
}
