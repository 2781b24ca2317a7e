//! The paid-invoice stream: items, resume cursors and the stream type backends return.

use std::fmt;

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{PaymentHash, WalletError};

/// Where a paid-invoice stream stands, as an opaque string the caller can persist and hand back
/// to [`crate::Wallet::paid_invoices_stream`] after a restart.
///
/// Each backend defines the contents (lnd's `settle_index`, Core Lightning's `pay_index`, the
/// fake network's sequence number); callers only store and return them.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamCursor(String);

impl StreamCursor {
    /// Wraps a backend's cursor text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// A cursor holding a sequence number, the form most backends use.
    pub fn from_index(index: u64) -> Self {
        Self(index.to_string())
    }

    /// Reads a cursor made by [`StreamCursor::from_index`]; an error names the field `cursor`.
    pub fn to_index(&self) -> Result<u64, WalletError> {
        self.0.parse().map_err(|_| {
            WalletError::invalid(
                "cursor",
                format!("{:?} is not a cursor of this backend", self.0),
            )
        })
    }

    /// The text to persist.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StreamCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamCursor({})", self.0)
    }
}

impl fmt::Display for StreamCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An invoice that was paid, as announced by [`crate::Wallet::paid_invoices_stream`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidInvoice {
    /// The invoice's payment hash (its `checking_id`).
    pub payment_hash: PaymentHash,
    /// The amount received, in millisatoshis.
    pub amount_received_msat: u64,
    /// When it was settled, in Unix seconds.
    pub paid_at: u64,
    /// Persist this to resume the stream right after this item.
    pub cursor: StreamCursor,
}

/// The stream a backend returns: paid invoices in settle order, ending with an `Err` item when
/// the connection is lost. It never ends silently while the connection is up.
pub type PaidInvoiceStream = BoxStream<'static, Result<PaidInvoice, WalletError>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_cursors_round_trip_and_garbage_is_a_field_error() {
        assert_eq!(StreamCursor::from_index(42).to_index(), Ok(42));
        assert_eq!(
            StreamCursor::new("x").to_index().unwrap_err().field(),
            Some("cursor")
        );
    }
}
