//! Creating invoices and reading their state.

use std::time::Duration;

use wallet_core::bolt11::Bolt11Description;
use wallet_core::{
    DescriptionHash, InvoiceRequest, InvoiceStatus, MAX_MEMO_BYTES, PaymentHash, WalletError,
    WalletFeature,
};

use crate::fixtures::{
    bounded, decode, invoice, invoice_paid, invoice_status, names_field, pay_successfully,
    random_payment_hash,
};
use crate::verdict::{Context, Verdict, fail, unsupported};
use crate::{TestBed, ensure, ensure_eq};

/// The BOLT11 carries the amount, memo and expiry asked for; the checking id is its payment hash.
pub async fn created_invoices_carry_amount_memo_and_expiry(bed: TestBed) -> Verdict {
    let memo = "wallet-conformance: a memo with unicode \u{2615}";
    let request = InvoiceRequest::new(12_345_000)
        .memo(memo)
        .expiry(Duration::from_secs(600));
    let created = bounded(
        bed.timing.event,
        "create_invoice",
        bed.wallet.create_invoice(request),
    )
    .await?
    .context("create_invoice")?;
    let decoded = decode(&created)?;
    ensure_eq!(
        decoded.amount_msat(),
        Some(12_345_000),
        "amount in the BOLT11"
    );
    ensure_eq!(
        decoded.description(),
        Bolt11Description::Memo(memo.into()),
        "description"
    );
    let expiry = decoded.expiry().as_secs();
    ensure!(
        expiry.abs_diff(600) <= 5,
        "expiry is {expiry} s, asked for 600 s"
    );
    ensure_eq!(
        created.checking_id,
        decoded.payment_hash(),
        "checking_id vs the BOLT11 hash"
    );
    let hex = created.checking_id.to_hex();
    ensure!(
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "checking_id {hex} is not lowercase hex"
    );
    ensure!(
        created.expires_at.abs_diff(decoded.expires_at()) <= 5,
        "expires_at {} disagrees with the BOLT11's {}",
        created.expires_at,
        decoded.expires_at()
    );
    Ok(())
}

/// A new invoice is pending.
pub async fn a_new_invoice_is_pending(bed: TestBed) -> Verdict {
    let created = invoice(&*bed.wallet, 5_000, bed.timing.event).await?;
    let status = invoice_status(&*bed.wallet, &created.checking_id, bed.timing.event).await?;
    ensure_eq!(status, InvoiceStatus::Pending, "status of a new invoice");
    Ok(())
}

/// A `description_hash` is committed to in the `h` field, or refused as unsupported.
pub async fn a_description_hash_is_committed_to_or_unsupported(bed: TestBed) -> Verdict {
    let hash = DescriptionHash::of_description(b"wallet-conformance description");
    let request = InvoiceRequest::new(2_000).description_hash(hash);
    let created = bounded(
        bed.timing.event,
        "create_invoice",
        bed.wallet.create_invoice(request),
    )
    .await?;
    let supported = bed
        .wallet
        .features()
        .contains(WalletFeature::DescriptionHash);
    match (created, supported) {
        (Ok(created), true) => {
            ensure_eq!(
                decode(&created)?.description(),
                Bolt11Description::Hash(hash),
                "h field"
            );
            Ok(())
        }
        (Err(WalletError::Unsupported(WalletFeature::DescriptionHash)), false) => {
            unsupported(bed.unsupported_reason(
                WalletFeature::DescriptionHash,
                "DESCRIPTION_HASH is not in features(), and the call says Unsupported",
            ))
        }
        (other, supported) => Err(fail(format!(
            "features() says DESCRIPTION_HASH supported={supported}, but create_invoice gave {other:?}"
        ))),
    }
}

/// An `unhashed_description` becomes the `h` field, as its sha256 (LNURL-pay).
pub async fn an_unhashed_description_becomes_its_hash(bed: TestBed) -> Verdict {
    let metadata = br#"[["text/plain","wallet-conformance"]]"#.to_vec();
    let request = InvoiceRequest::new(2_000)
        .memo("lnurl")
        .unhashed_description(metadata.clone());
    let created = bounded(
        bed.timing.event,
        "create_invoice",
        bed.wallet.create_invoice(request),
    )
    .await?
    .context("create_invoice with unhashed_description")?;
    ensure_eq!(
        decode(&created)?.description(),
        Bolt11Description::Hash(DescriptionHash::of_description(&metadata)),
        "h field"
    );
    Ok(())
}

/// Amountless invoices are created without an amount, or refused as unsupported, as
/// `features()` says.
pub async fn amountless_invoices_follow_the_features(bed: TestBed) -> Verdict {
    let created = bounded(
        bed.timing.event,
        "create_invoice",
        bed.wallet
            .create_invoice(InvoiceRequest::amountless().memo("any amount")),
    )
    .await?;
    let supported = bed
        .wallet
        .features()
        .contains(WalletFeature::AmountlessInvoice);
    match (created, supported) {
        (Ok(created), true) => {
            ensure_eq!(
                decode(&created)?.amount_msat(),
                None,
                "amount of an amountless invoice"
            );
            Ok(())
        }
        (Err(WalletError::Unsupported(WalletFeature::AmountlessInvoice)), false) => {
            unsupported(bed.unsupported_reason(
                WalletFeature::AmountlessInvoice,
                "AMOUNTLESS_INVOICE is not in features(), and the call says Unsupported",
            ))
        }
        (other, supported) => Err(fail(format!(
            "features() says AMOUNTLESS_INVOICE supported={supported}, but create_invoice gave {other:?}"
        ))),
    }
}

/// Bad invoice requests are `InvalidRequest` errors naming the field; nothing is created.
pub async fn invalid_invoice_requests_name_the_field(bed: TestBed) -> Verdict {
    let cases = [
        (InvoiceRequest::new(0), "amount_msat"),
        (
            InvoiceRequest::new(1_000).memo("m".repeat(MAX_MEMO_BYTES + 1)),
            "memo",
        ),
        (
            InvoiceRequest::new(1_000)
                .description_hash(DescriptionHash::from_bytes([1; 32]))
                .unhashed_description("both"),
            "description_hash",
        ),
        (InvoiceRequest::new(1_000).expiry(Duration::ZERO), "expiry"),
        (
            InvoiceRequest::new(1_000).expiry(Duration::from_secs(400 * 24 * 3600)),
            "expiry",
        ),
    ];
    for (request, field) in cases {
        let answer = bounded(
            bed.timing.event,
            "create_invoice",
            bed.wallet.create_invoice(request.clone()),
        )
        .await?;
        match answer {
            Err(err) if names_field(&err, field) => {}
            other => {
                return Err(fail(format!(
                    "{request:?} should be refused naming `{field}`, got {other:?}"
                )));
            }
        }
    }
    Ok(())
}

/// A hash the backend never saw is `Unknown`.
pub async fn an_unknown_invoice_is_unknown(bed: TestBed) -> Verdict {
    let status = invoice_status(&*bed.wallet, &random_payment_hash(), bed.timing.event).await?;
    ensure_eq!(
        status,
        InvoiceStatus::Unknown,
        "status of a hash nobody issued"
    );
    Ok(())
}

/// A checking id that is not 64 hex digits is an `InvalidRequest` naming `payment_hash`.
pub async fn a_garbage_checking_id_is_an_invalid_request(_bed: TestBed) -> Verdict {
    for garbage in ["", "xyz", "00", &"g".repeat(64), &"0".repeat(65)] {
        match garbage.parse::<PaymentHash>() {
            Err(err) if names_field(&err, "payment_hash") => {}
            other => return Err(fail(format!("{garbage:?} parsed as {other:?}"))),
        }
    }
    Ok(())
}

/// Once paid, an invoice is `Paid` with the amount, a preimage of its hash, and the time.
pub async fn a_paid_invoice_reports_amount_preimage_and_time(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let created = invoice(&*bed.wallet, 8_000, t.event).await?;
    let started = wallet_core::time::unix_now();
    pay_successfully(&*bed.counterparty, &created, t.pay).await?;
    let status = invoice_paid(&*bed.wallet, &created.checking_id, t.event).await?;
    let InvoiceStatus::Paid {
        amount_received_msat,
        preimage,
        paid_at,
    } = status
    else {
        return Err(fail("filtered for Paid"));
    };
    ensure_eq!(amount_received_msat, 8_000, "amount received");
    ensure!(
        created.checking_id.is_paid_by(&preimage),
        "the preimage does not hash to the payment hash"
    );
    ensure!(
        paid_at.saturating_add(120) >= started && paid_at <= wallet_core::time::unix_now() + 120,
        "paid_at {paid_at} is not around now ({started})"
    );
    Ok(())
}

/// Past its expiry an unpaid invoice is `Expired` (never failed or pending forever), and it can
/// no longer be paid.
pub async fn an_expired_invoice_is_expired_not_failed(bed: TestBed) -> Verdict {
    let t = bed.timing;
    let request = InvoiceRequest::new(3_000).expiry(Duration::from_secs(2));
    let created = bounded(
        t.event,
        "create_invoice",
        bed.wallet.create_invoice(request),
    )
    .await?
    .context("create_invoice")?;
    let mut seen = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(2) + t.event;
    loop {
        if let Ok(status) = bed.wallet.get_invoice_status(&created.checking_id).await {
            seen.push(status.clone());
            if status == InvoiceStatus::Expired {
                break;
            }
        }
        if tokio::time::Instant::now() >= until {
            return Err(fail(format!("never Expired; statuses seen: {seen:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        seen.iter()
            .all(|status| matches!(status, InvoiceStatus::Pending | InvoiceStatus::Expired)),
        "statuses before expiry must be Pending: {seen:?}"
    );
    let paid = bounded(
        t.pay,
        "pay_invoice of an expired invoice",
        bed.counterparty
            .pay_invoice(wallet_core::PayInvoiceRequest::new(
                created.payment_request,
                2_000,
            )),
    )
    .await?;
    ensure!(paid.is_err(), "paying an expired invoice gave {paid:?}");
    Ok(())
}
