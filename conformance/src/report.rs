//! The machine-readable report `cargo xtask conformance` reads to print its matrix.
//!
//! When `WALLET_CONFORMANCE_REPORT` names a file, every behaviour appends one JSON line:
//! `{"behaviour": "...", "outcome": "passed" | "unsupported" | "failed", "detail": "..."}`.
//! A behaviour that panics writes nothing; the runner counts it as failed from the test
//! harness's own output.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::sync::Mutex;

/// The environment variable naming the report file.
pub const REPORT_ENV: &str = "WALLET_CONFORMANCE_REPORT";

static WRITE: Mutex<()> = Mutex::new(());

pub(crate) fn record(behaviour: &str, outcome: &str, detail: &str) {
    let Some(path) = std::env::var_os(REPORT_ENV) else {
        return;
    };
    let line = serde_json::json!({
        "behaviour": behaviour,
        "outcome": outcome,
        "detail": detail,
    });
    let _serialised = WRITE.lock();
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| writeln!(file, "{line}"));
    if let Err(err) = written {
        eprintln!("wallet-conformance: cannot write the report {path:?}: {err}");
    }
}
