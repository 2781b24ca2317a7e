//! Contract rule 10: a full pay, receive and stream cycle against lnd-sim (gRPC over TLS), with
//! every target logged at TRACE (the wallet's, tonic's, h2's, hyper's, rustls'), logs neither the
//! macaroon nor the preimage of an unpaid invoice.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use support::SimulatedLnd;
use wallet_conformance::log_capture::{capture_everything, pay_receive_stream_cycle};
use wallet_fake::FakeNetwork;

#[tokio::test]
async fn a_full_cycle_logged_at_trace_shows_no_macaroon_and_no_unpaid_preimage() {
    let capture = capture_everything();
    let network = FakeNetwork::new();
    let payer = SimulatedLnd::start(&network, "log-payer").await.unwrap();
    let payee = SimulatedLnd::start(&network, "log-payee").await.unwrap();
    let mut secrets = pay_receive_stream_cycle(&payer.wallet().unwrap(), &payee.wallet().unwrap())
        .await
        .unwrap();
    for macaroon in [payer.admin_macaroon_hex(), payee.admin_macaroon_hex()] {
        secrets.push((
            "an admin macaroon's first bytes".into(),
            macaroon[..32].into(),
        ));
        secrets.push(("an admin macaroon".into(), macaroon));
    }
    capture.assert_free_of(&secrets);
    let text = capture.text();
    assert!(text.contains("pay_invoice"), "no wallet span captured");
    for target in [" h2::", " hyper", " tonic", " rustls::"] {
        assert!(text.contains(target), "no event of{target} captured");
    }
}
