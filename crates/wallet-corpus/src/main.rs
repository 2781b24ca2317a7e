//! The bad-input corpus (`cargo xtask corpus`): every call each backend makes, answered by a
//! scripted server on loopback with each class of bad answer, and the CLI fed bad arguments,
//! settings and `.env` files. Each case has a hand-written expectation; every case is also held
//! to the contract: no panic, no hang past its deadline, no configured secret in any output, no
//! payment reported failed or succeeded on an ambiguous answer, and an error that names its
//! cause.
//!
//! Prints one line per case that fails, then `N cases, N panics, N leaks, N unsafe, N hangs`,
//! and exits non-zero unless every case passed.

mod case;
mod cli;
mod cln;
mod lnbits;
mod lnd;
mod ops;
mod seeds;
mod shapes;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use case::{Case, Observed, Verdict, judge};

/// One case's run: what it observed, and the secrets it configured.
type Run = Pin<Box<dyn Future<Output = Result<(Observed, Vec<String>), String>> + Send>>;

/// A case and how to run it.
type Runnable = (Case, Box<dyn Fn() -> Run + Send + Sync>);

/// No case may take longer: every call in it has a deadline of a few seconds.
const CASE_DEADLINE: Duration = Duration::from_secs(30);

/// Cases run at once: most wait on timeouts, not on the CPU.
const CONCURRENCY: usize = 16;

async fn run_case(runnable: &Runnable) -> (Observed, Vec<String>) {
    let run = (runnable.1)();
    match tokio::time::timeout(CASE_DEADLINE, tokio::spawn(run)).await {
        Err(_) => (Observed::Hung, Vec::new()),
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| {
                    payload
                        .downcast_ref::<&str>()
                        .map(|text| (*text).to_owned())
                })
                .unwrap_or_default();
            (Observed::Panicked(message), Vec::new())
        }
        Ok(Err(join)) => (Observed::Panicked(join.to_string()), Vec::new()),
        Ok(Ok(Err(setup))) => (
            Observed::Value(format!("the case could not be set up: {setup}")),
            Vec::new(),
        ),
        Ok(Ok(Ok(observed))) => observed,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args
        .iter()
        .position(|arg| arg == "--filter")
        .and_then(|at| args.get(at + 1))
        .cloned();
    if let Some(dir) = args
        .iter()
        .position(|arg| arg == "--fuzz-seeds")
        .and_then(|at| args.get(at + 1))
    {
        return match seeds::write(Path::new(dir)).await {
            Ok(written) => {
                println!("{written} seed inputs in {dir}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("cannot write the fuzz seeds: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let list = args.iter().any(|arg| arg == "--list");
    // Every case's outcome, not only the failures: for writing expectations from the contract
    // and then checking what the code does.
    let show = args.iter().any(|arg| arg == "--show");
    // Panics are counted, not printed over the report.
    std::panic::set_hook(Box::new(|_| {}));

    let mut all: Vec<Runnable> = Vec::new();
    all.extend(cln::cases());
    all.extend(lnd::cases());
    all.extend(lnbits::cases());
    all.extend(cli::cases());
    if let Some(filter) = &filter {
        all.retain(|(case, _)| case.to_string().contains(filter.as_str()));
    }
    if list {
        for (case, _) in &all {
            println!("{case}: {:?}", case.expect);
        }
        println!("{} cases", all.len());
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    eprintln!("corpus: {} cases, {CONCURRENCY} at a time", all.len());
    let all = std::sync::Arc::new(all);
    let mut verdicts: Vec<Option<Verdict>> = (0..all.len()).map(|_| None).collect();
    let mut running = tokio::task::JoinSet::new();
    let mut next = 0;
    let mut done = 0;
    while done < all.len() {
        while running.len() < CONCURRENCY && next < all.len() {
            let all = std::sync::Arc::clone(&all);
            let index = next;
            running.spawn(async move {
                let runnable = &all[index];
                let (observed, secrets) = run_case(runnable).await;
                let verdict = judge(&runnable.0, &observed, &secrets);
                (index, verdict, observed)
            });
            next += 1;
        }
        let Some(finished) = running.join_next().await else {
            break;
        };
        done += 1;
        let Ok((index, verdict, observed)) = finished else {
            continue;
        };
        if show && verdict.passed() {
            let seen: String = format!("{observed:?}").chars().take(300).collect();
            println!("ok {}: {seen}", all[index].0);
        }
        if !verdict.passed() {
            let case = &all[index].0;
            let mut what = Vec::new();
            for (flag, name) in [
                (verdict.panic, "PANIC"),
                (verdict.leak, "LEAK"),
                (verdict.unsafe_answer, "UNSAFE"),
                (verdict.hang, "HANG"),
            ] {
                if flag {
                    what.push(name.to_owned());
                }
            }
            if let Some(wrong) = &verdict.wrong {
                what.push(wrong.clone());
            }
            println!("FAILED {case}: {}", what.join("; "));
            if verdict.panic || verdict.hang {
                println!("  saw {observed:?}");
            }
        }
        if done % 50 == 0 {
            eprintln!(
                "corpus: {done}/{} after {:.0?}",
                all.len(),
                started.elapsed()
            );
        }
        if let Some(slot) = verdicts.get_mut(index) {
            *slot = Some(verdict);
        }
    }
    let verdicts: Vec<Verdict> = verdicts.into_iter().flatten().collect();
    let count = |flag: fn(&Verdict) -> bool| verdicts.iter().filter(|v| flag(v)).count();
    let wrong = count(|v| v.wrong.is_some());
    let (panics, leaks, unsafe_answers, hangs) = (
        count(|v| v.panic),
        count(|v| v.leak),
        count(|v| v.unsafe_answer),
        count(|v| v.hang),
    );
    let missing = all.len() - verdicts.len();
    if wrong > 0 || missing > 0 {
        println!(
            "{wrong} cases did not meet their expectation, {missing} did not finish (in {:.0?})",
            started.elapsed()
        );
    }
    println!(
        "{} cases, {panics} panics, {leaks} leaks, {unsafe_answers} unsafe, {hangs} hangs",
        all.len()
    );
    if panics + leaks + unsafe_answers + hangs + wrong + missing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
