//! Paying invoices: success, idempotency, fee limits, refusals and ambiguity.

use std::time::Duration;

use futures::future::join_all;
use wallet_core::{
    InvoiceRequest, InvoiceResponse, InvoiceStatus, PayInvoiceRequest, PaymentResponse,
    PaymentStatus, WalletFeature,
};

use crate::fixtures::{
    ForeignInvoice, balance, balance_becomes, bounded, currency_of, eventually, invoice,
    invoice_status, names_field, other_currency, payment_reaches, payment_status,
    random_payment_hash,
};
use crate::verdict::{Context, Stop, Verdict, fail, unsupported};
use crate::{SelfPayment, TestBed, ensure, ensure_eq};

const FEE_LIMIT_MSAT: u64 = 5_000;

pub(crate) async fn pay(
    bed: &TestBed,
    request: PayInvoiceRequest,
) -> Result<PaymentResponse, Stop> {
    let deadline = request.timeout + Duration::from_secs(5);
    bounded(deadline, "pay_invoice", bed.wallet.pay_invoice(request))
        .await?
        .context("pay_invoice")
}

pub(crate) fn request(invoice: &InvoiceResponse, bed: &TestBed) -> PayInvoiceRequest {
    PayInvoiceRequest::new(invoice.payment_request.clone(), FEE_LIMIT_MSAT).timeout(bed.timing.pay)
}

/// Checks, where the harness can observe it, that exactly one attempt was dispatched.
pub(crate) async fn dispatched_once(bed: &TestBed, invoice: &InvoiceResponse) -> Result<(), Stop> {
    dispatched_times(bed, invoice, 1).await
}

/// Checks, where the harness can observe it, that `expected` attempts were dispatched.
pub(crate) async fn dispatched_times(
    bed: &TestBed,
    invoice: &InvoiceResponse,
    expected: usize,
) -> Result<(), Stop> {
    match bed.faults.dispatched_attempts(&invoice.checking_id).await {
        Ok(attempts) => {
            ensure_eq!(attempts, expected, "payment attempts the node dispatched");
            Ok(())
        }
        Err(crate::HarnessError::Unsupported(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

pub(crate) async fn wait_paid(
    bed: &TestBed,
    invoice: &InvoiceResponse,
) -> Result<InvoiceStatus, Stop> {
    eventually(
        bed.timing.event,
        "the counterparty's invoice to be paid",
        || async {
            bed.counterparty
                .get_invoice_status(&invoice.checking_id)
                .await
                .ok()
                .filter(InvoiceStatus::is_paid)
        },
    )
    .await
}

/// Paying succeeds with a preimage of the hash and a fee within the limit; the payee is paid and
/// `get_payment_status` agrees.
pub async fn paying_succeeds_with_a_valid_preimage_and_fee_within_the_limit(
    bed: TestBed,
) -> Verdict {
    let target = invoice(&*bed.counterparty, 15_000, bed.timing.event).await?;
    let response = pay(&bed, request(&target, &bed)).await?;
    ensure_eq!(
        response.checking_id,
        target.checking_id,
        "checking_id of the payment"
    );
    let PaymentStatus::Succeeded { preimage, fee_msat } = response.status else {
        return Err(fail(format!(
            "payment did not succeed: {:?}",
            response.status
        )));
    };
    ensure!(
        target.checking_id.is_paid_by(&preimage),
        "the preimage does not match the hash"
    );
    ensure!(
        fee_msat <= FEE_LIMIT_MSAT,
        "fee {fee_msat} msat over the {FEE_LIMIT_MSAT} msat limit"
    );
    let status = payment_status(&*bed.wallet, &target.checking_id, bed.timing.event).await?;
    ensure_eq!(
        status,
        PaymentStatus::Succeeded { preimage, fee_msat },
        "get_payment_status"
    );
    wait_paid(&bed, &target).await?;
    Ok(())
}

/// Paying the same invoice again reports the first payment and sends nothing more.
pub async fn paying_twice_sends_once(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 11_000, t.event).await?;
    let start = balance(&*bed.wallet, t.event).await?;
    let first = pay(&bed, request(&target, &bed)).await?;
    let PaymentStatus::Succeeded { fee_msat, .. } = first.status else {
        return Err(fail(format!("first payment: {:?}", first.status)));
    };
    let second = pay(&bed, request(&target, &bed)).await?;
    ensure_eq!(
        second.status,
        first.status,
        "the second call reports the first payment"
    );
    dispatched_once(&bed, &target).await?;
    if bed.exact_balances {
        balance_becomes(
            &*bed.wallet,
            start.saturating_sub(11_000 + fee_msat),
            t.event,
        )
        .await?;
    }
    let InvoiceStatus::Paid {
        amount_received_msat,
        ..
    } = wait_paid(&bed, &target).await?
    else {
        return Err(fail("filtered for Paid"));
    };
    ensure_eq!(amount_received_msat, 11_000, "the payee received it once");
    Ok(())
}

/// Concurrent calls for one invoice dispatch one payment; none reports failure.
pub async fn paying_concurrently_sends_once(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 17_000, t.event).await?;
    let start = balance(&*bed.wallet, t.event).await?;
    let calls = (0..4).map(|_| pay(&bed, request(&target, &bed)));
    let mut fee = None;
    for response in join_all(calls).await {
        match response?.status {
            PaymentStatus::Succeeded { fee_msat, .. } => fee = Some(fee_msat),
            PaymentStatus::Pending => {}
            other => return Err(fail(format!("a concurrent call reported {other:?}"))),
        }
    }
    dispatched_once(&bed, &target).await?;
    let fee_msat = match fee {
        Some(fee) => fee,
        None => match payment_status(&*bed.wallet, &target.checking_id, t.event).await? {
            PaymentStatus::Succeeded { fee_msat, .. } => fee_msat,
            other => return Err(fail(format!("final status {other:?}"))),
        },
    };
    if bed.exact_balances {
        balance_becomes(
            &*bed.wallet,
            start.saturating_sub(17_000 + fee_msat),
            t.event,
        )
        .await?;
    }
    wait_paid(&bed, &target).await?;
    Ok(())
}

/// A fee limit below the route's fee never results in paying more than the limit: the payment
/// fails or is refused, and no money moves.
pub async fn a_fee_limit_below_the_route_fee_is_never_exceeded(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 30_000, t.event).await?;
    let start = balance(&*bed.wallet, t.event).await?;
    let answer = bounded(
        t.pay + Duration::from_secs(5),
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new(target.payment_request.clone(), 0).timeout(t.pay)),
    )
    .await?;
    match answer {
        Err(_not_sent) => {}
        Ok(PaymentResponse {
            status: PaymentStatus::Failed { .. },
            ..
        }) => {
            let status = payment_status(&*bed.wallet, &target.checking_id, t.event).await?;
            ensure!(
                status.is_failed(),
                "pay said Failed, get_payment_status says {status:?}"
            );
        }
        Ok(PaymentResponse {
            status: PaymentStatus::Succeeded { fee_msat, .. },
            ..
        }) => {
            ensure_eq!(fee_msat, 0, "fee paid with a zero fee limit");
            return Ok(());
        }
        Ok(other) => return Err(fail(format!("with a zero fee limit: {other:?}"))),
    }
    if bed.exact_balances {
        balance_becomes(&*bed.wallet, start, t.event).await?;
    }
    Ok(())
}

/// An invoice of a node nobody can reach fails (or is refused) within the deadline; no money
/// moves, and the status never claims success or pending.
pub async fn an_unpayable_invoice_fails_without_moving_money(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let currency = currency_of(&*bed.wallet, t.event).await?;
    let unpayable = ForeignInvoice::new(currency).sign()?;
    let hash = wallet_core::bolt11::Bolt11::parse(&unpayable)
        .context("parse fixture")?
        .payment_hash();
    let start = balance(&*bed.wallet, t.event).await?;
    let answer = bounded(
        t.pay + Duration::from_secs(5),
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new(unpayable, FEE_LIMIT_MSAT).timeout(t.pay)),
    )
    .await?;
    match answer {
        Err(_not_sent) => {}
        Ok(PaymentResponse {
            status: PaymentStatus::Failed { .. },
            ..
        }) => {}
        Ok(other) => return Err(fail(format!("paying an unpayable invoice: {other:?}"))),
    }
    let status = payment_status(&*bed.wallet, &hash, t.event).await?;
    ensure!(
        matches!(
            status,
            PaymentStatus::Failed { .. } | PaymentStatus::Unknown
        ),
        "status of the unpayable payment: {status:?}"
    );
    if bed.exact_balances {
        balance_becomes(&*bed.wallet, start, t.event).await?;
    }
    Ok(())
}

/// Malformed and expired invoices are refused before dispatch, naming `bolt11`; an invoice for
/// another network never moves money.
pub async fn bad_invoices_are_refused_before_dispatch(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let start = balance(&*bed.wallet, t.event).await?;
    for garbage in ["", "lnbc1notaninvoice", "hello world"] {
        let answer = bounded(
            t.event,
            "pay_invoice",
            bed.wallet
                .pay_invoice(PayInvoiceRequest::new(garbage, 1_000)),
        )
        .await?;
        match answer {
            Err(err) if names_field(err.reason(), "bolt11") => {}
            other => return Err(fail(format!("paying {garbage:?} gave {other:?}"))),
        }
    }
    let currency = currency_of(&*bed.wallet, t.event).await?;
    let expired = ForeignInvoice {
        age: Duration::from_secs(7200),
        ..ForeignInvoice::new(currency.clone())
    }
    .sign()?;
    let hash = wallet_core::bolt11::Bolt11::parse(&expired)
        .context("parse fixture")?
        .payment_hash();
    match bounded(
        t.event,
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new(expired, 1_000)),
    )
    .await?
    {
        Err(err) if names_field(err.reason(), "bolt11") => {}
        other => return Err(fail(format!("paying an expired invoice gave {other:?}"))),
    }
    let status = payment_status(&*bed.wallet, &hash, t.event).await?;
    ensure_eq!(
        status,
        PaymentStatus::Unknown,
        "status of a refused payment"
    );

    let wrong_network = ForeignInvoice::new(other_currency(&currency)).sign()?;
    let answer = bounded(
        t.pay,
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new(wrong_network, 1_000).timeout(t.short_pay)),
    )
    .await?;
    ensure!(
        matches!(
            &answer,
            Err(_)
                | Ok(PaymentResponse {
                    status: PaymentStatus::Failed { .. },
                    ..
                })
        ),
        "paying an invoice of another network gave {answer:?}"
    );
    if bed.exact_balances {
        balance_becomes(&*bed.wallet, start, t.event).await?;
    }
    Ok(())
}

/// Amount rules are checked before dispatch: an amountless invoice needs an amount, and an
/// invoice with one must not get another.
pub async fn amount_rules_are_checked_before_dispatch(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let currency = currency_of(&*bed.wallet, t.event).await?;
    let amountless = ForeignInvoice {
        amount_msat: None,
        ..ForeignInvoice::new(currency)
    }
    .sign()?;
    match bounded(
        t.event,
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new(amountless, 1_000)),
    )
    .await?
    {
        Err(err) if names_field(err.reason(), "amount_msat") => {}
        other => {
            return Err(fail(format!(
                "paying an amountless invoice without an amount: {other:?}"
            )));
        }
    }
    let target = invoice(&*bed.counterparty, 1_000, t.event).await?;
    let doubled = PayInvoiceRequest::new(target.payment_request, 1_000).amount_msat(2_000);
    match bounded(t.event, "pay_invoice", bed.wallet.pay_invoice(doubled)).await? {
        Err(err) if names_field(err.reason(), "amount_msat") => {}
        other => {
            return Err(fail(format!(
                "paying an amount on top of the invoice's: {other:?}"
            )));
        }
    }
    let status = payment_status(&*bed.wallet, &target.checking_id, t.event).await?;
    ensure_eq!(status, PaymentStatus::Unknown, "status after the refusal");
    Ok(())
}

/// Bad pay requests name the field.
pub async fn invalid_pay_requests_name_the_field(bed: TestBed) -> Verdict {
    let target = invoice(&*bed.counterparty, 1_000, bed.timing.event).await?;
    let cases = [
        (
            PayInvoiceRequest::new(target.payment_request.clone(), 1_000).timeout(Duration::ZERO),
            "timeout",
        ),
        (
            PayInvoiceRequest::new(target.payment_request.clone(), u64::MAX),
            "max_fee_msat",
        ),
    ];
    for (request, field) in cases {
        match bounded(
            bed.timing.event,
            "pay_invoice",
            bed.wallet.pay_invoice(request.clone()),
        )
        .await?
        {
            Err(err) if names_field(err.reason(), field) => {}
            other => {
                return Err(fail(format!(
                    "{request:?} should name `{field}`, got {other:?}"
                )));
            }
        }
    }
    Ok(())
}

/// A hash the wallet never paid is `Unknown`.
pub async fn an_unknown_payment_is_unknown(bed: TestBed) -> Verdict {
    let status = payment_status(&*bed.wallet, &random_payment_hash(), bed.timing.event).await?;
    ensure_eq!(
        status,
        PaymentStatus::Unknown,
        "status of a hash never paid"
    );
    Ok(())
}

/// Releases the stalled payments and waits for `target`'s payment to succeed.
async fn released_payment_succeeds(bed: &TestBed, target: &InvoiceResponse) -> Verdict {
    bed.faults.release_stalled_payments().await?;
    payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        bed.timing.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    Ok(())
}

/// A payment whose outcome is hidden by a restart is pending, never failed, and its status tells
/// the truth once it resolves.
pub async fn a_payment_cut_off_by_a_restart_is_pending_never_failed(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 6_000, t.event).await?;
    bed.faults.stall_next_payment().await?;
    let wallet = bed.wallet.clone();
    let pay_request = request(&target, &bed);
    let in_flight = tokio::spawn(async move { wallet.pay_invoice(pay_request).await });
    eventually(t.event, "the payment to be in flight", || async {
        matches!(
            bed.wallet.get_payment_status(&target.checking_id).await,
            Ok(PaymentStatus::Pending)
        )
        .then_some(())
    })
    .await?;
    bed.faults.restart_backend().await?;
    let answer = bounded(t.pay + t.event, "the interrupted pay_invoice", in_flight)
        .await?
        .context("pay task")?;
    match answer {
        Ok(PaymentResponse {
            status: PaymentStatus::Pending,
            ..
        }) => {}
        other => {
            return Err(fail(format!(
                "an interrupted payment must be Pending, got {other:?}"
            )));
        }
    }
    let status = payment_status(&*bed.wallet, &target.checking_id, t.event).await?;
    ensure!(
        matches!(status, PaymentStatus::Pending),
        "status before the payment resolved: {status:?}"
    );
    released_payment_succeeds(&bed, &target).await
}

/// While the backend is unreachable, a pending payment's status is an error or pending, never
/// failed; afterwards it is the truth.
pub async fn an_unreachable_backend_never_turns_a_payment_failed(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 6_000, t.event).await?;
    bed.faults.stall_next_payment().await?;
    let pending = pay(
        &bed,
        PayInvoiceRequest::new(target.payment_request.clone(), FEE_LIMIT_MSAT).timeout(t.short_pay),
    )
    .await?;
    ensure_eq!(
        pending.status,
        PaymentStatus::Pending,
        "a stalled payment at its timeout"
    );
    bed.faults.take_backend_offline().await?;
    let during = bounded(
        t.event,
        "get_payment_status",
        bed.wallet.get_payment_status(&target.checking_id),
    )
    .await;
    bed.faults.bring_backend_online().await?;
    match during? {
        Err(err) => ensure!(
            err.is_retryable(),
            "expected a retryable error, got {err:?}"
        ),
        Ok(PaymentStatus::Pending) => {}
        Ok(other) => return Err(fail(format!("status while unreachable: {other:?}"))),
    }
    released_payment_succeeds(&bed, &target).await
}

/// When the answer to a payment is lost after it was sent, `pay_invoice` says `Pending` (or
/// learns the truth), never `Failed` and never "not sent"; paying again, as an app retrying would,
/// sends nothing more.
pub async fn a_payment_whose_answer_is_lost_is_never_failed_nor_paid_twice(
    bed: TestBed,
) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 9_000, t.event).await?;
    let start = balance(&*bed.wallet, t.event).await?;
    bed.faults.lose_next_payment_answer().await?;
    let answer = bounded(
        t.pay + t.event,
        "pay_invoice",
        bed.wallet.pay_invoice(request(&target, &bed)),
    )
    .await?;
    match &answer {
        Ok(PaymentResponse {
            status: PaymentStatus::Pending | PaymentStatus::Succeeded { .. },
            ..
        }) => {}
        other => {
            return Err(fail(format!(
                "a payment whose answer was lost must be Pending (or Succeeded), got {other:?}"
            )));
        }
    }
    let status = payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        t.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    let retry = pay(&bed, request(&target, &bed)).await?;
    ensure_eq!(
        retry.status,
        status,
        "paying again reports the first payment"
    );
    dispatched_once(&bed, &target).await?;
    paid_exactly_once(&bed, &target, start, 9_000, &status).await
}

/// After `settled` (a success), checks that the wallet's balance moved from `start` by the
/// amount and fee once (where balances are exact), and that the payee was paid.
pub(crate) async fn paid_exactly_once(
    bed: &TestBed,
    target: &InvoiceResponse,
    start: u64,
    amount_msat: u64,
    settled: &PaymentStatus,
) -> Verdict {
    if bed.exact_balances {
        let PaymentStatus::Succeeded { fee_msat, .. } = settled else {
            return Err(fail(format!("expected a success, got {settled:?}")));
        };
        balance_becomes(
            &*bed.wallet,
            start.saturating_sub(amount_msat + fee_msat),
            bed.timing.event,
        )
        .await?;
    }
    wait_paid(bed, target).await?;
    Ok(())
}

/// Waits for the wallet's payment of `target` to succeed, then checks that one attempt was
/// dispatched and the payee was paid.
pub(crate) async fn settles_once(bed: &TestBed, target: &InvoiceResponse) -> Verdict {
    payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        bed.timing.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    dispatched_once(bed, target).await?;
    wait_paid(bed, target).await?;
    Ok(())
}

/// A payment that failed at the node can be retried; the retry's success is the final state.
pub async fn a_failed_payment_can_be_retried_and_the_retry_wins(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 5_000, t.event).await?;
    bed.faults.fail_next_payment().await?;
    let first = pay(&bed, request(&target, &bed)).await?;
    ensure!(
        first.status.is_failed(),
        "first attempt: {:?}",
        first.status
    );
    let status = payment_status(&*bed.wallet, &target.checking_id, t.event).await?;
    ensure!(status.is_failed(), "status after the failure: {status:?}");
    let second = pay(&bed, request(&target, &bed)).await?;
    ensure!(second.status.is_succeeded(), "retry: {:?}", second.status);
    let status = payment_status(&*bed.wallet, &target.checking_id, t.event).await?;
    ensure!(status.is_succeeded(), "status after the retry: {status:?}");
    wait_paid(&bed, &target).await?;
    Ok(())
}

/// Several different invoices paid at once all succeed.
pub async fn parallel_payments_of_different_invoices_all_complete(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut targets = Vec::new();
    for amount in [1_000, 2_000, 3_000, 4_000] {
        targets.push(invoice(&*bed.counterparty, amount, t.event).await?);
    }
    let calls = targets
        .iter()
        .map(|target| pay(&bed, request(target, &bed)));
    for (target, response) in targets.iter().zip(join_all(calls).await) {
        let response = response?;
        ensure!(
            response.status.is_succeeded(),
            "{}: {:?}",
            target.checking_id,
            response.status
        );
        wait_paid(&bed, target).await?;
    }
    Ok(())
}

/// Paying its own invoice does what the backend documents: succeeds (LNbits, CLN, the fake) or
/// is refused (lnd).
pub async fn a_self_payment_behaves_as_documented(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let own = invoice(&*bed.wallet, 2_000, t.event).await?;
    let answer = bounded(
        t.pay + Duration::from_secs(5),
        "pay_invoice",
        bed.wallet.pay_invoice(request(&own, &bed)),
    )
    .await?;
    match (bed.self_payment, answer) {
        (SelfPayment::Succeeds, Ok(response)) if response.status.is_succeeded() => {
            let status = invoice_status(&*bed.wallet, &own.checking_id, t.event).await?;
            ensure!(status.is_paid(), "own invoice after paying it: {status:?}");
            Ok(())
        }
        (SelfPayment::Refused, Err(_)) => Ok(()),
        (SelfPayment::Refused, Ok(response)) if response.status.is_failed() => Ok(()),
        (expected, other) => Err(fail(format!(
            "self-payment documented as {expected:?}, got {other:?}"
        ))),
    }
}

/// Paying an amountless invoice with an amount works, or is refused as unsupported, as
/// `features()` says.
pub async fn amountless_payments_follow_the_features(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let supported = bed
        .wallet
        .features()
        .contains(WalletFeature::AmountlessPayment);
    let counterparty_issues_them = bed
        .counterparty
        .features()
        .contains(WalletFeature::AmountlessInvoice);
    if supported && !counterparty_issues_them {
        return unsupported("the counterparty cannot issue amountless invoices to pay");
    }
    // An unsupported call must be refused whatever the invoice, so a fixture does then.
    let target = if counterparty_issues_them {
        bounded(
            t.event,
            "create_invoice",
            bed.counterparty
                .create_invoice(InvoiceRequest::amountless()),
        )
        .await?
        .context("counterparty amountless invoice")?
        .payment_request
    } else {
        ForeignInvoice {
            amount_msat: None,
            ..ForeignInvoice::new(currency_of(&*bed.wallet, t.event).await?)
        }
        .sign()?
    };
    let answer = bounded(
        t.pay + Duration::from_secs(5),
        "pay_invoice",
        bed.wallet.pay_invoice(
            PayInvoiceRequest::new(target, FEE_LIMIT_MSAT)
                .amount_msat(4_000)
                .timeout(t.pay),
        ),
    )
    .await?;
    match (supported, answer) {
        (true, Ok(response)) if response.status.is_succeeded() => Ok(()),
        (false, Err(err))
            if *err.reason()
                == wallet_core::WalletError::Unsupported(WalletFeature::AmountlessPayment) =>
        {
            unsupported(bed.unsupported_reason(
                WalletFeature::AmountlessPayment,
                "AMOUNTLESS_PAYMENT is not in features(), and the call says Unsupported",
            ))
        }
        (supported, other) => Err(fail(format!(
            "features() says AMOUNTLESS_PAYMENT supported={supported}, but pay_invoice gave {other:?}"
        ))),
    }
}
