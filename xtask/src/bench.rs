//! `cargo xtask bench`: the speed and memory benchmarks, built in release mode, with the peers
//! they are compared with: cdk-fake-wallet (a crate outside the workspace, built here only, so
//! CI's clippy and tests never compile cdk) and LNbits' FakeWallet in the LNbits test venv.
//!
//! The peer comparison runs pinned to one core (util-linux's `taskset`), the peers' processes
//! with it: on a shared machine two cores can run at different speeds, and alternating rounds
//! only even out what changes over time.

use std::path::Path;
use std::process::Command;

use lnbits_testserver::Options;

use crate::cmd::{cargo, step, workspace_root};
use crate::servers::lnbits_work_dir;

/// The cdk peer's crate, relative to the workspace root.
const CDK_PEER: &str = "crates/wallet-bench/peers/cdk";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let peer_target = root.join("target").join("bench-peers");
    let manifest = root.join(CDK_PEER).join("Cargo.toml");
    let mut build = cargo(&["build", "--release", "--locked", "--manifest-path"]);
    build.arg(&manifest).env("CARGO_TARGET_DIR", &peer_target);
    step(
        "cdk-fake-wallet peer (release; the first build takes minutes)",
        &mut build,
    )?;
    let cdk_peer = peer_target.join("release").join("wallet-bench-cdk-peer");

    eprintln!("==> LNbits venv (installs LNbits 1.6.2 once, about 30 s)");
    let venv = Options::new(lnbits_work_dir()).ensure_venv()?;

    step(
        "benchmarks (release build)",
        &mut cargo(&["build", "--release", "-p", "wallet-bench"]),
    )?;
    let bench = root.join("target").join("release").join("wallet-bench");
    let mut peers = pinned(&bench);
    peers
        .args(args)
        .args(["--only", "peers", "--cdk-peer"])
        .arg(&cdk_peer)
        .arg("--lnbits-python")
        .arg(venv.python());
    step("benchmarks: the peers, on one core", &mut peers)?;
    let mut others = Command::new(&bench);
    others
        .args(args)
        .args(["--only", "others", "--no-header", "--lnbits"])
        .env(lnbits_testserver::WORK_DIR_ENV, lnbits_work_dir());
    step(
        "benchmarks: scaling, overhead, streams, memory",
        &mut others,
    )
}

/// `program` on CPU 0, or unpinned (said) where `taskset` is missing.
fn pinned(program: &Path) -> Command {
    let taskset = Command::new("taskset").arg("--version").output();
    if taskset.is_ok_and(|output| output.status.success()) {
        let mut command = Command::new("taskset");
        command.args(["--cpu-list", "0"]).arg(program);
        command
    } else {
        eprintln!("bench: no `taskset` (util-linux): the peer comparison runs unpinned");
        Command::new(program)
    }
}
