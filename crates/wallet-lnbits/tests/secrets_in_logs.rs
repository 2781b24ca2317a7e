//! Contract rule 10: full pay, receive and stream cycles through a real LNbits funded by lnd-sim,
//! with every target of this process logged at TRACE (the wallet's, reqwest's, hyper's, rustls',
//! tungstenite's), log neither LNbits key nor the preimage of an unpaid invoice. Ignored without
//! the bed; `cargo xtask conformance --backend lnbits` runs it.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use lnbits_testserver::LndFundedBed;
use wallet_conformance::log_capture::{capture_everything, pay_receive_stream_cycle};
use wallet_fake::{FakeWallet, NodeConfig};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};

#[tokio::test]
#[ignore = "starts LNbits funded by lnd-sim"]
async fn full_cycles_logged_at_trace_show_no_key_and_no_unpaid_preimage() {
    let capture = capture_everything();
    let bed = LndFundedBed::shared_from_env().await.unwrap();
    let keys = bed
        .server()
        .new_wallet("log-capture", 100_000)
        .await
        .unwrap();
    let endpoint = bed.server().endpoint().unwrap();
    let config = LnbitsConfig::new(
        &endpoint,
        Some(keys.admin_key.clone()),
        Some(keys.invoice_key.clone()),
    )
    .unwrap()
    .with_hold_invoices(true);
    let lnbits = LnbitsWallet::new(config).unwrap();
    let node = FakeWallet::new(
        bed.network()
            .add_node(NodeConfig::new("log-capture-node"))
            .unwrap(),
    );
    // LNbits receives (its invoices, its stream, a hold invoice), then pays.
    let mut secrets = pay_receive_stream_cycle(&node, &lnbits).await.unwrap();
    secrets.extend(pay_receive_stream_cycle(&lnbits, &node).await.unwrap());
    secrets.push(("the admin key".into(), keys.admin_key.clone()));
    secrets.push(("the invoice key".into(), keys.invoice_key.clone()));
    capture.assert_free_of(&secrets);
    let text = capture.text();
    assert!(text.contains("pay_invoice"), "no wallet span captured");
    for target in [" reqwest", " hyper", " tungstenite"] {
        assert!(text.contains(target), "no event of{target} captured");
    }
}
