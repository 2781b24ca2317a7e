#![doc = include_str!("../README.md")]

mod daemon;
mod methods;
mod params;
mod rpc;

pub use daemon::ScriptedAnswer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use wallet_fake::FakeNode;

use crate::daemon::Daemon;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[error("lightningd simulator: {0}")]
pub struct SimError(String);

/// A lightningd simulator serving one node of a [`wallet_fake::FakeNetwork`] on a unix socket
/// at `<lightning-dir>/<network>/lightning-rpc`, as lightningd does. It can be stopped and
/// started again with its state kept, like a lightningd restart.
pub struct ClnSimulator {
    daemon: Arc<Daemon>,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for ClnSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClnSimulator")
            .field("node", &self.daemon.node)
            .field("socket", &self.daemon.socket)
            .finish_non_exhaustive()
    }
}

fn bind(socket: &Path) -> Result<UnixListener, SimError> {
    if let Some(parent) = socket.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| SimError(format!("cannot create {}: {err}", parent.display())))?;
    }
    // A socket file left by a stopped run would refuse the bind.
    let _ = std::fs::remove_file(socket);
    UnixListener::bind(socket)
        .map_err(|err| SimError(format!("cannot listen on {}: {err}", socket.display())))
}

impl ClnSimulator {
    /// Starts serving `node`, with `lightning_dir` as lightningd's directory.
    pub async fn start(
        node: FakeNode,
        lightning_dir: impl Into<PathBuf>,
    ) -> Result<Self, SimError> {
        let lightning_dir = lightning_dir.into();
        let network = daemon::network_name(node.currency());
        let socket = lightning_dir.join(network).join("lightning-rpc");
        let daemon = Arc::new(Daemon::new(node, lightning_dir, socket));
        let simulator = Self {
            daemon,
            running: Mutex::new(None),
        };
        simulator.resume().await?;
        Ok(simulator)
    }

    /// Serves again after [`ClnSimulator::stop`]; does nothing if running.
    pub async fn resume(&self) -> Result<(), SimError> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let listener = bind(&self.daemon.socket)?;
        let (stop, mut stopping) = watch::channel(false);
        let daemon = Arc::clone(&self.daemon);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            let kill = daemon.kill.subscribe();
                            tokio::spawn(rpc::serve_connection(Arc::clone(&daemon), stream, kill));
                        }
                    }
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
            }
        });
        *running = Some(Running { stop, task });
        Ok(())
    }

    /// Stops like a crash: every connection breaks at once and the socket disappears. The node's
    /// state and the invoices' labels stay.
    pub async fn stop(&self) {
        let running = self.running.lock().await.take();
        // The listener goes first, so no connection accepted after the kill survives it.
        if let Some(running) = running {
            let _ = running.stop.send(true);
            let mut task = running.task;
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        self.daemon.drop_connections();
        let _ = std::fs::remove_file(&self.daemon.socket);
    }

    /// Stops and serves again: open connections break, state survives.
    pub async fn restart(&self) -> Result<(), SimError> {
        self.stop().await;
        self.resume().await
    }

    /// Breaks every open connection; the socket keeps accepting.
    pub fn drop_connections(&self) {
        self.daemon.drop_connections();
    }

    /// The next payment is dispatched, then every connection drops before its answer.
    pub fn lose_next_payment_answer(&self) {
        self.daemon.node.control().lose_next_payment_answer();
    }

    /// Switches `xpay` off (`-32601 Unknown command`, as on a Core Lightning before 24.11 or with
    /// the xpay plugin disabled) or back on.
    pub fn set_xpay_enabled(&self, enabled: bool) {
        self.daemon.set_xpay_disabled(!enabled);
    }

    /// The next `xpay` answers error `code` at once while its payment stays in flight, as xpay
    /// without `xpay-slow-mode` does when one part of a multi-part payment fails and another is
    /// stuck at a hop. Release the payment with the node's `FakeControl`.
    pub fn fail_next_xpay_with_parts_in_flight(&self, code: i32) {
        self.daemon.push_early_failure(code);
    }

    /// The next `count` attempts fail at a hop with a temporary channel failure. xpay retries
    /// them for as long as its `retry_for` allows (each a failed attempt in `listsendpays`), then
    /// pays, or gives up with 209 when `retry_for` passes first.
    pub fn fail_next_attempts_temporarily(&self, count: u32) {
        self.daemon
            .node
            .control()
            .fail_next_attempts_temporarily(count);
    }

    /// Answers the next call of `method` with `result` as it is, doing nothing else: for tests of
    /// what a client makes of answers a buggy lightningd or plugin (or a hostile one) gives.
    pub fn answer_next_with(&self, method: &str, result: serde_json::Value) {
        self.daemon.script(method, ScriptedAnswer::Result(result));
    }

    /// Answers the next call of `method` with `answer`, doing nothing else: any envelope, raw
    /// bytes, silence or a closed connection.
    pub fn script_next(&self, method: &str, answer: ScriptedAnswer) {
        self.daemon.script(method, answer);
    }

    /// Drops every scripted answer no call has used yet.
    pub fn clear_scripted(&self) {
        self.daemon.clear_scripted();
    }

    /// Answers the next call of `method` with the error `code` and `message` as they are, doing
    /// nothing else.
    pub fn fail_next_with(&self, method: &str, code: i64, message: &str) {
        self.daemon.script(
            method,
            ScriptedAnswer::Error {
                code,
                message: message.to_owned(),
            },
        );
    }

    /// How many requests for `method` lightningd has received, answered or not.
    pub fn calls_of(&self, method: &str) -> usize {
        self.daemon.calls_of(method)
    }

    /// The node served.
    pub fn node(&self) -> &FakeNode {
        &self.daemon.node
    }

    /// The unix socket (`lightning-cli --rpc-file <this>`).
    pub fn socket_path(&self) -> &Path {
        &self.daemon.socket
    }

    /// lightningd's network name, e.g. `regtest`.
    pub fn network(&self) -> &str {
        self.daemon.network
    }
}

#[cfg(feature = "conformance")]
#[wallet_core::async_trait]
impl wallet_fake::conformance::ServesFakeNode for ClnSimulator {
    fn fake_node(&self) -> &FakeNode {
        self.node()
    }

    async fn restart(&self) -> Result<(), String> {
        ClnSimulator::restart(self)
            .await
            .map_err(|err| err.to_string())
    }

    async fn stop(&self) -> Result<(), String> {
        ClnSimulator::stop(self).await;
        Ok(())
    }

    async fn start(&self) -> Result<(), String> {
        self.resume().await.map_err(|err| err.to_string())
    }
}
