//! `cargo xtask bench`: the speed and memory benchmarks, built in release mode, with the peers
//! they are compared with: cdk-fake-wallet (a crate outside the workspace, built here only, so
//! CI's clippy and tests never compile cdk) and LNbits' FakeWallet in the LNbits test venv.

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

    let mut command = cargo(&["run", "--release", "-p", "wallet-bench", "--"]);
    command
        .args(args)
        .arg("--cdk-peer")
        .arg(&cdk_peer)
        .arg("--lnbits-python")
        .arg(venv.python());
    step("benchmarks (release)", &mut command)
}
