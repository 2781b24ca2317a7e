//! The servers tests need, started before and stopped after them, also when the tests fail or
//! xtask is interrupted.

use std::process::Output;

use lnbits_testserver::{LnbitsServer, Options};
use tokio::signal::unix::{SignalKind, signal};

use crate::cmd::workspace_root;

/// A running LNbits server for the tests; dropping it stops the server.
pub(crate) struct Lnbits {
    server: LnbitsServer,
}

/// A runtime for xtask's few async jobs.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start a runtime: {err}"))
}

/// Where the LNbits venv, logs and control files live.
pub(crate) fn lnbits_work_dir() -> std::path::PathBuf {
    workspace_root().join("target").join("lnbits")
}

/// Installs LNbits into the work directory's venv unless it is there.
pub(crate) fn ensure_lnbits_venv() -> Result<(), String> {
    Options::new(lnbits_work_dir()).ensure_venv().map(drop)
}

impl Lnbits {
    /// Installs LNbits into `target/lnbits` (once) and starts a fresh server.
    pub(crate) fn start() -> Result<Self, String> {
        let options = Options::new(lnbits_work_dir());
        let server = runtime()?.block_on(LnbitsServer::start(&options))?;
        Ok(Self { server })
    }

    /// The variables the tests read.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        self.server.env()
    }
}

/// `cargo xtask lnbits-server`: starts a server, prints `export` lines for a shell, and stops
/// it when stdin reaches a newline or its end, or on SIGINT or SIGTERM.
pub(crate) fn serve_lnbits() -> Result<(), String> {
    let server = Lnbits::start()?;
    for (key, value) in server.env() {
        println!("export {key}={value}");
    }
    eprintln!("LNbits is running; press Enter (or Ctrl-C) to stop it");
    runtime()?.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|err| err.to_string())?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|err| err.to_string())?;
        let mut line = String::new();
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
        tokio::select! {
            _ = tokio::io::AsyncBufReadExt::read_line(&mut stdin, &mut line) => {}
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        Ok::<(), String>(())
    })?;
    drop(server);
    eprintln!("LNbits stopped");
    Ok(())
}

/// Runs `command` to completion, capturing its output. If xtask gets SIGINT or SIGTERM first,
/// the command is killed and an error returned, so that the caller's server guards drop and stop
/// their servers before xtask exits.
pub(crate) fn output_unless_interrupted(command: std::process::Command) -> Result<Output, String> {
    runtime()?.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|err| err.to_string())?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|err| err.to_string())?;
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        let running = command.output();
        tokio::select! {
            output = running => output.map_err(|err| format!("cannot run cargo: {err}")),
            _ = interrupt.recv() => Err("interrupted; stopping the servers".into()),
            _ = terminate.recv() => Err("terminated; stopping the servers".into()),
        }
    })
}
