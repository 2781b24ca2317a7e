//! Contract rule 10: a full pay, receive and stream cycle, with every target logged at TRACE,
//! logs no secret.

use wallet_conformance::log_capture::{capture_everything, pay_receive_stream_cycle};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

#[tokio::test]
async fn a_full_cycle_logged_at_trace_shows_no_secret() {
    let capture = capture_everything();
    let network = FakeNetwork::new();
    let payer = FakeWallet::new(network.add_node(NodeConfig::new("log-payer")).unwrap());
    let payee = FakeWallet::new(network.add_node(NodeConfig::new("log-payee")).unwrap());
    let secrets = pay_receive_stream_cycle(&payer, &payee).await.unwrap();
    assert!(!secrets.is_empty(), "the fake backend has hold invoices");
    capture.assert_free_of(&secrets);
    // The capture saw the wallet's own spans.
    assert!(capture.text().contains("pay_invoice"), "{}", capture.text());
}
