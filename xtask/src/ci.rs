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
    crate::corpus::run(&[])?;
    crate::chaos::ci()?;
    crate::fuzz::run(&["--seconds".into(), "10".into()])?;
    crate::interop::run()?;
    crate::conformance::run(&["--backend".into(), "all".into()])
}
