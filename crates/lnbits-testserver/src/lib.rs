//! A real LNbits server from PyPI, on loopback, for tests.
//!
//! [`LnbitsServer::start`] installs a pinned LNbits release into a virtual environment (cached
//! between runs), starts it with its FakeWallet funding source on a free loopback port with an
//! empty data folder and every outbound feature switched off, waits until it answers, completes
//! the first-install step and funds two wallets. It writes a control file and hands the tests its
//! location in `LNBITS_TEST_CONTROL`; [`TestServer`] reads it in the test process to create
//! funded wallets and to restart or stop the server for fault tests. Dropping the
//! [`LnbitsServer`] stops whichever process serves at that moment and removes the data folder.
//!
//! [`LndFundedBed`] runs LNbits funded by lnd-sim instead (LNbits' own `LndWallet` over gRPC),
//! for the paths FakeWallet never takes: external payments, payments pending at the node, the
//! node's failures, hold invoices.
//!
//! This crate is test infrastructure: `cargo xtask conformance --backend lnbits` uses it. It is
//! not published.

mod control;
mod http;
mod on_lnd;
mod process;
mod venv;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

pub use control::{CONTROL_ENV, Control};
pub use http::WalletKeys;
pub use on_lnd::{LndFundedBed, WORK_DIR_ENV};
pub use venv::{LNBITS_VERSION, Venv};

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the venv, logs and control file go (e.g. `target/lnbits`).
    pub work_dir: PathBuf,
    /// The Python that creates the venv (3.10 to 3.12).
    pub python: String,
    /// The loopback port; `None` picks a free one.
    pub port: Option<u16>,
    /// Sats credited to each of the two wallets made at start.
    pub fund_sats: u64,
    /// How long the server may take to answer after each start.
    pub start_timeout: Duration,
    /// Where LNbits' money comes from.
    pub funding: Funding,
    /// Whether the server stops itself when the process that started it exits (see
    /// [`Control::die_with_parent`]).
    pub die_with_parent: bool,
}

/// LNbits' funding source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Funding {
    /// LNbits' FakeWallet: payments between wallets of this server only, settled at once.
    FakeWallet,
    /// LNbits' `LndWallet` on an lnd node (lnd-sim) at `127.0.0.1:port`: external payments,
    /// hold invoices and the node's failures, as with a real node.
    Lnd {
        /// The node's gRPC port on loopback.
        port: u16,
        /// Its `tls.cert`.
        cert: PathBuf,
        /// Its `admin.macaroon`.
        macaroon: PathBuf,
    },
}

impl Funding {
    /// The name of this kind of server's control and log files, so that a FakeWallet-funded and
    /// an lnd-funded server can share one work directory and venv.
    fn file_stem(&self) -> &'static str {
        match self {
            Self::FakeWallet => "lnbits",
            Self::Lnd { .. } => "lnbits-on-lnd",
        }
    }

    /// LNbits' settings for this funding source.
    fn env(&self) -> Vec<(String, String)> {
        let Self::Lnd {
            port,
            cert,
            macaroon,
        } = self
        else {
            return vec![("LNBITS_BACKEND_WALLET_CLASS".into(), "FakeWallet".into())];
        };
        [
            ("LNBITS_BACKEND_WALLET_CLASS", "LndWallet".to_owned()),
            ("LND_GRPC_ENDPOINT", "127.0.0.1".to_owned()),
            ("LND_GRPC_PORT", port.to_string()),
            ("LND_GRPC_CERT", cert.display().to_string()),
            ("LND_GRPC_MACAROON", macaroon.display().to_string()),
            // LNbits waits this long for the node's answer before it answers a payment
            // `pending` (default 5 s): short, so that payments held at the node come back
            // pending well within the suite's short timeouts.
            (
                "LNBITS_FUNDING_SOURCE_PAY_INVOICE_WAIT_SECONDS",
                PAY_WAIT_SECONDS.to_string(),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }
}

/// How long an lnd-funded LNbits waits for the node before answering a payment `pending`.
pub const PAY_WAIT_SECONDS: u64 = 1;

impl Options {
    /// Defaults under `work_dir`: `python3` (or `$LNBITS_PYTHON`), a free port, a million sats
    /// per wallet, two minutes to start.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            work_dir: work_dir.into(),
            python: std::env::var("LNBITS_PYTHON").unwrap_or_else(|_| "python3".into()),
            port: None,
            fund_sats: 1_000_000,
            start_timeout: Duration::from_secs(120),
            funding: Funding::FakeWallet,
            die_with_parent: false,
        }
    }

    /// The venv under the work directory, with LNbits installed (now, if it was not).
    pub fn ensure_venv(&self) -> Result<Venv, String> {
        std::fs::create_dir_all(&self.work_dir)
            .map_err(|err| format!("cannot create {}: {err}", self.work_dir.display()))?;
        Venv::ensure(
            &self.work_dir.join(format!("venv-{LNBITS_VERSION}")),
            &self.python,
        )
    }
}

/// A running server, owned by the process that started it. Dropping it stops the server.
#[derive(Debug)]
pub struct LnbitsServer {
    control_path: PathBuf,
    control: Control,
    child: Option<Child>,
    wallets: [WalletKeys; 2],
}

impl LnbitsServer {
    /// Installs (if needed), starts and bootstraps a fresh server.
    pub async fn start(options: &Options) -> Result<Self, String> {
        let work_dir = &options.work_dir;
        let venv = options.ensure_venv()?;
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let data_dir = data_dir(work_dir, port);
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir)
                .map_err(|err| format!("cannot clear {}: {err}", data_dir.display()))?;
        }
        std::fs::create_dir_all(&data_dir)
            .map_err(|err| format!("cannot create {}: {err}", data_dir.display()))?;
        let mut control = Control {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            site_packages: venv.site_packages()?,
            venv: venv.path.clone(),
            data_dir,
            home: work_dir.clone(),
            log: work_dir.join(format!("{}.log", options.funding.file_stem())),
            pid: 0,
            superuser_token: String::new(),
            funding_env: options.funding.env(),
            die_with_parent: options.die_with_parent,
        };
        let started = Instant::now();
        eprintln!(
            "lnbits-testserver: starting LNbits {LNBITS_VERSION} ({:?}) on {}",
            options.funding, control.endpoint
        );
        let mut child = process::spawn(&control)?;
        control.pid = child.id();
        let client = http::client()?;
        let ready = http::wait_ready(
            &client,
            &control.endpoint,
            Some(&mut child),
            options.start_timeout,
            &control.log,
        )
        .await;
        let mut server = Self {
            control_path: work_dir.join(format!("control-{}.json", options.funding.file_stem())),
            control,
            child: Some(child),
            wallets: Default::default(),
        };
        ready?;
        let token = http::first_install(&client, &server.control.endpoint).await?;
        server.control.superuser_token = token;
        server.control.save(&server.control_path)?;
        let endpoint = server.control.endpoint.clone();
        let token = server.control.superuser_token.clone();
        for (slot, name) in server.wallets.iter_mut().zip(["ci-wallet", "ci-peer"]) {
            *slot =
                http::create_wallet(&client, &endpoint, &token, name, options.fund_sats).await?;
        }
        eprintln!(
            "lnbits-testserver: ready in {:.1} s (log: {})",
            started.elapsed().as_secs_f32(),
            server.control.log.display()
        );
        Ok(server)
    }

    /// The base URL.
    pub fn endpoint(&self) -> &str {
        &self.control.endpoint
    }

    /// The control file, for [`TestServer::at`].
    pub fn control_path(&self) -> &Path {
        &self.control_path
    }

    /// Environment variables for tests and for the CLI: the endpoint, the control file, and the
    /// keys of the two funded wallets under LNbits' own names (`LNBITS_ADMIN_KEY`, ...) and as
    /// `LNBITS_PEER_*`.
    pub fn env(&self) -> Vec<(String, String)> {
        let [wallet, peer] = &self.wallets;
        [
            ("LNBITS_ENDPOINT", self.control.endpoint.clone()),
            (CONTROL_ENV, self.control_path.display().to_string()),
            ("LNBITS_ADMIN_KEY", wallet.admin_key.clone()),
            ("LNBITS_INVOICE_KEY", wallet.invoice_key.clone()),
            ("LNBITS_PEER_ADMIN_KEY", peer.admin_key.clone()),
            ("LNBITS_PEER_INVOICE_KEY", peer.invoice_key.clone()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// Stops whichever process serves now (a test may have restarted it) and removes the data.
    pub fn stop(&mut self) {
        let pid = Control::load(&self.control_path)
            .map(|control| control.pid)
            .unwrap_or(self.control.pid);
        process::stop(pid);
        if let Some(mut child) = self.child.take() {
            process::stop(child.id());
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.control.data_dir);
        let _ = std::fs::remove_file(&self.control_path);
    }
}

impl Drop for LnbitsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server started by another process (xtask), as a test sees it.
#[derive(Clone, Debug)]
pub struct TestServer {
    control_path: PathBuf,
    client: reqwest::Client,
}

impl TestServer {
    /// The server named by `LNBITS_TEST_CONTROL`. The error says how to start one.
    pub fn from_env() -> Result<Self, String> {
        let path = std::env::var_os(CONTROL_ENV).ok_or_else(|| {
            format!(
                "no LNbits server: these tests need a real one. Run them with \
                 `cargo xtask conformance --backend lnbits`, which installs LNbits {LNBITS_VERSION}, \
                 starts it and sets {CONTROL_ENV}"
            )
        })?;
        Self::at(PathBuf::from(path))
    }

    /// The server whose control file is `control_path`.
    pub fn at(control_path: PathBuf) -> Result<Self, String> {
        Control::load(&control_path)?;
        Ok(Self {
            control_path,
            client: http::client()?,
        })
    }

    fn control(&self) -> Result<Control, String> {
        Control::load(&self.control_path)
    }

    /// The base URL.
    pub fn endpoint(&self) -> Result<String, String> {
        Ok(self.control()?.endpoint)
    }

    /// A new wallet with `fund_sats` in it.
    pub async fn new_wallet(&self, name: &str, fund_sats: u64) -> Result<WalletKeys, String> {
        let control = self.control()?;
        http::create_wallet(
            &self.client,
            &control.endpoint,
            &control.superuser_token,
            name,
            fund_sats,
        )
        .await
    }

    /// Stops the server (the data stays). Calls fail until [`TestServer::start`].
    pub fn stop(&self) -> Result<(), String> {
        process::stop(self.control()?.pid);
        Ok(())
    }

    /// Starts the server again on the same port and data, if it is not running, and waits until
    /// it answers.
    pub async fn start(&self) -> Result<(), String> {
        let mut control = self.control()?;
        if process::is_our_server(control.pid) {
            return Ok(());
        }
        let mut child = process::spawn(&control)?;
        control.pid = child.id();
        control.save(&self.control_path)?;
        http::wait_ready(
            &self.client,
            &control.endpoint,
            Some(&mut child),
            Duration::from_secs(120),
            &control.log,
        )
        .await
    }

    /// Stops and starts the server: open connections break, state survives.
    pub async fn restart(&self) -> Result<(), String> {
        self.stop()?;
        self.start().await
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|err| format!("no free loopback port: {err}"))
}

/// The data folder: in memory where the machine has `/dev/shm`, since SQLite's syncs on a busy
/// disk make startup vary from 4 to 11 s.
fn data_dir(work_dir: &Path, port: u16) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!("lnwallet-lnbits-{port}"))
    } else {
        work_dir.join(format!("data-{port}"))
    }
}
