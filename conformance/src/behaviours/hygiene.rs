//! Secrets stay secret.

use wallet_core::{InvoiceRequest, InvoiceStatus, PayInvoiceRequest};

use crate::fixtures::{bounded, invoice, invoice_paid, pay_successfully};
use crate::verdict::Verdict;
use crate::{TestBed, ensure};

/// Credentials never appear in the wallet's `Debug` output or its errors, and a preimage never
/// appears in the `Debug` output of a status.
pub async fn secrets_never_appear_in_debug_output_or_errors(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let mut shown = vec![format!("{:?}", bed.wallet)];
    if let Some(bad) = &bed.with_bad_credentials {
        shown.push(format!("{bad:?}"));
        if let Err(err) = bounded(t.event, "status", bad.status()).await? {
            shown.push(format!("{err} {err:?}"));
        }
    }
    let refused = bounded(
        t.event,
        "create_invoice",
        bed.wallet.create_invoice(InvoiceRequest::new(0)),
    )
    .await?;
    shown.push(format!("{refused:?}"));
    let refused = bounded(
        t.event,
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new("lnbc1garbage", 0)),
    )
    .await?;
    shown.push(format!("{refused:?}"));
    for secret in &bed.secrets {
        for text in &shown {
            ensure!(
                !text.contains(secret.as_str()),
                "a credential is shown in: {text}"
            );
        }
    }

    let created = invoice(&*bed.wallet, 2_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &created, t.pay).await?;
    let status = invoice_paid(&*bed.wallet, &created.checking_id, t.event).await?;
    if let InvoiceStatus::Paid { preimage, .. } = &status {
        let debug = format!("{status:?}");
        ensure!(
            !debug.contains(&preimage.to_hex()),
            "Debug shows the preimage: {debug}"
        );
    }
    Ok(())
}
