//! `cargo xtask chaos`: the randomized fault campaign (`crates/wallet-chaos`), and the short
//! campaign CI runs: clean seeds, and each mutant caught.

use crate::cmd::{cargo, step};

/// Runs one campaign with `args` (`--backend`, `--payments`, `--seed`, `--mutant`).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let backend = args
        .iter()
        .position(|arg| arg == "--backend")
        .and_then(|at| args.get(at + 1))
        .map_or("fake", String::as_str);
    if matches!(backend, "lnbits" | "all") {
        // The campaign starts LNbits itself; install it first, with progress shown here.
        crate::servers::ensure_lnbits_venv()?;
    }
    let mut run = cargo(&["run", "--quiet", "-p", "wallet-chaos", "--"]);
    run.args(args);
    run.env(
        lnbits_testserver::WORK_DIR_ENV,
        crate::servers::lnbits_work_dir(),
    );
    step(&format!("chaos {}", args.join(" ")), &mut run)
}

/// The broken wallets each CI run must catch.
const MUTANTS: &[&str] = &["lost-answer-failed", "no-dedupe", "no-prelookup"];

/// The campaigns CI runs clean: (backend, payment steps, seed). The simulators' and LNbits' runs
/// wait out stalled payments and hold invoices in real time, so they are shorter.
const CLEAN: &[(&str, &str, &str)] = &[
    ("fake", "2000", "1"),
    ("fake", "2000", "2"),
    ("fake", "2000", "3"),
    ("lnd", "60", "1"),
    ("cln", "60", "1"),
    ("lnbits", "30", "1"),
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
