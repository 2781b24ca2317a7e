//! Faults of whatever serves a node to its clients (the fake wallet itself, or a daemon
//! simulator in front of the node): answers that go wrong after a payment was dispatched, and
//! lookups that are slow or answer about another payment hash.
//!
//! They live with the node, so that every server of a [`crate::FakeNode`] is unkind in the same
//! way, and one [`crate::FakeControl`] switches them for all of them.

use std::time::Duration;

use wallet_core::PaymentHash;

/// What goes wrong with the answer to the next payment a node's client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerFaultKind {
    /// The connection drops before the answer arrives.
    Lost,
    /// The answer is empty: `{}` from lightningd, an empty message from lnd.
    Empty,
    /// The answer cannot be read: a wrong shape, garbage, an error nobody documented.
    Junk,
}

/// A spoiled answer to a payment: the payment is dispatched anyway, `dispatch_after` after the
/// request arrived (a node still searching for a route, a request queued behind others), so
/// that for a while the node has no record of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerFault {
    /// How the answer goes wrong.
    pub kind: AnswerFaultKind,
    /// How long after the request the node starts the payment.
    pub dispatch_after: Duration,
}

/// How a node's lookups of payments and invoices misbehave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookupFaults {
    /// Every lookup answers only after this long.
    pub delay: Duration,
    /// Every lookup answers with the records of this hash instead of the one asked for, as a
    /// buggy plugin or a hostile proxy might.
    pub misdirect_to: Option<PaymentHash>,
}

impl LookupFaults {
    /// Waits out the delay. No delay is no wait at all: a zero-length timer would still wait
    /// for the runtime's next timer tick, about a millisecond, on every lookup.
    pub async fn wait(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }

    /// The hash whose records answer a lookup of `asked`.
    pub fn answered_hash(&self, asked: &PaymentHash) -> PaymentHash {
        self.misdirect_to.unwrap_or(*asked)
    }
}
