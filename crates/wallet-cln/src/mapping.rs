//! Core Lightning's answers mapped onto wallet-core's states.

use serde_json::Value;
use wallet_core::{
    FailureReason, InvoiceStatus, PaymentHash, PaymentStatus, Preimage, WalletError,
};

/// An msat field: an integer, or a `"123msat"` string from older versions.
pub(crate) fn msat(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str()?.strip_suffix("msat")?.parse().ok())
}

fn preimage_of(entry: &Value) -> Option<Preimage> {
    entry
        .get("preimage")
        .or_else(|| entry.get("payment_preimage"))
        .and_then(Value::as_str)
        .and_then(|hex| Preimage::from_hex(hex).ok())
}

/// One answer from all attempts of a hash (`listpays` or `listsendpays` entries): any
/// `complete` wins, then any `pending` (or unknown status), then `failed`; none is `Unknown`.
/// A completed attempt without a matching preimage is `Pending`, never failed.
pub(crate) fn payment_status(payment_hash: &PaymentHash, attempts: &[Value]) -> PaymentStatus {
    let status = |entry: &Value| {
        entry
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if let Some(complete) = attempts.iter().find(|entry| status(entry) == "complete") {
        let fee_msat = match (
            complete.get("amount_sent_msat").and_then(msat),
            complete.get("amount_msat").and_then(msat),
        ) {
            (Some(sent), Some(amount)) => sent.saturating_sub(amount),
            _ => 0,
        };
        return match preimage_of(complete) {
            Some(preimage) => PaymentStatus::checked_success(payment_hash, preimage, fee_msat),
            None => PaymentStatus::Pending,
        };
    }
    if attempts.iter().any(|entry| status(entry) != "failed") {
        return PaymentStatus::Pending;
    }
    if attempts.is_empty() {
        PaymentStatus::Unknown
    } else {
        PaymentStatus::Failed {
            reason: FailureReason::Other("every attempt failed".into()),
        }
    }
}

/// An invoice from `listinvoices`.
pub(crate) fn invoice_status(
    payment_hash: &PaymentHash,
    invoice: &Value,
) -> Result<InvoiceStatus, WalletError> {
    match invoice.get("status").and_then(Value::as_str) {
        Some("paid") => {
            let preimage = preimage_of(invoice).ok_or_else(|| {
                WalletError::backend(None, "lightningd reports a paid invoice without a preimage")
            })?;
            InvoiceStatus::checked_paid(
                payment_hash,
                preimage,
                invoice
                    .get("amount_received_msat")
                    .and_then(msat)
                    .unwrap_or(0),
                invoice.get("paid_at").and_then(Value::as_u64).unwrap_or(0),
            )
        }
        Some("expired") => Ok(InvoiceStatus::Expired),
        // "unpaid", or a status this crate does not know: still open as far as anyone can tell.
        _ => Ok(InvoiceStatus::Pending),
    }
}

/// A hold invoice from the plugin's `listholdinvoices`.
pub(crate) fn hold_status(
    payment_hash: &PaymentHash,
    hold: &Value,
) -> Result<InvoiceStatus, WalletError> {
    let held_msat = || {
        hold.get("htlcs")
            .and_then(Value::as_array)
            .map(|htlcs| {
                htlcs
                    .iter()
                    .filter_map(|htlc| htlc.get("msat").and_then(msat))
                    .sum::<u64>()
            })
            .filter(|sum| *sum > 0)
            .or_else(|| hold.get("amount_msat").and_then(msat))
            .unwrap_or(0)
    };
    match hold.get("state").and_then(Value::as_str) {
        Some("accepted") => Ok(InvoiceStatus::Held {
            amount_received_msat: held_msat(),
        }),
        Some("paid") => {
            let preimage = preimage_of(hold).ok_or_else(|| {
                WalletError::backend(
                    None,
                    "the hold plugin reports a paid invoice without a preimage",
                )
            })?;
            InvoiceStatus::checked_paid(
                payment_hash,
                preimage,
                held_msat(),
                hold.get("settled_at").and_then(Value::as_u64).unwrap_or(0),
            )
        }
        Some("cancelled") => Ok(InvoiceStatus::Cancelled),
        _ => Ok(InvoiceStatus::Pending),
    }
}

/// What an `xpay` error code means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum XpayError {
    /// Refused before sending: a bad or expired invoice, a bad parameter.
    NotSent,
    /// A definite failure.
    Failed(FailureReason),
    /// Ask `listpays` (209: xpay gave up, but parts may be in flight; 219: already paid).
    Check { gave_up: bool },
}

/// Classifies an `xpay` (or `pay`) error code, after Core Lightning's `jsonrpc_errors.h`.
pub(crate) fn xpay_error(code: i32) -> XpayError {
    match code {
        -32602 | 207 => XpayError::NotSent,
        205 | 206 => XpayError::Failed(FailureReason::NoRoute),
        203 => XpayError::Failed(FailureReason::IncorrectPaymentDetails),
        210 => XpayError::Failed(FailureReason::Timeout),
        201 => XpayError::Failed(FailureReason::Other(
            "payment hash already used with another amount or destination".into(),
        )),
        209 => XpayError::Check { gave_up: true },
        _ => XpayError::Check { gave_up: false },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PREIMAGE: [u8; 32] = [3; 32];

    fn hash() -> PaymentHash {
        Preimage::from_bytes(PREIMAGE).payment_hash()
    }

    fn pay(status: &str) -> Value {
        json!({"status": status, "amount_msat": 1000, "amount_sent_msat": "1500msat", "preimage": Preimage::from_bytes(PREIMAGE).to_hex()})
    }

    #[test]
    fn attempts_resolve_complete_then_pending_then_failed() {
        assert_eq!(
            payment_status(&hash(), &[pay("failed"), pay("complete")]),
            PaymentStatus::Succeeded {
                preimage: Preimage::from_bytes(PREIMAGE),
                fee_msat: 500
            }
        );
        assert_eq!(
            payment_status(&hash(), &[pay("failed"), pay("pending")]),
            PaymentStatus::Pending
        );
        assert!(payment_status(&hash(), &[pay("failed"), pay("failed")]).is_failed());
        assert_eq!(payment_status(&hash(), &[]), PaymentStatus::Unknown);
        assert_eq!(
            payment_status(&hash(), &[pay("mystery")]),
            PaymentStatus::Pending
        );
        let forged = json!({"status": "complete", "preimage": "00".repeat(32)});
        assert_eq!(payment_status(&hash(), &[forged]), PaymentStatus::Pending);
    }

    #[test]
    fn invoices_and_hold_invoices_map_to_states() {
        let paid = json!({"status": "paid", "amount_received_msat": 2000, "paid_at": 7, "payment_preimage": Preimage::from_bytes(PREIMAGE).to_hex()});
        assert!(invoice_status(&hash(), &paid).unwrap().is_paid());
        assert_eq!(
            invoice_status(&hash(), &json!({"status": "expired"})).unwrap(),
            InvoiceStatus::Expired
        );
        assert_eq!(
            invoice_status(&hash(), &json!({"status": "unpaid"})).unwrap(),
            InvoiceStatus::Pending
        );
        let held = json!({"state": "accepted", "htlcs": [{"msat": 700}, {"msat": 300}]});
        assert_eq!(
            hold_status(&hash(), &held).unwrap(),
            InvoiceStatus::Held {
                amount_received_msat: 1000
            }
        );
        assert_eq!(
            hold_status(&hash(), &json!({"state": "cancelled"})).unwrap(),
            InvoiceStatus::Cancelled
        );
        assert_eq!(
            hold_status(&hash(), &json!({"state": "unpaid"})).unwrap(),
            InvoiceStatus::Pending
        );
    }

    #[test]
    fn xpay_codes_are_classified_as_cln_documents() {
        assert_eq!(xpay_error(207), XpayError::NotSent);
        assert_eq!(xpay_error(-32602), XpayError::NotSent);
        assert_eq!(xpay_error(205), XpayError::Failed(FailureReason::NoRoute));
        assert_eq!(xpay_error(209), XpayError::Check { gave_up: true });
        assert_eq!(xpay_error(219), XpayError::Check { gave_up: false });
        for unclear in [-1, 200, 204, 211, 218] {
            assert_eq!(
                xpay_error(unclear),
                XpayError::Check { gave_up: false },
                "{unclear}"
            );
        }
    }
}
