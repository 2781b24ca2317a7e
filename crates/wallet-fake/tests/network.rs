//! The fake network's own mechanics: fees, balances, indices, hold rules and faults.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use lightning_invoice::Currency;
use wallet_core::bolt11::Bolt11;
use wallet_core::{
    FailureReason, InvoiceRequest, PayInvoiceRequest, PaymentStatus, StreamCursor, Wallet,
    WalletError,
};
use wallet_fake::{
    FakeInvoiceState, FakeNetwork, FakeNode, FakeNodeError, FakePaymentState, FakeWallet,
    NetworkConfig, NewInvoice, NodeConfig, Release, SendOutcome,
};

fn network() -> FakeNetwork {
    FakeNetwork::with_config(NetworkConfig {
        routing_fee_base_msat: 1_000,
        routing_fee_ppm: 10_000,
        ..NetworkConfig::default()
    })
}

fn node(network: &FakeNetwork, alias: &str) -> FakeNode {
    network.add_node(NodeConfig::new(alias)).unwrap()
}

fn invoice(node: &FakeNode, amount_msat: u64) -> Bolt11 {
    let created = node
        .create_invoice(NewInvoice {
            amount_msat: Some(amount_msat),
            ..NewInvoice::default()
        })
        .unwrap();
    Bolt11::parse(&created.bolt11).unwrap()
}

#[test]
fn a_payment_moves_the_amount_and_charges_the_routing_fee() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let start = alice.balance_msat().unwrap();
    let outcome = alice.pay(&invoice(&bob, 100_000), 100_000, 5_000).unwrap();
    let SendOutcome::Dispatched(payment) = outcome else {
        panic!("expected a dispatch, got {outcome:?}");
    };
    let FakePaymentState::Succeeded { fee_msat, .. } = payment.state else {
        panic!("expected success, got {:?}", payment.state);
    };
    assert_eq!(fee_msat, 1_000 + 1_000);
    assert_eq!(alice.balance_msat().unwrap(), start - 100_000 - 2_000);
    assert_eq!(
        bob.balance_msat().unwrap(),
        NodeConfig::DEFAULT_BALANCE_MSAT + 100_000
    );
}

#[test]
fn a_node_pays_its_own_invoice_without_a_fee() {
    let network = network();
    let alice = node(&network, "alice");
    let outcome = alice.pay(&invoice(&alice, 10_000), 10_000, 0).unwrap();
    assert!(matches!(
        outcome.payment().state,
        FakePaymentState::Succeeded { fee_msat: 0, .. }
    ));
    assert_eq!(
        alice.balance_msat().unwrap(),
        NodeConfig::DEFAULT_BALANCE_MSAT
    );
}

#[test]
fn a_fee_above_the_limit_finds_no_route_and_moves_nothing() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let outcome = alice.pay(&invoice(&bob, 100_000), 100_000, 1_999).unwrap();
    assert_eq!(
        outcome.payment().state,
        FakePaymentState::Failed {
            reason: FailureReason::NoRoute
        }
    );
    assert_eq!(
        alice.balance_msat().unwrap(),
        NodeConfig::DEFAULT_BALANCE_MSAT
    );
    assert_eq!(
        bob.balance_msat().unwrap(),
        NodeConfig::DEFAULT_BALANCE_MSAT
    );
}

#[test]
fn paying_more_than_the_balance_fails_as_insufficient() {
    let network = network();
    let alice = network
        .add_node(NodeConfig::new("poor").balance_msat(50_000))
        .unwrap();
    let bob = node(&network, "bob");
    let outcome = alice.pay(&invoice(&bob, 50_000), 50_000, 10_000).unwrap();
    assert_eq!(
        outcome.payment().state,
        FakePaymentState::Failed {
            reason: FailureReason::InsufficientBalance
        }
    );
}

#[test]
fn an_invoice_of_an_unknown_node_finds_no_route() {
    let network = network();
    let alice = node(&network, "alice");
    let elsewhere = node(&FakeNetwork::new(), "elsewhere");
    let outcome = alice
        .pay(&invoice(&elsewhere, 1_000), 1_000, 10_000)
        .unwrap();
    assert_eq!(
        outcome.payment().state,
        FakePaymentState::Failed {
            reason: FailureReason::NoRoute
        }
    );
}

#[test]
fn indices_count_from_one_in_creation_and_settle_order() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let first = invoice(&bob, 1_000);
    let second = invoice(&bob, 2_000);
    alice.pay(&second, 2_000, 10_000).unwrap();
    alice.pay(&first, 1_000, 10_000).unwrap();
    let invoices = bob.invoices().unwrap();
    assert_eq!(invoices[0].add_index, 1);
    assert_eq!(invoices[1].add_index, 2);
    let settle_index = |index: usize| match invoices[index].state {
        FakeInvoiceState::Settled { settle_index, .. } => settle_index,
        ref other => panic!("not settled: {other:?}"),
    };
    assert_eq!((settle_index(1), settle_index(0)), (1, 2));
    assert_eq!(bob.settled_count().unwrap(), 2);
}

#[test]
fn the_same_secret_is_the_same_node() {
    let network = network();
    let one = network
        .add_node(NodeConfig::new("a").secret("shared"))
        .unwrap();
    let two = network
        .add_node(NodeConfig::new("b").secret("shared"))
        .unwrap();
    assert_eq!(one.id(), two.id());
    assert_eq!(network.node_count(), 1);
    assert_eq!(two.alias(), "a");
}

#[tokio::test]
async fn the_network_setting_sets_the_invoice_prefix_and_other_networks_are_refused() {
    let network = network();
    let mainnet = FakeWallet::new(
        network
            .add_node(NodeConfig::new("main").currency(Currency::Bitcoin))
            .unwrap(),
    );
    let regtest = FakeWallet::new(node(&network, "reg"));
    let invoice = mainnet
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    assert!(invoice.payment_request.starts_with("lnbc10n1"));
    let refused = regtest
        .pay_invoice(PayInvoiceRequest::new(invoice.payment_request, 10_000))
        .await
        .unwrap_err();
    assert_eq!(refused.reason().field(), Some("bolt11"));
}

#[tokio::test(start_paused = true)]
async fn a_delayed_payment_is_pending_until_the_delay_passes() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let wallet = FakeWallet::new(alice.clone());
    wallet.control().delay_next_payment(Duration::from_secs(60));
    let target = invoice(&bob, 5_000);
    let request =
        PayInvoiceRequest::new(target.to_string(), 10_000).timeout(Duration::from_secs(30));
    let first = wallet.pay_invoice(request.clone()).await.unwrap();
    assert_eq!(first.status, PaymentStatus::Pending);
    tokio::time::sleep(Duration::from_secs(31)).await;
    let status = wallet
        .get_payment_status(&target.payment_hash())
        .await
        .unwrap();
    assert!(status.is_succeeded(), "{status:?}");
}

#[tokio::test]
async fn a_stalled_payment_released_as_failed_refunds_the_payer() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let wallet = FakeWallet::new(alice.clone());
    wallet.control().stall_next_payment();
    let target = invoice(&bob, 5_000);
    let request =
        PayInvoiceRequest::new(target.to_string(), 10_000).timeout(Duration::from_millis(50));
    assert_eq!(
        wallet.pay_invoice(request).await.unwrap().status,
        PaymentStatus::Pending
    );
    assert!(
        alice.balance_msat().unwrap() < NodeConfig::DEFAULT_BALANCE_MSAT,
        "money is locked in flight"
    );
    assert!(wallet.control().release_payment(
        &target.payment_hash(),
        Release::Fail(FailureReason::Timeout)
    ));
    assert_eq!(
        alice.balance_msat().unwrap(),
        NodeConfig::DEFAULT_BALANCE_MSAT
    );
    assert_eq!(
        wallet
            .get_payment_status(&target.payment_hash())
            .await
            .unwrap(),
        PaymentStatus::Failed {
            reason: FailureReason::Timeout
        }
    );
    assert!(
        !wallet
            .control()
            .release_payment(&target.payment_hash(), Release::Succeed)
    );
}

#[tokio::test]
async fn a_failed_then_retried_payment_keeps_every_attempt() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    alice.control().fail_next_payment(FailureReason::NoRoute);
    let target = invoice(&bob, 5_000);
    assert!(
        alice.pay(&target, 5_000, 10_000).unwrap().payment().state != FakePaymentState::InFlight
    );
    let retried = alice.pay(&target, 5_000, 10_000).unwrap();
    assert!(matches!(retried, SendOutcome::Dispatched(_)));
    let payment = retried.payment();
    assert_eq!(payment.attempts.len(), 2);
    assert!(matches!(payment.state, FakePaymentState::Succeeded { .. }));
    let again = alice.pay(&target, 5_000, 10_000).unwrap();
    assert!(matches!(again, SendOutcome::AlreadyExists(_)));
}

#[tokio::test]
async fn an_offline_node_is_unavailable_and_unreachable() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let target = invoice(&bob, 1_000);
    bob.control().set_offline(true);
    let wallet = FakeWallet::new(bob.clone());
    assert!(wallet.status().await.unwrap_err().is_retryable());
    assert!(matches!(bob.balance_msat(), Err(FakeNodeError::Offline(_))));
    let outcome = alice.pay(&target, 1_000, 10_000).unwrap();
    assert_eq!(
        outcome.payment().state,
        FakePaymentState::Failed {
            reason: FailureReason::NoRoute
        }
    );
    bob.control().set_offline(false);
    assert!(wallet.status().await.is_ok());
}

#[tokio::test]
async fn a_restart_ends_streams_and_a_cursor_resumes_them() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let wallet = FakeWallet::new(bob.clone());
    let mut stream = wallet.paid_invoices_stream(None).await.unwrap();
    alice.pay(&invoice(&bob, 1_000), 1_000, 10_000).unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.cursor, StreamCursor::from_index(1));
    bob.control().restart();
    assert!(matches!(
        stream.next().await,
        Some(Err(WalletError::Unavailable { .. }))
    ));
    assert!(stream.next().await.is_none());
    let missed = invoice(&bob, 2_000);
    alice.pay(&missed, 2_000, 10_000).unwrap();
    let mut resumed = wallet
        .paid_invoices_stream(Some(first.cursor))
        .await
        .unwrap();
    let item = resumed.next().await.unwrap().unwrap();
    assert_eq!(item.payment_hash, missed.payment_hash());
    assert_eq!(item.amount_received_msat, 2_000);
    let garbage = wallet
        .paid_invoices_stream(Some(StreamCursor::new("x")))
        .await;
    assert_eq!(garbage.err().and_then(|err| err.field()), Some("cursor"));
}

#[test]
fn hold_invoices_follow_lnds_settle_and_cancel_rules() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let preimage = wallet_core::Preimage::from_bytes([9; 32]);
    let created = bob
        .create_invoice(NewInvoice {
            amount_msat: Some(3_000),
            hold_payment_hash: Some(preimage.payment_hash()),
            ..NewInvoice::default()
        })
        .unwrap();
    assert!(created.is_hold && created.preimage.is_none());
    assert_eq!(
        bob.settle_hold_invoice(&preimage),
        Err(FakeNodeError::InvoiceStillOpen)
    );
    let held = alice
        .pay(&Bolt11::parse(&created.bolt11).unwrap(), 3_000, 10_000)
        .unwrap();
    assert_eq!(held.payment().state, FakePaymentState::InFlight);
    assert_eq!(
        bob.invoice(&created.payment_hash).unwrap().unwrap().state,
        FakeInvoiceState::Accepted { amount_msat: 3_000 }
    );
    bob.settle_hold_invoice(&preimage).unwrap();
    bob.settle_hold_invoice(&preimage).unwrap();
    assert_eq!(
        bob.cancel_invoice(&created.payment_hash),
        Err(FakeNodeError::InvoiceAlreadySettled)
    );
    let payment = alice.payment(&created.payment_hash).unwrap().unwrap();
    assert_eq!(
        payment.state,
        FakePaymentState::Succeeded {
            preimage,
            fee_msat: 1_030
        }
    );
    let duplicate = bob.create_invoice(NewInvoice {
        hold_payment_hash: Some(preimage.payment_hash()),
        ..NewInvoice::default()
    });
    assert_eq!(duplicate, Err(FakeNodeError::DuplicateInvoice));
}

#[test]
fn a_cancelled_invoice_cannot_be_settled_or_paid() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let target = invoice(&bob, 1_000);
    bob.cancel_invoice(&target.payment_hash()).unwrap();
    bob.cancel_invoice(&target.payment_hash()).unwrap();
    let outcome = alice.pay(&target, 1_000, 10_000).unwrap();
    assert_eq!(
        outcome.payment().state,
        FakePaymentState::Failed {
            reason: FailureReason::IncorrectPaymentDetails
        }
    );
}

#[tokio::test]
async fn extreme_inputs_to_the_node_are_errors_not_panics() {
    let network = network();
    let (alice, bob) = (node(&network, "alice"), node(&network, "bob"));
    let huge = bob.create_invoice(NewInvoice {
        amount_msat: Some(u64::MAX),
        ..NewInvoice::default()
    });
    assert!(
        matches!(huge, Err(FakeNodeError::Invalid { .. })),
        "{huge:?}"
    );
    let long = bob.create_invoice(NewInvoice {
        memo: "m".repeat(10_000),
        ..NewInvoice::default()
    });
    assert!(
        matches!(long, Err(FakeNodeError::Invalid { field: "memo", .. })),
        "{long:?}"
    );
    let ahead = bob.paid_invoices(Some(u64::MAX)).err();
    assert!(matches!(
        ahead,
        Some(FakeNodeError::Invalid {
            field: "cursor",
            ..
        })
    ));
    let target = invoice(&bob, 1_000);
    let outcome = alice.pay(&target, u64::MAX, u64::MAX).unwrap();
    assert!(matches!(
        outcome.payment().state,
        FakePaymentState::Failed { .. }
    ));
    let waited = alice
        .wait_for_payment(&target.payment_hash(), Duration::MAX)
        .await
        .unwrap();
    assert!(waited.is_some());
}
