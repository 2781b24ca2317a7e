//! Property tests of every mapping of lnd's answers: messages decoded from arbitrary bytes, and
//! messages with arbitrary values in the fields the mappings read.

use lnd_grpc::lnrpc;
use lnd_grpc::lnrpc::payment::PaymentStatus as LndPaymentStatus;
use proptest::prelude::*;
use prost::Message;
use tonic::{Code, Status};
use wallet_core::amount::MAX_MONEY_MSAT;
use wallet_core::pay::{AttemptState, Dispatched, payment_status};
use wallet_core::{InvoiceStatus, PaymentStatus, Preimage};

use crate::mapping::{attempt, invoice_status};
use crate::pay::refused;

const PREIMAGE: Preimage = Preimage::from_bytes([0x42; 32]);

fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0),
        Just(-1),
        Just(1_795_926_309),
        Just(21_000),
        Just(i64::MAX),
        Just(i64::MIN),
        any::<i64>()
    ]
}

fn hash_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(PREIMAGE.payment_hash().as_bytes().to_vec()),
        Just(vec![9; 32]),
        Just(Vec::new()),
        Just(vec![1; 31]),
    ]
}

fn preimage_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(PREIMAGE.as_bytes().to_vec()),
        Just(vec![7; 32]),
        Just(Vec::new()),
    ]
}

prop_compose! {
    fn invoice()(
        r_hash in hash_bytes(),
        r_preimage in preimage_bytes(),
        state in prop_oneof![0..4i32, Just(99), Just(-1)],
        amt_paid_msat in edge_i64(),
        settle_date in edge_i64(),
        creation_date in edge_i64(),
        expiry in edge_i64(),
        settle_index in any::<u64>(),
    ) -> lnrpc::Invoice {
        lnrpc::Invoice {
            r_hash, r_preimage, state, amt_paid_msat, settle_date, creation_date, expiry,
            settle_index, ..lnrpc::Invoice::default()
        }
    }
}

prop_compose! {
    fn payment()(
        payment_hash in prop_oneof![
            Just(PREIMAGE.payment_hash().to_hex()), Just("09".repeat(32)), Just(String::new())
        ],
        payment_preimage in prop_oneof![
            Just(PREIMAGE.to_hex()), Just("07".repeat(32)), Just(String::new()), Just("zz".into())
        ],
        status in prop_oneof![0..5i32, Just(99), Just(-1)],
        fee_msat in edge_i64(),
        creation_time_ns in edge_i64(),
        failure_reason in prop_oneof![0..7i32, Just(99)],
    ) -> lnrpc::Payment {
        lnrpc::Payment {
            payment_hash, payment_preimage, status, fee_msat, creation_time_ns, failure_reason,
            ..lnrpc::Payment::default()
        }
    }
}

fn proven(status: &InvoiceStatus) -> bool {
    hostile_input::invoice_claim_holds(status, &PREIMAGE.payment_hash())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn an_invoice_is_paid_only_with_its_proof_and_a_real_amount(invoice in invoice(), now in any::<u64>()) {
        if let Ok(status) = invoice_status(&PREIMAGE.payment_hash(), &invoice, now) {
            prop_assert!(proven(&status), "{:?}", status);
        }
    }

    #[test]
    fn any_bytes_decoded_as_an_invoice_never_claim_a_payment(bytes in prop::collection::vec(any::<u8>(), 0..200), now in any::<u64>()) {
        if let Ok(invoice) = lnrpc::Invoice::decode(bytes.as_slice())
            && let Ok(status) = invoice_status(&PREIMAGE.payment_hash(), &invoice, now)
        {
            prop_assert!(proven(&status), "{:?}", status);
        }
    }

    #[test]
    fn a_payment_succeeds_only_with_its_proof(payments in prop::collection::vec(payment(), 0..4)) {
        let attempts: Vec<_> = payments.iter().map(attempt).collect();
        for (payment, attempt) in payments.iter().zip(&attempts) {
            if let AttemptState::Succeeded { fee_msat, .. } = attempt.state {
                prop_assert!(fee_msat <= MAX_MONEY_MSAT);
            }
            if matches!(attempt.state, AttemptState::Failed { .. }) {
                prop_assert_eq!(payment.status(), LndPaymentStatus::Failed);
            }
        }
        if let PaymentStatus::Succeeded { preimage, .. } = payment_status(&PREIMAGE.payment_hash(), &attempts) {
            prop_assert_eq!(preimage, PREIMAGE);
        }
    }

    #[test]
    fn any_bytes_decoded_as_a_payment_never_claim_a_success_without_proof(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(payment) = lnrpc::Payment::decode(bytes.as_slice())
            && let PaymentStatus::Succeeded { preimage, .. } =
                payment_status(&PREIMAGE.payment_hash(), &[attempt(&payment)])
        {
            prop_assert_eq!(preimage, PREIMAGE);
        }
    }

    #[test]
    fn a_refused_dispatch_is_not_sent_only_for_credentials_or_a_missing_method(
        code in 0..17i32,
        message in any::<String>(),
    ) {
        let status = Status::new(Code::from_i32(code), message);
        let credentials = crate::client::is_auth_error(&status);
        let dispatched = refused(status);
        prop_assert!(!matches!(dispatched, Dispatched::Answered(_)));
        if matches!(dispatched, Dispatched::NotSent(_)) {
            prop_assert!(credentials || code == Code::Unimplemented as i32, "not sent after code {}", code);
        }
    }
}

#[test]
fn the_generated_messages_reach_successes_and_paid_invoices_so_the_properties_are_not_vacuous() {
    let paid = hostile_input::sample(invoice(), 2_000)
        .iter()
        .filter(|invoice| {
            matches!(
                invoice_status(&PREIMAGE.payment_hash(), invoice, 0),
                Ok(InvoiceStatus::Paid { .. })
            )
        })
        .count();
    assert!(paid > 0, "no generated invoice read as paid");
    let succeeded = hostile_input::sample(payment(), 2_000)
        .iter()
        .filter(|payment| {
            payment_status(&PREIMAGE.payment_hash(), &[attempt(payment)]).is_succeeded()
        })
        .count();
    assert!(succeeded > 0, "no generated payment read as a success");
}
