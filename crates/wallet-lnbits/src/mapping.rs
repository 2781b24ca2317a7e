//! LNbits' answers mapped onto the wallet-core states, exactly as DESIGN's rules require.
//!
//! Pure functions over parsed answers, so that every row of LNbits' scenario table (success,
//! failure, missing data, bad JSON, unknown status, not found) is a unit test.

use reqwest::StatusCode;
use wallet_core::{
    FailureReason, InvoiceStatus, PayError, PaymentHash, PaymentStatus, WalletError,
};

use crate::api::PaymentRecord;
use crate::http::Reply;

/// The payment state from this wallet's outgoing records of one hash: any success wins, then
/// anything pending, then failure; no record is `Unknown`. A success whose preimage is missing or
/// does not match is `Pending`, never `Failed`.
pub(crate) fn outgoing_status(
    payment_hash: &PaymentHash,
    records: &[PaymentRecord],
) -> PaymentStatus {
    let mine = || {
        records
            .iter()
            .filter(|record| record.hash() == Some(*payment_hash))
    };
    if let Some(success) = mine().find(|record| record.status == "success") {
        return match success.preimage() {
            Some(preimage) => {
                PaymentStatus::checked_success(payment_hash, preimage, fee_msat(success.fee))
            }
            None => PaymentStatus::Pending,
        };
    }
    if mine().any(|record| record.status != "failed") {
        // "pending", or a status this crate does not know: never guess failure.
        return PaymentStatus::Pending;
    }
    match mine().next_back() {
        Some(failed) => PaymentStatus::Failed {
            reason: failure_reason(failed),
        },
        None => PaymentStatus::Unknown,
    }
}

/// LNbits reports outgoing fees as non-positive msat; a fee is never reported below what was paid.
fn fee_msat(fee: i64) -> u64 {
    fee.unsigned_abs()
}

fn failure_reason(record: &PaymentRecord) -> FailureReason {
    match record
        .extra
        .get("failure_reason")
        .and_then(|value| value.as_str())
    {
        Some(reason) => FailureReason::Other(reason.to_owned()),
        None => FailureReason::Other("LNbits marked the payment failed".into()),
    }
}

/// The invoice state from this wallet's incoming record of one hash.
pub(crate) fn incoming_status(
    payment_hash: &PaymentHash,
    records: &[PaymentRecord],
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
            let amount = u64::try_from(record.amount).unwrap_or(0);
            let paid_at = record
                .updated_micros()
                .map_or(0, |micros| u64::try_from(micros / 1_000_000).unwrap_or(0));
            InvoiceStatus::checked_paid(payment_hash, preimage, amount, paid_at)
        }
        "failed" if record.labels.iter().any(|label| label == "expired") => {
            Ok(InvoiceStatus::Expired)
        }
        "failed" => Ok(InvoiceStatus::Cancelled),
        // "pending", or anything unknown: still open as far as anyone can tell.
        _ => Ok(InvoiceStatus::Pending),
    }
}

/// What an answer to `POST /api/v1/payments {"out": true}` means. `Err` only where LNbits
/// refused before sending anything; every unclear answer is `Pending`.
pub(crate) fn pay_reply(
    payment_hash: &PaymentHash,
    reply: &Reply,
) -> Result<PaymentStatus, PayError> {
    let status = reply.status;
    if status.is_success() {
        let Ok(record) = serde_json::from_value::<PaymentRecord>(reply.body.clone()) else {
            return Ok(PaymentStatus::Pending);
        };
        if record.hash() != Some(*payment_hash) {
            return Ok(PaymentStatus::Pending);
        }
        if record.amount > 0 {
            // LNbits answers a payment of its own expired invoice with the payee's record: the
            // payment was refused and nothing moved.
            return Ok(if record.status == "failed" {
                PaymentStatus::Failed {
                    reason: FailureReason::IncorrectPaymentDetails,
                }
            } else {
                PaymentStatus::Pending
            });
        }
        return Ok(outgoing_status(payment_hash, std::slice::from_ref(&record)));
    }
    if status.as_u16() == 520 {
        let detail = reply.detail();
        return match reply.body["status"].as_str() {
            Some("failed") => refused_or_failed(&detail),
            // "pending" or "success": a payment of this hash exists; its record tells.
            _ => Ok(PaymentStatus::Pending),
        };
    }
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Err(PayError::not_sent(
            WalletError::backend(Some(i64::from(status.as_u16())), reply.detail()),
        )),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            Err(PayError::not_sent(crate::http::api_error(reply)))
        }
        StatusCode::TOO_MANY_REQUESTS => Err(PayError::not_sent(WalletError::Unavailable(
            "rate limited by LNbits".into(),
        ))),
        // A 500, a 502 from a proxy, anything else: the payment may be under way.
        _ => Ok(PaymentStatus::Pending),
    }
}

/// A 520 with `status: failed`: refusals LNbits makes before sending, as errors; the rest as
/// failed payments.
fn refused_or_failed(detail: &str) -> Result<PaymentStatus, PayError> {
    if detail.starts_with("Bolt11 decoding failed") {
        return Err(PayError::not_sent(WalletError::invalid(
            "bolt11",
            format!("LNbits cannot decode it: {detail}"),
        )));
    }
    let reason = if detail.starts_with("Insufficient balance") {
        FailureReason::InsufficientBalance
    } else if detail.contains("already paid") {
        FailureReason::IncorrectPaymentDetails
    } else {
        FailureReason::Other(detail.to_owned())
    };
    Ok(PaymentStatus::Failed { reason })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use wallet_core::Preimage;

    use super::*;

    const PREIMAGE: [u8; 32] = [0x79; 32];

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
    fn a_success_beats_an_older_failure_of_the_same_hash() {
        let records = [
            record(-1, "failed", json!({})),
            record(-1, "success", json!({})),
        ];
        assert!(outgoing_status(&hash(), &records).is_succeeded());
    }

    #[test]
    fn incoming_records_map_to_invoice_states() {
        let paid = incoming_status(&hash(), &[record(5000, "success", json!({}))]).unwrap();
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
            incoming_status(&hash(), &[expired]).unwrap(),
            InvoiceStatus::Expired
        );
        let cancelled = record(
            5000,
            "failed",
            json!({"extra": {"hold_invoice_cancelled": true}}),
        );
        assert_eq!(
            incoming_status(&hash(), &[cancelled]).unwrap(),
            InvoiceStatus::Cancelled
        );
        assert_eq!(
            incoming_status(&hash(), &[record(1, "pending", json!({}))]).unwrap(),
            InvoiceStatus::Pending
        );
        assert_eq!(
            incoming_status(&hash(), &[]).unwrap(),
            InvoiceStatus::Unknown
        );
        let forged = record(5000, "success", json!({"preimage": "00".repeat(32)}));
        assert!(incoming_status(&hash(), &[forged]).is_err());
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
        assert!(pay_reply(&hash(), &success).unwrap().is_succeeded());
        let failed_201 = reply(
            201,
            json!({
                "payment_hash": hash().to_hex(), "amount": -1000, "fee": -2000, "status": "failed"
            }),
        );
        assert!(pay_reply(&hash(), &failed_201).unwrap().is_failed());
        let expired_payee_record = reply(
            201,
            json!({
                "payment_hash": hash().to_hex(), "amount": 1000, "status": "failed", "labels": ["expired"]
            }),
        );
        assert!(
            pay_reply(&hash(), &expired_payee_record)
                .unwrap()
                .is_failed()
        );
        let pending = reply(
            201,
            json!({"payment_hash": hash().to_hex(), "amount": -1, "status": "pending"}),
        );
        assert_eq!(
            pay_reply(&hash(), &pending).unwrap(),
            PaymentStatus::Pending
        );

        let decode = reply(
            520,
            json!({"detail": "Bolt11 decoding failed.", "status": "failed"}),
        );
        assert_eq!(
            pay_reply(&hash(), &decode).unwrap_err().reason().field(),
            Some("bolt11")
        );
        let broke = reply(
            520,
            json!({"detail": "Insufficient balance.", "status": "failed"}),
        );
        assert_eq!(
            pay_reply(&hash(), &broke).unwrap(),
            PaymentStatus::Failed {
                reason: FailureReason::InsufficientBalance
            }
        );
        let still_pending = reply(520, json!({"detail": "still pending", "status": "pending"}));
        assert_eq!(
            pay_reply(&hash(), &still_pending).unwrap(),
            PaymentStatus::Pending
        );

        for code in [401, 403, 404, 400, 429] {
            assert!(
                pay_reply(&hash(), &reply(code, json!({"detail": "x"}))).is_err(),
                "{code}"
            );
        }
    }

    #[test]
    fn unclear_pay_answers_are_pending() {
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
        ];
        for case in cases {
            assert_eq!(
                pay_reply(&hash(), &case).unwrap(),
                PaymentStatus::Pending,
                "{case:?}"
            );
        }
    }
}
