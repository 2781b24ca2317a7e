#![doc = include_str!("../README.md")]

mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
mod control;
mod error;
mod faults;
mod keys;
mod network;
mod node;
pub mod settings;
mod snapshot;
mod state;
pub mod store;
mod wallet;

pub use config::{NetworkConfig, NodeConfig};
pub use control::{FakeControl, Release};
pub use error::FakeNodeError;
pub use faults::{AnswerFault, AnswerFaultKind, LookupFaults};
pub use network::FakeNetwork;
pub use node::{FakeNode, NewInvoice, TemporaryFailures};
pub use snapshot::{
    AttemptSnapshot, FakeInvoiceState, FakePaymentState, InvoiceSnapshot, NodeId, PaymentSnapshot,
    SendOutcome,
};
pub use store::{FakeNetworkDir, StoredFakeWallet};
pub use wallet::FakeWallet;
