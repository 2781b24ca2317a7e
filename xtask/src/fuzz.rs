//! `cargo xtask fuzz`: the fuzz targets under `fuzz/`, each for a while, where a nightly
//! toolchain with cargo-fuzz exists. Without one it says so and does nothing: the stable build
//! never depends on nightly, and every input the fuzzers kept is replayed on stable by the tests
//! of `hostile-input` (wallet-core's parsers) and `wallet-corpus` (the backends' answers).

use std::process::Command;

use crate::cmd::{step, workspace_root};

/// The targets, as `fuzz/Cargo.toml` names them.
const TARGETS: &[&str] = &[
    "bolt11",
    "rfc3339",
    "dotenv",
    "server_text",
    "cursor",
    "amounts",
    "cln_answer",
    "lnd_reply",
    "lnbits_answer",
];

fn nightly_fuzz_available() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .current_dir(workspace_root())
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `--keep` writes the inputs found into `fuzz/corpus/` (to commit); without it they go to
/// `target/fuzz-found/`, so that a CI run leaves the tree as it was.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let keep = args.iter().any(|arg| arg == "--keep");
    let seconds: u64 = match args.iter().position(|arg| arg == "--seconds") {
        Some(at) => args
            .get(at + 1)
            .and_then(|value| value.parse().ok())
            .ok_or("--seconds takes a whole number")?,
        None => 30,
    };
    if !nightly_fuzz_available() {
        eprintln!(
            "==> fuzz: not run: no nightly toolchain with cargo-fuzz here (rustup toolchain \
             install nightly && cargo install cargo-fuzz); the kept inputs are replayed on \
             stable by `cargo test -p hostile-input -p wallet-corpus`"
        );
        return Ok(());
    }
    let fuzz = workspace_root().join("fuzz");
    for target in TARGETS {
        let corpus = fuzz.join("corpus").join(target);
        // libFuzzer writes what it finds into the first folder and reads the others.
        let found = if keep {
            corpus.clone()
        } else {
            workspace_root()
                .join("target")
                .join("fuzz-found")
                .join(target)
        };
        std::fs::create_dir_all(&found).map_err(|err| format!("{}: {err}", found.display()))?;
        let mut command = Command::new("cargo");
        command
            .args(["+nightly", "fuzz", "run", target])
            .arg(&found)
            .arg(&corpus)
            .args(["--", &format!("-max_total_time={seconds}"), "-max_len=4096"])
            .current_dir(&fuzz);
        step(&format!("fuzz {target} for {seconds} s"), &mut command)?;
    }
    Ok(())
}
