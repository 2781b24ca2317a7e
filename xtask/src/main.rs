//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! ```text
//! cargo xtask ci                         fmt, clippy, tests, docs, conformance: what CI runs
//! cargo xtask conformance [--backend B]  the conformance matrix (B: all, fake, lnbits, lnd, cln)
//! cargo xtask corpus [--filter S]        the bad-input corpus: hostile answers and bad CLI input
//! cargo xtask chaos [--payments N] ...   the randomized fault campaign, checked against the ledger
//! cargo xtask fuzz [--seconds N]         the fuzz targets under fuzz/, where nightly and cargo-fuzz exist
//! cargo xtask tidy                       architecture invariants no compiler checks
//! cargo xtask cln-interop                cln-sim driven by pyln-client, Core Lightning's client
//! cargo xtask bench                      speed and memory benchmarks
//! cargo xtask lnbits-server              a real LNbits server for manual runs
//! ```

mod bench;
mod chaos;
mod ci;
mod cmd;
mod conformance;
mod corpus;
mod fuzz;
mod interop;
mod servers;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("conformance") => conformance::run(&args[1..]),
        Some("corpus") => corpus::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("tidy") => tidy::run(),
        Some("cln-interop") => interop::run(),
        Some("lnbits-server") => servers::serve_lnbits(),
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci                          fmt check, clippy -D warnings, tidy, all tests, docs without
                              warnings, the corpus, cln-interop, and the conformance run: exactly
                              what CI runs
  conformance [--backend B]   run the conformance suite and print the matrix (B: all, fake, lnbits, lnd, cln)
  corpus [--filter S] [--list] the bad-input corpus: every call of every backend answered with
                              garbage, truncated, huge, hostile or no answers, and the CLI fed
                              bad arguments, settings and .env files; ends with
                              `N cases, N panics, N leaks, N unsafe, N hangs`
  chaos [--backend B] [--payments N] [--seed S] [--mutant M] [--no-shrink]
                              the randomized fault campaign: payments and faults from a seeded
                              schedule, checked against the fake network's ledger; ends with
                              `TOTAL: N payments, N faults, N violations` (B: fake, lnd, cln,
                              lnbits, all; M: lost-answer-failed, no-dedupe, no-prelookup)
  fuzz [--seconds N] [--keep] each fuzz target under fuzz/ for N seconds (30) where a nightly
                              toolchain with cargo-fuzz exists; says so and does nothing elsewhere;
                              --keep adds what it finds to fuzz/corpus/ (to commit)
  tidy                        architecture invariants: the payment protocol lives once in
                              wallet-core, no backend depends on another, ...
  cln-interop                 the lightningd simulator driven by pyln-client from PyPI (in a venv
                              under target/pyln/): help, getinfo, invoices, xpay, pay, listpays
  bench                       speed and memory benchmarks, side by side
  lnbits-server               start a real LNbits server (as the tests do), print its variables
                              (keys of two funded wallets), and stop it on Enter or Ctrl-C";
