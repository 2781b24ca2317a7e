//! The conformance suite's fault hooks for anything that serves a [`FakeNode`]: the fake wallet
//! itself, or a daemon simulator in front of one (feature `conformance`).
//!
//! Payment, answer and lookup faults (stall, release, fail, spoil an answer, misdirect or delay
//! lookups, count attempts) act on the node, and every server of it honours them; restarts and
//! outages are the server's, through [`ServesFakeNode`].

use std::time::Duration;

use wallet_conformance::{FaultHooks, HarnessError, SpoiledAnswer};
use wallet_core::{FailureReason, PaymentHash, async_trait};

use crate::{AnswerFaultKind, FakeControl, FakeNode, Release};

/// Something that serves a [`FakeNode`] to clients and can be restarted, stopped and started.
#[async_trait]
pub trait ServesFakeNode: Send + Sync {
    /// The node served.
    fn fake_node(&self) -> &FakeNode;
    /// Restarts, keeping the node's state; open connections and streams break.
    async fn restart(&self) -> Result<(), String>;
    /// Stops serving: clients cannot reach the node.
    async fn stop(&self) -> Result<(), String>;
    /// Serves again after [`ServesFakeNode::stop`].
    async fn start(&self) -> Result<(), String>;
}

/// [`FaultHooks`] for what serves a fake node. Stalled payments are released as successes;
/// failed ones fail with `NoRoute`.
#[derive(Debug)]
pub struct NodeFaults<S>(pub S);

fn failed(message: String) -> HarnessError {
    HarnessError::Failed(message)
}

#[async_trait]
impl<S: ServesFakeNode> FaultHooks for NodeFaults<S> {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.0.restart().await.map_err(failed)
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.0.stop().await.map_err(failed)
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.0.start().await.map_err(failed)
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        self.0.fake_node().control().stall_next_payment();
        Ok(())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        self.0.fake_node().control().release_all(Release::Succeed);
        Ok(())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        self.0
            .fake_node()
            .control()
            .fail_next_payment(FailureReason::NoRoute);
        Ok(())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        self.0.fake_node().control().lose_next_payment_answer();
        Ok(())
    }

    async fn spoil_next_payment_answer(
        &self,
        answer: SpoiledAnswer,
        dispatch_after: Duration,
    ) -> Result<(), HarnessError> {
        let kind = match answer {
            SpoiledAnswer::Lost => AnswerFaultKind::Lost,
            SpoiledAnswer::Empty => AnswerFaultKind::Empty,
            SpoiledAnswer::Junk => AnswerFaultKind::Junk,
        };
        self.0
            .fake_node()
            .control()
            .spoil_next_payment_answer(kind, dispatch_after);
        Ok(())
    }

    async fn misdirect_lookups(&self, to: Option<PaymentHash>) -> Result<(), HarnessError> {
        self.0.fake_node().control().misdirect_lookups(to);
        Ok(())
    }

    async fn delay_lookups(&self, delay: Duration) -> Result<(), HarnessError> {
        self.0.fake_node().control().delay_lookups(delay);
        Ok(())
    }

    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let payment = self
            .0
            .fake_node()
            .payment(payment_hash)
            .map_err(|err| failed(err.to_string()))?;
        Ok(payment.map_or(0, |payment| payment.attempts.len()))
    }
}

/// The fake wallet serves its node in process: a restart breaks its streams, and "stopped" makes
/// every call fail as unreachable.
#[async_trait]
impl ServesFakeNode for FakeControl {
    fn fake_node(&self) -> &FakeNode {
        self.node()
    }

    async fn restart(&self) -> Result<(), String> {
        FakeControl::restart(self);
        Ok(())
    }

    async fn stop(&self) -> Result<(), String> {
        self.set_offline(true);
        Ok(())
    }

    async fn start(&self) -> Result<(), String> {
        self.set_offline(false);
        Ok(())
    }
}
