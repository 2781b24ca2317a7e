//! Fault controls: what tests use to make a node misbehave the way real nodes do.

use std::time::Duration;

use wallet_core::{FailureReason, PaymentHash};

use crate::faults::{AnswerFault, AnswerFaultKind};
use crate::node::FakeNode;
use crate::state::PaymentFault;

/// How to resolve a stalled payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// Deliver it: the payee is paid and the payer learns the preimage.
    Succeed,
    /// Fail it: the payer gets the money back.
    Fail(FailureReason),
}

/// Fault controls of one node. Faults on payments apply to the next payments this node sends,
/// in the order they were set.
#[derive(Clone, Debug)]
pub struct FakeControl {
    node: FakeNode,
}

impl FakeControl {
    pub(crate) fn new(node: FakeNode) -> Self {
        Self { node }
    }

    /// The node these controls act on.
    pub fn node(&self) -> &FakeNode {
        &self.node
    }

    fn push_fault(&self, fault: PaymentFault) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.faults.push_back(fault);
        }
    }

    /// The next payment fails at once with `reason`; no money moves.
    pub fn fail_next_payment(&self, reason: FailureReason) {
        self.push_fault(PaymentFault::Fail(reason));
    }

    /// Takes back the newest fault set for the next payments, if any (one that no payment will
    /// use after all).
    pub fn clear_next_failure(&self) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.faults.pop_back();
        }
    }

    /// The next `count` attempts made through [`FakeNode::pay_retrying_temporary_failures`] fail
    /// at a hop with a temporary channel failure; the node retries each, as lnd and xpay do.
    pub fn fail_next_attempts_temporarily(&self, count: u32) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.temporary_failures = node.temporary_failures.saturating_add(count);
        }
    }

    /// The next payment is dispatched (the money is locked) and stays in flight until
    /// [`FakeControl::release_payment`].
    pub fn stall_next_payment(&self) {
        self.push_fault(PaymentFault::Stall);
    }

    /// The next payment stays in flight for `delay`, then succeeds.
    pub fn delay_next_payment(&self, delay: Duration) {
        self.push_fault(PaymentFault::SucceedAfter(delay));
    }

    /// The next payment goes its way, but the wallet's answer to it is lost, as if the
    /// connection to the node dropped after the request was sent: `pay_invoice` cannot know the
    /// outcome and says `Pending`.
    pub fn lose_next_payment_answer(&self) {
        self.spoil_next_payment_answer(AnswerFaultKind::Lost, Duration::ZERO);
    }

    /// The answer to the next payment goes wrong as `kind` says, and the node starts the
    /// payment only `dispatch_after` after the request arrived: until then, a lookup of the
    /// hash finds nothing new.
    pub fn spoil_next_payment_answer(&self, kind: AnswerFaultKind, dispatch_after: Duration) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.answer_faults.push_back(AnswerFault {
                kind,
                dispatch_after,
            });
        }
    }

    /// From now on every lookup of a payment or invoice answers with the records of `to`
    /// instead of the hash asked for; `None` ends that.
    pub fn misdirect_lookups(&self, to: Option<PaymentHash>) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.lookup_faults.misdirect_to = to;
        }
    }

    /// From now on every lookup of a payment or invoice answers only after `delay`;
    /// [`Duration::ZERO`] ends that.
    pub fn delay_lookups(&self, delay: Duration) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.lookup_faults.delay = delay;
        }
    }

    /// Resolves a stalled or delayed payment. `false` if it was not in flight, or is held by a
    /// hold invoice (which only its owner can settle).
    pub fn release_payment(&self, payment_hash: &PaymentHash, release: Release) -> bool {
        let now = wallet_core::time::unix_now();
        let failure = match release {
            Release::Succeed => None,
            Release::Fail(reason) => Some(reason),
        };
        let mut state = self.node.network.shared.lock();
        state
            .release(&self.node.id, payment_hash, failure, now)
            .unwrap_or(false)
    }

    /// Resolves every payment of this node still in flight; returns how many were resolved.
    pub fn release_all(&self, release: Release) -> usize {
        let in_flight = self.node.network.shared.lock().in_flight(&self.node.id);
        in_flight
            .iter()
            .filter(|hash| self.release_payment(hash, release.clone()))
            .count()
    }

    /// Ends every open paid-invoice stream of this node with an error, as a dropped connection
    /// would.
    pub fn cut_streams(&self) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.connection_generation += 1;
            node.notify();
        }
    }

    /// Simulates a restart: streams end with an error; invoices, payments and balances survive.
    pub fn restart(&self) {
        self.cut_streams();
    }

    /// Takes the node offline (every call fails as unreachable, streams end, payments to it find
    /// no route) or back online.
    pub fn set_offline(&self, offline: bool) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.offline = offline;
            node.notify();
        }
    }

    /// Sets the node's balance.
    pub fn set_balance_msat(&self, balance_msat: u64) {
        let mut state = self.node.network.shared.lock();
        if let Ok(node) = state.node_mut(&self.node.id) {
            node.balance_msat = balance_msat;
            node.notify();
        }
    }
}
