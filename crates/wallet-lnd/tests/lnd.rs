//! lnd-specific behaviour against the simulator: certificate pinning, macaroon permissions,
//! and payments across implementations.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use lnd_sim::ScriptedReply;
use support::SimulatedLnd;
use wallet_core::{InvoiceRequest, PayInvoiceRequest, StreamCursor, Wallet, WalletError};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};
use wallet_lnd::LndWallet;

#[tokio::test]
async fn another_certificate_is_refused_with_a_message_naming_the_setting() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "pinned").await.unwrap();
    let other = SimulatedLnd::start(&network, "other").await.unwrap();
    let macaroon = std::fs::read(&lnd.simulator.files().admin_macaroon).unwrap();
    let wallet = lnd.wallet_with(&other.cert_pem(), macaroon).unwrap();

    let err = wallet.status().await.unwrap_err();
    assert_eq!(err.field(), Some("LND_GRPC_CERT"), "{err}");
    assert!(
        !err.is_retryable(),
        "waiting does not fix a certificate: {err}"
    );

    // Nothing can have been sent over a connection that was never made, and no wait helps.
    let invoice = FakeWallet::new(network.add_node(NodeConfig::new("payee")).unwrap())
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    let refused = wallet
        .pay_invoice(PayInvoiceRequest::new(invoice.payment_request, 2_000))
        .await
        .unwrap_err();
    assert_eq!(refused.reason().field(), Some("LND_GRPC_CERT"), "{refused}");
}

#[tokio::test]
async fn a_refused_connection_keeps_the_transport_error_as_its_cause() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "receiver").await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config =
        wallet_lnd::LndConfig::new("127.0.0.1", port, &lnd.cert_pem(), vec![1, 2, 3]).unwrap();
    let wallet = wallet_lnd::LndWallet::new(config).unwrap();
    let err = wallet.status().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "backend unavailable: lnd connection failed"
    );
    let causes = wallet_core::chain_texts(&err);
    assert!(
        causes
            .iter()
            .skip(1)
            .any(|cause| cause.to_lowercase().contains("refused")),
        "the cause was dropped: {causes:?}"
    );
}

#[tokio::test]
async fn an_invoice_macaroon_receives_but_cannot_pay() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "receiver").await.unwrap();
    let invoice_macaroon = std::fs::read(&lnd.simulator.files().invoice_macaroon).unwrap();
    let wallet = lnd.wallet_with(&lnd.cert_pem(), invoice_macaroon).unwrap();
    wallet
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();

    let payee = FakeWallet::new(network.add_node(NodeConfig::new("payee")).unwrap());
    let target = payee
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    let refused = wallet
        .pay_invoice(PayInvoiceRequest::new(target.payment_request, 2_000))
        .await
        .unwrap_err();
    assert!(
        matches!(refused.reason(), WalletError::Unauthorized(message) if message.contains("permission denied")),
        "{refused}"
    );
    assert!(
        !payee
            .get_invoice_status(&target.checking_id)
            .await
            .unwrap()
            .is_paid()
    );
}

#[tokio::test]
async fn macaroons_that_expired_or_are_garbage_are_unauthorized() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "strict").await.unwrap();
    let admin = std::fs::read(&lnd.simulator.files().admin_macaroon).unwrap();
    let expired =
        lnd_sim::macaroon::add_caveat(&admin, "time-before 2020-01-01T00:00:00Z").unwrap();
    let err = lnd
        .wallet_with(&lnd.cert_pem(), expired)
        .unwrap()
        .status()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Unauthorized(message) if message.contains("macaroon has expired")),
        "{err}"
    );

    let fresh =
        lnd_sim::macaroon::add_caveat(&admin, "time-before 2099-01-01T00:00:00.5Z").unwrap();
    assert!(
        lnd.wallet_with(&lnd.cert_pem(), fresh)
            .unwrap()
            .status()
            .await
            .is_ok()
    );

    let err = lnd
        .wallet_with(&lnd.cert_pem(), b"garbage".to_vec())
        .unwrap()
        .status()
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::Unauthorized(_)), "{err}");
}

#[tokio::test]
async fn lnd_fake_and_lnd_nodes_pay_each_other() {
    let network = FakeNetwork::new();
    let alice = SimulatedLnd::start(&network, "alice").await.unwrap();
    let bob = SimulatedLnd::start(&network, "bob").await.unwrap();
    let (alice, bob) = (alice.wallet().unwrap(), bob.wallet().unwrap());
    let carol = FakeWallet::new(network.add_node(NodeConfig::new("carol")).unwrap());
    let payers: [(&str, &dyn Wallet); 3] = [("alice", &alice), ("bob", &bob), ("carol", &carol)];
    wallet_conformance::fixtures::every_wallet_pays_every_other(
        &payers,
        wallet_conformance::Timing::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn lnbits_settings_build_the_wallet_through_the_registry() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "registered").await.unwrap();
    let mut registry = wallet_core::Registry::new();
    wallet_lnd::LndWallet::register(&mut registry);
    let settings = lnd
        .settings()
        .with(wallet_core::registry::BACKEND_CLASS_SETTING, "LndWallet");
    let wallet = registry.build(&settings).unwrap();
    assert!(wallet.status().await.unwrap().balance_msat > 0);
    let hex_settings = settings.with("LND_GRPC_MACAROON", lnd.admin_macaroon_hex());
    let wallet = registry.build(&hex_settings).unwrap();
    assert!(wallet.node_info().await.unwrap().pubkey.len() == 66);
}

#[tokio::test]
async fn a_port_that_does_not_speak_tls_is_named_as_the_setting_to_fix() {
    use tokio::io::AsyncWriteExt;
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "tls-check").await.unwrap();
    // A REST-like port: answers in plain HTTP.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = plain.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = plain.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let macaroon = wallet_core::hex::decode(&lnd.admin_macaroon_hex()).unwrap();
    let config = wallet_lnd::LndConfig::new("127.0.0.1", port, &lnd.cert_pem(), macaroon).unwrap();
    let wallet = wallet_lnd::LndWallet::new(config).unwrap();
    let err = wallet.status().await.unwrap_err();
    assert_eq!(err.field(), Some("LND_GRPC_PORT"), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
    // Said once, not once per layer of the transport.
    let chain = wallet_core::describe_chain(&err);
    assert!(chain.matches("InvalidContentType").count() <= 1, "{chain}");
}

#[tokio::test]
async fn a_reply_larger_than_the_cap_is_not_read_and_the_error_says_so() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "wordy").await.unwrap();
    let wallet = lnd.wallet().unwrap();
    let memo = "m".repeat(600);
    for _ in 0..150 {
        wallet
            .create_invoice(InvoiceRequest::new(1_000).memo(memo.clone()))
            .await
            .unwrap();
    }
    // ListInvoices now answers with well over 64 KiB.
    let capped = lnd.settings().with("LND_GRPC_MAX_REPLY_BYTES", "65536");
    let small = wallet_lnd::LndWallet::from_settings(&capped).unwrap();
    let err = small.paid_invoices_cursor().await.unwrap_err();
    let shown = wallet_core::describe_chain(&err);
    assert!(
        shown.contains("65536") && shown.contains("LND_GRPC_MAX_REPLY_BYTES"),
        "the cap and its setting are named: {shown}"
    );
    // The uncapped wallet reads the same answer.
    assert!(wallet.paid_invoices_cursor().await.is_ok());
}

/// A restart kills the pooled connection; the first request written on it before the client
/// noticed is lost although lnd is back. Calls that are safe to repeat go out once more on a
/// fresh connection instead of failing (a race: many restarts make it show).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_safe_to_repeat_reach_lnd_right_after_it_restarted() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "restarting").await.unwrap();
    let wallet = lnd.wallet().unwrap();
    let created = wallet
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    for round in 0..40 {
        // An open stream keeps the connection busy, as an app's would.
        let _stream = wallet.paid_invoices_stream(None).await.unwrap();
        lnd.simulator.restart().await.unwrap();
        let step = round % 3;
        let answer = match step {
            0 => wallet
                .create_invoice(InvoiceRequest::new(1_000))
                .await
                .map(drop),
            1 => wallet.status().await.map(drop),
            _ => wallet
                .get_invoice_status(&created.checking_id)
                .await
                .map(drop),
        };
        assert!(
            answer.is_ok(),
            "round {round}, call {step} right after a restart: {answer:?}"
        );
    }
}

/// A BTCPay-style connection string reaches the node, pinning its certificate by thumbprint; a
/// string with another thumbprint is refused at the handshake.
#[tokio::test]
async fn a_connection_string_with_the_certificate_thumbprint_connects_and_another_does_not() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "by-string").await.unwrap();
    let files = lnd.simulator.files();
    let der = CertificateDer::from_pem_file(&files.tls_cert).unwrap();
    let thumbprint = wallet_core::hex::encode(&wallet_core::sha256(der.as_ref()));
    let mut registry = wallet_core::Registry::new();
    LndWallet::register(&mut registry);
    let server = format!("https://127.0.0.1:{}", lnd.simulator.port());
    let connection = format!(
        "type=lnd-grpc;server={server};macaroon={};certthumbprint={thumbprint}",
        lnd.admin_macaroon_hex()
    );
    let wallet = registry.connect(&connection).unwrap();
    wallet.status().await.unwrap();
    let by_file = format!(
        "type=lnd-grpc;server={server};macaroonfilepath={};certfilepath={}",
        files.admin_macaroon.display(),
        files.tls_cert.display()
    );
    registry.connect(&by_file).unwrap().status().await.unwrap();
    let other = format!(
        "type=lnd-grpc;server={server};macaroon={};certthumbprint={}",
        lnd.admin_macaroon_hex(),
        "ab".repeat(32)
    );
    let refused = registry
        .connect(&other)
        .unwrap()
        .status()
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("not the pinned one"),
        "{refused}"
    );
}

/// A stream is on lnd's connection when `paid_invoices_stream` returns: a restart right after
/// ends it with an error. The subscription used to be sent from a task that, on a busy machine,
/// might not have run before the restart; it then reached the new lnd and the stream stayed
/// silent (seen once in CI). This test passes either way unless that task is late; with a
/// 300 ms sleep put before the call by hand it failed before the fix and passes after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_opened_right_before_a_restart_ends_with_an_error() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "restarted").await.unwrap();
    let wallet = lnd.wallet().unwrap();
    for round in 0..5 {
        let mut stream = wallet.paid_invoices_stream(None).await.unwrap();
        lnd.simulator.restart().await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap_or_else(|_| panic!("round {round}: silent 10 s after the restart"));
        assert!(
            matches!(next, Some(Err(_)) | None),
            "round {round}: an item after a restart: {next:?}"
        );
    }
}

/// A stream from settle index 0 cannot ask lnd for a backlog: an invoice settled after its
/// catch-up listing but before the subscription is in place reaches it through no update, and a
/// quiet node never answers. The stream lists again while lnd has not answered.
#[tokio::test]
async fn a_stream_from_nothing_settled_finds_a_settlement_its_subscription_never_reports() {
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "payee").await.unwrap();
    let wallet = lnd.wallet().unwrap();
    // The subscription arrives but lnd never answers it: as one in place only after the
    // settlement, on a node where nothing happens afterwards.
    lnd.simulator
        .script_next("/lnrpc.Lightning/SubscribeInvoices", ScriptedReply::Silence);
    let mut stream = wallet
        .paid_invoices_stream(Some(StreamCursor::from_index(0)))
        .await
        .unwrap();
    // The stream's first listing runs, then it waits for lnd's answer.
    let nothing = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(nothing.is_err(), "nothing was paid yet: {nothing:?}");
    let created = wallet
        .create_invoice(InvoiceRequest::new(3_000))
        .await
        .unwrap();
    let payer = FakeWallet::new(network.add_node(NodeConfig::new("payer")).unwrap());
    let paid = payer
        .pay_invoice(PayInvoiceRequest::new(created.payment_request, 10_000))
        .await
        .unwrap();
    assert!(paid.status.is_succeeded(), "{paid:?}");
    let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the settlement within the relisting interval")
        .expect("an item")
        .unwrap();
    assert_eq!(item.payment_hash, created.checking_id);
    assert_eq!(item.amount_received_msat, 3_000);
}

#[tokio::test]
async fn an_invoice_lnd_issued_for_another_amount_or_without_the_description_hash_is_refused() {
    use prost::Message;
    let network = FakeNetwork::new();
    let lnd = SimulatedLnd::start(&network, "issuer").await.unwrap();
    let wallet = lnd.wallet().unwrap();
    let other = FakeWallet::new(network.add_node(NodeConfig::new("other")).unwrap());
    let another_amount = other
        .create_invoice(InvoiceRequest::new(9_000))
        .await
        .unwrap();
    let no_hash = other
        .create_invoice(InvoiceRequest::new(5_000).memo("plain"))
        .await
        .unwrap();
    let hashed =
        InvoiceRequest::new(5_000).unhashed_description(b"[[\"text/plain\",\"x\"]]".to_vec());
    for (issued, request, what) in [
        (another_amount, InvoiceRequest::new(5_000), "another amount"),
        (no_hash, hashed, "no description hash"),
    ] {
        let reply = lnd_grpc::lnrpc::AddInvoiceResponse {
            r_hash: wallet_core::hex::decode(&issued.checking_id.to_hex()).unwrap(),
            payment_request: issued.payment_request,
            add_index: 1,
            payment_addr: Vec::new(),
        };
        lnd.simulator.script_next(
            "/lnrpc.Lightning/AddInvoice",
            ScriptedReply::Message(reply.encode_to_vec()),
        );
        let created = wallet.create_invoice(request).await;
        assert!(created.is_err(), "{what}: {created:?}");
    }
}
