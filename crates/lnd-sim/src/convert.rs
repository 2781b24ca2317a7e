//! The fake node's invoices and payments as lnd's messages.

use lnd_grpc::lnrpc::{self, Invoice, InvoiceHtlc, Payment};
use wallet_core::amount::msat_to_sat_floor;
use wallet_core::{FailureReason, hex};
use wallet_fake::{FakeInvoiceState, FakePaymentState, InvoiceSnapshot, PaymentSnapshot};

/// lnd's default `cltv_expiry` of invoices (and BOLT11's `min_final_cltv_expiry_delta`).
const CLTV_EXPIRY: u64 = 18;

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// An invoice as `LookupInvoice` and the subscriptions report it. lnd has no expired state: its
/// expiry watcher cancels open invoices, so an expired invoice reads `CANCELED`.
pub(crate) fn invoice(snapshot: &InvoiceSnapshot) -> Invoice {
    use lnrpc::invoice::InvoiceState;
    let (state, amount_paid_msat, settle_date, settle_index) = match snapshot.state {
        FakeInvoiceState::Open => (InvoiceState::Open, 0, 0, 0),
        FakeInvoiceState::Accepted { amount_msat } => (InvoiceState::Accepted, amount_msat, 0, 0),
        FakeInvoiceState::Settled {
            amount_received_msat,
            settle_index,
            paid_at,
        } => (
            InvoiceState::Settled,
            amount_received_msat,
            paid_at,
            settle_index,
        ),
        FakeInvoiceState::Canceled | FakeInvoiceState::Expired => (InvoiceState::Canceled, 0, 0, 0),
    };
    let value_msat = snapshot.amount_msat.unwrap_or(0);
    let htlc_state = match state {
        InvoiceState::Settled => Some(lnrpc::InvoiceHtlcState::Settled),
        InvoiceState::Accepted => Some(lnrpc::InvoiceHtlcState::Accepted),
        _ => None,
    };
    let htlcs = htlc_state
        .map(|htlc_state| InvoiceHtlc {
            chan_id: 1,
            htlc_index: snapshot.add_index,
            amt_msat: amount_paid_msat,
            accept_time: to_i64(snapshot.created_at),
            resolve_time: to_i64(settle_date),
            state: htlc_state as i32,
            mpp_total_amt_msat: amount_paid_msat,
            ..InvoiceHtlc::default()
        })
        .into_iter()
        .collect();
    Invoice {
        memo: snapshot.memo.clone(),
        r_preimage: snapshot
            .preimage
            .map(|preimage| preimage.as_bytes().to_vec())
            .unwrap_or_default(),
        r_hash: snapshot.payment_hash.as_bytes().to_vec(),
        value: to_i64(msat_to_sat_floor(value_msat)),
        value_msat: to_i64(value_msat),
        settled: state == InvoiceState::Settled,
        creation_date: to_i64(snapshot.created_at),
        settle_date: to_i64(settle_date),
        payment_request: snapshot.bolt11.clone(),
        description_hash: snapshot
            .description_hash
            .map(|hash| hash.as_bytes().to_vec())
            .unwrap_or_default(),
        expiry: to_i64(snapshot.expiry_secs),
        cltv_expiry: CLTV_EXPIRY,
        add_index: snapshot.add_index,
        settle_index,
        amt_paid: to_i64(msat_to_sat_floor(amount_paid_msat)),
        amt_paid_sat: to_i64(msat_to_sat_floor(amount_paid_msat)),
        amt_paid_msat: to_i64(amount_paid_msat),
        state: state as i32,
        htlcs,
        payment_addr: snapshot.payment_secret.to_vec(),
        ..Invoice::default()
    }
}

fn failure_reason(reason: &FailureReason) -> lnrpc::PaymentFailureReason {
    use lnrpc::PaymentFailureReason as Reason;
    match reason {
        FailureReason::NoRoute => Reason::FailureReasonNoRoute,
        FailureReason::InsufficientBalance => Reason::FailureReasonInsufficientBalance,
        FailureReason::IncorrectPaymentDetails => Reason::FailureReasonIncorrectPaymentDetails,
        FailureReason::Timeout => Reason::FailureReasonTimeout,
        FailureReason::Canceled => Reason::FailureReasonCanceled,
        FailureReason::Other(_) => Reason::FailureReasonError,
    }
}

/// A payment as `SendPaymentV2`, `TrackPaymentV2` and `ListPayments` report it.
pub(crate) fn payment(snapshot: &PaymentSnapshot, hub: &str, payee: &str) -> Payment {
    use lnrpc::htlc_attempt::HtlcStatus;
    use lnrpc::payment::PaymentStatus;
    let (status, preimage, fee_msat, reason) = match &snapshot.state {
        FakePaymentState::InFlight => (
            PaymentStatus::InFlight,
            None,
            snapshot
                .attempts
                .last()
                .map_or(0, |attempt| attempt.fee_msat),
            lnrpc::PaymentFailureReason::FailureReasonNone,
        ),
        FakePaymentState::Succeeded { preimage, fee_msat } => (
            PaymentStatus::Succeeded,
            Some(*preimage),
            *fee_msat,
            lnrpc::PaymentFailureReason::FailureReasonNone,
        ),
        FakePaymentState::Failed { reason } => {
            (PaymentStatus::Failed, None, 0, failure_reason(reason))
        }
    };
    let created_ns = to_i64(snapshot.created_at).saturating_mul(1_000_000_000);
    let htlcs = snapshot
        .attempts
        .iter()
        .enumerate()
        .map(|(index, attempt)| {
            let (htlc_status, preimage) = match &attempt.state {
                FakePaymentState::InFlight => (HtlcStatus::InFlight, Vec::new()),
                FakePaymentState::Succeeded { preimage, .. } => {
                    (HtlcStatus::Succeeded, preimage.as_bytes().to_vec())
                }
                FakePaymentState::Failed { .. } => (HtlcStatus::Failed, Vec::new()),
            };
            let amount = to_i64(snapshot.amount_msat);
            let fee = to_i64(attempt.fee_msat);
            lnrpc::HtlcAttempt {
                attempt_id: index as u64 + 1,
                status: htlc_status as i32,
                route: Some(lnrpc::Route {
                    total_time_lock: 800_000 + CLTV_EXPIRY as u32,
                    hops: vec![
                        lnrpc::Hop {
                            chan_id: 1,
                            amt_to_forward_msat: amount,
                            fee_msat: fee,
                            pub_key: hub.to_owned(),
                            ..lnrpc::Hop::default()
                        },
                        lnrpc::Hop {
                            chan_id: 2,
                            amt_to_forward_msat: amount,
                            pub_key: payee.to_owned(),
                            ..lnrpc::Hop::default()
                        },
                    ],
                    total_fees_msat: fee,
                    total_amt_msat: amount.saturating_add(fee),
                }),
                attempt_time_ns: to_i64(attempt.started_at).saturating_mul(1_000_000_000),
                preimage,
                ..lnrpc::HtlcAttempt::default()
            }
        })
        .collect();
    Payment {
        payment_hash: snapshot.payment_hash.to_hex(),
        value: to_i64(msat_to_sat_floor(snapshot.amount_msat)),
        creation_date: to_i64(snapshot.created_at),
        fee: to_i64(msat_to_sat_floor(fee_msat)),
        payment_preimage: preimage.map_or_else(|| "0".repeat(64), |preimage| preimage.to_hex()),
        value_sat: to_i64(msat_to_sat_floor(snapshot.amount_msat)),
        value_msat: to_i64(snapshot.amount_msat),
        payment_request: snapshot.bolt11.clone(),
        status: status as i32,
        fee_sat: to_i64(msat_to_sat_floor(fee_msat)),
        fee_msat: to_i64(fee_msat),
        creation_time_ns: created_ns,
        htlcs,
        payment_index: snapshot.payment_index,
        failure_reason: reason as i32,
    }
}

/// The payee of a payment, as hex.
pub(crate) fn node_hex(id: &[u8; 33]) -> String {
    hex::encode(id)
}
