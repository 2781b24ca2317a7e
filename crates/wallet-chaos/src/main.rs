//! `wallet-chaos --backend fake|lnd|cln|lnbits|all --payments N --seed S [--mutant NAME] [--no-shrink]`:
//! runs one campaign per backend (`N` payment steps each) and prints its counts per invariant
//! and per backend, then `TOTAL: <payments> payments, <faults> faults, <violations>
//! violations`; exits non-zero on any violation, after the seed, the steps before the first
//! violation, a shrunk schedule and the trace of its replay.

use std::process::ExitCode;

use wallet_chaos::{BACKENDS, Backend, Config, Invariant, Mutant, Report, Step};

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

/// `Ok(true)` when no campaign found anything.
fn run(args: &[String]) -> Result<bool, String> {
    let backends: Vec<Backend> = match value(args, "--backend").unwrap_or("fake") {
        "all" => BACKENDS.iter().map(|(_, backend)| *backend).collect(),
        name => vec![name.parse()?],
    };
    let mut config = Config::new(number(args, "--payments", 200)?, number(args, "--seed", 1)?);
    config.rates.fault = number(args, "--fault-percent", config.rates.fault)?;
    config.rates.duplicate = number(args, "--duplicate-percent", config.rates.duplicate)?;
    config.rates.retry = number(args, "--retry-percent", config.rates.retry)?;
    config.rates.hold = number(args, "--hold-percent", config.rates.hold)?;
    config.progress = true;
    config.mutant = value(args, "--mutant")
        .map(str::parse::<Mutant>)
        .transpose()?;
    let shrink = !args.iter().any(|arg| arg == "--no-shrink");
    let steps = wallet_chaos::plan::make(config.payments, config.seed, &config.rates);
    let mut lines = Vec::new();
    let mut total = Report::default();
    for backend in backends {
        config.backend = backend;
        eprintln!(
            "chaos: {}, {} payment steps, seed {}{}",
            backend.name(),
            config.payments,
            config.seed,
            config
                .mutant
                .map_or(String::new(), |mutant| format!(", mutant {mutant:?}"))
        );
        let started = std::time::Instant::now();
        let report = wallet_chaos::execute(&steps, &config)?;
        explain(&report, &steps, &config, shrink);
        for unchecked in &report.unchecked {
            println!("{}: unchecked: {unchecked}", backend.name());
        }
        for note in &report.notes {
            println!("{}: {note}", backend.name());
        }
        lines.push(format!(
            "{}: {} payments, {} faults, {} violations (in {:.1} s)",
            backend.name(),
            report.payments,
            report.faults,
            report.violations.len(),
            started.elapsed().as_secs_f64()
        ));
        total.payments += report.payments;
        total.faults += report.faults;
        total.violations.0.extend(report.violations.0);
    }
    for invariant in Invariant::ALL {
        println!(
            "{:<28} {} violations",
            invariant.name(),
            total.violations.count(invariant)
        );
    }
    for line in lines {
        println!("{line}");
    }
    println!(
        "TOTAL: {} payments, {} faults, {} violations",
        total.payments,
        total.faults,
        total.violations.len()
    );
    Ok(total.violations.is_empty())
}

/// Prints a campaign's violations, the steps before the first, and a shrunk schedule.
fn explain(report: &Report, steps: &[Step], config: &Config, shrink: bool) {
    for violation in report.violations.0.iter().take(20) {
        println!("VIOLATION {}: {violation}", config.backend.name());
    }
    let Some(first) = report.violations.0.first() else {
        return;
    };
    let upto = usize::try_from(first.step)
        .unwrap_or(usize::MAX)
        .saturating_add(1)
        .min(steps.len());
    println!(
        "seed {} replays it; the steps before it ({upto} in all):",
        config.seed
    );
    let before = &steps[..upto];
    for (at, step) in before.iter().enumerate().skip(upto.saturating_sub(8)) {
        println!("  step {at}: {step}");
    }
    if shrink {
        let shrunk = wallet_chaos::shrink::shrink(before, config, first.invariant);
        println!(
            "shrunk to {} steps that still break {}:",
            shrunk.len(),
            first.invariant.name()
        );
        for (at, step) in shrunk.iter().enumerate() {
            println!("  {at}: {step}");
        }
        print_trace(&shrunk, config);
    }
}

/// Runs `steps` once more with the wallets' and the protocol's logs printed: the trace of what
/// the calls saw and decided.
fn print_trace(steps: &[Step], config: &Config) {
    println!("trace of the shrunk schedule:");
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "warn,wallet_core=debug,wallet_fake=debug,wallet_lnd=debug,wallet_cln=debug,\
             wallet_lnbits=debug",
        ))
        .with_ansi(false)
        .without_time()
        .with_writer(std::io::stdout)
        .finish();
    let replayed =
        tracing::subscriber::with_default(subscriber, || wallet_chaos::execute(steps, config));
    match replayed {
        Ok(report) => println!(
            "(replayed: {} violations{})",
            report.violations.len(),
            if config.backend == Backend::Fake {
                ""
            } else {
                "; off the fake backend timing may differ"
            }
        ),
        Err(err) => println!("(the replay did not run: {err})"),
    }
}
