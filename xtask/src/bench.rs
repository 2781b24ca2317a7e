//! `cargo xtask bench`: the speed and memory benchmarks, built in release mode.

use crate::cmd::{cargo, step};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut command = cargo(&["run", "--release", "-p", "wallet-bench", "--"]);
    command.args(args);
    step("benchmarks (release)", &mut command)
}
