//! The paid-invoice stream: delivery, order, resume, and connection loss.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use wallet_core::{
    InvoiceRequest, InvoiceStatus, PaidInvoiceStream, PayInvoiceRequest, PaymentHash,
    PaymentStatus, StreamCursor, SupervisedStream, SupervisorConfig, WalletFeature,
};

use crate::fixtures::{bounded, invoice, invoice_paid, next_paid, pay_successfully};
use crate::verdict::{Context, Stop, Verdict, fail, unsupported};
use crate::{TestBed, ensure, ensure_eq};

async fn subscribe(bed: &TestBed, cursor: Option<StreamCursor>) -> Result<PaidInvoiceStream, Stop> {
    bounded(
        bed.timing.event,
        "paid_invoices_stream",
        bed.wallet.paid_invoices_stream(cursor),
    )
    .await?
    .context("paid_invoices_stream")
}

/// A paid invoice arrives on the stream with its hash, amount and a cursor.
pub async fn the_stream_delivers_a_paid_invoice_with_amount_and_cursor(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut stream = subscribe(&bed, None).await?;
    let created = invoice(&*bed.wallet, 9_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &created, t.pay).await?;
    let paid = next_paid(&mut stream, t.event).await?;
    ensure_eq!(paid.payment_hash, created.checking_id, "hash on the stream");
    ensure_eq!(paid.amount_received_msat, 9_000, "amount on the stream");
    ensure!(!paid.cursor.as_str().is_empty(), "the cursor is empty");
    Ok(())
}

/// Invoices paid one after another arrive in that order.
pub async fn the_stream_delivers_in_settle_order(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut stream = subscribe(&bed, None).await?;
    let mut expected = Vec::new();
    for amount in [1_000, 2_000, 3_000] {
        let created = invoice(&*bed.wallet, amount, t.event).await?;
        pay_successfully(&*bed.counterparty, &created, t.pay).await?;
        expected.push(created.checking_id);
    }
    let mut delivered = Vec::new();
    for _ in 0..expected.len() {
        delivered.push(next_paid(&mut stream, t.event).await?.payment_hash);
    }
    ensure_eq!(delivered, expected, "delivery order");
    Ok(())
}

/// A stream opened without a cursor starts with the next payment: no history is replayed.
pub async fn a_stream_without_a_cursor_replays_nothing(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let earlier = invoice(&*bed.wallet, 1_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &earlier, t.pay).await?;
    invoice_paid(&*bed.wallet, &earlier.checking_id, t.event).await?;
    let mut stream = subscribe(&bed, None).await?;
    let later = invoice(&*bed.wallet, 2_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &later, t.pay).await?;
    let first = next_paid(&mut stream, t.event).await?;
    ensure_eq!(
        first.payment_hash,
        later.checking_id,
        "first item of a new stream"
    );
    Ok(())
}

/// Given a cursor, a new stream delivers everything paid after it, and nothing before it.
pub async fn a_stream_resumes_from_a_cursor_without_misses_or_repeats(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut stream = subscribe(&bed, None).await?;
    let first = invoice(&*bed.wallet, 1_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &first, t.pay).await?;
    let delivered = next_paid(&mut stream, t.event).await?;
    ensure_eq!(delivered.payment_hash, first.checking_id, "first delivery");
    drop(stream);

    let mut missed = Vec::new();
    for amount in [2_000, 3_000] {
        let created = invoice(&*bed.wallet, amount, t.event).await?;
        pay_successfully(&*bed.counterparty, &created, t.pay).await?;
        missed.push(created.checking_id);
    }
    let mut resumed = subscribe(&bed, Some(delivered.cursor)).await?;
    let mut replayed = Vec::new();
    for _ in 0..missed.len() {
        replayed.push(next_paid(&mut resumed, t.event).await?.payment_hash);
    }
    ensure_eq!(replayed, missed, "what the resumed stream delivered");
    Ok(())
}

/// Dropping a stream and subscribing again works, any number of times.
pub async fn subscribing_again_after_dropping_a_stream_works(bed: TestBed) -> Verdict {
    let t = bed.timing;
    for _ in 0..2 {
        drop(subscribe(&bed, None).await?);
    }
    let mut stream = subscribe(&bed, None).await?;
    let created = invoice(&*bed.wallet, 4_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &created, t.pay).await?;
    ensure_eq!(
        next_paid(&mut stream, t.event).await?.payment_hash,
        created.checking_id,
        "item on the third subscription"
    );
    Ok(())
}

/// When the backend restarts, an open stream ends with an error within seconds: it neither
/// hangs nor pretends to be alive.
pub async fn a_restart_ends_the_stream_with_an_error(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut stream = subscribe(&bed, None).await?;
    bed.faults.restart_backend().await?;
    match tokio::time::timeout(t.event, stream.next()).await {
        Err(_) => Err(fail(format!(
            "the stream was still silent {} s after the restart",
            t.event.as_secs()
        ))),
        Ok(Some(Ok(paid))) => Err(fail(format!("unexpected item after a restart: {paid:?}"))),
        Ok(Some(Err(_)) | None) => Ok(()),
    }
}

/// Retries `attempt` while it fails with a retryable error, until `deadline`.
async fn retrying<T, F, Fut>(
    deadline: tokio::time::Instant,
    what: &str,
    mut attempt: F,
) -> Result<T, Stop>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, wallet_core::WalletError>>,
{
    loop {
        let last = match tokio::time::timeout_at(deadline, attempt()).await {
            Err(_) => return Err(fail(format!("{what} did not succeed in time"))),
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(err)) if !err.is_retryable() => return Err(fail(format!("{what}: {err}"))),
            Ok(Err(err)) => err,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(format!(
                "{what} did not succeed in time; last: {last}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Has `wallet` issue an invoice and `payer` pay it, retrying both while the backend is
/// unreachable or the outcome unclear (safe: paying again reports the first payment). An invoice
/// the node failed or refused to pay (some backends fail open invoices when they restart, and
/// then refuse to retry them) is replaced by a new one.
/// Returns the hash of the invoice that got paid.
async fn issue_and_pay(
    wallet: Arc<dyn wallet_core::Wallet>,
    payer: Arc<dyn wallet_core::Wallet>,
    amount_msat: u64,
    deadline: tokio::time::Instant,
) -> Result<PaymentHash, Stop> {
    loop {
        let invoice = retrying(deadline, "create_invoice", || {
            wallet.create_invoice(InvoiceRequest::new(amount_msat).memo("paid across a restart"))
        })
        .await?;
        let status = retrying(deadline, "pay_invoice", || {
            let request = PayInvoiceRequest::new(invoice.payment_request.clone(), 100_000)
                .timeout(Duration::from_secs(2));
            let payer = Arc::clone(&payer);
            async move {
                match payer.pay_invoice(request).await {
                    Ok(response) if response.status == PaymentStatus::Pending => {
                        Err(wallet_core::WalletError::unavailable("still pending"))
                    }
                    Ok(response) => Ok(Some(response.status)),
                    // Refused, nothing sent (a node that will not retry a hash it failed):
                    // another invoice will do.
                    Err(err) if !err.reason().is_retryable() => Ok(None),
                    Err(err) => Err(err.into_reason()),
                }
            }
        })
        .await?;
        if status.as_ref().is_some_and(PaymentStatus::is_succeeded) {
            return Ok(invoice.checking_id);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(format!(
                "no invoice could be paid in time; last: {status:?}"
            )));
        }
    }
}

/// Items of a supervised stream of the wallet, started without a cursor, once it connected; the
/// stream is polled from a task, as an app would (a stream works while polled).
async fn supervised(
    bed: &TestBed,
    config: SupervisorConfig,
) -> Result<
    (
        tokio::sync::mpsc::UnboundedReceiver<
            Result<wallet_core::PaidInvoice, wallet_core::WalletError>,
        >,
        tokio::task::JoinHandle<()>,
    ),
    Stop,
> {
    let stream = SupervisedStream::new(Arc::clone(&bed.wallet), None, config);
    let mut health = stream.health();
    let (items, delivered) = tokio::sync::mpsc::unbounded_channel();
    let forwarder = tokio::spawn(stream.for_each(move |item| {
        let _ = items.send(item);
        async {}
    }));
    bounded(
        bed.timing.event,
        "the supervised stream to connect",
        health.wait_for(|state| *state == wallet_core::StreamHealth::Connected),
    )
    .await?
    .context("health")?;
    Ok((delivered, forwarder))
}

/// Invoices keep being issued and paid while the backend restarts: the supervised stream
/// reconnects and delivers every paid one, each once, and nothing else.
pub async fn the_supervised_stream_survives_a_restart_without_missing_payments(
    bed: TestBed,
) -> Verdict {
    const INVOICES: usize = 6;
    let t = bed.timing;
    let config = SupervisorConfig {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        ..SupervisorConfig::default()
    };
    let (mut delivered, forwarder) = supervised(&bed, config).await?;
    let wallet = Arc::clone(&bed.wallet);
    let payer = Arc::clone(&bed.counterparty);
    let deadline = tokio::time::Instant::now() + t.event * 4;
    let paying = tokio::spawn(async move {
        let mut paid = Vec::new();
        for index in 0..INVOICES {
            let amount_msat = 1_000 * (index as u64 + 1);
            paid.push(
                issue_and_pay(
                    Arc::clone(&wallet),
                    Arc::clone(&payer),
                    amount_msat,
                    deadline,
                )
                .await?,
            );
        }
        Ok::<_, Stop>(paid)
    });

    let mut seen = Vec::new();
    while seen.len() < INVOICES {
        let item = tokio::time::timeout_at(deadline, delivered.recv())
            .await
            .map_err(|_| {
                fail(format!(
                    "delivered {} of {INVOICES} before the deadline",
                    seen.len()
                ))
            })?
            .context("stream")?
            .context("item")?;
        ensure!(
            !seen.contains(&item.payment_hash),
            "{} was delivered twice",
            item.payment_hash
        );
        seen.push(item.payment_hash);
        if seen.len() == 2 {
            // The rest are issued and paid while the backend restarts, and after.
            bed.faults.restart_backend().await?;
        }
    }
    let paid = bounded(t.event, "the payer", paying)
        .await?
        .context("payer task")??;
    let paid: std::collections::BTreeSet<_> = paid.into_iter().collect();
    let delivered_set: std::collections::BTreeSet<_> = seen.iter().copied().collect();
    ensure_eq!(
        delivered_set,
        paid,
        "the invoices delivered vs the invoices paid"
    );
    let extra = tokio::time::timeout(Duration::from_secs(1), delivered.recv()).await;
    ensure!(extra.is_err(), "an extra item arrived: {extra:?}");
    forwarder.abort();
    Ok(())
}

/// An amountless invoice paid with an explicit amount reports that amount, on the stream and in
/// its status.
pub async fn an_amountless_invoice_reports_the_amount_received(bed: TestBed) -> Verdict {
    let t = bed.timing;
    if !bed
        .wallet
        .features()
        .contains(WalletFeature::AmountlessInvoice)
    {
        return unsupported(bed.unsupported_reason(
            WalletFeature::AmountlessInvoice,
            "the wallet cannot create amountless invoices",
        ));
    }
    if !bed
        .counterparty
        .features()
        .contains(WalletFeature::AmountlessPayment)
    {
        return unsupported("the counterparty cannot pay amountless invoices");
    }
    let mut stream = subscribe(&bed, None).await?;
    let created = bounded(
        t.event,
        "create_invoice",
        bed.wallet.create_invoice(InvoiceRequest::amountless()),
    )
    .await?
    .context("create amountless invoice")?;
    let paid = bounded(
        t.pay,
        "pay_invoice",
        bed.counterparty.pay_invoice(
            PayInvoiceRequest::new(created.payment_request.clone(), 10_000)
                .amount_msat(7_000)
                .timeout(t.pay),
        ),
    )
    .await?
    .context("pay amountless invoice")?;
    ensure!(paid.status.is_succeeded(), "payment: {:?}", paid.status);
    let item = next_paid(&mut stream, t.event).await?;
    ensure_eq!(item.amount_received_msat, 7_000, "amount on the stream");
    let status = invoice_paid(&*bed.wallet, &created.checking_id, t.event).await?;
    ensure!(
        matches!(
            status,
            InvoiceStatus::Paid {
                amount_received_msat: 7_000,
                ..
            }
        ),
        "status: {status:?}"
    );
    Ok(())
}

/// A supervised stream started without a cursor pins where it started: an invoice paid while it
/// reconnects, before it delivered anything, is delivered, once.
pub async fn a_stream_started_without_a_cursor_misses_nothing_across_a_restart_before_its_first_item(
    bed: TestBed,
) -> Verdict {
    let t = bed.timing;
    // Long enough to pay in while the stream waits to reconnect.
    let reconnect_after = Duration::from_secs(2);
    let config = SupervisorConfig {
        initial_backoff: reconnect_after,
        max_backoff: reconnect_after,
        ..SupervisorConfig::default()
    };
    let (mut delivered, forwarder) = supervised(&bed, config).await?;
    bed.faults.restart_backend().await?;
    // Issued and paid at once: while the stream waits to reconnect, before it delivered
    // anything. (Issued after the restart: LNbits' FakeWallet forgets open invoices then.)
    let target = invoice(&*bed.wallet, 8_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &target, t.pay).await?;
    let first = bounded(
        t.event + reconnect_after * 2,
        "the invoice paid while the stream reconnected",
        delivered.recv(),
    )
    .await?
    .context("stream")?
    .context("item")?;
    ensure_eq!(
        first.payment_hash,
        target.checking_id,
        "the first item after the restart"
    );
    let extra = tokio::time::timeout(Duration::from_secs(1), delivered.recv()).await;
    ensure!(extra.is_err(), "an extra item arrived: {extra:?}");
    forwarder.abort();
    Ok(())
}

/// A stream on a node with nothing to say stays open past the backend's call deadlines (lnd
/// answers a quiet subscription only with its first message), then delivers the next payment.
pub async fn a_stream_on_a_quiet_node_stays_open_past_the_call_timeout(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut stream = subscribe(&bed, None).await?;
    if let Ok(item) = tokio::time::timeout(t.quiet, stream.next()).await {
        return Err(fail(format!(
            "a stream with nothing to say yielded {item:?} within {} s",
            t.quiet.as_secs_f32()
        )));
    }
    let created = invoice(&*bed.wallet, 9_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &created, t.pay).await?;
    let paid = next_paid(&mut stream, t.event).await?;
    ensure_eq!(
        paid.payment_hash,
        created.checking_id,
        "the payment after the quiet spell"
    );
    Ok(())
}
