//! Running the suite against real nodes: fault hooks that are shell commands the operator
//! provides, and timeouts that allow for real payments.

use std::time::Duration;

use async_trait::async_trait;
use wallet_core::PaymentHash;

use crate::harness::{FaultHooks, HarnessError, SpoiledAnswer, Timing};

/// Fault hooks for a real node, read from the environment under a prefix: `<PREFIX>_RESTART`,
/// `<PREFIX>_STOP` and `<PREFIX>_START` are shell commands (`sh -c`) that restart, stop and
/// start the node. A behaviour whose command is not set is reported unsupported, with the
/// variable to set. A real node cannot be made to stall, fail or lose a payment on request, so
/// those behaviours are unsupported too.
#[derive(Clone, Debug)]
pub struct CommandFaults {
    prefix: String,
    node_kind: String,
}

impl CommandFaults {
    /// Hooks from `<prefix>_RESTART`, `<prefix>_STOP` and `<prefix>_START`; `node_kind` (e.g.
    /// "lnd") names the node in the reasons given for unsupported behaviours.
    pub fn from_env(prefix: impl Into<String>, node_kind: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            node_kind: node_kind.into(),
        }
    }

    async fn run(&self, suffix: &str) -> Result<(), HarnessError> {
        let variable = format!("{}_{suffix}", self.prefix);
        let Ok(command) = std::env::var(&variable) else {
            return Err(HarnessError::Unsupported(format!(
                "set {variable} to a shell command to run this behaviour against a real node"
            )));
        };
        let status = tokio::process::Command::new("sh")
            .args(["-c", &command])
            .status()
            .await
            .map_err(|err| HarnessError::Failed(format!("{variable}: cannot run sh: {err}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(HarnessError::Failed(format!(
                "{variable} ({command}) exited with {status}"
            )))
        }
    }

    fn cannot(&self) -> HarnessError {
        HarnessError::Unsupported(format!(
            "a real {} cannot be made to stall, fail or lose a payment, or to answer lookups \
             slowly or about another hash, on request",
            self.node_kind
        ))
    }
}

#[async_trait]
impl FaultHooks for CommandFaults {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.run("RESTART").await
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.run("STOP").await
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.run("START").await
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn spoil_next_payment_answer(
        &self,
        _: SpoiledAnswer,
        _: Duration,
    ) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn misdirect_lookups(&self, _: Option<PaymentHash>) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn delay_lookups(&self, _: Duration) -> Result<(), HarnessError> {
        Err(self.cannot())
    }

    async fn dispatched_attempts(&self, _: &PaymentHash) -> Result<usize, HarnessError> {
        Err(HarnessError::Unsupported(
            "attempts are not counted on real nodes; balances are checked instead".into(),
        ))
    }
}

impl Timing {
    /// Timeouts for real nodes, where a payment crosses real channels.
    pub fn real_nodes() -> Self {
        Self {
            event: Duration::from_secs(30),
            pay: Duration::from_secs(60),
            behaviour: Duration::from_secs(300),
            // Past lnd's default 15 s call deadline.
            quiet: Duration::from_secs(20),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unset_command_makes_the_behaviour_unsupported_and_names_the_variable() {
        let faults = CommandFaults::from_env("WALLET_CONFORMANCE_TEST_UNSET_PREFIX", "node");
        match faults.restart_backend().await {
            Err(HarnessError::Unsupported(reason)) => {
                assert!(
                    reason.contains("WALLET_CONFORMANCE_TEST_UNSET_PREFIX_RESTART"),
                    "{reason}"
                );
            }
            other => panic!("expected unsupported, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn payment_faults_are_unsupported_on_real_nodes() {
        let faults = CommandFaults::from_env("X", "lightningd");
        assert!(
            matches!(faults.stall_next_payment().await, Err(HarnessError::Unsupported(reason)) if reason.contains("lightningd"))
        );
        assert!(matches!(
            faults
                .dispatched_attempts(&PaymentHash::from_bytes([0; 32]))
                .await,
            Err(HarnessError::Unsupported(_))
        ));
    }
}
