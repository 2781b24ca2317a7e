//! Status, balances and credentials.

use wallet_core::{PayInvoiceRequest, WalletError};

use crate::fixtures::{balance, balance_becomes, bounded, eventually, invoice, pay_successfully};
use crate::verdict::{Context, Verdict, fail, unsupported};
use crate::{TestBed, ensure};

/// `status()` reports the (funded) balance in msat, the same on every call.
pub async fn status_reports_the_balance_in_msat(bed: TestBed) -> Verdict {
    let first = balance(&*bed.wallet, bed.timing.event).await?;
    ensure!(
        first > 0,
        "the harness funds the wallet, yet status reports {first} msat"
    );
    if bed.exact_balances {
        let second = balance(&*bed.wallet, bed.timing.event).await?;
        ensure!(
            first == second,
            "balance changed from {first} to {second} with no payment"
        );
    }
    Ok(())
}

/// An unreachable backend is a retryable error within the deadline, never a zero balance.
pub async fn an_unreachable_backend_is_an_error_not_a_zero_balance(bed: TestBed) -> Verdict {
    bed.faults.take_backend_offline().await?;
    let answer = bounded(
        bed.timing.event,
        "status while unreachable",
        bed.wallet.status(),
    )
    .await;
    bed.faults.bring_backend_online().await?;
    match answer? {
        Ok(status) => {
            return Err(fail(format!(
                "status answered {} msat while the backend was unreachable",
                status.balance_msat
            )));
        }
        Err(err) => ensure!(
            err.is_retryable(),
            "expected a retryable error, got {err:?}"
        ),
    }
    eventually(
        bed.timing.event,
        "status after the backend came back",
        || async { bed.wallet.status().await.ok() },
    )
    .await?;
    Ok(())
}

/// Receiving adds exactly the amount; paying removes exactly amount + fee.
pub async fn balances_move_by_amount_and_fee(bed: TestBed) -> Verdict {
    if !bed.exact_balances {
        return unsupported("the harness says other activity moves this wallet's balance");
    }
    let t = bed.timing;
    let start = balance(&*bed.wallet, t.event).await?;
    let incoming = invoice(&*bed.wallet, 21_000, t.event).await?;
    pay_successfully(&*bed.counterparty, &incoming, t.pay).await?;
    balance_becomes(&*bed.wallet, start + 21_000, t.event).await?;

    let outgoing = invoice(&*bed.counterparty, 13_000, t.event).await?;
    let response = bounded(
        t.pay,
        "pay_invoice",
        bed.wallet
            .pay_invoice(PayInvoiceRequest::new(outgoing.payment_request, 5_000).timeout(t.pay)),
    )
    .await?
    .context("pay_invoice")?;
    let wallet_core::PaymentStatus::Succeeded { fee_msat, .. } = response.status else {
        return Err(fail(format!(
            "payment did not succeed: {:?}",
            response.status
        )));
    };
    ensure!(
        fee_msat <= 5_000,
        "fee {fee_msat} msat is above the 5000 msat limit"
    );
    balance_becomes(
        &*bed.wallet,
        (start + 21_000 - 13_000).saturating_sub(fee_msat),
        t.event,
    )
    .await
}

/// Wrong credentials give `Unauthorized` on every call, and never show the credential.
pub async fn wrong_credentials_are_unauthorized(bed: TestBed) -> Verdict {
    let Some(bad) = bed.with_bad_credentials.clone() else {
        return unsupported("the backend has no credentials to get wrong");
    };
    let t = bed.timing;
    let status = bounded(t.event, "status", bad.status()).await?;
    let Err(WalletError::Unauthorized(message)) = status else {
        return Err(fail(format!("status with bad credentials gave {status:?}")));
    };
    for secret in &bed.secrets {
        ensure!(
            !message.contains(secret.as_str()),
            "the error shows a credential: {message}"
        );
    }
    let created = bounded(
        t.event,
        "create_invoice",
        bad.create_invoice(wallet_core::InvoiceRequest::new(1_000)),
    )
    .await?;
    ensure!(
        matches!(created, Err(WalletError::Unauthorized(_))),
        "create_invoice with bad credentials gave {created:?}"
    );
    let target = invoice(&*bed.counterparty, 1_000, t.event).await?;
    let paid = bounded(
        t.pay,
        "pay_invoice",
        bad.pay_invoice(PayInvoiceRequest::new(target.payment_request, 2_000).timeout(t.short_pay)),
    )
    .await?;
    match paid {
        Err(err) => ensure!(
            matches!(err.reason(), WalletError::Unauthorized(_)),
            "pay_invoice with bad credentials gave {err:?}"
        ),
        Ok(response) => {
            return Err(fail(format!(
                "pay_invoice with bad credentials answered {response:?}"
            )));
        }
    }
    Ok(())
}
