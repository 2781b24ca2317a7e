//! The payment protocol against nodes less kind than a simulator on a good day: invoices that
//! expire while an attempt is in flight, answers lost, empty or unreadable after an earlier
//! failed attempt, records about another hash, and lookups slower than the payment's timeout.

use std::time::Duration;

use wallet_core::{
    InvoiceRequest, InvoiceResponse, InvoiceStatus, PayError, PaymentHash, PaymentResponse,
    PaymentStatus,
};

use crate::behaviours::payments::{
    dispatched_once, dispatched_times, paid_exactly_once, pay, request, settles_once,
};
use crate::fixtures::{
    balance, bounded, eventually, invoice, invoice_status, payment_reaches, random_payment_hash,
};
use crate::verdict::{Context, Stop, Verdict, fail};
use crate::{SpoiledAnswer, TestBed, ensure, ensure_eq};

/// How long a spoiled payment waits at the node before it starts: long enough that the wallet's
/// look at the node after the spoiled answer finds nothing new.
const LATE_DISPATCH: Duration = Duration::from_millis(1_500);

/// Slack allowed over a payment's timeout for the call to return.
const RETURN_SLACK: Duration = Duration::from_millis(1_500);

/// An invoice of the counterparty that expires `expiry` after it is made.
async fn short_lived_invoice(
    bed: &TestBed,
    amount_msat: u64,
    expiry: Duration,
) -> Result<InvoiceResponse, Stop> {
    bounded(
        bed.timing.event,
        "create_invoice",
        bed.counterparty.create_invoice(
            InvoiceRequest::new(amount_msat)
                .memo("wallet-conformance short-lived")
                .expiry(expiry),
        ),
    )
    .await?
    .context("create a short-lived invoice at the counterparty")
}

/// An expiry long enough to pay in, short enough to wait out.
fn short_expiry(bed: &TestBed) -> Duration {
    bed.timing.short_pay.max(Duration::from_secs(2)) * 2
}

/// Waits until `invoice` is past its expiry by this machine's clock, plus a second for clocks
/// that round.
async fn wait_until_expired(bed: &TestBed, invoice: &InvoiceResponse) -> Result<(), Stop> {
    let now = wallet_core::time::unix_now();
    let left = Duration::from_secs(invoice.expires_at.saturating_sub(now).saturating_add(1));
    if left > bed.timing.event + bed.timing.pay {
        return Err(fail(format!(
            "the invoice expires in {} s, longer than the suite waits",
            left.as_secs()
        )));
    }
    tokio::time::sleep(left).await;
    Ok(())
}

/// `pay_invoice` without turning its `Err` into a failed behaviour.
async fn try_pay(
    bed: &TestBed,
    request: wallet_core::PayInvoiceRequest,
) -> Result<Result<PaymentResponse, PayError>, Stop> {
    let deadline = request.timeout + bed.timing.event;
    bounded(deadline, "pay_invoice", bed.wallet.pay_invoice(request)).await
}

/// Checks that a payment whose outcome the wallet may not know yet was reported `Pending`, or
/// `Succeeded` if it learned that: never `Failed`, `Unknown` or "not sent".
fn pending_or_succeeded(answer: Result<PaymentResponse, PayError>, what: &str) -> Verdict {
    match answer {
        Ok(PaymentResponse {
            status: PaymentStatus::Pending | PaymentStatus::Succeeded { .. },
            ..
        }) => Ok(()),
        other => Err(fail(format!(
            "{what} must be Pending (or Succeeded), got {other:?}"
        ))),
    }
}

/// Paying an invoice again after it expired, when the first payment succeeded, reports that
/// success: the node is asked about the hash before any local refusal, so a retry after a
/// restart never reads "expired, nothing sent" for money that left.
pub async fn paying_an_expired_invoice_that_was_paid_reports_the_payment(bed: TestBed) -> Verdict {
    let target = short_lived_invoice(&bed, 7_000, short_expiry(&bed)).await?;
    let first = pay(&bed, request(&target, &bed)).await?;
    ensure!(
        first.status.is_succeeded(),
        "the first payment: {:?}",
        first.status
    );
    wait_until_expired(&bed, &target).await?;
    match try_pay(&bed, request(&target, &bed)).await? {
        Ok(again) if again.status == first.status => {}
        other => {
            return Err(fail(format!(
                "paying the expired invoice again must report the earlier success, got {other:?}"
            )));
        }
    }
    dispatched_once(&bed, &target).await
}

/// Paying an invoice again after it expired, while the first attempt is still in flight,
/// reports `Pending`, never an error that says nothing was sent; once the attempt settles, the
/// same call reports the success.
pub async fn paying_an_expired_invoice_with_an_attempt_in_flight_reports_pending(
    bed: TestBed,
) -> Verdict {
    let t = bed.timing;
    let target = short_lived_invoice(&bed, 6_000, short_expiry(&bed)).await?;
    bed.faults.stall_next_payment().await?;
    let first = pay(&bed, request(&target, &bed).timeout(t.short_pay)).await?;
    ensure_eq!(
        first.status,
        PaymentStatus::Pending,
        "a stalled payment at its timeout"
    );
    wait_until_expired(&bed, &target).await?;
    match try_pay(&bed, request(&target, &bed).timeout(t.short_pay)).await? {
        Ok(PaymentResponse {
            status: PaymentStatus::Pending,
            ..
        }) => {}
        other => {
            return Err(fail(format!(
                "paying an expired invoice whose payment is in flight must be Pending, got \
                 {other:?}"
            )));
        }
    }
    bed.faults.release_stalled_payments().await?;
    let settled = payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        t.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    match try_pay(&bed, request(&target, &bed)).await? {
        Ok(again) if again.status == settled => {}
        other => {
            return Err(fail(format!(
                "paying the expired, now paid invoice again must report the success, got \
                 {other:?}"
            )));
        }
    }
    dispatched_once(&bed, &target).await
}

/// After an attempt failed, a retry whose answer is lost, while the node has not recorded the
/// new attempt yet, is `Pending` (or, once known, `Succeeded`): the earlier failure says nothing
/// about the new attempt. The retry settles once, and paying again sends nothing more.
pub async fn a_lost_answer_after_an_earlier_failure_is_pending_not_failed(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 5_000, t.event).await?;
    bed.faults.fail_next_payment().await?;
    let first = pay(&bed, request(&target, &bed)).await?;
    ensure!(
        first.status.is_failed(),
        "first attempt: {:?}",
        first.status
    );
    let start = balance(&*bed.wallet, t.event).await?;
    bed.faults
        .spoil_next_payment_answer(SpoiledAnswer::Lost, LATE_DISPATCH)
        .await?;
    pending_or_succeeded(
        try_pay(&bed, request(&target, &bed)).await?,
        "a retry whose answer was lost, whatever an earlier attempt did,",
    )?;
    let settled = payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        t.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    let again = pay(&bed, request(&target, &bed)).await?;
    ensure_eq!(again.status, settled, "paying again reports the retry");
    dispatched_times(&bed, &target, 2).await?;
    paid_exactly_once(&bed, &target, start, 5_000, &settled).await
}

/// An empty answer (`{}`, an empty message) or an unreadable one to a payment the node has not
/// recorded yet is `Pending`: after a dispatch, "the node knows nothing of it" is never
/// `Unknown`, `Failed` or "not sent".
pub async fn an_empty_or_junk_pay_answer_is_pending_never_unknown_or_failed(
    bed: TestBed,
) -> Verdict {
    let t = bed.timing;
    for (answer, amount_msat) in [(SpoiledAnswer::Empty, 4_000), (SpoiledAnswer::Junk, 6_000)] {
        let target = invoice(&*bed.counterparty, amount_msat, t.event).await?;
        bed.faults
            .spoil_next_payment_answer(answer, LATE_DISPATCH)
            .await?;
        pending_or_succeeded(
            try_pay(&bed, request(&target, &bed)).await?,
            &format!("a payment answered {answer:?}"),
        )?;
        settles_once(&bed, &target).await?;
    }
    Ok(())
}

/// Records the node returns for another hash than the one asked for are never believed: a
/// payment or invoice does not take their state, and a payment is not skipped because of them.
pub async fn records_about_another_hash_are_never_believed(bed: TestBed) -> Verdict {
    let t = bed.timing;
    // The records the lookups will be answered with: a payment of this wallet that succeeded,
    // and an invoice of this wallet that expired.
    let paid = invoice(&*bed.counterparty, 2_000, t.event).await?;
    let first = pay(&bed, request(&paid, &bed)).await?;
    ensure!(
        first.status.is_succeeded(),
        "setup payment: {:?}",
        first.status
    );
    let lapsed = bounded(
        t.event,
        "create_invoice",
        bed.wallet
            .create_invoice(InvoiceRequest::new(1_000).expiry(Duration::from_secs(1))),
    )
    .await?
    .context("create an invoice that expires")?;
    eventually(t.event + t.pay, "the invoice to expire", || async {
        (bed.wallet
            .get_invoice_status(&lapsed.checking_id)
            .await
            .ok()
            == Some(InvoiceStatus::Expired))
        .then_some(())
    })
    .await?;

    let target = invoice(&*bed.counterparty, 4_000, t.event).await?;
    let own = invoice(&*bed.wallet, 5_000, t.event).await?;
    bed.faults.misdirect_lookups(Some(paid.checking_id)).await?;
    let verdict = misdirected_lookups_are_not_believed(&bed, &target, &own, &lapsed).await;
    bed.faults.misdirect_lookups(None).await?;
    verdict?;

    settles_once(&bed, &target).await?;
    let status = invoice_status(&*bed.wallet, &own.checking_id, t.event).await?;
    ensure_eq!(
        status,
        InvoiceStatus::Pending,
        "the unpaid invoice afterwards"
    );
    Ok(())
}

async fn misdirected_lookups_are_not_believed(
    bed: &TestBed,
    target: &InvoiceResponse,
    own: &InvoiceResponse,
    lapsed: &InvoiceResponse,
) -> Verdict {
    let t = bed.timing;
    for hash in [random_payment_hash(), target.checking_id] {
        match payment_lookup(bed, &hash).await? {
            Ok(PaymentStatus::Unknown) | Err(_) => {}
            Ok(other) => {
                return Err(fail(format!(
                    "a payment never made reads {other:?} from a record of another hash"
                )));
            }
        }
    }
    pending_or_succeeded(
        try_pay(bed, request(target, bed)).await?,
        "a payment while the node answers lookups about another hash",
    )?;
    bed.faults
        .misdirect_lookups(Some(lapsed.checking_id))
        .await?;
    let own_status = bounded(
        t.event,
        "get_invoice_status",
        bed.wallet.get_invoice_status(&own.checking_id),
    )
    .await?;
    match own_status {
        Ok(InvoiceStatus::Unknown) | Err(_) => Ok(()),
        Ok(other) => Err(fail(format!(
            "an open invoice reads {other:?} from the record of an expired one"
        ))),
    }
}

async fn payment_lookup(
    bed: &TestBed,
    hash: &PaymentHash,
) -> Result<Result<PaymentStatus, wallet_core::WalletError>, Stop> {
    bounded(
        bed.timing.event,
        "get_payment_status",
        bed.wallet.get_payment_status(hash),
    )
    .await
}

/// `PayInvoiceRequest::timeout` bounds the whole call, lookups included: a node slower than the
/// timeout makes `pay_invoice` return in time, `Pending` (an earlier attempt may be in flight
/// unseen) or, where the backend can tell, with nothing sent; never `Failed`. Paying again once
/// the node is quick pays once.
pub async fn a_slow_node_cannot_stretch_a_payment_past_its_timeout(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let target = invoice(&*bed.counterparty, 3_000, t.event).await?;
    let timeout = t.short_pay;
    bed.faults.delay_lookups(timeout * 3).await?;
    let started = tokio::time::Instant::now();
    let answer = try_pay(&bed, request(&target, &bed).timeout(timeout)).await;
    let elapsed = started.elapsed();
    bed.faults.delay_lookups(Duration::ZERO).await?;
    let answer = answer?;
    ensure!(
        elapsed <= timeout + RETURN_SLACK,
        "pay_invoice with a {} s timeout took {} s on a slow node ({answer:?})",
        timeout.as_secs_f32(),
        elapsed.as_secs_f32()
    );
    match answer {
        Err(_) => {
            // Nothing was sent, so nothing may be recorded: wait out lookups still held.
            tokio::time::sleep(timeout * 3).await;
            let status = payment_lookup(&bed, &target.checking_id)
                .await?
                .context("get_payment_status")?;
            ensure_eq!(
                status,
                PaymentStatus::Unknown,
                "a payment refused as not sent"
            );
        }
        Ok(PaymentResponse {
            status: PaymentStatus::Pending | PaymentStatus::Succeeded { .. },
            ..
        }) => {}
        Ok(other) => return Err(fail(format!("on a slow node: {other:?}"))),
    }
    let paid = pay(&bed, request(&target, &bed)).await?;
    ensure!(
        matches!(
            paid.status,
            PaymentStatus::Succeeded { .. } | PaymentStatus::Pending
        ),
        "paying once the node is quick: {:?}",
        paid.status
    );
    settles_once(&bed, &target).await
}
