//! Property tests of every mapping of lightningd's answers, on arbitrary JSON shaped like them.

use hostile_input::json_answer;
use proptest::prelude::*;
use serde_json::{Value, json};
use wallet_core::amount::MAX_MONEY_MSAT;
use wallet_core::pay::{AttemptState, Dispatched, payment_status};
use wallet_core::{InvoiceStatus, PaymentStatus, Preimage};

use crate::mapping::{attempt, hold_status, invoice_status, msat};
use crate::pay::{xpay_refusal, xpay_result};
use crate::rpc::NodeError;

const FIELDS: &[&str] = &[
    "status",
    "payment_hash",
    "payment_preimage",
    "preimage",
    "amount_msat",
    "amount_received_msat",
    "amount_sent_msat",
    "paid_at",
    "settled_at",
    "created_at",
    "created_index",
    "pay_index",
    "completed_at",
    "htlcs",
    "msat",
    "state",
    "label",
    "bolt11",
    "failed_parts",
    "successful_parts",
    "pays",
    "invoices",
    "holdinvoices",
];

const PREIMAGE: Preimage = Preimage::from_bytes([0x42; 32]);

fn hashes() -> Vec<String> {
    vec![PREIMAGE.payment_hash().to_hex(), PREIMAGE.to_hex()]
}

fn answer() -> impl Strategy<Value = Value> {
    json_answer(FIELDS, hashes())
}

fn proven(status: &InvoiceStatus) -> bool {
    hostile_input::invoice_claim_holds(status, &PREIMAGE.payment_hash())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn a_paid_invoice_always_carries_its_preimage_and_a_real_amount(
        invoice in prop_oneof![answer(), invoice_record(), hold_record()]
    ) {
        let hash = PREIMAGE.payment_hash();
        if let Ok(status) = invoice_status(&hash, &invoice) {
            prop_assert!(proven(&status), "{:?}", status);
        }
        if let Ok(status) = hold_status(&hash, &invoice) {
            prop_assert!(proven(&status), "{:?}", status);
        }
    }

    #[test]
    fn an_xpay_result_is_a_success_only_with_its_proof_and_never_a_failure(
        paid in prop_oneof![answer(), xpay_record()]
    ) {
        let hash = PREIMAGE.payment_hash();
        match xpay_result(&hash, &paid) {
            Dispatched::Answered(PaymentStatus::Succeeded { preimage, fee_msat }) => {
                prop_assert!(hash.is_paid_by(&preimage));
                prop_assert!(fee_msat <= MAX_MONEY_MSAT);
            }
            Dispatched::Answered(other) => prop_assert!(false, "answered {:?}", other),
            _ => {}
        }
    }

    #[test]
    fn an_xpay_error_is_not_sent_only_when_documented_before_any_attempt(
        code in prop_oneof![any::<i32>(), Just(207), Just(-32_602), Just(-32_601), 200..212i32],
        message in any::<String>(),
    ) {
        let dispatched = xpay_refusal(NodeError { code, message });
        prop_assert!(!matches!(dispatched, Dispatched::Answered(_)));
        if matches!(dispatched, Dispatched::NotSent(_)) {
            // 207: expired; -32602: bad parameters; -32601: no xpay command.
            prop_assert!(matches!(code, 207 | -32_602 | -32_601), "not sent after {}", code);
        }
    }

    #[test]
    fn a_record_reports_only_the_preimage_it_holds(
        entries in prop::collection::vec(prop_oneof![answer(), pays_record()], 0..4)
    ) {
        let attempts: Vec<_> = entries.iter().map(attempt).collect();
        for (entry, attempt) in entries.iter().zip(&attempts) {
            if matches!(attempt.state, AttemptState::Failed { .. }) {
                prop_assert_eq!(entry.get("status"), Some(&json!("failed")), "failed without saying so");
            }
            if let AttemptState::Succeeded { preimage: Some(preimage), fee_msat } = &attempt.state {
                let text = entry.to_string();
                prop_assert!(text.contains(&preimage.to_hex()));
                prop_assert!(*fee_msat <= MAX_MONEY_MSAT);
            }
        }
        if let PaymentStatus::Succeeded { preimage, .. } = payment_status(&PREIMAGE.payment_hash(), &attempts) {
            prop_assert_eq!(preimage, PREIMAGE);
        }
    }

    #[test]
    fn msat_fields_never_exceed_all_bitcoin(value in answer()) {
        if let Some(amount) = msat(&value) {
            prop_assert!(amount <= MAX_MONEY_MSAT);
        }
    }
}

/// An `xpay` result, anything in each field.
fn xpay_record() -> impl Strategy<Value = Value> {
    hostile_input::record(
        vec![
            ("payment_preimage", vec![json!(PREIMAGE.to_hex())]),
            ("amount_msat", vec![json!(10_000)]),
            ("amount_sent_msat", vec![json!(10_001), json!("10001msat")]),
            ("failed_parts", vec![json!(0)]),
            ("successful_parts", vec![json!(1)]),
        ],
        hashes(),
    )
}

/// A hold-plugin record, anything in each field.
fn hold_record() -> impl Strategy<Value = Value> {
    hostile_input::record(
        vec![
            (
                "payment_hash",
                vec![json!(PREIMAGE.payment_hash().to_hex())],
            ),
            (
                "state",
                vec![json!("accepted"), json!("paid"), json!("cancelled")],
            ),
            ("preimage", vec![json!(PREIMAGE.to_hex())]),
            ("amount_msat", vec![json!(21_000)]),
            ("htlcs", vec![json!([{"msat": 21_000}]), json!([])]),
            ("settled_at", vec![json!(1_795_926_309)]),
        ],
        hashes(),
    )
}

/// A `listpays` entry, anything in each field.
fn pays_record() -> impl Strategy<Value = Value> {
    hostile_input::record(
        vec![
            (
                "payment_hash",
                vec![json!(PREIMAGE.payment_hash().to_hex())],
            ),
            (
                "status",
                vec![json!("complete"), json!("failed"), json!("pending")],
            ),
            ("preimage", vec![json!(PREIMAGE.to_hex())]),
            ("amount_msat", vec![json!(10_000)]),
            ("amount_sent_msat", vec![json!(10_001)]),
            ("created_at", vec![json!(1_795_926_300)]),
            ("created_index", vec![json!(3)]),
        ],
        hashes(),
    )
}

#[test]
fn the_generated_answers_reach_successes_so_the_properties_are_not_vacuous() {
    let hash = PREIMAGE.payment_hash();
    let successes = hostile_input::sample(xpay_record(), 1_000)
        .iter()
        .filter(|paid| {
            matches!(
                xpay_result(&hash, paid),
                Dispatched::Answered(PaymentStatus::Succeeded { .. })
            )
        })
        .count();
    assert!(successes > 0, "no generated xpay result read as a success");
    let held = hostile_input::sample(hold_record(), 1_000)
        .iter()
        .filter(|hold| {
            matches!(
                hold_status(&hash, hold),
                Ok(InvoiceStatus::Paid { .. } | InvoiceStatus::Held { .. })
            )
        })
        .count();
    assert!(held > 0, "no generated hold invoice read as held or paid");
    let attempts: Vec<_> = hostile_input::sample(pays_record(), 1_000)
        .iter()
        .map(attempt)
        .collect();
    assert!(
        attempts.iter().any(|attempt| matches!(
            attempt.state,
            AttemptState::Succeeded {
                preimage: Some(_),
                ..
            }
        )),
        "no generated listpays entry read as a success"
    );
    assert!(
        attempts
            .iter()
            .any(|attempt| matches!(attempt.state, AttemptState::Failed { .. })),
        "no generated listpays entry read as a failure"
    );
}

/// An invoice as `listinvoices` or `waitanyinvoice` lists it, anything in each field.
fn invoice_record() -> impl Strategy<Value = Value> {
    let hash = PREIMAGE.payment_hash().to_hex();
    hostile_input::record(
        vec![
            (
                "status",
                vec![json!("paid"), json!("unpaid"), json!("expired")],
            ),
            ("payment_hash", vec![json!(hash)]),
            ("payment_preimage", vec![json!(PREIMAGE.to_hex())]),
            (
                "amount_received_msat",
                vec![json!(21_000), json!("21000msat")],
            ),
            ("paid_at", vec![json!(1_795_926_309)]),
            ("pay_index", vec![json!(1)]),
        ],
        hashes(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_full_invoice_record_is_paid_only_with_its_proof(invoice in invoice_record()) {
        if let Ok(status) = invoice_status(&PREIMAGE.payment_hash(), &invoice) {
            prop_assert!(proven(&status), "{:?}", status);
        }
    }
}

#[test]
fn the_records_generated_reach_paid_invoices_so_the_property_is_not_vacuous() {
    let paid = hostile_input::sample(invoice_record(), 2_000)
        .iter()
        .filter(|invoice| {
            matches!(
                invoice_status(&PREIMAGE.payment_hash(), invoice),
                Ok(InvoiceStatus::Paid { .. })
            )
        })
        .count();
    assert!(paid > 0, "no generated record read as paid");
}
