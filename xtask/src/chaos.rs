//! `cargo xtask chaos`: the randomized fault campaign (`crates/wallet-chaos`), and the short
//! campaign CI runs: clean seeds, and each mutant caught.

use crate::cmd::{cargo, step};

/// Runs one campaign with `args` (`--backend`, `--payments`, `--seed`, `--mutant`).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut run = cargo(&["run", "--quiet", "-p", "wallet-chaos", "--"]);
    run.args(args);
    step(&format!("chaos {}", args.join(" ")), &mut run)
}

/// The broken wallets each CI run must catch.
const MUTANTS: &[&str] = &["lost-answer-failed", "no-dedupe"];

/// What CI runs: seeds 1 to 3 clean, and the mutants caught on seed 1.
pub(crate) fn ci() -> Result<(), String> {
    for seed in ["1", "2", "3"] {
        run(&[
            "--backend".into(),
            "fake".into(),
            "--payments".into(),
            "2000".into(),
            "--seed".into(),
            seed.into(),
        ])?;
    }
    for mutant in MUTANTS {
        let caught = run(&[
            "--backend".into(),
            "fake".into(),
            "--payments".into(),
            "2000".into(),
            "--seed".into(),
            "1".into(),
            "--mutant".into(),
            (*mutant).into(),
            // Shrinking a schedule of thousands of steps takes minutes; its test covers it.
            "--no-shrink".into(),
        ]);
        if caught.is_ok() {
            return Err(format!(
                "the campaign did not catch the {mutant} mutant on seed 1"
            ));
        }
        eprintln!("==> chaos: the {mutant} mutant was caught, as it must be");
    }
    Ok(())
}
