//! Property tests of every mapping of LNbits' answers, on arbitrary JSON shaped like them.

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wallet_core::amount::MAX_MONEY_MSAT;
use wallet_core::pay::{AttemptState, Dispatched, payment_status};
use wallet_core::{InvoiceStatus, PaymentStatus, Preimage};

use crate::api::PaymentRecord;
use crate::http::Reply;
use crate::mapping::{attempt, hold_answer_ok, incoming_status, pay_reply};

const PREIMAGE: Preimage = Preimage::from_bytes([0x42; 32]);
const TIME: &str = "2026-11-29T04:25:09.829568+00:00";

fn hashes() -> Vec<String> {
    vec![PREIMAGE.payment_hash().to_hex(), PREIMAGE.to_hex()]
}

/// A payment record as LNbits lists it, anything in each field.
fn record(amount: i64) -> impl Strategy<Value = Value> {
    hostile_input::record(
        vec![
            (
                "payment_hash",
                vec![json!(PREIMAGE.payment_hash().to_hex())],
            ),
            ("amount", vec![json!(amount)]),
            ("fee", vec![json!(0), json!(-1_000)]),
            (
                "status",
                vec![json!("success"), json!("failed"), json!("pending")],
            ),
            ("preimage", vec![json!(PREIMAGE.to_hex())]),
            ("updated_at", vec![json!(TIME)]),
            ("time", vec![json!(TIME)]),
            ("expiry", vec![json!("2026-11-29T05:25:09")]),
            ("labels", vec![json!([]), json!(["expired"])]),
            (
                "extra",
                vec![json!({}), json!({"hold_invoice_cancelled": true})],
            ),
            ("memo", vec![json!("corpus")]),
        ],
        hashes(),
    )
}

fn records(amount: i64) -> impl Strategy<Value = Vec<PaymentRecord>> {
    prop::collection::vec(record(amount), 0..4).prop_map(|values| {
        values
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect()
    })
}

/// The HTTP statuses after which LNbits documents that no payment record exists.
fn refused_before_any_record(status: u16) -> bool {
    (300..400).contains(&status) || matches!(status, 400 | 401 | 403 | 404 | 422 | 429 | 520)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn an_outgoing_record_reports_only_the_preimage_it_holds(records in records(-10_000)) {
        let attempts: Vec<_> = records.iter().map(attempt).collect();
        for (record, attempt) in records.iter().zip(&attempts) {
            if matches!(attempt.state, AttemptState::Failed { .. }) {
                prop_assert_eq!(record.status.as_str(), "failed", "failed without saying so");
            }
            if let AttemptState::Succeeded { preimage, fee_msat } = &attempt.state {
                prop_assert_eq!(*preimage, record.preimage());
                prop_assert!(*fee_msat <= MAX_MONEY_MSAT);
            }
        }
        if let PaymentStatus::Succeeded { preimage, .. } = payment_status(&PREIMAGE.payment_hash(), &attempts) {
            prop_assert_eq!(preimage, PREIMAGE);
        }
    }

    #[test]
    fn an_invoice_is_paid_only_with_its_proof_and_a_real_amount(
        records in records(21_000),
        now in any::<i64>(),
    ) {
        if let Ok(status) = incoming_status(&PREIMAGE.payment_hash(), &records, now) {
            let holds = hostile_input::invoice_claim_holds(&status, &PREIMAGE.payment_hash());
            prop_assert!(holds, "{:?}", status);
        }
    }

    #[test]
    fn a_pay_answer_is_never_a_failure_and_a_success_only_with_its_proof(
        status in 100u16..600,
        body in prop_oneof![record(-10_000), hostile_input::json_answer(&["detail", "status", "preimage"], hashes())],
    ) {
        let Ok(status) = StatusCode::from_u16(status) else { return Ok(()) };
        let reply = Reply { status, body };
        match pay_reply(&PREIMAGE.payment_hash(), &reply) {
            Dispatched::Answered(PaymentStatus::Succeeded { preimage, .. }) => {
                prop_assert!(PREIMAGE.payment_hash().is_paid_by(&preimage));
            }
            Dispatched::Answered(status) if status.is_failed() => {
                prop_assert!(false, "a failure read from one answer: {:?}", reply);
            }
            Dispatched::NotSent(_) => {
                prop_assert!(refused_before_any_record(status.as_u16()), "not sent after {}", status);
            }
            _ => {}
        }
    }

    #[test]
    fn hold_answers_never_break_the_reader(body in hostile_input::json_answer(&["ok", "error_message"], hashes())) {
        let _ = hold_answer_ok(&body);
    }
}

#[test]
fn the_generated_records_reach_successes_and_paid_invoices_so_the_properties_are_not_vacuous() {
    let outgoing: Vec<PaymentRecord> = hostile_input::sample(records(-10_000), 500)
        .into_iter()
        .flatten()
        .collect();
    assert!(
        outgoing.iter().map(attempt).any(|attempt| matches!(
            attempt.state,
            AttemptState::Succeeded {
                preimage: Some(_),
                ..
            }
        )),
        "no generated record read as a success"
    );
    let paid = hostile_input::sample(records(21_000), 500)
        .iter()
        .filter(|records| {
            matches!(
                incoming_status(&PREIMAGE.payment_hash(), records, 0),
                Ok(InvoiceStatus::Paid { .. })
            )
        })
        .count();
    assert!(paid > 0, "no generated record read as a paid invoice");
}
