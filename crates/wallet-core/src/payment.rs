//! Outgoing payments: pay requests, responses and states.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::amount::MAX_MONEY_MSAT;
use crate::{PaymentHash, Preimage, WalletError};

/// How long [`crate::Wallet::pay_invoice`] waits for a final state by default before it returns
/// [`PaymentStatus::Pending`].
pub const DEFAULT_PAY_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a single `pay_invoice` call may wait.
pub const MAX_PAY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// A request to pay a BOLT11 invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayInvoiceRequest {
    /// The BOLT11 invoice.
    pub bolt11: String,
    /// The amount to send, in millisatoshis, for an amountless invoice only.
    pub amount_msat: Option<u64>,
    /// The most the payment may spend on routing fees, in millisatoshis. There is no default:
    /// a zero limit allows only fee-free routes. [`crate::amount::default_fee_limit_msat`] gives
    /// LNbits' reserve.
    pub max_fee_msat: u64,
    /// How long to wait for a final state before returning [`PaymentStatus::Pending`]. The
    /// payment itself is not cancelled when this passes.
    pub timeout: Duration,
}

impl PayInvoiceRequest {
    /// A request to pay `bolt11`, spending at most `max_fee_msat` on fees, waiting
    /// [`DEFAULT_PAY_TIMEOUT`].
    pub fn new(bolt11: impl Into<String>, max_fee_msat: u64) -> Self {
        Self {
            bolt11: bolt11.into(),
            amount_msat: None,
            max_fee_msat,
            timeout: DEFAULT_PAY_TIMEOUT,
        }
    }

    /// Sets the amount, for amountless invoices.
    pub fn amount_msat(mut self, amount_msat: u64) -> Self {
        self.amount_msat = Some(amount_msat);
        self
    }

    /// Sets how long to wait for a final state.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the fields that need no decoding; the payment protocol ([`crate::pay`]) does the
    /// rest.
    pub fn validate(&self) -> Result<(), WalletError> {
        if self.bolt11.trim().is_empty() {
            return Err(WalletError::invalid("bolt11", "empty invoice"));
        }
        if self.max_fee_msat > MAX_MONEY_MSAT {
            return Err(WalletError::invalid(
                "max_fee_msat",
                format!("{} msat is more than 21M BTC", self.max_fee_msat),
            ));
        }
        if self.timeout.is_zero() {
            return Err(WalletError::invalid("timeout", "must be positive"));
        }
        if self.timeout > MAX_PAY_TIMEOUT {
            return Err(WalletError::invalid(
                "timeout",
                format!("{} s is longer than one hour", self.timeout.as_secs()),
            ));
        }
        Ok(())
    }
}

/// The answer to a payment (LNbits' `PaymentResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResponse {
    /// The id to check the payment with: always the invoice's payment hash.
    pub checking_id: PaymentHash,
    /// Where the payment stands.
    pub status: PaymentStatus,
}

/// The state of an outgoing payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PaymentStatus {
    /// In flight, or the outcome is not known yet. Money may have moved: never refund on this.
    Pending,
    /// Paid: the preimage is the proof.
    Succeeded {
        /// The preimage, checked to hash to the payment hash.
        preimage: Preimage,
        /// Routing fees paid, in millisatoshis.
        fee_msat: u64,
    },
    /// Failed for good, as the node itself said. No money left.
    Failed {
        /// Why.
        reason: FailureReason,
    },
    /// The backend has no payment with this hash.
    Unknown,
}

impl PaymentStatus {
    /// A success, after checking that `preimage` unlocks `payment_hash`.
    ///
    /// A node reporting success with a preimage that does not match has not proven anything,
    /// but money may have left: the answer is [`PaymentStatus::Pending`], never `Failed`.
    pub fn checked_success(payment_hash: &PaymentHash, preimage: Preimage, fee_msat: u64) -> Self {
        if payment_hash.is_paid_by(&preimage) {
            Self::Succeeded { preimage, fee_msat }
        } else {
            Self::Pending
        }
    }

    /// Whether the payment succeeded.
    pub fn is_succeeded(&self) -> bool {
        matches!(self, Self::Succeeded { .. })
    }

    /// Whether the node said the payment failed for good.
    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }

    /// Whether the state can no longer change on its own. A failed payment can still be retried.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Succeeded { .. } | Self::Failed { .. })
    }
}

/// Why a payment failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum FailureReason {
    /// No route to the payee within the fee limit.
    NoRoute,
    /// Not enough balance to pay amount and fees.
    InsufficientBalance,
    /// The payee rejected the payment details (unknown hash, wrong amount, expired, or a hold
    /// invoice it cancelled while the payment was held).
    IncorrectPaymentDetails,
    /// Attempts stopped at the payment timeout.
    Timeout,
    /// The payer's own node cancelled it (lnd's `FAILURE_REASON_CANCELED`).
    Canceled,
    /// Any other terminal failure, with the backend's words.
    Other(String),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoute => f.write_str("no route"),
            Self::InsufficientBalance => f.write_str("insufficient balance"),
            Self::IncorrectPaymentDetails => f.write_str("incorrect payment details"),
            Self::Timeout => f.write_str("timeout"),
            Self::Canceled => f.write_str("canceled by the payer"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pay_requests_name_the_field() {
        let cases = [
            (PayInvoiceRequest::new(" ", 0), "bolt11"),
            (
                PayInvoiceRequest::new("lnbc1", MAX_MONEY_MSAT + 1),
                "max_fee_msat",
            ),
            (
                PayInvoiceRequest::new("lnbc1", 0).timeout(Duration::ZERO),
                "timeout",
            ),
            (
                PayInvoiceRequest::new("lnbc1", 0).timeout(MAX_PAY_TIMEOUT * 2),
                "timeout",
            ),
        ];
        for (request, field) in cases {
            assert_eq!(request.validate().unwrap_err().field(), Some(field));
        }
    }

    #[test]
    fn a_success_with_a_wrong_preimage_is_pending_not_succeeded() {
        let preimage = Preimage::from_bytes([1; 32]);
        let hash = preimage.payment_hash();
        assert!(PaymentStatus::checked_success(&hash, preimage, 5).is_succeeded());
        let other = PaymentHash::from_bytes([9; 32]);
        assert_eq!(
            PaymentStatus::checked_success(&other, preimage, 5),
            PaymentStatus::Pending
        );
    }

    #[test]
    fn only_succeeded_and_failed_are_final() {
        let succeeded = PaymentStatus::Succeeded {
            preimage: Preimage::from_bytes([1; 32]),
            fee_msat: 0,
        };
        assert!(succeeded.is_final() && succeeded.is_succeeded());
        assert!(
            PaymentStatus::Failed {
                reason: FailureReason::NoRoute
            }
            .is_final()
        );
        assert!(!PaymentStatus::Pending.is_final());
        assert!(!PaymentStatus::Unknown.is_final());
    }
}
