//! LNbits' answers mapped onto the wallet-core states, as the contract's rules require
//! ([`wallet_core::contract`]).
//!
//! Pure functions over parsed answers, so that every row of LNbits' scenario table (success,
//! failure, missing data, bad JSON, unknown status, not found) is a unit test.

use reqwest::StatusCode;
use serde_json::Value;
use wallet_core::amount::{MAX_MONEY_MSAT, reported_msat};
use wallet_core::pay::{Attempt, AttemptState, Dispatched, payment_status};
use wallet_core::{FailureReason, InvoiceStatus, PaymentHash, PaymentStatus, WalletError};

use crate::api::PaymentRecord;
use crate::http::Reply;

/// An outgoing payment record as one attempt of the payment protocol. LNbits keeps one record
/// per hash and updates it in place when a failed payment is retried, so its order is when it
/// last changed. A success carries its preimage (checked later); a status this crate does not
/// know is in flight, never failed.
pub(crate) fn attempt(record: &PaymentRecord) -> Attempt {
    let state = match record.status.as_str() {
        // A success whose fee cannot be read (positive, or past all money) is not one this
        // library can report: Pending until it reads.
        "success" => match fee_msat(record.fee) {
            Some(fee_msat) => AttemptState::Succeeded {
                preimage: record.preimage(),
                fee_msat,
            },
            None => AttemptState::InFlight,
        },
        "failed" => AttemptState::Failed {
            reason: failure_reason(record),
        },
        _ => AttemptState::InFlight,
    };
    Attempt {
        payment_hash: record.hash(),
        state,
        order: record
            .updated_micros()
            .and_then(|micros| u64::try_from(micros).ok())
            .unwrap_or(0),
    }
}

/// LNbits reports outgoing fees as non-positive msat; anything else, or none, is unreadable.
fn fee_msat(fee: Option<i64>) -> Option<u64> {
    let fee = fee?;
    (fee <= 0)
        .then(|| fee.unsigned_abs())
        .filter(|fee| *fee <= MAX_MONEY_MSAT)
}

fn failure_reason(record: &PaymentRecord) -> FailureReason {
    match record
        .extra
        .get("failure_reason")
        .and_then(|value| value.as_str())
    {
        Some(reason) => FailureReason::Other(wallet_core::untrusted::server_text(reason)),
        None => FailureReason::Other("LNbits marked the payment failed".into()),
    }
}

/// The invoice state from this wallet's incoming record of one hash, at `now_micros`.
///
/// LNbits labels an invoice `expired` only when its own clock saw the expiry before it asked
/// the node; when the node's expiry watcher cancelled the invoice first (lnd cancels expired
/// invoices), LNbits marks it `failed` without the label. A failed invoice past its expiry that
/// nobody cancelled is therefore `Expired`, as wallet-lnd maps lnd's own CANCELED-after-expiry.
pub(crate) fn incoming_status(
    payment_hash: &PaymentHash,
    records: &[PaymentRecord],
    now_micros: i64,
) -> Result<InvoiceStatus, WalletError> {
    let Some(record) = records
        .iter()
        .find(|record| record.hash() == Some(*payment_hash))
    else {
        return Ok(InvoiceStatus::Unknown);
    };
    match record.status.as_str() {
        "success" => {
            let preimage = record.preimage().ok_or_else(|| {
                WalletError::backend(None, "LNbits reports a paid invoice without a preimage")
            })?;
            let amount = reported_msat(record.amount, "an amount received")?;
            let paid_at = record
                .updated_micros()
                .and_then(|micros| u64::try_from(micros / 1_000_000).ok())
                .ok_or_else(|| {
                    WalletError::backend(None, "LNbits reports a paid invoice without a paid time")
                })?;
            InvoiceStatus::checked_paid(payment_hash, preimage, amount, paid_at)
        }
        "failed" if record.labels.iter().any(|label| label == "expired") => {
            Ok(InvoiceStatus::Expired)
        }
        "failed"
            if record.extra.get("hold_invoice_cancelled") != Some(&Value::Bool(true))
                && record
                    .expiry_micros()
                    .is_some_and(|expiry| expiry <= now_micros) =>
        {
            Ok(InvoiceStatus::Expired)
        }
        "failed" => Ok(InvoiceStatus::Cancelled),
        // "pending", or anything unknown: still open as far as anyone can tell.
        _ => Ok(InvoiceStatus::Pending),
    }
}

/// What an answer to `POST /api/v1/payments {"out": true}` proves, whatever its HTTP status.
///
/// Only LNbits' refusals before it records a payment are not sent. A 201 body is a record that
/// may be the earlier attempt's (LNbits answers a retry of a failed payment with the old record),
/// so only a success with a preimage of the hash is taken as it is; the rest is left to the
/// records. Anything unclear is unanswered.
pub(crate) fn pay_reply(payment_hash: &PaymentHash, reply: &Reply) -> Dispatched {
    let status = reply.status;
    if status.is_success() {
        let Ok(record) = serde_json::from_value::<PaymentRecord>(reply.body.clone()) else {
            return Dispatched::Unanswered("LNbits answered the payment with no record".into());
        };
        if record.hash() != Some(*payment_hash) {
            return Dispatched::Unanswered(
                "LNbits answered the payment with a record of another hash".into(),
            );
        }
        if record.amount > 0 {
            // LNbits answers a payment of its own expired invoice with the payee's record: the
            // payment was refused and nothing moved.
            return Dispatched::Declined(WalletError::invalid(
                "bolt11",
                format!(
                    "LNbits refused to pay its own invoice, which is {}",
                    wallet_core::untrusted::server_text(&record.status)
                ),
            ));
        }
        return match payment_status(payment_hash, &[attempt(&record)]) {
            success @ PaymentStatus::Succeeded { .. } => Dispatched::Answered(success),
            other => Dispatched::Unanswered(format!("LNbits answered with a {other:?} record")),
        };
    }
    let detail = reply.detail();
    if status.as_u16() == 520 {
        return payment_error(reply.body["status"].as_str(), detail);
    }
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Dispatched::NotSent(
            WalletError::backend(Some(i64::from(status.as_u16())), detail),
        ),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            Dispatched::NotSent(crate::http::api_error(reply))
        }
        StatusCode::TOO_MANY_REQUESTS => {
            Dispatched::NotSent(WalletError::unavailable("rate limited by LNbits"))
        }
        // LNbits never redirects a payment it took: a redirect (a proxy's, or LNbits' own before
        // its first install) comes before any payment, and is never followed.
        status if status.is_redirection() => Dispatched::NotSent(crate::http::api_error(reply)),
        // A 500, a 502 from a proxy, anything else: the payment may be under way.
        _ => Dispatched::Unanswered(format!("LNbits answered {status}: {detail}")),
    }
}

/// Whether an answer to `/settle` or `/cancel` says the node did it: LNbits serialises its
/// funding source's `InvoiceResponse` NamedTuple as an array whose first item is `ok` (an object
/// with `ok` is read too). `None` for anything else.
pub(crate) fn hold_answer_ok(body: &Value) -> Option<bool> {
    match body {
        Value::Array(items) => items.first()?.as_bool(),
        Value::Object(fields) => fields.get("ok")?.as_bool(),
        _ => None,
    }
}

/// The error message of a refused `/settle` or `/cancel` answer (its fourth item).
pub(crate) fn hold_answer_error(body: &Value) -> String {
    let message = match body {
        Value::Array(items) => items.get(3),
        Value::Object(fields) => fields.get("error_message"),
        _ => None,
    };
    wallet_core::untrusted::server_text(
        message.and_then(Value::as_str).unwrap_or("no reason given"),
    )
}

/// LNbits' refusals of a payment before it records one (`PaymentError`s raised ahead of
/// `create_payment` in LNbits 1.6.2's `core/services/payments.py`): nothing was sent.
const REFUSED_BEFORE_RECORDING: &[&str] = &[
    "Bolt11 decoding failed",
    "Amountless invoices not supported",
    "Invoice amount ",
    "Only incoming payments allowed",
    "Wallet does not have permission",
    "Insufficient balance",
    "You must reserve at least",
    "Internal invoice already paid",
    "Invalid invoice. Bolt11 changed",
    "Internal payment not found",
    "The time limit of ",
    "Could not fetch wallet",
];

/// LNbits' answers after its funding source said the payment failed for good: the payment just
/// sent failed at the node (LNbits marks the record failed first), or LNbits refuses to send
/// again a hash whose earlier payment the node failed.
const FAILED_AT_THE_NODE: &[&str] = &["Payment failed:", "Payment is failed node"];

/// What a 520 answer to a payment proves. Only a failure the node reported (which the records
/// then confirm) or a refusal LNbits documents before recording anything is final; any other
/// detail, including one LNbits may add in a later release, leaves the payment to its records.
fn payment_error(status: Option<&str>, detail: String) -> Dispatched {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|prefix| detail.starts_with(prefix));
    match status {
        Some("failed") if detail.starts_with("Bolt11 decoding failed") => Dispatched::NotSent(
            WalletError::invalid("bolt11", format!("LNbits cannot decode it: {detail}")),
        ),
        Some("failed") if starts(REFUSED_BEFORE_RECORDING) => {
            Dispatched::NotSent(WalletError::backend(Some(520), detail))
        }
        Some("failed") if starts(FAILED_AT_THE_NODE) => {
            Dispatched::Declined(WalletError::backend(Some(520), detail))
        }
        // "pending" or "success" (a payment of this hash exists), or a failure LNbits does not
        // explain: the records tell.
        _ => Dispatched::Unanswered(format!("LNbits answered 520: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use wallet_core::Preimage;

    use super::*;

    fn outgoing_status(hash: &PaymentHash, records: &[PaymentRecord]) -> PaymentStatus {
        payment_status(hash, &records.iter().map(attempt).collect::<Vec<_>>())
    }

    const PREIMAGE: [u8; 32] = [0x79; 32];

    /// A moment for mappings that ask the time: the records' `updated_at`.
    const NOW: i64 = 1_795_926_309_829_568;

    fn hash() -> PaymentHash {
        Preimage::from_bytes(PREIMAGE).payment_hash()
    }

    fn record(amount: i64, status: &str, extra: Value) -> PaymentRecord {
        let mut json = json!({
            "payment_hash": hash().to_hex(),
            "amount": amount,
            "fee": -2000,
            "status": status,
            "preimage": Preimage::from_bytes(PREIMAGE).to_hex(),
            "updated_at": "2026-11-29T04:25:09.829568+00:00",
        });
        if let (Some(json), Some(extra)) = (json.as_object_mut(), extra.as_object()) {
            json.extend(extra.clone());
        }
        serde_json::from_value(json).unwrap()
    }

    fn reply(status: u16, body: Value) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            body,
        }
    }

    #[test]
    fn outgoing_records_map_success_pending_failure_and_none() {
        let succeeded = outgoing_status(&hash(), &[record(-1000, "success", json!({}))]);
        assert_eq!(
            succeeded,
            PaymentStatus::Succeeded {
                preimage: Preimage::from_bytes(PREIMAGE),
                fee_msat: 2000
            }
        );
        assert_eq!(
            outgoing_status(&hash(), &[record(-1, "pending", json!({}))]),
            PaymentStatus::Pending
        );
        assert!(outgoing_status(&hash(), &[record(-1, "failed", json!({}))]).is_failed());
        assert_eq!(outgoing_status(&hash(), &[]), PaymentStatus::Unknown);
    }

    #[test]
    fn a_failure_reason_is_cut_and_stripped_of_control_characters() {
        let mut reason = "\u{1b}[2J\u{1b}[H\u{1b}[32mPAYMENT SUCCEEDED\u{7}\r".to_owned();
        reason.push_str(&"x".repeat(100_000));
        let failed = record(-1, "failed", json!({"extra": {"failure_reason": reason}}));
        let PaymentStatus::Failed {
            reason: FailureReason::Other(shown),
        } = outgoing_status(&hash(), &[failed])
        else {
            panic!("a failed record is Failed with LNbits' reason");
        };
        assert!(shown.contains("PAYMENT SUCCEEDED"), "{shown:?}");
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.len() < 1_000, "{} bytes", shown.len());
    }

    #[test]
    fn an_unknown_status_or_a_bad_preimage_is_pending_never_failed() {
        assert_eq!(
            outgoing_status(&hash(), &[record(-1, "weird", json!({}))]),
            PaymentStatus::Pending
        );
        let wrong = record(-1, "success", json!({"preimage": "00".repeat(32)}));
        assert_eq!(outgoing_status(&hash(), &[wrong]), PaymentStatus::Pending);
        let missing = record(-1, "success", json!({"preimage": null}));
        assert_eq!(outgoing_status(&hash(), &[missing]), PaymentStatus::Pending);
    }

    #[test]
    fn a_success_with_an_unreadable_fee_is_pending_and_a_paid_invoice_with_a_bad_amount_an_error() {
        for fee in [json!(1), json!(i64::MIN), json!(null)] {
            let success = record(-1000, "success", json!({ "fee": fee }));
            assert_eq!(
                outgoing_status(&hash(), &[success]),
                PaymentStatus::Pending,
                "fee {fee}"
            );
        }
        for amount in [-5000, i64::MAX] {
            let paid = record(amount, "success", json!({}));
            // A negative amount is an outgoing record, which the incoming side never shows; as
            // an incoming one it is unreadable.
            assert!(
                incoming_status(&hash(), &[paid], NOW).is_err(),
                "amount {amount}"
            );
        }
        let timeless = record(5000, "success", json!({"updated_at": null, "time": null}));
        assert!(incoming_status(&hash(), &[timeless], NOW).is_err());
    }

    #[test]
    fn a_success_beats_an_older_failure_of_the_same_hash() {
        let records = [
            record(-1, "failed", json!({})),
            record(-1, "success", json!({})),
        ];
        assert!(outgoing_status(&hash(), &records).is_succeeded());
    }

    #[test]
    fn incoming_records_map_to_invoice_states() {
        let paid = incoming_status(&hash(), &[record(5000, "success", json!({}))], NOW).unwrap();
        assert_eq!(
            paid,
            InvoiceStatus::Paid {
                amount_received_msat: 5000,
                preimage: Preimage::from_bytes(PREIMAGE),
                paid_at: 1_795_926_309
            }
        );
        let expired = record(5000, "failed", json!({"labels": ["expired"]}));
        assert_eq!(
            incoming_status(&hash(), &[expired], NOW).unwrap(),
            InvoiceStatus::Expired
        );
        let cancelled = record(
            5000,
            "failed",
            json!({"extra": {"hold_invoice_cancelled": true}}),
        );
        assert_eq!(
            incoming_status(&hash(), &[cancelled], NOW).unwrap(),
            InvoiceStatus::Cancelled
        );
        assert_eq!(
            incoming_status(&hash(), &[record(1, "pending", json!({}))], NOW).unwrap(),
            InvoiceStatus::Pending
        );
        assert_eq!(
            incoming_status(&hash(), &[], NOW).unwrap(),
            InvoiceStatus::Unknown
        );
        let forged = record(5000, "success", json!({"preimage": "00".repeat(32)}));
        assert!(incoming_status(&hash(), &[forged], NOW).is_err());
    }

    #[test]
    fn a_failed_invoice_past_its_expiry_is_expired_even_without_lnbits_label() {
        // 2026-11-29T04:14:58Z, the expiry the records below carry.
        let expiry_micros = 1_795_925_698_000_000;
        let failed = |extra: Value| {
            let mut fields = json!({"expiry": "2026-11-29T04:14:58"});
            if let (Some(fields), Value::Object(extra)) = (fields.as_object_mut(), extra) {
                fields.extend(extra);
            }
            record(5000, "failed", fields)
        };
        assert_eq!(
            incoming_status(&hash(), &[failed(json!({}))], expiry_micros).unwrap(),
            InvoiceStatus::Expired,
            "the node's expiry watcher got there before LNbits' clock"
        );
        assert_eq!(
            incoming_status(&hash(), &[failed(json!({}))], expiry_micros - 1).unwrap(),
            InvoiceStatus::Cancelled,
            "failed before its expiry"
        );
        let offset = failed(json!({"expiry": "2026-11-29T05:14:58+01:00"}));
        assert_eq!(
            incoming_status(&hash(), &[offset], expiry_micros).unwrap(),
            InvoiceStatus::Expired
        );
        let cancelled = failed(json!({"extra": {"hold_invoice_cancelled": true}}));
        assert_eq!(
            incoming_status(&hash(), &[cancelled], expiry_micros + 1).unwrap(),
            InvoiceStatus::Cancelled,
            "a hold invoice cancelled on request stays cancelled after its expiry"
        );
        let unreadable = failed(json!({"expiry": "soon"}));
        assert_eq!(
            incoming_status(&hash(), &[unreadable], i64::MAX).unwrap(),
            InvoiceStatus::Cancelled
        );
    }

    #[test]
    fn pay_answers_follow_lnbits_error_table() {
        let success = reply(
            201,
            json!({
                "payment_hash": hash().to_hex(), "amount": -1000, "fee": 0, "status": "success",
                "preimage": Preimage::from_bytes(PREIMAGE).to_hex()
            }),
        );
        assert!(matches!(
            pay_reply(&hash(), &success),
            Dispatched::Answered(PaymentStatus::Succeeded { .. })
        ));
        let expired_payee_record = reply(
            201,
            json!({
                "payment_hash": hash().to_hex(), "amount": 1000, "status": "failed", "labels": ["expired"]
            }),
        );
        assert!(matches!(
            pay_reply(&hash(), &expired_payee_record),
            Dispatched::Declined(_)
        ));
        let decode = reply(
            520,
            json!({"detail": "Bolt11 decoding failed.", "status": "failed"}),
        );
        assert!(matches!(
            pay_reply(&hash(), &decode),
            Dispatched::NotSent(WalletError::InvalidRequest {
                field: "bolt11",
                ..
            })
        ));
        let broke = reply(
            520,
            json!({"detail": "Insufficient balance.", "status": "failed"}),
        );
        assert_eq!(
            pay_reply(&hash(), &broke),
            Dispatched::NotSent(WalletError::backend(Some(520), "Insufficient balance."))
        );
        for code in [401, 403, 404, 400, 429] {
            assert!(
                matches!(
                    pay_reply(&hash(), &reply(code, json!({"detail": "x"}))),
                    Dispatched::NotSent(_)
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn settle_and_cancel_answers_are_arrays_whose_first_item_is_ok() {
        let settled = json!([true, null, null, null, "79".repeat(32), null]);
        assert_eq!(hold_answer_ok(&settled), Some(true));
        let refused = json!([false, null, null, "invoice still open", null, null]);
        assert_eq!(hold_answer_ok(&refused), Some(false));
        assert_eq!(hold_answer_error(&refused), "invoice still open");
        assert_eq!(hold_answer_ok(&json!({"ok": true})), Some(true));
        for junk in [
            json!([]),
            json!(["true"]),
            json!(null),
            json!("ok"),
            json!({}),
        ] {
            assert_eq!(hold_answer_ok(&junk), None, "{junk}");
        }
    }

    #[test]
    fn a_520_is_final_only_when_its_detail_proves_it() {
        let failed = |detail: &str| reply(520, json!({"detail": detail, "status": "failed"}));
        for node_failure in [
            "Payment failed: Payment failed: FAILURE_REASON_INSUFFICIENT_BALANCE",
            "Payment failed: without an error message.",
            "Payment is failed node, retrying is not possible.",
        ] {
            assert!(
                matches!(
                    pay_reply(&hash(), &failed(node_failure)),
                    Dispatched::Declined(_)
                ),
                "{node_failure}"
            );
        }
        for refusal in [
            "You must reserve at least (2  sat) to cover potential routing fees.",
            "Invoice amount 5000 sats is too high. Max allowed: 10 sats.",
            "Internal invoice already paid.",
            "Amountless invoices not supported.",
        ] {
            assert!(
                matches!(pay_reply(&hash(), &failed(refusal)), Dispatched::NotSent(_)),
                "{refusal}"
            );
        }
        for unexplained in [
            "Something LNbits 1.7 may say",
            "payment failed",
            "",
            "Insufficient",
        ] {
            assert!(
                matches!(
                    pay_reply(&hash(), &failed(unexplained)),
                    Dispatched::Unanswered(_)
                ),
                "{unexplained:?}"
            );
        }
        let still_pending = reply(
            520,
            json!({"detail": "Payment is still pending.", "status": "pending"}),
        );
        assert!(matches!(
            pay_reply(&hash(), &still_pending),
            Dispatched::Unanswered(_)
        ));
    }

    #[test]
    fn a_failed_or_pending_record_in_a_pay_answer_is_left_to_the_records() {
        // LNbits answers a retry of a failed payment with the old record.
        let old_failure = reply(
            201,
            json!({
                "payment_hash": hash().to_hex(), "amount": -1000, "fee": -2000, "status": "failed"
            }),
        );
        let pending = reply(
            201,
            json!({"payment_hash": hash().to_hex(), "amount": -1, "status": "pending"}),
        );
        for answer in [old_failure, pending] {
            assert!(
                matches!(pay_reply(&hash(), &answer), Dispatched::Unanswered(_)),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn unclear_pay_answers_are_unanswered() {
        let cases = [
            reply(500, json!({"detail": "Unexpected error"})),
            reply(502, Value::Null),
            reply(201, Value::Null),
            reply(201, json!({"unexpected": true})),
            reply(
                201,
                json!({"payment_hash": "00".repeat(32), "amount": -1, "status": "success"}),
            ),
            reply(520, json!({"detail": "no status field"})),
            reply(520, json!({"detail": "still pending", "status": "pending"})),
        ];
        for case in cases {
            assert!(
                matches!(pay_reply(&hash(), &case), Dispatched::Unanswered(_)),
                "{case:?}"
            );
        }
    }

    #[test]
    fn a_retried_record_is_newer_by_its_update_time() {
        let first = record(
            -1,
            "failed",
            json!({"updated_at": "2026-11-29T04:25:09+00:00"}),
        );
        let retried = record(
            -1,
            "failed",
            json!({"updated_at": "2026-11-29T04:25:10+00:00"}),
        );
        assert!(attempt(&retried).order > attempt(&first).order);
    }
}
