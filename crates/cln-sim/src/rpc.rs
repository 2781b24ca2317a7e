//! lightningd's JSON-RPC on a unix socket: requests parsed from the byte stream as they come
//! (no delimiter needed, several may be pipelined), each run concurrently, each answer written in
//! completion order and ended with "\n\n", as lightningd guarantees.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};

use crate::daemon::{Daemon, ScriptedAnswer};

/// A JSON-RPC error: code, message, optional data.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
    pub(crate) data: Option<Value>,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub(crate) fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// A parameter error (-32602), as lightningd words it outside developer mode.
    pub(crate) fn param(name: &str, problem: &str) -> Self {
        Self::new(
            -32602,
            format!("{name}: {problem}: invalid token (see logs for details)"),
        )
    }

    /// lightningd's catch-all (-1).
    pub(crate) fn general(message: impl Into<String>) -> Self {
        Self::new(-1, message)
    }

    fn to_json(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        error
    }
}

pub(crate) type RpcResult = Result<Value, RpcError>;

/// What the writer sends: an envelope, scripted bytes, or nothing more (the connection closes).
enum Outgoing {
    Envelope(Value),
    Raw(Vec<u8>),
    Close,
}

/// Serves one connection until the client closes it or `kill` changes.
/// `kill` must be subscribed when the connection is accepted, so that a kill sent before this task
/// first runs still ends it.
pub(crate) async fn serve_connection(
    daemon: Arc<Daemon>,
    stream: UnixStream,
    mut kill: watch::Receiver<u64>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (answers, mut outbox) = mpsc::unbounded_channel::<Outgoing>();
    let writing = tokio::spawn(async move {
        while let Some(answer) = outbox.recv().await {
            let bytes = match answer {
                Outgoing::Envelope(envelope) => {
                    let mut bytes = envelope.to_string().into_bytes();
                    bytes.extend_from_slice(b"\n\n");
                    bytes
                }
                Outgoing::Raw(bytes) => bytes,
                Outgoing::Close => return,
            };
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            read = reader.read(&mut chunk) => read,
            _ = kill.changed() => break,
        };
        let Ok(count @ 1..) = read else { break };
        buffer.extend_from_slice(&chunk[..count]);
        let mut objects = serde_json::Deserializer::from_slice(&buffer).into_iter::<Value>();
        let mut consumed = 0;
        loop {
            match objects.next() {
                Some(Ok(request)) => {
                    consumed = objects.byte_offset();
                    let daemon = Arc::clone(&daemon);
                    let answers = answers.clone();
                    let kill = kill.clone();
                    tokio::spawn(async move {
                        if let Some(answer) = answer(&daemon, request, kill).await {
                            let _ = answers.send(answer);
                        }
                    });
                }
                Some(Err(err)) if err.is_eof() => break,
                None => break,
                Some(Err(_)) => {
                    // lightningd drops a connection that sends what is not JSON.
                    writing.abort();
                    return;
                }
            }
        }
        buffer.drain(..consumed);
    }
    writing.abort();
}

/// Validates a request as lightningd does and runs it. `None` when the connection was killed
/// while it ran (its answer must not be sent).
async fn answer(
    daemon: &Daemon,
    request: Value,
    mut kill: watch::Receiver<u64>,
) -> Option<Outgoing> {
    let id = request.get("id").cloned();
    let envelope = |outcome: RpcResult, id: Value| match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()}),
    };
    let Some(id) = id.filter(|id| !id.is_object() && !id.is_array()) else {
        let message = if request.get("id").is_some() {
            "id must be a string or a primitive"
        } else {
            "No id"
        };
        return Some(Outgoing::Envelope(envelope(
            Err(RpcError::new(-32600, message)),
            Value::Null,
        )));
    };
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        let error = RpcError::new(-32600, "jsonrpc: \"2.0\" must be specified in the request");
        return Some(Outgoing::Envelope(envelope(Err(error), id)));
    }
    let Some(method) = request
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Some(Outgoing::Envelope(envelope(
            Err(RpcError::new(-32600, "No method")),
            id,
        )));
    };
    let Some(params) = request.get("params").cloned() else {
        return Some(Outgoing::Envelope(envelope(
            Err(RpcError::new(-32600, "No params")),
            id,
        )));
    };
    if let Some(scripted) = daemon.take_scripted(&method) {
        daemon.count_call(&method);
        return match scripted {
            ScriptedAnswer::Result(result) => Some(Outgoing::Envelope(envelope(Ok(result), id))),
            ScriptedAnswer::Error { code, message } => Some(Outgoing::Envelope(envelope(
                Err(RpcError::new(code, message)),
                id,
            ))),
            ScriptedAnswer::Raw(bytes) => Some(Outgoing::Raw(bytes)),
            ScriptedAnswer::Silence => None,
            ScriptedAnswer::Close => Some(Outgoing::Close),
        };
    }
    let outcome = tokio::select! {
        outcome = crate::methods::call(daemon, &method, params) => outcome,
        _ = kill.changed() => return None,
    };
    Some(Outgoing::Envelope(envelope(outcome, id)))
}
