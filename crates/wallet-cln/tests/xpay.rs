//! How `CoreLightningWallet` reads each way xpay can answer, against lightningd's simulator:
//! failures returned while parts are still in flight, a payment already in progress, a node
//! without xpay. Failed only when `listpays` shows this dispatch failed; an error only when
//! nothing was sent.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::SimulatedCln;
use wallet_core::{
    InvoiceRequest, InvoiceResponse, PayInvoiceRequest, PaymentStatus, Wallet, WalletError,
};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig, Release};

struct Bed {
    cln: SimulatedCln,
    payee: FakeWallet,
}

async fn bed(name: &str) -> Bed {
    let network = FakeNetwork::new();
    let cln = SimulatedCln::start(&network, name).await.unwrap();
    let payee = FakeWallet::new(
        network
            .add_node(NodeConfig::new(format!("{name}-payee")))
            .unwrap(),
    );
    Bed { cln, payee }
}

async fn invoice(bed: &Bed, amount_msat: u64) -> InvoiceResponse {
    bed.payee
        .create_invoice(InvoiceRequest::new(amount_msat))
        .await
        .unwrap()
}

fn request(invoice: &InvoiceResponse) -> PayInvoiceRequest {
    PayInvoiceRequest::new(invoice.payment_request.clone(), 10_000).timeout(Duration::from_secs(5))
}

async fn status_becomes(
    wallet: &dyn Wallet,
    invoice: &InvoiceResponse,
    reached: fn(&PaymentStatus) -> bool,
) -> PaymentStatus {
    for _ in 0..100 {
        let status = wallet
            .get_payment_status(&invoice.checking_id)
            .await
            .unwrap();
        if reached(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the payment never reached the expected state");
}

#[tokio::test]
async fn xpay_failure_codes_with_parts_still_in_flight_are_pending_never_failed() {
    for code in [203, 205, 206, 209, 210] {
        let bed = bed(&format!("early-{code}")).await;
        let wallet = bed.cln.wallet();
        let target = invoice(&bed, 12_000).await;
        bed.cln.simulator.fail_next_xpay_with_parts_in_flight(code);
        let answer = wallet.pay_invoice(request(&target)).await;
        assert_eq!(
            answer.as_ref().map(|response| &response.status),
            Ok(&PaymentStatus::Pending),
            "xpay {code} while a part is in flight: {answer:?}"
        );
        bed.cln
            .simulator
            .node()
            .control()
            .release_all(Release::Succeed);
        let settled = status_becomes(&wallet, &target, PaymentStatus::is_succeeded).await;
        let again = wallet.pay_invoice(request(&target)).await.unwrap();
        assert_eq!(again.status, settled, "xpay {code}: paying again");
        assert_eq!(bed.cln.simulator.calls_of("xpay"), 1, "xpay {code}");
    }
}

#[tokio::test]
async fn xpay_failure_codes_with_a_failed_attempt_of_this_dispatch_are_failed() {
    let bed = bed("failed").await;
    let wallet = bed.cln.wallet();
    let target = invoice(&bed, 13_000).await;
    bed.cln
        .simulator
        .node()
        .control()
        .fail_next_payment(wallet_core::FailureReason::NoRoute);
    let answer = wallet.pay_invoice(request(&target)).await.unwrap();
    assert!(answer.status.is_failed(), "{answer:?}");
}

#[tokio::test]
async fn a_second_xpay_of_a_payment_in_progress_is_pending() {
    let bed = bed("in-progress").await;
    let first = bed.cln.wallet();
    let target = invoice(&bed, 14_000).await;
    let control = bed.cln.simulator.node().control();
    control.stall_next_payment();
    let pending = first
        .pay_invoice(request(&target).timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(pending.status, PaymentStatus::Pending);
    // Another process whose look at listpays shows nothing of this hash: its xpay is answered
    // 200 (in progress).
    control.misdirect_lookups(Some(wallet_core::PaymentHash::from_bytes([3; 32])));
    let second = bed.cln.wallet();
    let answer = second.pay_invoice(request(&target)).await;
    control.misdirect_lookups(None);
    assert_eq!(
        answer.as_ref().map(|response| &response.status),
        Ok(&PaymentStatus::Pending),
        "{answer:?}"
    );
    assert_eq!(bed.cln.simulator.calls_of("xpay"), 2);
    control.release_all(Release::Succeed);
    status_becomes(&first, &target, PaymentStatus::is_succeeded).await;
    let payment = bed
        .cln
        .simulator
        .node()
        .payment(&target.checking_id)
        .unwrap()
        .unwrap();
    assert_eq!(payment.attempts.len(), 1, "one attempt was dispatched");
}

#[tokio::test]
async fn without_xpay_nothing_is_sent_and_the_error_says_why() {
    let bed = bed("no-xpay").await;
    let wallet = bed.cln.wallet();
    let target = invoice(&bed, 15_000).await;
    bed.cln.simulator.set_xpay_enabled(false);
    let err = wallet.pay_invoice(request(&target)).await.unwrap_err();
    let WalletError::Backend { code, message, .. } = err.reason() else {
        panic!("{err}");
    };
    assert_eq!(*code, Some(-32601));
    assert!(message.contains("no xpay"), "{message}");
    assert_eq!(
        wallet
            .get_payment_status(&target.checking_id)
            .await
            .unwrap(),
        PaymentStatus::Unknown
    );
    bed.cln.simulator.set_xpay_enabled(true);
    let paid = wallet.pay_invoice(request(&target)).await.unwrap();
    assert!(paid.status.is_succeeded(), "{paid:?}");
}

#[tokio::test]
async fn xpay_retries_temporary_failures_within_the_timeout_and_its_giving_up_is_failed() {
    let bed = bed("retry").await;
    let wallet = bed.cln.wallet();
    let target = invoice(&bed, 16_000).await;
    bed.cln.simulator.fail_next_attempts_temporarily(2);
    let paid = wallet.pay_invoice(request(&target)).await.unwrap();
    assert!(paid.status.is_succeeded(), "{paid:?}");
    let node = bed.cln.simulator.node();
    let attempts = node.payment(&target.checking_id).unwrap().unwrap().attempts;
    assert_eq!(
        attempts.len(),
        3,
        "two failed attempts, then the one that paid"
    );

    let other = invoice(&bed, 17_000).await;
    bed.cln.simulator.fail_next_attempts_temporarily(10_000);
    let started = std::time::Instant::now();
    let answer = wallet.pay_invoice(request(&other)).await.unwrap();
    assert!(answer.status.is_failed(), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "xpay gave up within retry_for, inside the payment's timeout"
    );
}
