//! Deadlines on remote calls (contract rule 6).

use std::future::Future;
use std::time::Duration;

use crate::WalletError;

/// Runs `call`, giving up after `deadline` with [`WalletError::Unavailable`] naming `what`.
///
/// Use it for calls whose failure is safe to report as an error. For a payment already sent,
/// map the timeout to [`crate::PaymentStatus::Pending`] instead.
pub async fn with_deadline<T, F>(deadline: Duration, what: &str, call: F) -> Result<T, WalletError>
where
    F: Future<Output = Result<T, WalletError>>,
{
    match tokio::time::timeout(deadline, call).await {
        Ok(result) => result,
        Err(_) => Err(WalletError::Unavailable(format!(
            "{what} did not answer within {} ms",
            deadline.as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_call_past_its_deadline_is_unavailable() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, WalletError>(())
        };
        let err = with_deadline(Duration::from_secs(5), "status", slow)
            .await
            .unwrap_err();
        assert!(err.is_retryable());
        assert!(err.to_string().contains("status"), "{err}");
    }

    #[tokio::test]
    async fn a_fast_call_returns_its_result() {
        let result = with_deadline(Duration::from_secs(5), "x", async { Ok(7) }).await;
        assert_eq!(result, Ok(7));
    }
}
