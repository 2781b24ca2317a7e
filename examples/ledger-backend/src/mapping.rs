//! The ledger's answers, and what they mean in wallet-core's terms, as pure functions.
//!
//! The ledger is untrusted (contract rule 12): a record's hash is read from the record, never
//! assumed to be the one asked for; a state this crate does not know is never read as failed;
//! a preimage proves a payment only when it hashes to the payment hash.

use serde::Deserialize;
use wallet_core::pay::{Attempt, AttemptState};
use wallet_core::untrusted::server_text;
use wallet_core::{
    FailureReason, InvoiceStatus, PaidInvoice, PaymentHash, Preimage, StreamCursor, WalletError,
};

/// `GET /v1/balance`.
#[derive(Deserialize)]
pub(crate) struct Balance {
    pub(crate) balance_msat: u64,
}

/// `GET /v1/info`: the BOLT11 prefix of the node's network (`bc`, `tb`, `bcrt`, ...).
#[derive(Deserialize)]
pub(crate) struct Info {
    pub(crate) network: String,
}

/// `POST /v1/invoices`.
#[derive(Deserialize)]
pub(crate) struct Issued {
    payment_hash: String,
    pub(crate) bolt11: String,
}

/// `GET /v1/lookup/invoice`.
#[derive(Deserialize)]
pub(crate) struct InvoiceLookup {
    pub(crate) invoice: Option<InvoiceRecord>,
}

/// An invoice as the ledger records it.
#[derive(Deserialize)]
pub(crate) struct InvoiceRecord {
    payment_hash: Option<String>,
    state: String,
    amount_received_msat: Option<u64>,
    preimage: Option<String>,
    paid_at: Option<u64>,
}

/// `GET /v1/lookup/payment`.
#[derive(Deserialize)]
pub(crate) struct PaymentLookup {
    pub(crate) payment: Option<PaymentRecord>,
}

/// `POST /v1/payments`: the payment is required, so an empty answer (`{}`) is unreadable, never
/// "no attempt".
#[derive(Deserialize)]
pub(crate) struct PayAnswer {
    pub(crate) payment: PaymentRecord,
}

/// A payment as the ledger records it: every attempt its node made for the hash.
#[derive(Deserialize)]
pub(crate) struct PaymentRecord {
    payment_hash: Option<String>,
    attempts: Vec<AttemptRecord>,
}

#[derive(Deserialize)]
struct AttemptRecord {
    index: u64,
    state: String,
    fee_msat: u64,
    preimage: Option<String>,
    failure: Option<String>,
    message: Option<String>,
}

/// `GET /v1/paid/cursor`.
#[derive(Deserialize)]
pub(crate) struct Cursor {
    pub(crate) settle_index: u64,
}

/// `GET /v1/paid`: invoices settled after a settle index, and which run of the ledger answered.
#[derive(Deserialize)]
pub(crate) struct PaidPage {
    pub(crate) boot: String,
    pub(crate) paid: Vec<PaidRecord>,
}

/// One settled invoice of a [`PaidPage`].
#[derive(Deserialize)]
pub(crate) struct PaidRecord {
    payment_hash: String,
    amount_received_msat: u64,
    paid_at: u64,
    pub(crate) settle_index: u64,
}

fn hash_of(text: Option<&str>) -> Option<PaymentHash> {
    text.and_then(|text| PaymentHash::from_hex(text).ok())
}

fn unusable(what: &str) -> WalletError {
    WalletError::backend(None, format!("the ledger's answer is unusable: {what}"))
}

/// The hash of an invoice the ledger issued; one it cannot name readably is no invoice to hand
/// out.
pub(crate) fn issued_hash(issued: &Issued) -> Result<PaymentHash, WalletError> {
    hash_of(Some(issued.payment_hash.as_str()))
        .ok_or_else(|| unusable("an unreadable payment hash"))
}

/// The node's attempts at a payment, as the payment protocol reads them. A record whose hash is
/// missing or unreadable gives attempts with no hash, which prove nothing either way.
pub(crate) fn attempts(record: &PaymentRecord) -> Vec<Attempt> {
    let payment_hash = hash_of(record.payment_hash.as_deref());
    record
        .attempts
        .iter()
        .map(|attempt| Attempt {
            payment_hash,
            state: attempt_state(attempt),
            order: attempt.index,
        })
        .collect()
}

fn attempt_state(attempt: &AttemptRecord) -> AttemptState {
    match attempt.state.as_str() {
        "succeeded" => AttemptState::Succeeded {
            // Checked against the hash by the protocol; an unreadable one proves nothing.
            preimage: attempt
                .preimage
                .as_deref()
                .and_then(|text| Preimage::from_hex(text).ok()),
            fee_msat: attempt.fee_msat,
        },
        "failed" => AttemptState::Failed {
            reason: failure_reason(attempt.failure.as_deref(), attempt.message.as_deref()),
        },
        // "in_flight", and any state this crate does not know: never guessed to be failed
        // (contract rule 1).
        _ => AttemptState::InFlight,
    }
}

fn failure_reason(code: Option<&str>, message: Option<&str>) -> FailureReason {
    match code {
        Some("no_route") => FailureReason::NoRoute,
        Some("insufficient_balance") => FailureReason::InsufficientBalance,
        Some("incorrect_payment_details") => FailureReason::IncorrectPaymentDetails,
        Some("timeout") => FailureReason::Timeout,
        Some("canceled") => FailureReason::Canceled,
        other => FailureReason::Other(server_text(
            message.or(other).unwrap_or("the ledger gave no reason"),
        )),
    }
}

/// The state of the invoice `asked` from the ledger's record of it, if any.
pub(crate) fn invoice_status(
    asked: &PaymentHash,
    record: Option<&InvoiceRecord>,
) -> Result<InvoiceStatus, WalletError> {
    let Some(record) = record else {
        return Ok(InvoiceStatus::Unknown);
    };
    // Contract rule 3: a record about another hash, or one that cannot say which, says nothing
    // about this invoice.
    if hash_of(record.payment_hash.as_deref()) != Some(*asked) {
        tracing::warn!(%asked, "ignoring an invoice record the ledger returned for another hash");
        return Ok(InvoiceStatus::Unknown);
    }
    match record.state.as_str() {
        "open" => Ok(InvoiceStatus::Pending),
        "accepted" => Ok(InvoiceStatus::Held {
            amount_received_msat: record
                .amount_received_msat
                .ok_or_else(|| unusable("a held invoice without its amount"))?,
        }),
        "settled" => {
            let preimage = record
                .preimage
                .as_deref()
                .and_then(|text| Preimage::from_hex(text).ok())
                .ok_or_else(|| unusable("a settled invoice without a readable preimage"))?;
            let amount = record
                .amount_received_msat
                .ok_or_else(|| unusable("a settled invoice without its amount"))?;
            let paid_at = record
                .paid_at
                .ok_or_else(|| unusable("a settled invoice without its time"))?;
            InvoiceStatus::checked_paid(asked, preimage, amount, paid_at)
        }
        "canceled" => Ok(InvoiceStatus::Cancelled),
        "expired" => Ok(InvoiceStatus::Expired),
        other => Err(unusable(&format!(
            "an invoice state this crate does not know ({})",
            server_text(other)
        ))),
    }
}

/// A settled invoice of the stream, its settle index as the cursor.
pub(crate) fn paid_invoice(record: &PaidRecord) -> Result<PaidInvoice, WalletError> {
    Ok(PaidInvoice {
        payment_hash: hash_of(Some(record.payment_hash.as_str()))
            .ok_or_else(|| unusable("a paid invoice with an unreadable payment hash"))?,
        amount_received_msat: record.amount_received_msat,
        paid_at: record.paid_at,
        cursor: StreamCursor::from_index(record.settle_index),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wallet_core::PaymentStatus;
    use wallet_core::pay::payment_status;

    use super::*;

    fn payment(value: serde_json::Value) -> PaymentRecord {
        serde_json::from_value(value).unwrap()
    }

    fn invoice(value: serde_json::Value) -> InvoiceRecord {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_attempt_in_a_state_nobody_documented_is_in_flight_never_failed() {
        let hash = PaymentHash::from_bytes([1; 32]);
        let record = payment(json!({
            "payment_hash": hash.to_hex(),
            "attempts": [{"index": 1, "state": "rerouting", "fee_msat": 0}],
        }));
        assert_eq!(attempts(&record)[0].state, AttemptState::InFlight);
        assert_eq!(
            payment_status(&hash, &attempts(&record)),
            PaymentStatus::Pending
        );
    }

    #[test]
    fn a_success_is_proven_only_by_a_preimage_of_the_hash() {
        let preimage = Preimage::from_bytes([7; 32]);
        let hash = preimage.payment_hash();
        let paid = |preimage: &str| {
            payment(json!({
                "payment_hash": hash.to_hex(),
                "attempts": [{"index": 1, "state": "succeeded", "fee_msat": 3, "preimage": preimage}],
            }))
        };
        let proven = payment_status(&hash, &attempts(&paid(&preimage.to_hex())));
        assert_eq!(
            proven,
            PaymentStatus::Succeeded {
                preimage,
                fee_msat: 3
            }
        );
        let wrong = paid(&"00".repeat(32));
        assert_eq!(
            payment_status(&hash, &attempts(&wrong)),
            PaymentStatus::Pending
        );
    }

    #[test]
    fn payment_records_about_another_hash_are_ignored() {
        let asked = PaymentHash::from_bytes([1; 32]);
        let other = Preimage::from_bytes([2; 32]);
        let record = payment(json!({
            "payment_hash": other.payment_hash().to_hex(),
            "attempts": [{"index": 1, "state": "succeeded", "fee_msat": 0, "preimage": other.to_hex()}],
        }));
        assert_eq!(
            payment_status(&asked, &attempts(&record)),
            PaymentStatus::Unknown
        );
    }

    #[test]
    fn an_invoice_record_about_another_hash_is_unknown() {
        let asked = PaymentHash::from_bytes([1; 32]);
        let record = invoice(json!({
            "payment_hash": PaymentHash::from_bytes([2; 32]).to_hex(),
            "state": "expired",
        }));
        assert_eq!(
            invoice_status(&asked, Some(&record)),
            Ok(InvoiceStatus::Unknown)
        );
        assert_eq!(invoice_status(&asked, None), Ok(InvoiceStatus::Unknown));
    }

    #[test]
    fn a_settled_invoice_needs_a_preimage_of_its_hash() {
        let preimage = Preimage::from_bytes([7; 32]);
        let hash = preimage.payment_hash();
        let settled = |preimage: &str| {
            invoice(json!({
                "payment_hash": hash.to_hex(),
                "state": "settled",
                "amount_received_msat": 5_000,
                "preimage": preimage,
                "paid_at": 1_700_000_000,
            }))
        };
        assert!(matches!(
            invoice_status(&hash, Some(&settled(&preimage.to_hex()))),
            Ok(InvoiceStatus::Paid {
                amount_received_msat: 5_000,
                ..
            })
        ));
        assert!(invoice_status(&hash, Some(&settled(&"00".repeat(32)))).is_err());
    }

    #[test]
    fn an_empty_pay_answer_is_unreadable_not_a_payment_without_attempts() {
        assert!(serde_json::from_value::<PayAnswer>(json!({})).is_err());
    }
}
