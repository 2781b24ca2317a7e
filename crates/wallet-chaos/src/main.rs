//! `wallet-chaos --backend fake --payments N --seed S [--mutant NAME]`: runs one campaign and
//! prints its counts per invariant, then `TOTAL: <payments> payments, <faults> faults,
//! <violations> violations`; exits non-zero on any violation.

use std::process::ExitCode;

use wallet_chaos::{Config, Invariant, Mutant};

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|arg| arg == flag)
        .and_then(|at| args.get(at + 1))
        .map(String::as_str)
}

fn number(args: &[String], flag: &str, default: u64) -> Result<u64, String> {
    value(args, flag).map_or(Ok(default), |text| {
        text.parse()
            .map_err(|_| format!("{flag} takes a whole number, not {text:?}"))
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("wallet-chaos: {err}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when the campaign found nothing.
fn run(args: &[String]) -> Result<bool, String> {
    let backend = value(args, "--backend").unwrap_or("fake");
    if backend != "fake" {
        return Err(format!(
            "--backend {backend}: only the fake backend's campaign exists so far"
        ));
    }
    let mut config = Config::new(number(args, "--payments", 200)?, number(args, "--seed", 1)?);
    config.rates.fault = number(args, "--fault-percent", config.rates.fault)?;
    config.rates.duplicate = number(args, "--duplicate-percent", config.rates.duplicate)?;
    config.rates.retry = number(args, "--retry-percent", config.rates.retry)?;
    config.progress = true;
    config.mutant = value(args, "--mutant")
        .map(str::parse::<Mutant>)
        .transpose()?;
    eprintln!(
        "chaos: fake backend, {} payments, seed {}{}",
        config.payments,
        config.seed,
        config
            .mutant
            .map_or(String::new(), |mutant| format!(", mutant {mutant:?}"))
    );
    let started = std::time::Instant::now();
    let steps = wallet_chaos::plan::make(config.payments, config.seed, &config.rates);
    let report = wallet_chaos::execute(&steps, &config)?;
    for violation in report.violations.0.iter().take(20) {
        println!("VIOLATION {violation}");
    }
    if let Some(first) = report.violations.0.first() {
        let upto = usize::try_from(first.step).unwrap_or(usize::MAX);
        println!(
            "seed {} replays it; the steps before it ({} in all):",
            config.seed,
            upto.saturating_add(1).min(steps.len())
        );
        let before = &steps[..upto.saturating_add(1).min(steps.len())];
        for (at, step) in before
            .iter()
            .enumerate()
            .skip(before.len().saturating_sub(8))
        {
            println!("  step {at}: {step}");
        }
        if !args.iter().any(|arg| arg == "--no-shrink") {
            let shrunk = wallet_chaos::shrink::shrink(before, &config, first.invariant);
            println!(
                "shrunk to {} steps that still break {}:",
                shrunk.len(),
                first.invariant.name()
            );
            for (at, step) in shrunk.iter().enumerate() {
                println!("  {at}: {step}");
            }
        }
    }
    for invariant in Invariant::ALL {
        println!(
            "{:<28} {} violations",
            invariant.name(),
            report.violations.count(invariant)
        );
    }
    println!(
        "fake: {} payments, {} faults, {} violations (in {:.1} s)",
        report.payments,
        report.faults,
        report.violations.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "TOTAL: {} payments, {} faults, {} violations",
        report.payments,
        report.faults,
        report.violations.len()
    );
    Ok(report.violations.is_empty())
}
