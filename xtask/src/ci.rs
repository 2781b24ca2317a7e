//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use crate::cmd::{cargo, step};

/// The out-of-tree example backend held to the workspace's standards: formatted, no clippy
/// warnings, documented, and its tests (the conformance suite among them) green. It builds into
/// the workspace's `target/`.
fn example_backend() -> Result<(), String> {
    let manifest = crate::conformance::EXAMPLE_MANIFEST;
    let target_dir = crate::cmd::workspace_root().join("target");
    let target_dir = target_dir.display().to_string();
    let with_target = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--manifest-path", manifest, "--target-dir", &target_dir]);
        cargo(&all)
    };
    step(
        "example backend: cargo fmt --check",
        &mut cargo(&["fmt", "--manifest-path", manifest, "--check"]),
    )?;
    let mut clippy = with_target(&["clippy", "--all-targets"]);
    clippy.args(["--", "-D", "warnings"]);
    step("example backend: cargo clippy -D warnings", &mut clippy)?;
    let mut doc = with_target(&["doc", "--no-deps"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step("example backend: cargo doc", &mut doc)?;
    step("example backend: cargo test", &mut with_target(&["test"]))
}

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
    let mut package = cargo(&[
        "package",
        "--workspace",
        "--exclude",
        "xtask",
        "--exclude",
        "wallet-bench",
        // Earlier steps may leave files (snapshots, logs) in the tree; packaging reads
        // what git tracks plus the manifests' includes either way.
        "--allow-dirty",
    ]);
    // A package carries no profile: these are the workspace's (Cargo.toml), so that the
    // verification reuses what the tests built instead of building it all again.
    package
        .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
        .env("CARGO_PROFILE_DEV_PACKAGE_SECP256K1_SYS_OPT_LEVEL", "3");
    step("cargo package (verified)", &mut package)?;
    example_backend()?;
    crate::corpus::run(&[])?;
    crate::chaos::ci()?;
    crate::fuzz::run(&["--seconds".into(), "10".into()])?;
    crate::interop::run()?;
    crate::conformance::run(&["--backend".into(), "all".into()])
}
