//! Running the `lnwallet` binary as a user would: a clean environment, one data directory.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code, unreachable_pub)]

use std::path::Path;
use std::process::{Command, Output};

/// `lnwallet` with `args`, nothing from this environment, and the embedded network in `data`.
pub fn command(data: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lnwallet"));
    command
        .args(args)
        .env_clear()
        .env("LNBITS_DATA_FOLDER", data);
    command
}

/// Runs `lnwallet` with `args` on the network in `data`.
pub fn run_in(data: &Path, args: &[&str]) -> Output {
    command(data, args).output().expect("run lnwallet")
}

/// Runs `lnwallet` with `args` on a network of its own, made for this call.
pub fn run_once(args: &[&str]) -> Output {
    let data = tempfile::tempdir().unwrap();
    run_in(data.path(), args)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON on stdout of a run that succeeded.
pub fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}
