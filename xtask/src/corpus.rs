//! `cargo xtask corpus`: the bad-input corpus (`crates/wallet-corpus`), with the `lnwallet`
//! binary its CLI cases run built next to it.

use crate::cmd::{cargo, step};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    step(
        "cargo build -p lnwallet-cli -p wallet-corpus",
        &mut cargo(&["build", "-p", "lnwallet-cli", "-p", "wallet-corpus"]),
    )?;
    let mut run = cargo(&["run", "--quiet", "-p", "wallet-corpus", "--"]);
    run.args(args);
    step("the bad-input corpus", &mut run)
}
