//! Errors of the fake node, typed so that simulators can map each to their daemon's own code.

use wallet_core::WalletError;

/// Why a fake node refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FakeNodeError {
    /// The node is offline (a fault set by [`crate::FakeControl::set_offline`]).
    #[error("node {0} is offline")]
    Offline(String),
    /// The connection was cut (a fault, or a simulated restart); subscribe again.
    #[error("connection to node {0} lost")]
    Disconnected(String),
    /// An invoice with this payment hash exists already.
    #[error("invoice with payment hash already exists")]
    DuplicateInvoice,
    /// No invoice has this payment hash.
    #[error("unable to locate invoice")]
    InvoiceNotFound,
    /// Settle was called before a payment arrived.
    #[error("invoice still open")]
    InvoiceStillOpen,
    /// Settle was called on a cancelled invoice.
    #[error("invoice already canceled")]
    InvoiceAlreadyCanceled,
    /// Cancel was called on a settled invoice.
    #[error("invoice already settled")]
    InvoiceAlreadySettled,
    /// Settle or cancel was called on an invoice that is not a hold invoice.
    #[error("invoice is not a hold invoice")]
    NotAHoldInvoice,
    /// A request field is invalid.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl From<FakeNodeError> for WalletError {
    fn from(err: FakeNodeError) -> Self {
        match err {
            FakeNodeError::Offline(_) | FakeNodeError::Disconnected(_) => {
                WalletError::unavailable(err.to_string())
            }
            FakeNodeError::DuplicateInvoice => WalletError::InvalidState(err.to_string()),
            FakeNodeError::InvoiceNotFound => WalletError::NotFound("invoice".into()),
            FakeNodeError::InvoiceStillOpen
            | FakeNodeError::InvoiceAlreadyCanceled
            | FakeNodeError::InvoiceAlreadySettled
            | FakeNodeError::NotAHoldInvoice => WalletError::InvalidState(err.to_string()),
            FakeNodeError::Invalid { field, reason } => {
                WalletError::InvalidRequest { field, reason }
            }
        }
    }
}
