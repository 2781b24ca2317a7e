//! Core Lightning's answers mapped onto wallet-core's states.

use serde_json::Value;
use wallet_core::amount::{MAX_MONEY_MSAT, sum_msat};
use wallet_core::pay::{Attempt, AttemptState};
use wallet_core::time::plausible_seconds;
use wallet_core::{FailureReason, InvoiceStatus, PaymentHash, Preimage, WalletError};

/// An msat field: an integer, or a `"123msat"` string from older versions. An amount past all
/// the bitcoin there is cannot be read (contract rule 12).
pub(crate) fn msat(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str()?.strip_suffix("msat")?.parse().ok())
        .filter(|amount| *amount <= MAX_MONEY_MSAT)
}

/// A time field in Unix seconds, when plausible.
pub(crate) fn seconds(value: &Value) -> Option<u64> {
    value.as_u64().and_then(plausible_seconds)
}

/// A time the hold plugin reports: BoltzExchange/hold writes a date-time without an offset
/// (UTC, e.g. `"2025-01-02T03:04:05.123"`); a number of seconds is read too.
fn plugin_time(value: &Value) -> Option<u64> {
    if let Some(text) = value.as_str() {
        let micros = wallet_core::time::parse_rfc3339_micros(text)?;
        return u64::try_from(micros / 1_000_000)
            .ok()
            .and_then(plausible_seconds);
    }
    seconds(value)
}

fn preimage_of(entry: &Value) -> Option<Preimage> {
    entry
        .get("preimage")
        .or_else(|| entry.get("payment_preimage"))
        .and_then(Value::as_str)
        .and_then(|hex| Preimage::from_hex(hex).ok())
}

/// The fee of a completed payment (`listpays` entry or `xpay` result): what was sent beyond the
/// amount. `None` when either is missing or the node claims to have sent less than the amount.
pub(crate) fn fee_msat(paid: &Value) -> Option<u64> {
    let sent = paid.get("amount_sent_msat").and_then(msat)?;
    let amount = paid.get("amount_msat").and_then(msat)?;
    sent.checked_sub(amount)
}

/// A `listpays` entry as one attempt of the payment protocol: `complete` with its preimage
/// (checked later) and fee, `failed`, or anything else in flight. Its order is `created_index`
/// (Core Lightning 24.11 and later), else `created_at`.
pub(crate) fn attempt(entry: &Value) -> Attempt {
    let state = match entry.get("status").and_then(Value::as_str) {
        // A completed payment whose fee cannot be read is not one this library can report:
        // Pending until it reads, never a fee of zero.
        Some("complete") => match fee_msat(entry) {
            Some(fee_msat) => AttemptState::Succeeded {
                preimage: preimage_of(entry),
                fee_msat,
            },
            None => AttemptState::InFlight,
        },
        Some("failed") => AttemptState::Failed {
            reason: FailureReason::Other("lightningd marked every part failed".into()),
        },
        // "pending", or a status this crate does not know: never guessed to be failed.
        _ => AttemptState::InFlight,
    };
    let order = entry
        .get("created_index")
        .and_then(Value::as_u64)
        .or_else(|| entry.get("created_at").and_then(Value::as_u64))
        .unwrap_or(0);
    Attempt {
        payment_hash: entry
            .get("payment_hash")
            .and_then(Value::as_str)
            .and_then(|hex| PaymentHash::from_hex(hex).ok()),
        state,
        order,
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
            let unreadable = |what: &str| {
                WalletError::backend(
                    None,
                    format!("lightningd reports a paid invoice without {what}"),
                )
            };
            InvoiceStatus::checked_paid(
                payment_hash,
                preimage,
                invoice
                    .get("amount_received_msat")
                    .and_then(msat)
                    .ok_or_else(|| unreadable("a readable amount_received_msat"))?,
                invoice
                    .get("paid_at")
                    .and_then(seconds)
                    .ok_or_else(|| unreadable("a readable paid_at"))?,
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
    let held_msat = || -> Result<u64, WalletError> {
        // An HTLC whose amount does not read is an error, never one left out.
        // The plugin keeps HTLCs it cancelled (an MPP timeout) in the list: only accepted and
        // paid ones were received.
        let htlcs = hold
            .get("htlcs")
            .and_then(Value::as_array)
            .map(|htlcs| {
                let amounts = htlcs
                    .iter()
                    .filter(|htlc| {
                        htlc.get("state")
                            .and_then(Value::as_str)
                            .is_none_or(|state| matches!(state, "accepted" | "paid"))
                    })
                    .map(|htlc| {
                        htlc.get("msat").and_then(msat).ok_or_else(|| {
                            WalletError::backend(
                                None,
                                "the hold plugin reports a held HTLC with an unreadable msat",
                            )
                        })
                    })
                    .collect::<Result<Vec<u64>, WalletError>>()?;
                sum_msat(amounts, "held HTLCs")
            })
            .transpose()?
            .filter(|sum| *sum > 0);
        htlcs
            .or_else(|| hold.get("amount_msat").and_then(msat))
            .ok_or_else(|| {
                WalletError::backend(None, "the hold plugin reports no amount for a held invoice")
            })
    };
    match hold.get("state").and_then(Value::as_str) {
        Some("accepted") => Ok(InvoiceStatus::Held {
            amount_received_msat: held_msat()?,
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
                held_msat()?,
                hold.get("settled_at")
                    .and_then(plugin_time)
                    .ok_or_else(|| {
                        WalletError::backend(
                            None,
                            "the hold plugin reports a paid invoice without settled_at",
                        )
                    })?,
            )
        }
        Some("cancelled") => Ok(InvoiceStatus::Cancelled),
        _ => Ok(InvoiceStatus::Pending),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use wallet_core::PaymentStatus;

    use super::*;

    const PREIMAGE: [u8; 32] = [3; 32];

    fn hash() -> PaymentHash {
        Preimage::from_bytes(PREIMAGE).payment_hash()
    }

    fn pay(status: &str) -> Value {
        json!({"payment_hash": hash().to_hex(), "status": status, "amount_msat": 1000, "amount_sent_msat": "1500msat", "preimage": Preimage::from_bytes(PREIMAGE).to_hex()})
    }

    fn payment_status(hash: &PaymentHash, entries: &[Value]) -> PaymentStatus {
        wallet_core::pay::payment_status(hash, &entries.iter().map(attempt).collect::<Vec<_>>())
    }

    #[test]
    fn a_paid_hold_reads_the_plugins_date_time_and_counts_only_htlcs_it_kept() {
        let paid = json!({
            "payment_hash": hash().to_hex(),
            "state": "paid",
            "preimage": Preimage::from_bytes(PREIMAGE).to_hex(),
            "amount_msat": 5_000,
            "settled_at": "2026-11-30T08:57:22.123",
            "htlcs": [
                {"state": "cancelled", "msat": 5_000},
                {"state": "paid", "msat": 2_000},
                {"state": "paid", "msat": 3_000},
            ],
        });
        let status = hold_status(&hash(), &paid).unwrap();
        assert_eq!(
            status,
            InvoiceStatus::Paid {
                amount_received_msat: 5_000,
                preimage: Preimage::from_bytes(PREIMAGE),
                paid_at: 1_796_029_042,
            }
        );
        let mut numeric = paid.clone();
        numeric["settled_at"] = json!(1_796_029_042);
        assert_eq!(hold_status(&hash(), &numeric).unwrap(), status);
        let mut unreadable = paid;
        unreadable["settled_at"] = json!("yesterday");
        assert!(hold_status(&hash(), &unreadable).is_err());
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
        let mut forged = pay("complete");
        forged["preimage"] = json!("00".repeat(32));
        assert_eq!(payment_status(&hash(), &[forged]), PaymentStatus::Pending);
        let mut elsewhere = pay("failed");
        elsewhere["payment_hash"] = json!("11".repeat(32));
        assert_eq!(
            payment_status(&hash(), &[elsewhere]),
            PaymentStatus::Unknown
        );
    }

    #[test]
    fn a_completed_payment_with_an_unreadable_fee_is_pending_not_free() {
        for (sent, amount) in [
            (json!("900msat"), json!(1000)),
            (json!(null), json!(1000)),
            (json!(1500), json!(null)),
            (json!(-1), json!(1000)),
        ] {
            let mut entry = pay("complete");
            entry["amount_sent_msat"] = sent.clone();
            entry["amount_msat"] = amount.clone();
            assert_eq!(
                payment_status(&hash(), &[entry]),
                PaymentStatus::Pending,
                "sent {sent}, amount {amount}"
            );
        }
    }

    #[test]
    fn a_paid_invoice_without_its_amount_or_time_is_an_error_not_zero() {
        let preimage = Preimage::from_bytes(PREIMAGE).to_hex();
        for invoice in [
            json!({"status": "paid", "paid_at": 7, "payment_preimage": preimage}),
            json!({"status": "paid", "amount_received_msat": -5, "paid_at": 7, "payment_preimage": preimage}),
            json!({"status": "paid", "amount_received_msat": 2000, "payment_preimage": preimage}),
        ] {
            assert!(invoice_status(&hash(), &invoice).is_err(), "{invoice}");
        }
    }

    #[test]
    fn attempts_are_ordered_by_created_index_then_created_at() {
        let mut older = pay("failed");
        older["created_index"] = json!(3);
        let mut newer = pay("failed");
        newer["created_index"] = json!(4);
        assert!(attempt(&newer).order > attempt(&older).order);
        assert_eq!(attempt(&json!({"created_at": 99})).order, 99);
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
}
