#![doc = include_str!("../README.md")]

mod convert;
mod daemon;
mod invoices;
mod lightning;
pub mod macaroon;
mod router;
mod scripted;
mod serve;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use scripted::ScriptBook;
pub use scripted::ScriptedReply;
use std::time::Duration;

use lnd_grpc::invoicesrpc::invoices_server::InvoicesServer;
use lnd_grpc::lnrpc::lightning_server::LightningServer;
use lnd_grpc::routerrpc::router_server::RouterServer;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use wallet_fake::FakeNode;

use crate::daemon::Daemon;
use crate::serve::{MacaroonLayer, incoming};
use crate::tls::TlsIdentity;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[error("lnd simulator: {0}")]
pub struct SimError(String);

fn error(what: &str, err: impl std::fmt::Display) -> SimError {
    SimError(format!("{what}: {err}"))
}

/// Where the simulator listens and writes its files.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The lnd directory: `tls.cert`, `tls.key`, and `data/chain/bitcoin/<network>/*.macaroon`,
    /// as lnd lays them out (so `lncli --lnddir <dir> --network <network>` finds them).
    pub dir: PathBuf,
    /// The loopback port; `None` picks a free one.
    pub port: Option<u16>,
}

impl SimOptions {
    /// Files in `dir`, on a free loopback port.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            port: None,
        }
    }
}

/// The files a client needs.
#[derive(Clone, Debug)]
pub struct SimFiles {
    /// The lnd directory.
    pub dir: PathBuf,
    /// The self-signed certificate to pin.
    pub tls_cert: PathBuf,
    /// Every permission.
    pub admin_macaroon: PathBuf,
    /// Invoices only: cannot pay.
    pub invoice_macaroon: PathBuf,
}

/// An lnd simulator serving one node of a [`wallet_fake::FakeNetwork`] over gRPC with TLS and
/// macaroons, on loopback. It can be stopped and started again on the same port with its state,
/// its certificate and its macaroons unchanged, like an lnd restart.
pub struct LndSimulator {
    daemon: Daemon,
    scripted: Arc<ScriptBook>,
    root_key: [u8; 32],
    identity: TlsIdentity,
    files: SimFiles,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for LndSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LndSimulator")
            .field("node", &self.daemon.node)
            .field("port", &self.daemon.port)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn random<const N: usize>() -> Result<[u8; N], SimError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|err| error("no randomness", err))?;
    Ok(bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| error(&format!("cannot create {}", parent.display()), err))?;
    }
    std::fs::write(path, bytes)
        .map_err(|err| error(&format!("cannot write {}", path.display()), err))
}

impl LndSimulator {
    /// Writes a fresh certificate and macaroons into `options.dir` and starts serving `node`.
    pub async fn start(node: FakeNode, options: SimOptions) -> Result<Self, SimError> {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let network = router::network_name(node.currency()).to_owned();
        let identity = tls::generate().map_err(|err| error("cannot make a certificate", err))?;
        let root_key = random::<32>()?;
        let macaroons = options
            .dir
            .join("data")
            .join("chain")
            .join("bitcoin")
            .join(&network);
        let files = SimFiles {
            tls_cert: options.dir.join("tls.cert"),
            admin_macaroon: macaroons.join("admin.macaroon"),
            invoice_macaroon: macaroons.join("invoice.macaroon"),
            dir: options.dir.clone(),
        };
        write(&files.tls_cert, identity.cert_pem.as_bytes())?;
        write(&options.dir.join("tls.key"), identity.key_pem.as_bytes())?;
        write(
            &files.admin_macaroon,
            &macaroon::mint(&root_key, random()?, macaroon::ADMIN),
        )?;
        write(
            &files.invoice_macaroon,
            &macaroon::mint(&root_key, random()?, macaroon::INVOICE),
        )?;
        let listener = TcpListener::bind(("127.0.0.1", options.port.unwrap_or(0)))
            .await
            .map_err(|err| error("cannot listen", err))?;
        let port = listener
            .local_addr()
            .map_err(|err| error("cannot listen", err))?
            .port();
        let daemon = Daemon {
            node,
            network,
            port,
            kill: Arc::new(watch::Sender::new(0)),
        };
        let simulator = Self {
            daemon,
            scripted: Arc::default(),
            root_key,
            identity,
            files,
            running: Mutex::new(None),
        };
        simulator.serve(listener).await?;
        Ok(simulator)
    }

    async fn serve(&self, listener: TcpListener) -> Result<(), SimError> {
        let tls = ServerTlsConfig::new().identity(Identity::from_pem(
            &self.identity.cert_pem,
            &self.identity.key_pem,
        ));
        let (stop, stopping) = watch::channel(false);
        let mut shutdown = stopping.clone();
        let router = Server::builder()
            .tls_config(tls)
            .map_err(|err| error("bad TLS configuration", err))?
            .layer(MacaroonLayer {
                root_key: self.root_key,
                scripted: Arc::clone(&self.scripted),
            })
            .add_service(LightningServer::new(self.daemon.clone()))
            .add_service(RouterServer::new(self.daemon.clone()))
            .add_service(InvoicesServer::new(self.daemon.clone()));
        let connections = incoming(listener, self.daemon.kill.subscribe(), stopping);
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            // The server only ends when told to; its error would be about a dead listener.
            let _ = router
                .serve_with_incoming_shutdown(connections, stopped)
                .await;
        });
        *self.running.lock().await = Some(Running { stop, task });
        Ok(())
    }

    /// The node served.
    pub fn node(&self) -> &FakeNode {
        &self.daemon.node
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.daemon.port
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.daemon.port)
    }

    /// lnd's network name, e.g. `regtest`.
    pub fn network(&self) -> &str {
        &self.daemon.network
    }

    /// The certificate and macaroon files.
    pub fn files(&self) -> &SimFiles {
        &self.files
    }

    /// The settings an LNbits `.env` has for this node with its admin macaroon
    /// (`LND_GRPC_ENDPOINT`, `LND_GRPC_PORT`, `LND_GRPC_CERT`, `LND_GRPC_MACAROON`): what any
    /// client of the LNbits settings connects with.
    pub fn settings(&self) -> wallet_core::Settings {
        wallet_core::Settings::new()
            .with("LND_GRPC_ENDPOINT", "127.0.0.1")
            .with("LND_GRPC_PORT", self.daemon.port.to_string())
            .with("LND_GRPC_CERT", self.files.tls_cert.display().to_string())
            .with(
                "LND_GRPC_MACAROON",
                self.files.admin_macaroon.display().to_string(),
            )
    }

    /// Stops serving like a crash: every open connection and stream breaks at once. The node's
    /// state, certificate and macaroons stay.
    pub async fn stop(&self) {
        let running = self.running.lock().await.take();
        self.daemon.drop_connections();
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
    }

    /// Serves again on the same port after [`LndSimulator::stop`]; does nothing if running.
    pub async fn resume(&self) -> Result<(), SimError> {
        if self.running.lock().await.is_some() {
            return Ok(());
        }
        let mut last_error = None;
        for _ in 0..50 {
            match TcpListener::bind(("127.0.0.1", self.daemon.port)).await {
                Ok(listener) => return self.serve(listener).await,
                Err(err) => last_error = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(error(
            &format!("cannot listen on port {} again", self.daemon.port),
            last_error.map_or_else(|| "unknown".to_owned(), |err| err.to_string()),
        ))
    }

    /// Stops and serves again: open streams end with an error, state survives.
    pub async fn restart(&self) -> Result<(), SimError> {
        self.stop().await;
        self.resume().await
    }

    /// Drops every open connection; the server keeps listening.
    pub fn drop_connections(&self) {
        self.daemon.drop_connections();
    }

    /// The next `count` HTLC attempts fail at a hop with a temporary channel failure. lnd retries
    /// them for as long as the payment's `timeout_seconds` allows (each a failed HTLC of the
    /// payment), then pays, or fails the payment when the timeout passes first.
    pub fn fail_next_attempts_temporarily(&self, count: u32) {
        self.daemon
            .node
            .control()
            .fail_next_attempts_temporarily(count);
    }

    /// The next payment is dispatched, then every connection drops before its answer is sent.
    pub fn lose_next_payment_answer(&self) {
        self.daemon.node.control().lose_next_payment_answer();
    }

    /// Answers the next call of the gRPC method at `path` (`/lnrpc.Lightning/GetInfo`) with
    /// `reply` instead of running it, once its macaroon passed: raw messages, truncated bodies,
    /// any status, silence or a reset stream.
    pub fn script_next(&self, path: &str, reply: ScriptedReply) {
        self.scripted.push(path, reply);
    }

    /// Drops every scripted reply no call has used yet.
    pub fn clear_scripted(&self) {
        self.scripted.clear();
    }
}

#[cfg(feature = "conformance")]
#[wallet_core::async_trait]
impl wallet_fake::conformance::ServesFakeNode for LndSimulator {
    fn fake_node(&self) -> &FakeNode {
        self.node()
    }

    async fn restart(&self) -> Result<(), String> {
        LndSimulator::restart(self)
            .await
            .map_err(|err| err.to_string())
    }

    async fn stop(&self) -> Result<(), String> {
        LndSimulator::stop(self).await;
        Ok(())
    }

    async fn start(&self) -> Result<(), String> {
        self.resume().await.map_err(|err| err.to_string())
    }
}
