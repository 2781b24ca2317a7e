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
const MUTANTS: &[&str] = &["lost-answer-failed", "no-dedupe", "no-prelookup"];

/// The campaigns CI runs clean: (backend, payment steps, seed). The simulators' runs wait out
/// stalled payments and hold invoices in real time, so they are shorter.
const CLEAN: &[(&str, &str, &str)] = &[
    ("fake", "2000", "1"),
    ("fake", "2000", "2"),
    ("fake", "2000", "3"),
    ("lnd", "60", "1"),
    ("cln", "60", "1"),
];

/// What CI runs: the clean campaigns, and the mutants caught on seed 1.
pub(crate) fn ci() -> Result<(), String> {
    for (backend, payments, seed) in CLEAN {
        run(&[
            "--backend".into(),
            (*backend).into(),
            "--payments".into(),
            (*payments).into(),
            "--seed".into(),
            (*seed).into(),
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
