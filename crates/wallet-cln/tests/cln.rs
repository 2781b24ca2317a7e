//! Core Lightning-specific behaviour against the simulator: the stream's long-poll beside other
//! calls, description hashes, hold invoices without the plugin, settings, and payments across
//! implementations.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use support::{SimulatedCln, lnd_node};
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_conformance::fixtures::TempDir;
use wallet_core::bolt11::{Bolt11, Bolt11Description};
use wallet_core::{
    DescriptionHash, HoldInvoiceRequest, InvoiceRequest, PayInvoiceRequest, PaymentHash, Wallet,
    WalletError, WalletFeature,
};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

/// Well under the stream's 10 s long-poll: a call queued behind it would miss this.
const QUICK: Duration = Duration::from_secs(3);

#[tokio::test]
async fn calls_are_not_held_up_by_a_stream_waiting_for_payments() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "busy").await.unwrap();
    let wallet = cln.wallet();
    let mut stream = wallet.paid_invoices_stream(None).await.unwrap();
    let waiting = tokio::spawn(async move { stream.next().await.map(|item| item.unwrap()) });
    // Let the stream's waitanyinvoice reach lightningd before the other calls.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = futures::future::join_all((0..10).map(|_| wallet.status()));
    for status in tokio::time::timeout(QUICK, calls).await.unwrap() {
        assert!(status.unwrap().balance_msat > 0);
    }
    let invoice = tokio::time::timeout(QUICK, wallet.create_invoice(InvoiceRequest::new(1_000)))
        .await
        .unwrap()
        .unwrap();
    let payer = FakeWallet::new(network.add_node(NodeConfig::new("payer")).unwrap());
    let sent = payer
        .pay_invoice(PayInvoiceRequest::new(invoice.payment_request, 5_000))
        .await
        .unwrap();
    assert!(sent.status.is_succeeded(), "{sent:?}");
    let paid = tokio::time::timeout(QUICK, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(paid.payment_hash, invoice.checking_id);
}

#[tokio::test]
async fn a_bare_description_hash_is_unsupported_and_a_full_description_is_hashed() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "hashing").await.unwrap();
    let wallet = cln.wallet();
    assert!(!wallet.features().contains(WalletFeature::DescriptionHash));

    let bare = InvoiceRequest::new(1_000).description_hash(DescriptionHash::from_bytes([7; 32]));
    let err = wallet.create_invoice(bare).await.unwrap_err();
    assert!(
        matches!(
            err,
            WalletError::Unsupported(WalletFeature::DescriptionHash)
        ),
        "{err}"
    );

    let metadata = br#"[["text/plain","lnurl-pay"]]"#;
    let created = wallet
        .create_invoice(InvoiceRequest::new(1_000).unhashed_description(metadata.to_vec()))
        .await
        .unwrap();
    let decoded = Bolt11::parse(&created.payment_request).unwrap();
    assert_eq!(
        decoded.description(),
        Bolt11Description::Hash(DescriptionHash::from_bytes(wallet_core::sha256(metadata)))
    );
}

#[tokio::test]
async fn hold_invoices_are_unsupported_unless_the_plugin_is_configured() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "no-plugin").await.unwrap();
    let wallet = CoreLightningWallet::new(ClnConfig::new(cln.simulator.socket_path()));
    assert!(!wallet.features().contains(WalletFeature::HoldInvoice));
    let request = HoldInvoiceRequest {
        payment_hash: PaymentHash::from_bytes([3; 32]),
        invoice: InvoiceRequest::new(1_000),
    };
    let err = wallet.create_hold_invoice(request).await.unwrap_err();
    assert!(
        matches!(err, WalletError::Unsupported(WalletFeature::HoldInvoice)),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_socket_is_unavailable_and_names_the_path() {
    let dir = TempDir::new("wallet-cln-missing").unwrap();
    let socket = dir.path().join("regtest").join("lightning-rpc");
    let wallet = CoreLightningWallet::new(ClnConfig::new(&socket));
    let err = wallet.status().await.unwrap_err();
    assert!(matches!(err, WalletError::Unavailable { .. }), "{err}");
    assert!(
        err.to_string().contains(&socket.display().to_string()),
        "{err}"
    );
    assert!(err.is_retryable());
    let causes = wallet_core::chain_texts(&err);
    assert!(
        causes.len() == 2 && causes[1].contains("No such file or directory"),
        "the socket's own error is the cause: {causes:?}"
    );
}

#[tokio::test]
async fn lnbits_settings_build_the_wallet_through_the_registry_under_either_name() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "registered").await.unwrap();
    let mut registry = wallet_core::Registry::new();
    CoreLightningWallet::register(&mut registry);
    let socket = cln.simulator.socket_path().display().to_string();
    for name in ["CORELIGHTNING_RPC", "CLIGHTNING_RPC"] {
        let settings = wallet_core::Settings::new()
            .with(
                wallet_core::registry::BACKEND_CLASS_SETTING,
                "CoreLightningWallet",
            )
            .with(name, socket.clone());
        let wallet = registry.build(&settings).unwrap();
        assert!(wallet.status().await.unwrap().balance_msat > 0, "{name}");
        assert!(
            !wallet.features().contains(WalletFeature::HoldInvoice),
            "{name}"
        );
    }
    let with_plugin = cln.settings().with(
        wallet_core::registry::BACKEND_CLASS_SETTING,
        "CoreLightningWallet",
    );
    let wallet = registry.build(&with_plugin).unwrap();
    assert!(wallet.features().contains(WalletFeature::HoldInvoice));
}

#[tokio::test]
async fn core_lightning_lnd_and_fake_nodes_pay_each_other() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "carol").await.unwrap();
    let lnd_dir = TempDir::new("wallet-cln-lnd-peer").unwrap();
    let (_lnd, dave) = lnd_node(&network, "dave", &lnd_dir).await;
    let carol = cln.wallet();
    let erin = FakeWallet::new(network.add_node(NodeConfig::new("erin")).unwrap());
    let wallets: [(&str, &dyn Wallet); 3] = [("carol", &carol), ("dave", &dave), ("erin", &erin)];
    wallet_conformance::fixtures::every_wallet_pays_every_other(
        &wallets,
        wallet_conformance::Timing::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_stream_resumed_after_a_restart_delivers_what_was_paid_meanwhile_exactly_once() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "resuming").await.unwrap();
    let wallet = cln.wallet();
    let payer = FakeWallet::new(network.add_node(NodeConfig::new("payer")).unwrap());
    let pay = |bolt11: String| {
        let payer = &payer;
        async move {
            let sent = payer
                .pay_invoice(PayInvoiceRequest::new(bolt11, 5_000))
                .await
                .unwrap();
            assert!(sent.status.is_succeeded(), "{sent:?}");
        }
    };

    let mut stream = wallet.paid_invoices_stream(None).await.unwrap();
    let first = wallet
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    pay(first.payment_request).await;
    let delivered = tokio::time::timeout(QUICK, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(delivered.payment_hash, first.checking_id);

    cln.simulator.restart().await.unwrap();
    let ended = tokio::time::timeout(QUICK, stream.next()).await.unwrap();
    assert!(!matches!(ended, Some(Ok(_))), "{ended:?}");

    let second = wallet
        .create_invoice(InvoiceRequest::new(2_000))
        .await
        .unwrap();
    pay(second.payment_request).await;
    let mut resumed = wallet
        .paid_invoices_stream(Some(delivered.cursor))
        .await
        .unwrap();
    let next = tokio::time::timeout(QUICK, resumed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.payment_hash, second.checking_id);
    assert_eq!(next.amount_received_msat, 2_000);
    let quiet = tokio::time::timeout(Duration::from_millis(500), resumed.next()).await;
    assert!(quiet.is_err(), "replayed after the cursor: {quiet:?}");
}

#[tokio::test]
async fn paying_a_paid_invoice_again_reads_listpays_and_never_calls_xpay() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "once").await.unwrap();
    let wallet = cln.wallet();
    let payee = FakeWallet::new(network.add_node(NodeConfig::new("payee")).unwrap());
    let invoice = payee
        .create_invoice(InvoiceRequest::new(4_000))
        .await
        .unwrap();
    let request = PayInvoiceRequest::new(invoice.payment_request, 5_000);
    let first = wallet.pay_invoice(request.clone()).await.unwrap();
    let again = wallet.pay_invoice(request).await.unwrap();
    assert!(first.status.is_succeeded(), "{first:?}");
    assert_eq!(again.status, first.status);
    assert_eq!(cln.simulator.calls_of("xpay"), 1);
    assert_eq!(cln.simulator.calls_of("listpays"), 2);
}

/// Waits until `wallet` reports `hash` held, for at most `QUICK`.
async fn until_held(wallet: &CoreLightningWallet, hash: &PaymentHash) {
    let deadline = tokio::time::Instant::now() + QUICK;
    loop {
        let status = wallet.get_invoice_status(hash).await.unwrap();
        if matches!(status, wallet_core::InvoiceStatus::Held { .. }) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never held: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_settled_hold_invoice_reaches_the_stream_once_and_a_cursor_resumes_after_it() {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, "hold-payee").await.unwrap();
    let payer = FakeWallet::new(
        network
            .add_node(NodeConfig::new("hold-payer").balance_msat(10_000_000))
            .unwrap(),
    );
    let wallet = cln.wallet();
    let pay = |bolt11: String| {
        let payer = payer.clone();
        tokio::spawn(async move {
            payer
                .pay_invoice(
                    PayInvoiceRequest::new(bolt11, 10_000).timeout(Duration::from_secs(10)),
                )
                .await
        })
    };
    let hold = |seed: u8, amount_msat: u64| {
        let preimage = wallet_core::Preimage::from_bytes([seed; 32]);
        let request = HoldInvoiceRequest {
            payment_hash: preimage.payment_hash(),
            invoice: InvoiceRequest::new(amount_msat),
        };
        (preimage, request)
    };

    // Settled before the stream's start: not passed on.
    let (before, request) = hold(1, 3_000);
    let invoice = wallet.create_hold_invoice(request).await.unwrap();
    let paying = pay(invoice.payment_request);
    until_held(&wallet, &before.payment_hash()).await;
    wallet.settle_hold_invoice(&before).await.unwrap();
    paying.await.unwrap().unwrap();
    let start = wallet.paid_invoices_cursor().await.unwrap();

    let mut stream = wallet.paid_invoices_stream(Some(start)).await.unwrap();
    let (held, request) = hold(2, 4_000);
    let invoice = wallet.create_hold_invoice(request).await.unwrap();
    let paying = pay(invoice.payment_request);
    until_held(&wallet, &held.payment_hash()).await;
    wallet.settle_hold_invoice(&held).await.unwrap();
    paying.await.unwrap().unwrap();
    let first = tokio::time::timeout(QUICK, stream.next())
        .await
        .expect("the settled hold invoice never came")
        .unwrap()
        .unwrap();
    assert_eq!(first.payment_hash, held.payment_hash());
    assert_eq!(first.amount_received_msat, 4_000);

    let plain = wallet
        .create_invoice(InvoiceRequest::new(2_000))
        .await
        .unwrap();
    pay(plain.payment_request).await.unwrap().unwrap();
    let second = tokio::time::timeout(QUICK, stream.next())
        .await
        .expect("the plain invoice never came")
        .unwrap()
        .unwrap();
    assert_eq!(second.payment_hash, plain.checking_id);

    // From the hold invoice's cursor: the plain invoice only.
    let mut resumed = wallet
        .paid_invoices_stream(Some(first.cursor.clone()))
        .await
        .unwrap();
    let next = tokio::time::timeout(QUICK, resumed.next())
        .await
        .expect("the plain invoice never came after the resume")
        .unwrap()
        .unwrap();
    assert_eq!(next.payment_hash, plain.checking_id);
    // From the last cursor, or from now: nothing is passed on again.
    for cursor in [second.cursor, wallet.paid_invoices_cursor().await.unwrap()] {
        let mut after = wallet.paid_invoices_stream(Some(cursor)).await.unwrap();
        let again = tokio::time::timeout(Duration::from_millis(2_500), after.next()).await;
        assert!(again.is_err(), "passed on again: {again:?}");
    }
}
