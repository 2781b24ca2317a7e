//! Hold invoices: at the wallet (held, settled, cancelled) and at the counterparty (a payment
//! that stays pending until the payee decides).

use std::time::Duration;

use wallet_core::{
    HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus, PayInvoiceRequest,
    PaymentStatus, Preimage, WalletError, WalletFeature,
};

use crate::fixtures::{
    balance, balance_becomes, bounded, eventually, invoice_paid, invoice_status, payment_reaches,
    payment_status, random_preimage,
};
use crate::verdict::{Context, Stop, Verdict, unsupported};
use crate::{TestBed, ensure, ensure_eq};

async fn hold_invoice(
    wallet: &dyn wallet_core::Wallet,
    preimage: &Preimage,
    amount_msat: u64,
    deadline: Duration,
) -> Result<InvoiceResponse, Stop> {
    let request = HoldInvoiceRequest {
        payment_hash: preimage.payment_hash(),
        invoice: InvoiceRequest::new(amount_msat).memo("wallet-conformance hold"),
    };
    bounded(
        deadline,
        "create_hold_invoice",
        wallet.create_hold_invoice(request),
    )
    .await?
    .context("create_hold_invoice")
}

/// Checks that a wallet without hold invoices refuses every hold call as unsupported.
async fn refuses_hold_calls(
    wallet: &dyn wallet_core::Wallet,
    deadline: Duration,
) -> Result<(), Stop> {
    let preimage = random_preimage();
    let unsupported = WalletError::Unsupported(WalletFeature::HoldInvoice);
    let request = HoldInvoiceRequest {
        payment_hash: preimage.payment_hash(),
        invoice: InvoiceRequest::new(1_000),
    };
    let created = bounded(
        deadline,
        "create_hold_invoice",
        wallet.create_hold_invoice(request),
    )
    .await?;
    ensure!(
        created.as_ref().err() == Some(&unsupported),
        "create_hold_invoice: {created:?}"
    );
    let settled = bounded(
        deadline,
        "settle_hold_invoice",
        wallet.settle_hold_invoice(&preimage),
    )
    .await?;
    ensure!(
        settled.as_ref().err() == Some(&unsupported),
        "settle_hold_invoice: {settled:?}"
    );
    let hash = preimage.payment_hash();
    let cancelled = bounded(
        deadline,
        "cancel_hold_invoice",
        wallet.cancel_hold_invoice(&hash),
    )
    .await?;
    ensure!(
        cancelled.as_ref().err() == Some(&unsupported),
        "cancel_hold_invoice: {cancelled:?}"
    );
    Ok(())
}

async fn wallet_supports_hold(bed: &TestBed) -> Result<(), Stop> {
    if bed.wallet.features().contains(WalletFeature::HoldInvoice) {
        return Ok(());
    }
    refuses_hold_calls(&*bed.wallet, bed.timing.event).await?;
    Err(Stop::Unsupported(bed.unsupported_reason(
        WalletFeature::HoldInvoice,
        "HOLDINVOICE is not in features(), and every hold call says Unsupported",
    )))
}

/// The counterparty pays in the background (its payment stays pending while held).
fn counterparty_pays(bed: &TestBed, invoice: &InvoiceResponse) -> tokio::task::JoinHandle<()> {
    let counterparty = bed.counterparty.clone();
    let request = PayInvoiceRequest::new(invoice.payment_request.clone(), 10_000)
        .timeout(bed.timing.short_pay);
    tokio::spawn(async move {
        // The outcome is read from the statuses; this call only has to start the payment.
        let _ = counterparty.pay_invoice(request).await;
    })
}

async fn wait_held(bed: &TestBed, invoice: &InvoiceResponse, amount_msat: u64) -> Result<(), Stop> {
    if !bed.held_state_visible {
        // The payment has arrived once the payer's is in flight; the wallet, which cannot tell
        // held from open, must still say Pending (never Paid) until it settles.
        payment_reaches(
            &*bed.counterparty,
            &invoice.checking_id,
            bed.timing.event,
            |status| *status == PaymentStatus::Pending,
        )
        .await?;
        ensure_eq!(
            invoice_status(&*bed.wallet, &invoice.checking_id, bed.timing.event).await?,
            InvoiceStatus::Pending,
            "a held payment, at a backend that reports held invoices as pending"
        );
        return Ok(());
    }
    let status = eventually(bed.timing.event, "the hold invoice to be held", || async {
        bed.wallet
            .get_invoice_status(&invoice.checking_id)
            .await
            .ok()
            .filter(|status| matches!(status, InvoiceStatus::Held { .. }))
    })
    .await?;
    ensure_eq!(
        status,
        InvoiceStatus::Held {
            amount_received_msat: amount_msat
        },
        "held status"
    );
    Ok(())
}

/// A hold invoice of `amount_msat` at the wallet, paid by the counterparty and held. Returns its
/// preimage, the invoice and the payer's task.
async fn held_at_the_wallet(
    bed: &TestBed,
    amount_msat: u64,
) -> Result<(Preimage, InvoiceResponse, tokio::task::JoinHandle<()>), Stop> {
    let t = bed.timing;
    let preimage = random_preimage();
    let created = hold_invoice(&*bed.wallet, &preimage, amount_msat, t.event).await?;
    ensure_eq!(
        created.checking_id,
        preimage.payment_hash(),
        "checking_id of a hold invoice"
    );
    ensure_eq!(
        invoice_status(&*bed.wallet, &created.checking_id, t.event).await?,
        InvoiceStatus::Pending,
        "before payment"
    );
    let payer = counterparty_pays(bed, &created);
    wait_held(bed, &created, amount_msat).await?;
    Ok((preimage, created, payer))
}

/// A hold invoice is pending, then held when paid, then paid when settled with its preimage; the
/// payer's payment then succeeds.
pub async fn a_hold_invoice_is_held_then_settled(bed: TestBed) -> Verdict {
    wallet_supports_hold(&bed).await?;
    let t = bed.timing;
    let (preimage, created, payer) = held_at_the_wallet(&bed, 12_000).await?;
    bounded(
        t.event,
        "settle_hold_invoice",
        bed.wallet.settle_hold_invoice(&preimage),
    )
    .await?
    .context("settle_hold_invoice")?;
    let status = invoice_paid(&*bed.wallet, &created.checking_id, t.event).await?;
    ensure!(
        matches!(status, InvoiceStatus::Paid { amount_received_msat: 12_000, preimage: p, .. } if p == preimage),
        "paid status: {status:?}"
    );
    payment_reaches(
        &*bed.counterparty,
        &created.checking_id,
        t.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    bounded(t.pay, "the payer", payer)
        .await?
        .context("payer task")?;
    Ok(())
}

/// A held hold invoice can be cancelled: it is `Cancelled` and the payer's payment fails.
pub async fn a_held_hold_invoice_can_be_cancelled(bed: TestBed) -> Verdict {
    wallet_supports_hold(&bed).await?;
    let t = bed.timing;
    let (_preimage, created, payer) = held_at_the_wallet(&bed, 9_000).await?;
    bounded(
        t.event,
        "cancel_hold_invoice",
        bed.wallet.cancel_hold_invoice(&created.checking_id),
    )
    .await?
    .context("cancel_hold_invoice")?;
    ensure_eq!(
        invoice_status(&*bed.wallet, &created.checking_id, t.event).await?,
        InvoiceStatus::Cancelled,
        "after cancel"
    );
    payment_reaches(
        &*bed.counterparty,
        &created.checking_id,
        t.event,
        PaymentStatus::is_failed,
    )
    .await?;
    bounded(t.pay, "the payer", payer)
        .await?
        .context("payer task")?;
    Ok(())
}

/// Settling before any payment arrived is an `InvalidState` error; a preimage of another hash
/// settles nothing.
pub async fn settling_a_hold_invoice_before_payment_is_refused(bed: TestBed) -> Verdict {
    wallet_supports_hold(&bed).await?;
    let t = bed.timing;
    let preimage = random_preimage();
    let created = hold_invoice(&*bed.wallet, &preimage, 3_000, t.event).await?;
    let early = bounded(
        t.event,
        "settle_hold_invoice",
        bed.wallet.settle_hold_invoice(&preimage),
    )
    .await?;
    ensure!(
        matches!(early, Err(WalletError::InvalidState(_))),
        "settling an open hold invoice gave {early:?}"
    );
    let wrong = bounded(
        t.event,
        "settle_hold_invoice",
        bed.wallet.settle_hold_invoice(&random_preimage()),
    )
    .await?;
    ensure!(
        wrong.is_err(),
        "settling with a preimage of no invoice gave {wrong:?}"
    );
    ensure_eq!(
        invoice_status(&*bed.wallet, &created.checking_id, t.event).await?,
        InvoiceStatus::Pending,
        "after the refused settles"
    );
    Ok(())
}

fn counterparty_supports_hold(bed: &TestBed) -> Verdict {
    if bed
        .counterparty
        .features()
        .contains(WalletFeature::HoldInvoice)
    {
        Ok(())
    } else {
        unsupported("the counterparty cannot create hold invoices, so no payment can be held")
    }
}

/// Paying a hold invoice returns `Pending` at the pay timeout; when the payee settles, the
/// payment's status becomes `Succeeded` with the preimage.
pub async fn a_payment_to_a_held_invoice_is_pending_until_settled(bed: TestBed) -> Verdict {
    counterparty_supports_hold(&bed)?;
    let t = bed.timing;
    let preimage = random_preimage();
    let target = hold_invoice(&*bed.counterparty, &preimage, 7_000, t.event).await?;
    let request =
        PayInvoiceRequest::new(target.payment_request.clone(), 10_000).timeout(t.short_pay);
    let answer = bounded(
        t.short_pay + Duration::from_secs(5),
        "pay_invoice",
        bed.wallet.pay_invoice(request),
    )
    .await?
    .context("pay_invoice")?;
    ensure_eq!(
        answer.status,
        PaymentStatus::Pending,
        "a held payment at the pay timeout"
    );
    let status = payment_status(&*bed.wallet, &target.checking_id, t.event).await?;
    ensure_eq!(status, PaymentStatus::Pending, "status while held");
    bounded(
        t.event,
        "settle",
        bed.counterparty.settle_hold_invoice(&preimage),
    )
    .await?
    .context("counterparty settle_hold_invoice")?;
    let status = payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        t.event,
        PaymentStatus::is_succeeded,
    )
    .await?;
    ensure!(
        matches!(status, PaymentStatus::Succeeded { preimage: p, .. } if p == preimage),
        "status after settle: {status:?}"
    );
    Ok(())
}

/// When the payee cancels a held payment, the payment fails and the money comes back.
pub async fn a_payment_to_a_cancelled_hold_invoice_fails(bed: TestBed) -> Verdict {
    counterparty_supports_hold(&bed)?;
    let t = bed.timing;
    let preimage = random_preimage();
    let target = hold_invoice(&*bed.counterparty, &preimage, 8_000, t.event).await?;
    let start = balance(&*bed.wallet, t.event).await?;
    let request =
        PayInvoiceRequest::new(target.payment_request.clone(), 10_000).timeout(t.short_pay);
    let answer = bounded(
        t.short_pay + Duration::from_secs(5),
        "pay_invoice",
        bed.wallet.pay_invoice(request),
    )
    .await?
    .context("pay_invoice")?;
    ensure_eq!(
        answer.status,
        PaymentStatus::Pending,
        "a held payment at the pay timeout"
    );
    bounded(
        t.event,
        "cancel",
        bed.counterparty.cancel_hold_invoice(&target.checking_id),
    )
    .await?
    .context("counterparty cancel_hold_invoice")?;
    payment_reaches(
        &*bed.wallet,
        &target.checking_id,
        t.event,
        PaymentStatus::is_failed,
    )
    .await?;
    if bed.exact_balances {
        balance_becomes(&*bed.wallet, start, t.event).await?;
    }
    Ok(())
}
