//! Contract rule 10: full pay, receive and stream cycles through the ledger, with every target of
//! this process logged at TRACE (the wallet's, the ledger's, reqwest's, hyper's), log no API key.

use std::net::SocketAddr;

use ledger_backend::{LedgerConfig, LedgerServer, LedgerWallet};
use wallet_conformance::fixtures::random_bytes;
use wallet_conformance::log_capture::{capture_everything, pay_receive_stream_cycle};
use wallet_core::hex;
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

#[tokio::test]
async fn full_cycles_logged_at_trace_show_no_api_key() {
    let capture = capture_everything();
    let network = FakeNetwork::new();
    let node = network.add_node(NodeConfig::new("log-ledger")).unwrap();
    let peer = FakeWallet::new(network.add_node(NodeConfig::new("log-peer")).unwrap());
    let api_key = hex::encode(&random_bytes());
    let server = LedgerServer::start(node, api_key.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let ledger =
        LedgerWallet::new(LedgerConfig::new(&server.endpoint(), api_key.clone()).unwrap()).unwrap();
    // The ledger receives (its invoices, its stream), then pays.
    let mut secrets = pay_receive_stream_cycle(&peer, &ledger).await.unwrap();
    secrets.extend(pay_receive_stream_cycle(&ledger, &peer).await.unwrap());
    secrets.push(("the API key".to_owned(), api_key));
    capture.assert_free_of(&secrets);
    assert!(
        capture.text().contains("pay_invoice"),
        "no wallet span captured"
    );
}
