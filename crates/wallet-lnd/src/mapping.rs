//! lnd's invoice and payment states mapped onto wallet-core's, as DESIGN requires.

use lnd_grpc::lnrpc::invoice::InvoiceState;
use lnd_grpc::lnrpc::payment::PaymentStatus as LndPaymentStatus;
use lnd_grpc::lnrpc::{self, PaymentFailureReason};
use wallet_core::{
    FailureReason, InvoiceStatus, PaymentHash, PaymentStatus, Preimage, WalletError,
};

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A payment's state. SUCCEEDED needs a preimage of the hash (otherwise `Pending`, never
/// failed); IN_FLIGHT, INITIATED and the deprecated UNKNOWN are `Pending`; only FAILED fails.
pub(crate) fn payment_status(
    payment_hash: &PaymentHash,
    payment: &lnrpc::Payment,
) -> PaymentStatus {
    match payment.status() {
        LndPaymentStatus::Succeeded => match Preimage::from_hex(&payment.payment_preimage) {
            Ok(preimage) => PaymentStatus::checked_success(
                payment_hash,
                preimage,
                non_negative(payment.fee_msat),
            ),
            Err(_) => PaymentStatus::Pending,
        },
        LndPaymentStatus::Failed => PaymentStatus::Failed {
            reason: failure_reason(payment.failure_reason()),
        },
        LndPaymentStatus::InFlight | LndPaymentStatus::Initiated | LndPaymentStatus::Unknown => {
            PaymentStatus::Pending
        }
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
    let expires_at =
        non_negative(invoice.creation_date).saturating_add(non_negative(invoice.expiry));
    let expired = now >= expires_at;
    Ok(match invoice.state() {
        InvoiceState::Settled => {
            let preimage = Preimage::from_slice(&invoice.r_preimage).map_err(|_| {
                WalletError::backend(None, "lnd reports a settled invoice without a preimage")
            })?;
            InvoiceStatus::checked_paid(
                payment_hash,
                preimage,
                non_negative(invoice.amt_paid_msat),
                non_negative(invoice.settle_date),
            )?
        }
        InvoiceState::Accepted => InvoiceStatus::Held {
            amount_received_msat: non_negative(invoice.amt_paid_msat),
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
    use super::*;

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
    fn cancelled_before_expiry_is_cancelled_and_after_it_expired() {
        let invoice = |state: InvoiceState| lnrpc::Invoice {
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
    fn chan_ids_become_short_channel_ids() {
        assert_eq!(
            short_channel_id((800_000 << 40) | (5 << 16) | 1),
            "800000x5x1"
        );
    }
}
