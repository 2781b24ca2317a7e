//! Calls to lightningd over its unix socket, one connection each, framed by cln-rpc's codec.
//!
//! A connection runs one request at a time and is never reused once broken, so every call opens
//! its own (a unix-socket connect is cheap): nothing queues behind the stream's long-poll. The
//! connection is this crate's own rather than `cln_rpc::ClnRpc`, so that one reply can be capped
//! (a hostile or buggy node could send hundreds of megabytes) and requests, which carry
//! preimages, are never logged. Failures are sorted into "never connected" (nothing can have
//! reached lightningd), "lost" (it may have) and "lightningd answered with an error".

use std::path::PathBuf;
use std::time::Duration;

use cln_rpc::codec::JsonCodec;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, Take};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::codec::{FramedRead, FramedWrite};
use wallet_core::call::Broken;
use wallet_core::call::call_within;
use wallet_core::untrusted::server_text;
use wallet_core::{Cause, WalletError};

/// An error lightningd answered with. `message` is as lightningd sent it, so that a secret it
/// quotes can be redacted whole before the text is cut; show it only through [`NodeError::said`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NodeError {
    pub(crate) code: i32,
    pub(crate) message: String,
}

impl NodeError {
    /// The message, safe to show: control characters replaced, cut.
    pub(crate) fn said(&self) -> String {
        server_text(&self.message)
    }

    /// This error with every `secret` in its message replaced by `shown_as`.
    pub(crate) fn redacted(mut self, secret: &str, shown_as: &str) -> Self {
        if !secret.is_empty() {
            self.message = self.message.replace(secret, shown_as);
        }
        self
    }
}

/// Why a call to lightningd got no result: wallet-core's classification, with lightningd's
/// error object.
pub(crate) type CallFailure = wallet_core::call::CallFailure<NodeError>;

/// The error for a call whose failure is safe to report as an error.
pub(crate) fn cln_error(failure: CallFailure) -> WalletError {
    failure.into_error(|error| WalletError::backend(Some(i64::from(error.code)), error.said()))
}

/// lightningd's socket.
#[derive(Clone, Debug)]
pub(crate) struct Rpc {
    pub(crate) socket: PathBuf,
    /// The largest reply read.
    pub(crate) max_reply_bytes: usize,
}

/// One connection to lightningd.
pub(crate) struct Connection {
    read: FramedRead<Take<OwnedReadHalf>, JsonCodec>,
    write: FramedWrite<OwnedWriteHalf, JsonCodec>,
    next_id: u64,
    max_reply_bytes: usize,
}

impl Connection {
    /// Sends `method` and reads its reply, at most `max_reply_bytes` of it.
    async fn request(&mut self, method: &str, params: &Value) -> Result<Value, CallFailure> {
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        // One byte past the cap, so that a reply of exactly the cap still reads: the limit runs
        // out only for a larger one.
        let limit = u64::try_from(self.max_reply_bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.read.get_mut().set_limit(limit);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.write.send(request).await.map_err(|err| {
            CallFailure::Lost(Broken {
                message: format!("sending {method} to lightningd failed"),
                cause: Some(Cause::snapshot(err.as_ref())),
            })
        })?;
        let read = self.read.next().await;
        if self.read.get_ref().limit() == 0 {
            tracing::warn!(
                method,
                limit = self.max_reply_bytes,
                "lightningd's reply is larger than the cap; not reading it"
            );
            return Err(CallFailure::Lost(
                format!(
                    "lightningd's reply to {method} was larger than {} bytes \
                 (CORELIGHTNING_MAX_REPLY_BYTES); not read",
                    self.max_reply_bytes
                )
                .into(),
            ));
        }
        let reply = match read {
            Some(Ok(reply)) => reply,
            Some(Err(err)) => {
                return Err(CallFailure::Lost(Broken {
                    message: format!("lightningd's reply to {method} is unreadable"),
                    cause: Some(Cause::snapshot(err.as_ref())),
                }));
            }
            None => {
                return Err(CallFailure::Lost(
                    format!("lightningd closed the connection during {method}").into(),
                ));
            }
        };
        if reply.get("id") != Some(&json!(id)) {
            return Err(CallFailure::Lost(
                format!("lightningd answered {method} with a reply to another request").into(),
            ));
        }
        if let Some(error) = reply.get("error") {
            let code = error
                .get("code")
                .and_then(Value::as_i64)
                .and_then(|code| i32::try_from(code).ok());
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned();
            return match code {
                Some(code) => Err(CallFailure::Node(NodeError { code, message })),
                None => Err(CallFailure::Lost(
                    format!(
                        "lightningd answered {method} with an error without a code: {}",
                        server_text(&message)
                    )
                    .into(),
                )),
            };
        }
        reply.get("result").cloned().ok_or_else(|| {
            CallFailure::Lost(
                format!("lightningd answered {method} with neither a result nor an error").into(),
            )
        })
    }
}

impl Rpc {
    /// Connects; the connection is this caller's alone.
    pub(crate) async fn connect(&self, deadline: Duration) -> Result<Connection, CallFailure> {
        match tokio::time::timeout(deadline, UnixStream::connect(&self.socket)).await {
            Ok(Ok(stream)) => {
                let (read, write) = stream.into_split();
                Ok(Connection {
                    read: FramedRead::new(read.take(0), JsonCodec::default()),
                    write: FramedWrite::new(write, JsonCodec::default()),
                    next_id: 0,
                    max_reply_bytes: self.max_reply_bytes,
                })
            }
            Ok(Err(err)) => Err(CallFailure::NotConnected(Broken::because(
                format!("cannot connect to lightningd at {}", self.socket.display()),
                err,
            ))),
            Err(_) => Err(CallFailure::NotConnected(
                format!(
                    "lightningd at {} did not accept the connection in time",
                    self.socket.display()
                )
                .into(),
            )),
        }
    }

    /// `method` with `params` on `connection`, within `deadline`.
    pub(crate) async fn call_on(
        connection: &mut Connection,
        method: &str,
        params: &Value,
        deadline: Duration,
    ) -> Result<Value, CallFailure> {
        call_within(
            deadline,
            "lightningd",
            method,
            connection.request(method, params),
        )
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
        let mut connection = self.connect(deadline).await?;
        let left = deadline.saturating_sub(started.elapsed());
        Self::call_on(&mut connection, method, &params, left).await
    }
}
