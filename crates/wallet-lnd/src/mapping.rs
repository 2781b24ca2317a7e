//! lnd's invoice and payment states mapped onto wallet-core's, as the contract requires
//! ([`wallet_core::contract`]).

use lnd_grpc::lnrpc::invoice::InvoiceState;
use lnd_grpc::lnrpc::payment::PaymentStatus as LndPaymentStatus;
use lnd_grpc::lnrpc::{self, PaymentFailureReason};
use wallet_core::amount::reported_msat;
use wallet_core::pay::{Attempt, AttemptState};
use wallet_core::{FailureReason, InvoiceStatus, PaymentHash, Preimage, WalletError};

/// An order key from lnd's times: a negative one orders first, which only ever makes a record
/// look older (never newer evidence).
fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A time or duration lnd reported, in seconds: a negative one is unreadable, never a zero
/// (contract rule 12).
pub(crate) fn reported_seconds(value: i64, what: &str) -> Result<u64, WalletError> {
    u64::try_from(value)
        .map_err(|_| WalletError::backend(None, format!("lnd reported {what} of {value}")))
}

/// lnd's record of a payment as one attempt of the payment protocol. lnd keeps one record per
/// hash and starts it afresh when a failed payment is retried, so its order is the newest of its
/// creation time and its HTLCs' attempt times. SUCCEEDED carries the preimage (checked later);
/// IN_FLIGHT, INITIATED and the deprecated UNKNOWN are in flight; only FAILED fails.
pub(crate) fn attempt(payment: &lnrpc::Payment) -> Attempt {
    let state = match payment.status() {
        // A success whose fee cannot be read is not one this library can report: Pending until
        // it reads (never a fee of zero).
        LndPaymentStatus::Succeeded => match reported_msat(payment.fee_msat, "a routing fee") {
            Ok(fee_msat) => AttemptState::Succeeded {
                preimage: Preimage::from_hex(&payment.payment_preimage).ok(),
                fee_msat,
            },
            Err(_) => AttemptState::InFlight,
        },
        LndPaymentStatus::Failed => AttemptState::Failed {
            reason: failure_reason(payment.failure_reason()),
        },
        LndPaymentStatus::InFlight | LndPaymentStatus::Initiated | LndPaymentStatus::Unknown => {
            AttemptState::InFlight
        }
    };
    let order = payment
        .htlcs
        .iter()
        .map(|htlc| non_negative(htlc.attempt_time_ns))
        .chain([non_negative(payment.creation_time_ns)])
        .max()
        .unwrap_or(0);
    Attempt {
        payment_hash: PaymentHash::from_hex(&payment.payment_hash).ok(),
        state,
        order,
    }
}

fn failure_reason(reason: PaymentFailureReason) -> FailureReason {
    match reason {
        PaymentFailureReason::FailureReasonTimeout => FailureReason::Timeout,
        PaymentFailureReason::FailureReasonNoRoute => FailureReason::NoRoute,
        PaymentFailureReason::FailureReasonIncorrectPaymentDetails => {
            FailureReason::IncorrectPaymentDetails
        }
        PaymentFailureReason::FailureReasonInsufficientBalance => {
            FailureReason::InsufficientBalance
        }
        PaymentFailureReason::FailureReasonCanceled => FailureReason::Canceled,
        PaymentFailureReason::FailureReasonError | PaymentFailureReason::FailureReasonNone => {
            FailureReason::Other("lnd: FAILURE_REASON_ERROR".into())
        }
    }
}

/// An invoice's state. lnd has no expired state: an OPEN invoice past its expiry, or one its
/// expiry watcher CANCELED, is `Expired`; a CANCELED one before expiry was cancelled.
pub(crate) fn invoice_status(
    payment_hash: &PaymentHash,
    invoice: &lnrpc::Invoice,
    now: u64,
) -> Result<InvoiceStatus, WalletError> {
    if invoice.r_hash.len() != 32 {
        // No proof the node has no such invoice: it answered without a hash that reads.
        return Err(WalletError::backend(
            None,
            "lnd answered with an invoice whose r_hash is not 32 bytes",
        ));
    }
    if invoice.r_hash.as_slice() != payment_hash.as_bytes().as_slice() {
        // Contract rule 3: a record about another hash says nothing about this one.
        return Ok(InvoiceStatus::Unknown);
    }
    let expires_at = reported_seconds(invoice.creation_date, "an invoice creation date")?
        .saturating_add(reported_seconds(invoice.expiry, "an invoice expiry")?);
    let expired = now >= expires_at;
    Ok(match invoice.state() {
        InvoiceState::Settled => {
            let preimage = Preimage::from_slice(&invoice.r_preimage).map_err(|_| {
                WalletError::backend(None, "lnd reports a settled invoice without a preimage")
            })?;
            InvoiceStatus::checked_paid(
                payment_hash,
                preimage,
                reported_msat(invoice.amt_paid_msat, "an amount paid")?,
                reported_seconds(invoice.settle_date, "a settle date")?,
            )?
        }
        InvoiceState::Accepted => InvoiceStatus::Held {
            amount_received_msat: reported_msat(invoice.amt_paid_msat, "an amount held")?,
        },
        InvoiceState::Open if expired => InvoiceStatus::Expired,
        InvoiceState::Open => InvoiceStatus::Pending,
        InvoiceState::Canceled if expired => InvoiceStatus::Expired,
        InvoiceState::Canceled => InvoiceStatus::Cancelled,
    })
}

/// A short channel id (`block x transaction x output`) from lnd's numeric `chan_id`.
pub(crate) fn short_channel_id(chan_id: u64) -> String {
    format!(
        "{}x{}x{}",
        chan_id >> 40,
        (chan_id >> 16) & 0xFF_FFFF,
        chan_id & 0xFFFF
    )
}

#[cfg(test)]
mod tests {
    use wallet_core::PaymentStatus;
    use wallet_core::pay::payment_status as rule;

    use super::*;

    fn payment_status(hash: &PaymentHash, payment: &lnrpc::Payment) -> PaymentStatus {
        rule(hash, &[attempt(payment)])
    }

    const PREIMAGE: [u8; 32] = [5; 32];

    fn hash() -> PaymentHash {
        Preimage::from_bytes(PREIMAGE).payment_hash()
    }

    fn payment(status: LndPaymentStatus, preimage: &str) -> lnrpc::Payment {
        lnrpc::Payment {
            payment_hash: hash().to_hex(),
            payment_preimage: preimage.to_owned(),
            status: status as i32,
            fee_msat: 1_500,
            ..lnrpc::Payment::default()
        }
    }

    #[test]
    fn payment_states_map_and_only_failed_fails() {
        let preimage = Preimage::from_bytes(PREIMAGE).to_hex();
        assert_eq!(
            payment_status(&hash(), &payment(LndPaymentStatus::Succeeded, &preimage)),
            PaymentStatus::Succeeded {
                preimage: Preimage::from_bytes(PREIMAGE),
                fee_msat: 1_500
            }
        );
        for pending in [
            LndPaymentStatus::InFlight,
            LndPaymentStatus::Initiated,
            LndPaymentStatus::Unknown,
        ] {
            assert_eq!(
                payment_status(&hash(), &payment(pending, "")),
                PaymentStatus::Pending
            );
        }
        let mut failed = payment(LndPaymentStatus::Failed, "");
        failed.failure_reason = PaymentFailureReason::FailureReasonNoRoute as i32;
        assert_eq!(
            payment_status(&hash(), &failed),
            PaymentStatus::Failed {
                reason: FailureReason::NoRoute
            }
        );
    }

    #[test]
    fn a_success_without_a_matching_preimage_is_pending() {
        let zeros = "0".repeat(64);
        assert_eq!(
            payment_status(&hash(), &payment(LndPaymentStatus::Succeeded, &zeros)),
            PaymentStatus::Pending
        );
        assert_eq!(
            payment_status(&hash(), &payment(LndPaymentStatus::Succeeded, "xyz")),
            PaymentStatus::Pending
        );
    }

    #[test]
    fn a_success_with_a_negative_or_impossible_fee_is_pending_not_a_zero_fee() {
        let preimage = Preimage::from_bytes(PREIMAGE).to_hex();
        for fee_msat in [-1, i64::MIN, i64::MAX] {
            let mut succeeded = payment(LndPaymentStatus::Succeeded, &preimage);
            succeeded.fee_msat = fee_msat;
            assert_eq!(
                payment_status(&hash(), &succeeded),
                PaymentStatus::Pending,
                "fee {fee_msat}"
            );
        }
    }

    #[test]
    fn negative_amounts_and_times_in_an_invoice_are_errors_not_zero() {
        let base = lnrpc::Invoice {
            r_hash: hash().as_bytes().to_vec(),
            r_preimage: PREIMAGE.to_vec(),
            state: InvoiceState::Settled as i32,
            creation_date: 1_000,
            expiry: 100,
            amt_paid_msat: 5_000,
            settle_date: 1_050,
            ..lnrpc::Invoice::default()
        };
        assert!(invoice_status(&hash(), &base, 1_010).is_ok());
        let broken: [fn(&mut lnrpc::Invoice); 5] = [
            |invoice| invoice.amt_paid_msat = -5_000,
            |invoice| invoice.settle_date = -1,
            |invoice| invoice.creation_date = -1,
            |invoice| invoice.expiry = i64::MIN,
            |invoice| {
                invoice.state = InvoiceState::Accepted as i32;
                invoice.amt_paid_msat = -1;
            },
        ];
        for (case, breaks) in broken.iter().enumerate() {
            let mut invoice = base.clone();
            breaks(&mut invoice);
            assert!(
                invoice_status(&hash(), &invoice, 1_010).is_err(),
                "case {case}: {:?}",
                invoice_status(&hash(), &invoice, 1_010)
            );
        }
        // An OPEN invoice with a negative creation date is not confidently Expired.
        let mut open = base.clone();
        open.state = InvoiceState::Open as i32;
        open.creation_date = -1_000_000;
        assert!(invoice_status(&hash(), &open, 1_010).is_err());
    }

    #[test]
    fn cancelled_before_expiry_is_cancelled_and_after_it_expired() {
        let invoice = |state: InvoiceState| lnrpc::Invoice {
            r_hash: hash().as_bytes().to_vec(),
            state: state as i32,
            creation_date: 1_000,
            expiry: 100,
            ..lnrpc::Invoice::default()
        };
        assert_eq!(
            invoice_status(&hash(), &invoice(InvoiceState::Canceled), 1_050).unwrap(),
            InvoiceStatus::Cancelled
        );
        assert_eq!(
            invoice_status(&hash(), &invoice(InvoiceState::Canceled), 1_100).unwrap(),
            InvoiceStatus::Expired
        );
        assert_eq!(
            invoice_status(&hash(), &invoice(InvoiceState::Open), 1_099).unwrap(),
            InvoiceStatus::Pending
        );
        assert_eq!(
            invoice_status(&hash(), &invoice(InvoiceState::Open), 1_100).unwrap(),
            InvoiceStatus::Expired
        );
        let mut held = invoice(InvoiceState::Accepted);
        held.amt_paid_msat = 7_000;
        assert_eq!(
            invoice_status(&hash(), &held, 0).unwrap(),
            InvoiceStatus::Held {
                amount_received_msat: 7_000
            }
        );
        let mut settled = invoice(InvoiceState::Settled);
        settled.r_preimage = vec![6; 32];
        assert!(
            invoice_status(&hash(), &settled, 0).is_err(),
            "a wrong preimage must not read as paid"
        );
    }

    #[test]
    fn an_invoice_record_of_another_hash_is_unknown() {
        let other = lnrpc::Invoice {
            r_hash: vec![9; 32],
            state: InvoiceState::Canceled as i32,
            ..lnrpc::Invoice::default()
        };
        assert_eq!(
            invoice_status(&hash(), &other, 0).unwrap(),
            InvoiceStatus::Unknown
        );
    }

    #[test]
    fn a_retried_payment_is_newer_by_its_creation_time() {
        let mut first = payment(LndPaymentStatus::Failed, "");
        first.creation_time_ns = 1_000;
        let mut retry = first.clone();
        retry.creation_time_ns = 2_000;
        assert!(attempt(&retry).order > attempt(&first).order);
    }

    #[test]
    fn chan_ids_become_short_channel_ids() {
        assert_eq!(
            short_channel_id((800_000 << 40) | (5 << 16) | 1),
            "800000x5x1"
        );
    }
}
