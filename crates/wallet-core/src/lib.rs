#![doc = include_str!("../README.md")]

/// The contract: the rules every [`Wallet`] keeps, which the conformance suite checks and the
/// code cites by number.
///
#[doc = include_str!("../CONTRACT.md")]
pub mod contract {}

pub mod amount;
pub mod backoff;
pub mod bolt11;
pub mod call;
pub mod connection;
pub mod endpoint;
mod error;
mod features;
mod hash;
pub mod hex;
mod invoice;
mod node;
pub mod pay;
mod pay_lock;
mod payment;
pub mod registry;
mod secret;
mod stream;
pub mod supervisor;
#[cfg(test)]
mod test_invoices;
pub mod time;
pub mod untrusted;

#[cfg(test)]
mod proptests;
mod wallet;

pub use async_trait::async_trait;
pub use connection::ConnectionString;
pub use error::{Cause, PayError, WalletError, chain_texts, describe_chain, error_chain};
pub use features::{Features, WalletFeature};
pub use hash::{DescriptionHash, PaymentHash, Preimage, sha256};
pub use invoice::{
    HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus, MAX_EXPIRY, MAX_MEMO_BYTES,
    MAX_UNHASHED_DESCRIPTION_BYTES,
};
pub use node::{ChannelInfo, NodeInfo, PeerInfo};
pub use payment::{
    DEFAULT_PAY_TIMEOUT, FailureReason, MAX_PAY_TIMEOUT, PayInvoiceRequest, PaymentResponse,
    PaymentStatus,
};
pub use registry::{Registry, Settings};
pub use secret::Secret;
pub use stream::{PaidInvoice, PaidInvoiceStream, StreamCursor};
pub use supervisor::{StreamHealth, SupervisedStream, SupervisorConfig};
pub use wallet::{StatusResponse, Wallet};
