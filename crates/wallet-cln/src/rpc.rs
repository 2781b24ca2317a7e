//! Calls over cln-rpc, one connection each.
//!
//! A cln-rpc connection runs one request at a time and never recovers once broken, so every call
//! opens its own (a unix-socket connect is cheap): nothing queues behind the stream's long-poll,
//! and a broken socket is never reused. Failures are sorted into "never connected" (nothing can
//! have reached lightningd), "lost" (it may have) and "lightningd answered with an error".

use std::path::PathBuf;
use std::time::Duration;

use cln_rpc::ClnRpc;
use serde_json::Value;
use wallet_core::WalletError;
use wallet_core::call::call_within;

/// An error lightningd answered with.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NodeError {
    pub(crate) code: i32,
    pub(crate) message: String,
}

/// Why a call to lightningd got no result: wallet-core's classification, with lightningd's
/// error object.
pub(crate) type CallFailure = wallet_core::call::CallFailure<NodeError>;

/// The error for a call whose failure is safe to report as an error.
pub(crate) fn cln_error(failure: CallFailure) -> WalletError {
    failure.into_error(|error| WalletError::backend(Some(i64::from(error.code)), error.message))
}

/// lightningd's socket.
#[derive(Clone, Debug)]
pub(crate) struct Rpc {
    pub(crate) socket: PathBuf,
}

impl Rpc {
    /// Connects; the connection is this caller's alone.
    pub(crate) async fn connect(&self, deadline: Duration) -> Result<ClnRpc, CallFailure> {
        match tokio::time::timeout(deadline, ClnRpc::new(&self.socket)).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(err)) => Err(CallFailure::NotConnected(format!(
                "cannot connect to lightningd at {}: {err}",
                self.socket.display()
            ))),
            Err(_) => Err(CallFailure::NotConnected(format!(
                "lightningd at {} did not accept the connection in time",
                self.socket.display()
            ))),
        }
    }

    /// `method` with `params` on `client`, within `deadline`.
    pub(crate) async fn call_on(
        client: &mut ClnRpc,
        method: &str,
        params: &Value,
        deadline: Duration,
    ) -> Result<Value, CallFailure> {
        call_within(deadline, "lightningd", method, async {
            client
                .call_raw::<Value, Value>(method, params)
                .await
                .map_err(|error| match error.code {
                    Some(code) => CallFailure::Node(NodeError {
                        code,
                        message: error.message,
                    }),
                    None => CallFailure::Lost(format!(
                        "lightningd connection failed during {method}: {}",
                        error.message
                    )),
                })
        })
        .await
    }

    /// `method` with `params` on a connection of its own, within `deadline` (connect included).
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Value,
        deadline: Duration,
    ) -> Result<Value, CallFailure> {
        let started = tokio::time::Instant::now();
        let mut client = self.connect(deadline).await?;
        let left = deadline.saturating_sub(started.elapsed());
        Self::call_on(&mut client, method, &params, left).await
    }
}
