//! Remote calls: the one way every backend sorts a call that got no result.
//!
//! What matters for money is whether the request can have reached the node. A backend knows its
//! transport (a refused unix-socket connect, a TCP connect error inside hyper, a reqwest connect
//! error) and sorts each failure into [`CallFailure`]; everything after that, from the payment
//! protocol's classification to the errors callers see, is decided here, once.

use std::future::Future;
use std::time::Duration;

use crate::pay::Dispatched;
use crate::{Cause, WalletError, describe_chain};

/// What broke in a transport: what could not be done, and the transport's own error beneath it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// What could not be done, e.g. "cannot connect to LNbits".
    pub message: String,
    /// The transport's error, kept whole for its cause chain.
    pub cause: Option<Cause>,
}

impl Broken {
    /// `message`, caused by `err`.
    pub fn because(
        message: impl Into<String>,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            cause: Some(Cause::new(err)),
        }
    }

    /// The message and the whole cause chain on one line, for a payment's pending reason.
    pub fn describe(&self) -> String {
        match &self.cause {
            Some(cause) => format!("{}: {}", self.message, describe_chain(cause)),
            None => self.message.clone(),
        }
    }

    /// As a [`WalletError::Unavailable`], the cause kept.
    pub fn unavailable(self) -> WalletError {
        WalletError::Unavailable {
            message: self.message,
            cause: self.cause,
        }
    }
}

impl From<String> for Broken {
    fn from(message: String) -> Self {
        Self {
            message,
            cause: None,
        }
    }
}

impl From<&str> for Broken {
    fn from(message: &str) -> Self {
        Self::from(message.to_owned())
    }
}

/// Why a remote call got no result. `E` is what the node answers errors with (a gRPC status, a
/// JSON-RPC error object, an HTTP answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure<E> {
    /// No connection was made: the node cannot have seen the request.
    NotConnected(Broken),
    /// The request may have reached the node: the connection broke or the deadline passed after
    /// it was written, or the answer could not be read.
    Lost(Broken),
    /// The node answered with an error.
    Node(E),
    /// The call cannot work as configured (the node's certificate is not the pinned one): no
    /// connection was made, and waiting will not help. The error names the setting.
    Misconfigured(WalletError),
}

impl<E> CallFailure<E> {
    /// The failure of a call that did not answer within `deadline`.
    pub fn deadline(node: &str, what: &str, deadline: Duration) -> Self {
        Self::Lost(
            format!(
                "{node} did not answer {what} within {} ms",
                deadline.as_millis()
            )
            .into(),
        )
    }

    /// The error for a call whose failure is safe to report as an error (anything but a
    /// payment): a transport failure is [`WalletError::Unavailable`], the node's own error is
    /// what `node` makes of it.
    pub fn into_error(self, node: impl FnOnce(E) -> WalletError) -> WalletError {
        match self {
            Self::NotConnected(broken) | Self::Lost(broken) => broken.unavailable(),
            Self::Misconfigured(error) => error,
            Self::Node(error) => node(error),
        }
    }

    /// The outcome of a payment dispatch that failed this way: never connected is
    /// [`Dispatched::NotSent`], lost is [`Dispatched::Unanswered`], and the node's own error is
    /// what `node` makes of it (only the backend knows which of its errors are documented
    /// refusals).
    pub fn into_dispatched(self, node: impl FnOnce(E) -> Dispatched) -> Dispatched {
        match self {
            Self::NotConnected(broken) => Dispatched::NotSent(broken.unavailable()),
            Self::Misconfigured(error) => Dispatched::NotSent(error),
            Self::Lost(broken) => Dispatched::Unanswered(broken.describe()),
            Self::Node(error) => node(error),
        }
    }
}

/// Runs `call`, giving up after `deadline` with [`CallFailure::Lost`]: the request may have been
/// written before time ran out. `node` and `what` name the node and the call in the message.
pub async fn call_within<T, E, F>(
    deadline: Duration,
    node: &str,
    what: &str,
    call: F,
) -> Result<T, CallFailure<E>>
where
    F: Future<Output = Result<T, CallFailure<E>>>,
{
    match tokio::time::timeout(deadline, call).await {
        Ok(result) => result,
        Err(_) => Err(CallFailure::deadline(node, what, deadline)),
    }
}

/// Runs a call that is safe to send twice (it only reads, or a second copy is harmless, as a
/// second unpaid invoice is) within `deadline` in all, and sends it once more, at once, when the
/// transport failed and time is left.
///
/// A pooled connection can die with a restart of the node before the pool notices: the first
/// request written on it is lost although the node is back, and a fresh connection would have
/// answered. Never use it for a payment or anything a repeat could change: those go through the
/// payment protocol, which asks the node what happened instead.
pub async fn call_repeatable_within<T, E, F, Fut>(
    deadline: Duration,
    node: &str,
    what: &str,
    mut call: F,
) -> Result<T, CallFailure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallFailure<E>>>,
{
    let started = tokio::time::Instant::now();
    match call_within(deadline, node, what, call()).await {
        Err(CallFailure::NotConnected(broken) | CallFailure::Lost(broken))
            if !deadline.saturating_sub(started.elapsed()).is_zero() =>
        {
            tracing::debug!(
                node,
                call = what,
                failure = %broken.describe(),
                "the transport failed; sending the call once more on a fresh connection"
            );
            let left = deadline.saturating_sub(started.elapsed());
            call_within(left, node, what, call()).await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A call that fails with `first` on its first send and answers `7` after.
    fn failing_once(
        first: CallFailure<i32>,
        sends: &AtomicU32,
    ) -> impl FnMut() -> std::future::Ready<Result<u32, CallFailure<i32>>> + '_ {
        move || {
            let send = sends.fetch_add(1, Ordering::SeqCst);
            std::future::ready(if send == 0 { Err(first.clone()) } else { Ok(7) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeatable_call_whose_transport_failed_is_sent_once_more() {
        for first in [
            CallFailure::Lost("broken pipe".into()),
            CallFailure::NotConnected("refused".into()),
        ] {
            let sends = AtomicU32::new(0);
            let answer = call_repeatable_within(
                Duration::from_secs(5),
                "lnd",
                "GetInfo",
                failing_once(first, &sends),
            )
            .await;
            assert_eq!(answer, Ok(7));
            assert_eq!(sends.load(Ordering::SeqCst), 2);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeatable_call_is_not_repeated_after_the_nodes_own_error_or_a_second_failure() {
        let sends = AtomicU32::new(0);
        let answer = call_repeatable_within(
            Duration::from_secs(5),
            "lnd",
            "GetInfo",
            failing_once(CallFailure::Node(2), &sends),
        )
        .await;
        assert_eq!(answer, Err(CallFailure::Node(2)));
        assert_eq!(sends.load(Ordering::SeqCst), 1);

        let sends = AtomicU32::new(0);
        let answer: Result<u32, CallFailure<i32>> =
            call_repeatable_within(Duration::from_secs(5), "lnd", "GetInfo", || {
                sends.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Err(CallFailure::Lost("reset".into())))
            })
            .await;
        assert_eq!(answer, Err(CallFailure::Lost("reset".into())));
        assert_eq!(sends.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeatable_call_keeps_to_one_deadline_in_all() {
        let sends = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let answer: Result<(), CallFailure<i32>> =
            call_repeatable_within(Duration::from_secs(5), "lnd", "GetInfo", || {
                sends.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Err(CallFailure::Lost("reset".into()))
                }
            })
            .await;
        assert_eq!(
            answer,
            Err(CallFailure::deadline(
                "lnd",
                "GetInfo",
                Duration::from_secs(2)
            ))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert_eq!(sends.load(Ordering::SeqCst), 2);

        let sends = AtomicU32::new(0);
        let answer: Result<(), CallFailure<i32>> =
            call_repeatable_within(Duration::from_secs(5), "lnd", "GetInfo", || {
                sends.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(())
                }
            })
            .await;
        assert_eq!(
            answer,
            Err(CallFailure::deadline(
                "lnd",
                "GetInfo",
                Duration::from_secs(5)
            ))
        );
        assert_eq!(
            sends.load(Ordering::SeqCst),
            1,
            "no time was left to repeat it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_past_its_deadline_is_lost_not_refused() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, CallFailure<()>>(())
        };
        let failure = call_within(Duration::from_secs(5), "lnd", "GetInfo", slow)
            .await
            .unwrap_err();
        assert_eq!(
            failure,
            CallFailure::Lost("lnd did not answer GetInfo within 5000 ms".into())
        );
    }

    #[test]
    fn transport_failures_are_unavailable_and_node_errors_are_the_backends() {
        let lost: CallFailure<i32> = CallFailure::Lost("reset".into());
        assert!(lost.into_error(|_| unreachable!()).is_retryable());
        let node: CallFailure<i32> = CallFailure::Node(205);
        assert_eq!(
            node.into_error(|code| WalletError::backend(Some(i64::from(code)), "no route")),
            WalletError::backend(Some(205), "no route")
        );
    }

    #[test]
    fn a_dispatch_that_never_connected_sent_nothing_and_a_lost_one_is_unanswered() {
        let never: CallFailure<()> = CallFailure::NotConnected("refused".into());
        assert!(matches!(
            never.into_dispatched(|()| unreachable!()),
            Dispatched::NotSent(WalletError::Unavailable { .. })
        ));
        let lost: CallFailure<()> = CallFailure::Lost("reset".into());
        assert!(matches!(
            lost.into_dispatched(|()| unreachable!()),
            Dispatched::Unanswered(_)
        ));
    }
}
