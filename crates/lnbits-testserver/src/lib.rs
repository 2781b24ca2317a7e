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
//! This crate is test infrastructure: `cargo xtask conformance --backend lnbits` uses it. It is
//! not published.

mod control;
mod http;
mod process;
mod venv;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

pub use control::{CONTROL_ENV, Control};
pub use http::WalletKeys;
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
}

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
        }
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
        std::fs::create_dir_all(work_dir)
            .map_err(|err| format!("cannot create {}: {err}", work_dir.display()))?;
        let venv = Venv::ensure(
            &work_dir.join(format!("venv-{LNBITS_VERSION}")),
            &options.python,
        )?;
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
            log: work_dir.join("lnbits.log"),
            pid: 0,
            superuser_token: String::new(),
        };
        let started = Instant::now();
        eprintln!(
            "lnbits-testserver: starting LNbits {LNBITS_VERSION} on {}",
            control.endpoint
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
            control_path: work_dir.join("control.json"),
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
#[derive(Debug)]
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
        let control_path = PathBuf::from(path);
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
