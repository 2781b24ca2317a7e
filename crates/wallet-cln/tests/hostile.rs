//! What the Core Lightning backend makes of answers a buggy or hostile lightningd (or plugin)
//! gives: never a panic, a wrapped number, an endless loop or a confident zero.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::SimulatedCln;
use wallet_core::{HoldInvoiceRequest, InvoiceRequest, InvoiceStatus, Preimage, Wallet};
use wallet_fake::FakeNetwork;

fn channel(amount: serde_json::Value) -> serde_json::Value {
    json!({"state": "CHANNELD_NORMAL", "our_amount_msat": amount, "amount_msat": amount})
}

#[tokio::test]
async fn channel_balances_summing_past_21_million_btc_are_an_error_not_a_panic() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "rich").await.unwrap();
    let half = u64::MAX / 2 + 1;
    cln.simulator.answer_next_with(
        "listfunds",
        json!({"outputs": [], "channels": [channel(json!(half)), channel(json!(half))]}),
    );
    let status = cln.wallet().status().await;
    assert!(status.is_err(), "{status:?}");
}

#[tokio::test]
async fn an_unreadable_or_missing_balance_is_an_error_not_a_smaller_one() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "vague").await.unwrap();
    let wallet = cln.wallet();
    for answer in [
        json!({"outputs": [], "channels": [channel(json!(5_000)), channel(json!(null))]}),
        json!({"outputs": [], "channels": [channel(json!(-5))]}),
        json!({"outputs": [], "channels": [channel(json!(1.5))]}),
        json!({"outputs": [], "channels": [channel(json!("5sat"))]}),
        json!({"outputs": []}),
        json!({"outputs": [], "channels": {}}),
    ] {
        cln.simulator.answer_next_with("listfunds", answer.clone());
        let status = wallet.status().await;
        assert!(status.is_err(), "{answer}: {status:?}");
    }
    // The simulator's own answer still reads.
    assert!(wallet.status().await.unwrap().balance_msat > 0);
}

#[tokio::test]
async fn a_created_index_at_the_top_of_u64_ends_paging_with_an_error_not_a_panic_or_a_loop() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "pager").await.unwrap();
    let full_page: Vec<_> = (0..1_000)
        .map(|_| json!({"created_index": u64::MAX, "pay_index": 1, "status": "paid"}))
        .collect();
    cln.simulator
        .answer_next_with("listinvoices", json!({ "invoices": full_page }));
    let opened = tokio::time::timeout(Duration::from_secs(10), cln.wallet().paid_invoices_cursor())
        .await
        .expect("paging did not end");
    assert!(opened.is_err(), "{opened:?}");
}

#[tokio::test]
async fn a_page_that_does_not_move_forward_is_an_error_not_an_endless_loop() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "stuck").await.unwrap();
    let page: Vec<_> = (0..1_000)
        .map(|_| json!({"created_index": 0, "pay_index": 1, "status": "paid"}))
        .collect();
    for _ in 0..3 {
        cln.simulator
            .answer_next_with("listinvoices", json!({ "invoices": page.clone() }));
    }
    let opened = tokio::time::timeout(Duration::from_secs(10), cln.wallet().paid_invoices_cursor())
        .await
        .expect("paging did not end");
    assert!(opened.is_err(), "{opened:?}");
}

#[tokio::test]
async fn held_htlcs_summing_past_21_million_btc_are_an_error_not_a_wrapped_amount() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "holder").await.unwrap();
    let wallet = cln.wallet();
    let preimage = Preimage::from_bytes([7; 32]);
    let hash = preimage.payment_hash();
    wallet
        .create_hold_invoice(HoldInvoiceRequest {
            payment_hash: hash,
            invoice: InvoiceRequest::new(5_000),
        })
        .await
        .unwrap();
    let half = u64::MAX / 2 + 1;
    cln.simulator.answer_next_with(
        "listholdinvoices",
        json!({"holdinvoices": [{
            "payment_hash": hash.to_hex(),
            "state": "accepted",
            "amount_msat": 5_000,
            "htlcs": [{"msat": half}, {"msat": half}],
        }]}),
    );
    let status = wallet.get_invoice_status(&hash).await;
    assert!(
        !matches!(status, Ok(InvoiceStatus::Held { .. })),
        "{status:?}"
    );
    assert!(status.is_err(), "{status:?}");
}

#[tokio::test]
async fn an_invoice_for_another_amount_than_requested_is_refused() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "issuer").await.unwrap();
    let other = wallet_fake::FakeWallet::new(
        network
            .add_node(wallet_fake::NodeConfig::new("other"))
            .unwrap(),
    );
    let wrong = other
        .create_invoice(InvoiceRequest::new(9_000))
        .await
        .unwrap();
    cln.simulator.answer_next_with(
        "invoice",
        json!({
            "bolt11": wrong.payment_request,
            "payment_hash": wrong.checking_id.to_hex(),
            "expires_at": wrong.expires_at,
        }),
    );
    let created = cln
        .wallet()
        .create_invoice(InvoiceRequest::new(5_000))
        .await;
    assert!(created.is_err(), "{created:?}");
}

#[tokio::test]
async fn a_reply_larger_than_the_cap_is_not_read() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "verbose").await.unwrap();
    let padding = "x".repeat(6 * 1024 * 1024);
    cln.simulator.answer_next_with(
        "listfunds",
        json!({"outputs": [], "channels": [], "padding": padding}),
    );
    let status = cln.wallet().status().await.expect_err("a 6 MiB reply");
    assert!(
        status.to_string().contains("CORELIGHTNING_MAX_REPLY_BYTES"),
        "{status}"
    );
}

#[tokio::test]
async fn lightningd_error_text_is_cut_and_stripped_of_control_characters() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "shouty").await.unwrap();
    let mut message = "\u{1b}[2J\u{1b}[HPAYMENT SUCCEEDED\r\u{7}".to_owned();
    message.push_str(&"y".repeat(1_000_000));
    cln.simulator.fail_next_with("listfunds", -1, &message);
    let shown = cln.wallet().status().await.unwrap_err().to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.len() < 1_000, "{} bytes", shown.len());
}

#[tokio::test]
async fn a_node_that_keeps_answering_unpaid_invoices_ends_the_stream_instead_of_spinning() {
    use futures::StreamExt;
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "spinner").await.unwrap();
    for _ in 0..100 {
        cln.simulator
            .answer_next_with("waitanyinvoice", json!({"status": "expired", "label": "x"}));
    }
    let mut stream = cln
        .wallet()
        .paid_invoices_stream(Some(wallet_core::StreamCursor::from_index(0)))
        .await
        .unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream kept spinning")
        .expect("the stream ended without saying why");
    assert!(item.is_err(), "{item:?}");
}

#[tokio::test]
async fn peer_ids_and_addresses_are_cut_and_stripped_like_any_server_text() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "peers").await.unwrap();
    let repaint = "\u{1b}[2J\u{1b}[HPAYMENT SUCCEEDED";
    let huge = "x".repeat(1_000_000);
    cln.simulator.answer_next_with(
        "listpeers",
        json!({"peers": [{"id": repaint, "connected": true, "netaddr": [huge]}]}),
    );
    let peers = cln.wallet().list_peers().await.unwrap();
    let shown = format!("{peers:?}");
    assert!(!shown.contains('\u{1b}'), "{shown}");
    assert!(shown.len() < 2_000, "{} bytes shown", shown.len());
    cln.simulator.answer_next_with(
        "listpeerchannels",
        json!({"channels": [{"peer_id": repaint, "short_channel_id": repaint,
            "total_msat": 5_000, "to_us_msat": 1_000, "state": "CHANNELD_NORMAL"}]}),
    );
    let channels = cln.wallet().list_channels().await.unwrap();
    assert_eq!(channels[0].remote_balance_msat, 4_000);
    assert!(!format!("{channels:?}").contains('\u{1b}'), "{channels:?}");
}

#[tokio::test]
async fn a_settle_error_quoting_the_preimage_across_the_text_cut_shows_none_of_it() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "quoting").await.unwrap();
    let wallet = cln.wallet();
    let preimage = Preimage::from_bytes([0x5c; 32]);
    wallet
        .create_hold_invoice(HoldInvoiceRequest {
            payment_hash: preimage.payment_hash(),
            invoice: InvoiceRequest::new(5_000),
        })
        .await
        .unwrap();
    // The preimage starts just before the 500 characters shown: cut first, the rest of it
    // would survive any redaction.
    let message = format!(
        "{}{}{}",
        "x".repeat(480),
        preimage.to_hex(),
        "y".repeat(100)
    );
    cln.simulator
        .fail_next_with("settleholdinvoice", -1, &message);
    let err = wallet.settle_hold_invoice(&preimage).await.unwrap_err();
    let shown = wallet_core::describe_chain(&err);
    let hex = preimage.to_hex();
    assert!(
        !shown.contains(&hex[..16]),
        "part of the preimage shown: {shown}"
    );
}
