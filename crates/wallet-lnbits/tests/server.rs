//! LNbits-specific behaviour against a real server, beyond the conformance suite. Ignored
//! without a server; `cargo xtask conformance --backend lnbits` runs it.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use lnbits_testserver::{TestServer, WalletKeys};
use wallet_core::{InvoiceRequest, PayInvoiceRequest, Wallet};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};

fn wallet(endpoint: &str, keys: &WalletKeys) -> LnbitsWallet {
    let config = LnbitsConfig::new(
        endpoint,
        Some(keys.admin_key.clone()),
        Some(keys.invoice_key.clone()),
    )
    .unwrap();
    LnbitsWallet::new(config).unwrap()
}

/// Anyone can push text into a websocket channel with `GET /api/v1/ws/{id}/{data}`.
async fn inject(endpoint: &str, channel: &str, text: &str) {
    let encoded: String = text
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    let url = format!("{endpoint}/api/v1/ws/{channel}/{encoded}");
    let response = reqwest::get(&url).await.unwrap();
    assert!(
        response.status().is_success(),
        "injecting: {}",
        response.status()
    );
}

#[tokio::test]
#[ignore = "needs a real LNbits server: run `cargo xtask conformance --backend lnbits`"]
async fn injected_and_forged_websocket_messages_never_reach_the_stream() {
    let server = TestServer::from_env().unwrap();
    let endpoint = server.endpoint().unwrap();
    let receiver_keys = server.new_wallet("receiver", 0).await.unwrap();
    let payer_keys = server.new_wallet("payer", 100_000).await.unwrap();
    let receiver = wallet(&endpoint, &receiver_keys);
    let payer = wallet(&endpoint, &payer_keys);
    let mut stream = receiver.paid_invoices_stream(None).await.unwrap();

    // Text, and a well-formed message about a paid invoice that does not exist.
    let forged_hash = "ab".repeat(32);
    inject(&endpoint, &receiver_keys.invoice_key, "hello").await;
    inject(
        &endpoint,
        &receiver_keys.invoice_key,
        &format!(
            r#"{{"wallet_balance": 1, "payment": {{"payment_hash": "{forged_hash}", "amount": 99000000, "status": "success", "memo": "free money"}}}}"#
        ),
    )
    .await;

    let invoice = receiver
        .create_invoice(InvoiceRequest::new(5_000).memo("real"))
        .await
        .unwrap();
    let paid = payer
        .pay_invoice(PayInvoiceRequest::new(invoice.payment_request, 2_000))
        .await
        .unwrap();
    assert!(paid.status.is_succeeded(), "{paid:?}");

    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("no item")
        .expect("stream ended")
        .expect("stream failed");
    assert_eq!(
        first.payment_hash, invoice.checking_id,
        "the forged message came through"
    );
    assert_eq!(first.amount_received_msat, 5_000);
    // LNbits sends each event about twice; the stream yields it once.
    let more = tokio::time::timeout(Duration::from_secs(2), stream.next()).await;
    assert!(more.is_err(), "a second item arrived: {more:?}");
}

#[tokio::test]
#[ignore = "needs a real LNbits server: run `cargo xtask conformance --backend lnbits`"]
async fn top_ups_and_outgoing_payments_are_not_paid_invoices() {
    let server = TestServer::from_env().unwrap();
    let endpoint = server.endpoint().unwrap();
    let keys = server.new_wallet("spender", 0).await.unwrap();
    let peer_keys = server.new_wallet("peer", 0).await.unwrap();
    let spender = wallet(&endpoint, &keys);
    let peer = wallet(&endpoint, &peer_keys);
    let mut stream = spender.paid_invoices_stream(None).await.unwrap();

    // A top-up ("Admin credit") and an outgoing payment both reach the spender's websocket.
    let control = lnbits_testserver::Control::load(std::path::Path::new(
        &std::env::var(lnbits_testserver::CONTROL_ENV).unwrap(),
    ))
    .unwrap();
    let client = reqwest::Client::new();
    let top_up = client
        .put(format!("{endpoint}/users/api/v1/balance"))
        .bearer_auth(&control.superuser_token)
        .json(&serde_json::json!({"id": keys.id, "amount": 50_000}))
        .send()
        .await
        .unwrap();
    assert!(top_up.status().is_success());
    let target = peer
        .create_invoice(InvoiceRequest::new(3_000))
        .await
        .unwrap();
    let paid = spender
        .pay_invoice(PayInvoiceRequest::new(target.payment_request, 2_000))
        .await
        .unwrap();
    assert!(paid.status.is_succeeded(), "{paid:?}");

    let nothing = tokio::time::timeout(Duration::from_secs(3), stream.next()).await;
    assert!(nothing.is_err(), "the stream yielded {nothing:?}");
}
