//! Read-only views of a fake node's invoices and payments.
//!
//! Simulators of real daemons map these onto their wire formats, so they carry everything lnd
//! and Core Lightning report: add and settle indices, attempts per payment, hold states.

use wallet_core::{DescriptionHash, FailureReason, PaymentHash, Preimage};

/// A node id: the 33-byte compressed public key.
pub type NodeId = [u8; 33];

/// An invoice as the node sees it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceSnapshot {
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// The signed BOLT11 string.
    pub bolt11: String,
    /// The amount asked for, if any, in millisatoshis.
    pub amount_msat: Option<u64>,
    /// The memo (kept even when the invoice commits to a description hash).
    pub memo: String,
    /// The description hash the invoice commits to, if any.
    pub description_hash: Option<DescriptionHash>,
    /// The payment secret the payer must echo.
    pub payment_secret: [u8; 32],
    /// The preimage, once the node knows it (a hold invoice's only after settling).
    pub preimage: Option<Preimage>,
    /// Whether this is a hold invoice.
    pub is_hold: bool,
    /// Creation time, in Unix seconds.
    pub created_at: u64,
    /// Seconds after creation until it expires.
    pub expiry_secs: u64,
    /// Position in creation order, from 1 (lnd's `add_index`).
    pub add_index: u64,
    /// The state now.
    pub state: FakeInvoiceState,
}

impl InvoiceSnapshot {
    /// When it expires, in Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(self.expiry_secs)
    }
}

/// The state of a fake invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FakeInvoiceState {
    /// Waiting for payment (a payment may be in flight to it).
    Open,
    /// A hold invoice whose payment is locked in, waiting for settle or cancel.
    Accepted {
        /// The amount locked in.
        amount_msat: u64,
    },
    /// Paid.
    Settled {
        /// The amount received.
        amount_received_msat: u64,
        /// Position in settle order, from 1 (lnd's `settle_index`, CLN's `pay_index`).
        settle_index: u64,
        /// When, in Unix seconds.
        paid_at: u64,
    },
    /// Cancelled by its creator.
    Canceled,
    /// Open past its expiry.
    Expired,
}

/// An outgoing payment, with every attempt made for its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSnapshot {
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// The invoice paid.
    pub bolt11: String,
    /// The payee's node id.
    pub payee: NodeId,
    /// The amount delivered to the payee, in millisatoshis.
    pub amount_msat: u64,
    /// When the first attempt started, in Unix seconds.
    pub created_at: u64,
    /// Position in payment order, from 1.
    pub payment_index: u64,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptSnapshot>,
    /// The state all attempts add up to.
    pub state: FakePaymentState,
}

/// One attempt to pay a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptSnapshot {
    /// The routing fee of this attempt, in millisatoshis.
    pub fee_msat: u64,
    /// When it started, in Unix seconds.
    pub started_at: u64,
    /// Where it stands.
    pub state: FakePaymentState,
}

/// The state of a payment or attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FakePaymentState {
    /// In flight.
    InFlight,
    /// Paid.
    Succeeded {
        /// The proof of payment.
        preimage: Preimage,
        /// Routing fees paid.
        fee_msat: u64,
    },
    /// Failed for good.
    Failed {
        /// Why.
        reason: FailureReason,
    },
}

impl FakePaymentState {
    /// Whether the state is final.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::InFlight)
    }
}

/// The answer to a payment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// A new attempt was made.
    Dispatched(PaymentSnapshot),
    /// A payment of this hash is in flight or succeeded already; nothing new was sent.
    AlreadyExists(PaymentSnapshot),
}

impl SendOutcome {
    /// The payment, however it came about.
    pub fn payment(&self) -> &PaymentSnapshot {
        match self {
            Self::Dispatched(payment) | Self::AlreadyExists(payment) => payment,
        }
    }
}
