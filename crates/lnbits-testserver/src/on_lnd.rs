//! LNbits funded by lnd-sim: LNbits' own `LndWallet` speaking gRPC over TLS with a macaroon to an
//! lnd simulator, whose node is part of an in-process [`FakeNetwork`]. Tests add counterparties
//! to that network, so the LNbits wallets under test make real external payments, hold invoices
//! and meet the node's failures.
//!
//! The test process starts the bed for itself, once: [`LndFundedBed::shared`]. The simulator
//! runs on a runtime of its own, which outlives each test's runtime; the LNbits server stops
//! itself when the test process exits ([`crate::Options::die_with_parent`]).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lnd_sim::{LndSimulator, SimOptions};
use tokio::sync::OnceCell;
use wallet_fake::{FakeNetwork, FakeNode, NodeConfig};

use crate::{Funding, LnbitsServer, Options, TestServer};

/// The environment variable naming the work directory (venv, logs, control files).
pub const WORK_DIR_ENV: &str = "LNBITS_TEST_WORK_DIR";

/// The funding node's balance: enough for every payment a test run makes.
const FUNDING_BALANCE_MSAT: u64 = 100_000_000_000;

/// An LNbits server funded by an lnd-sim node, and the network around it.
#[derive(Debug)]
pub struct LndFundedBed {
    runtime: tokio::runtime::Handle,
    network: FakeNetwork,
    lnd: Arc<LndSimulator>,
    server: TestServer,
    /// The process that started the server owns it; kept so that its child handle lives.
    _owner: LnbitsServer,
}

static SHARED: OnceCell<Result<LndFundedBed, String>> = OnceCell::const_new();

impl LndFundedBed {
    /// The bed of this process, started on first use: lnd-sim on a free loopback port with its
    /// certificate and macaroons under `work_dir/lnd-sim`, and an LNbits server (the venv under
    /// `work_dir`, installed if missing) funded by it. Later calls return the same bed.
    pub async fn shared(work_dir: &Path) -> Result<&'static Self, String> {
        SHARED
            .get_or_init(|| start_on_own_runtime(work_dir.to_path_buf()))
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// [`LndFundedBed::shared`] with the work directory `$LNBITS_TEST_WORK_DIR` names (xtask sets
    /// it), else the workspace's `target/lnbits`.
    pub async fn shared_from_env() -> Result<&'static Self, String> {
        let work_dir = std::env::var_os(WORK_DIR_ENV).map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/lnbits"),
            PathBuf::from,
        );
        Self::shared(&work_dir).await
    }

    /// The network the funding node is part of: add counterparties here.
    pub fn network(&self) -> &FakeNetwork {
        &self.network
    }

    /// The node funding LNbits: its ledger, and the faults its payments meet.
    pub fn funding_node(&self) -> &FakeNode {
        self.lnd.node()
    }

    /// The LNbits server: wallets, restarts.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// Runs `job` on the bed's runtime, where the simulator's tasks must live (a test's own
    /// runtime ends with the test).
    pub async fn run<T, F>(&self, job: F) -> Result<T, String>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime
            .spawn(job)
            .await
            .map_err(|err| format!("the bed's runtime lost a job: {err}"))
    }

    /// Restarts lnd-sim under LNbits: every connection and stream LNbits has breaks; the node's
    /// state survives.
    pub async fn restart_lnd(&self) -> Result<(), String> {
        let lnd = Arc::clone(&self.lnd);
        self.run(async move { lnd.restart().await.map_err(|err| err.to_string()) })
            .await?
    }

    /// Drops every connection LNbits has to lnd-sim; lnd-sim keeps listening.
    pub fn drop_lnd_connections(&self) {
        self.lnd.drop_connections();
    }

    /// Stops lnd-sim: LNbits cannot reach its node until [`LndFundedBed::start_lnd`].
    pub async fn stop_lnd(&self) -> Result<(), String> {
        let lnd = Arc::clone(&self.lnd);
        self.run(async move { lnd.stop().await }).await
    }

    /// Serves the node again after [`LndFundedBed::stop_lnd`].
    pub async fn start_lnd(&self) -> Result<(), String> {
        let lnd = Arc::clone(&self.lnd);
        self.run(async move { lnd.resume().await.map_err(|err| err.to_string()) })
            .await?
    }
}

/// Starts the bed on a thread with its own runtime, which then lives as long as the process.
async fn start_on_own_runtime(work_dir: PathBuf) -> Result<LndFundedBed, String> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("lnbits-on-lnd".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = sender.send(Err(format!("cannot start the bed's runtime: {err}")));
                    return;
                }
            };
            let started = runtime.block_on(start(work_dir, runtime.handle().clone()));
            let _ = sender.send(started);
            runtime.block_on(std::future::pending::<()>());
        })
        .map_err(|err| format!("cannot start the bed's thread: {err}"))?;
    receiver
        .await
        .map_err(|_| "the bed's thread ended before the bed started".to_owned())?
}

async fn start(work_dir: PathBuf, runtime: tokio::runtime::Handle) -> Result<LndFundedBed, String> {
    let network = FakeNetwork::new();
    let mut config = NodeConfig::new("lnbits-funding");
    config.initial_balance_msat = FUNDING_BALANCE_MSAT;
    let node = network.add_node(config).map_err(|err| err.to_string())?;
    let lnd_dir = work_dir.join("lnd-sim");
    if lnd_dir.exists() {
        std::fs::remove_dir_all(&lnd_dir)
            .map_err(|err| format!("cannot clear {}: {err}", lnd_dir.display()))?;
    }
    let lnd = LndSimulator::start(node, SimOptions::in_dir(lnd_dir))
        .await
        .map_err(|err| format!("cannot start lnd-sim: {err}"))?;
    eprintln!(
        "lnbits-testserver: lnd-sim serving the funding node on {}",
        lnd.address()
    );
    let files = lnd.files().clone();
    let mut options = Options::new(work_dir);
    options.funding = Funding::Lnd {
        port: lnd.port(),
        cert: files.tls_cert,
        macaroon: files.admin_macaroon,
    };
    options.die_with_parent = true;
    let owner = LnbitsServer::start(&options).await?;
    let server = TestServer::at(owner.control_path().to_path_buf())?;
    Ok(LndFundedBed {
        runtime,
        network,
        lnd: Arc::new(lnd),
        server,
        _owner: owner,
    })
}
