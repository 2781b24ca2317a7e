//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use crate::cmd::{cargo, step};

pub(crate) fn run() -> Result<(), String> {
    step(
        "cargo fmt --check",
        &mut cargo(&["fmt", "--all", "--check"]),
    )?;
    step(
        "cargo clippy -D warnings",
        &mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    eprintln!("==> cargo xtask tidy");
    crate::tidy::run()?;
    step("cargo test", &mut cargo(&["test", "--workspace"]))?;
    step(
        "cargo doc (warnings are errors)",
        cargo(&["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // Every published crate as crates.io would receive it, each built alone from its package
    // (`.proto` files, READMEs and all): what is not in the package does not build.
    step(
        "cargo package (verified)",
        &mut cargo(&[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "wallet-bench",
            // Earlier steps may leave files (snapshots, logs) in the tree; packaging reads
            // what git tracks plus the manifests' includes either way.
            "--allow-dirty",
        ]),
    )?;
    crate::corpus::run(&[])?;
    crate::chaos::ci()?;
    crate::fuzz::run(&["--seconds".into(), "10".into()])?;
    crate::interop::run()?;
    crate::conformance::run(&["--backend".into(), "all".into()])
}
