//! `cargo xtask conformance`: runs the suite against each backend and prints the matrix.
//!
//! Each backend's suite is an integration test (`tests/conformance.rs`) of its crate. The
//! suite writes one JSON line per behaviour to the file named by `WALLET_CONFORMANCE_REPORT`;
//! libtest's own output says which tests failed (a panicking behaviour writes no line).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::cmd::{cargo, workspace_root};

/// A backend the suite runs against.
struct Backend {
    name: &'static str,
    package: &'static str,
    /// For a crate outside the workspace: its manifest, relative to the workspace root. It
    /// builds into the workspace's `target/`, sharing what it can.
    manifest: Option<&'static str>,
    /// The integration test that runs the suite.
    test: &'static str,
    server: Server,
}

/// What must run while a backend's tests run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// Nothing: the tests run in process.
    None,
    /// A real LNbits server funded by LNbits' FakeWallet, started here. Its tests are
    /// `#[ignore]`d without one and restart it, so they run with `--include-ignored`, one at a
    /// time; [`LNBITS_SERVER_TESTS`] run against it afterwards.
    Lnbits,
    /// A real LNbits server funded by lnd-sim, which the test process starts for itself (it
    /// hosts the simulator). Also `#[ignore]`d, one at a time; [`LNBITS_ON_LND_TESTS`] run after.
    LnbitsOnLnd,
}

/// The out-of-tree example backend (`examples/ledger-backend`), which depends on the
/// workspace's crates as a crates.io user would.
pub(crate) const EXAMPLE_MANIFEST: &str = "examples/ledger-backend/Cargo.toml";

/// The fewest behaviours the example must pass (not merely list): it is the proof that a third
/// party can meet the suite with the public API alone.
const EXAMPLE_MIN_PASSED: usize = 40;

const BACKENDS: &[Backend] = &[
    Backend {
        name: "fake",
        package: "wallet-fake",
        test: "conformance",
        manifest: None,
        server: Server::None,
    },
    Backend {
        name: "lnbits",
        package: "wallet-lnbits",
        test: "conformance_on_lnd",
        manifest: None,
        server: Server::LnbitsOnLnd,
    },
    Backend {
        name: "lnbits-fakewallet",
        package: "wallet-lnbits",
        test: "conformance",
        manifest: None,
        server: Server::Lnbits,
    },
    Backend {
        name: "lnd",
        package: "wallet-lnd",
        test: "conformance",
        manifest: None,
        server: Server::None,
    },
    Backend {
        name: "cln",
        package: "wallet-cln",
        test: "conformance",
        manifest: None,
        server: Server::None,
    },
    Backend {
        name: "example",
        package: "ledger-backend",
        test: "conformance",
        manifest: Some(EXAMPLE_MANIFEST),
        server: Server::None,
    },
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cell {
    Passed,
    Unsupported(String),
    Failed(String),
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Passed => "pass",
            Self::Unsupported(_) => "unsup",
            Self::Failed(_) => "FAIL",
        })
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let selected = match args {
        [] => "all",
        [flag, name] if flag == "--backend" => name.as_str(),
        _ => {
            return Err(
                "usage: cargo xtask conformance [--backend all|fake|lnbits|lnbits-fakewallet|lnd|cln|example]".into(),
            );
        }
    };
    let backends: Vec<&Backend> = BACKENDS
        .iter()
        .filter(|backend| selected == "all" || backend.name == selected)
        .collect();
    if backends.is_empty() {
        let known: Vec<_> = BACKENDS.iter().map(|backend| backend.name).collect();
        return Err(format!(
            "unknown backend {selected:?}; known: all, {}",
            known.join(", ")
        ));
    }
    let mut results = Vec::new();
    for backend in backends {
        results.push((backend.name, run_backend(backend)?));
    }
    print_matrix(&results)
}

fn run_backend(backend: &Backend) -> Result<BTreeMap<String, Cell>, String> {
    let report_dir = workspace_root().join("target").join("conformance");
    std::fs::create_dir_all(&report_dir)
        .map_err(|err| format!("cannot create {}: {err}", report_dir.display()))?;
    let report = report_dir.join(format!("{}.jsonl", backend.name));
    let _ = std::fs::remove_file(&report);
    let server = match backend.server {
        Server::None | Server::LnbitsOnLnd => None,
        Server::Lnbits => Some(crate::servers::Lnbits::start()?),
    };
    if backend.server == Server::LnbitsOnLnd {
        // The test process starts LNbits itself; install it first, with progress shown here.
        crate::servers::ensure_lnbits_venv()?;
    }
    let target_dir = workspace_root().join("target").display().to_string();
    let mut args = match backend.manifest {
        Some(manifest) => vec![
            "test",
            "--manifest-path",
            manifest,
            "--target-dir",
            &target_dir,
        ],
        None => vec!["test", "-p", backend.package],
    };
    args.extend(["--test", backend.test]);
    if backend.server != Server::None {
        args.extend(["--", "--include-ignored", "--test-threads=1"]);
    }
    eprintln!(
        "==> conformance: {} (cargo {})",
        backend.name,
        args.join(" ")
    );
    let mut command = cargo(&args);
    command.env("WALLET_CONFORMANCE_REPORT", &report);
    command.env(
        lnbits_testserver::WORK_DIR_ENV,
        crate::servers::lnbits_work_dir(),
    );
    if let Some(server) = &server {
        command.envs(server.env());
    }
    let output = crate::servers::output_unless_interrupted(command)?;
    match (&server, backend.server) {
        (Some(server), _) => run_server_tests(backend, LNBITS_SERVER_TESTS, &server.env())?,
        (None, Server::LnbitsOnLnd) => run_server_tests(backend, LNBITS_ON_LND_TESTS, &[])?,
        _ => {}
    }
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut cells = libtest_results(&stdout);
    if cells.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "the {} suite ran no test:\n{}",
            backend.name,
            tail(&stderr, 40)
        ));
    }
    merge_report(&mut cells, &report)?;
    if backend.manifest.is_some() {
        let passed = cells.values().filter(|cell| **cell == Cell::Passed).count();
        if passed < EXAMPLE_MIN_PASSED {
            return Err(format!(
                "the {} backend passed {passed} behaviours of {}; it must pass at least \
                 {EXAMPLE_MIN_PASSED}",
                backend.name,
                cells.len()
            ));
        }
    }
    Ok(cells)
}

/// Tests outside the suite that need the same server (ignored without it): LNbits-specific
/// websocket checks, and the CLI against the server with an LNbits `.env`.
const LNBITS_SERVER_TESTS: &[(&str, &str)] =
    &[("wallet-lnbits", "server"), ("lnwallet-cli", "lnbits")];

/// Tests outside the suite on LNbits funded by lnd-sim (each test process starts its own):
/// lnd-sim restarted under LNbits, a route failure that lnd retries, no secret in any log line.
const LNBITS_ON_LND_TESTS: &[(&str, &str)] = &[
    ("wallet-lnbits", "on_lnd"),
    ("wallet-lnbits", "secrets_in_logs"),
];

fn run_server_tests(
    backend: &Backend,
    tests: &[(&str, &str)],
    env: &[(String, String)],
) -> Result<(), String> {
    for (package, test) in tests {
        let args = [
            "test",
            "-p",
            package,
            "--test",
            test,
            "--",
            "--include-ignored",
            "--test-threads=1",
        ];
        eprintln!(
            "==> {} server tests (cargo {})",
            backend.name,
            args.join(" ")
        );
        let mut command = cargo(&args);
        command.env(
            lnbits_testserver::WORK_DIR_ENV,
            crate::servers::lnbits_work_dir(),
        );
        command.envs(env.iter().cloned());
        let output = crate::servers::output_unless_interrupted(command)?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let results = libtest_results(&stdout);
        for (name, cell) in &results {
            eprintln!("    {name}: {cell}");
        }
        if !output.status.success() || results.is_empty() {
            return Err(format!(
                "the {} server tests failed:\n{}\n{}",
                backend.name,
                tail(&stdout, 40),
                tail(&String::from_utf8_lossy(&output.stderr), 20)
            ));
        }
    }
    Ok(())
}

/// `test NAME ... ok` / `... FAILED` lines of libtest's output.
fn libtest_results(stdout: &str) -> BTreeMap<String, Cell> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, outcome) = rest.split_once(" ... ")?;
            let cell = match outcome.trim() {
                "ok" => Cell::Passed,
                "FAILED" => Cell::Failed(String::new()),
                other => Cell::Failed(format!("libtest says {other:?}")),
            };
            Some((name.trim().to_owned(), cell))
        })
        .collect()
}

/// Adds the suite's own verdicts: unsupported reasons and failure messages. A test that passed
/// without recording a verdict did not run the suite's runner, which is a failure.
fn merge_report(cells: &mut BTreeMap<String, Cell>, report: &PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(report).unwrap_or_default();
    let mut recorded = BTreeMap::new();
    for line in text.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|err| format!("bad report line {line:?}: {err}"))?;
        let field = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        recorded.insert(field("behaviour"), (field("outcome"), field("detail")));
    }
    for (name, cell) in cells.iter_mut() {
        match (recorded.get(name), &*cell) {
            (Some((outcome, detail)), Cell::Passed) if outcome == "unsupported" => {
                *cell = Cell::Unsupported(detail.clone());
            }
            (Some((outcome, _)), Cell::Passed) if outcome == "passed" => {}
            (Some((_, detail)), Cell::Failed(_)) => *cell = Cell::Failed(detail.clone()),
            (None, Cell::Failed(_)) => {
                *cell = Cell::Failed("panicked (see the test output)".into());
            }
            (recorded, _) => {
                *cell = Cell::Failed(format!("libtest and the report disagree: {recorded:?}"));
            }
        }
    }
    Ok(())
}

fn print_matrix(results: &[(&str, BTreeMap<String, Cell>)]) -> Result<(), String> {
    let mut behaviours: Vec<&String> = results.iter().flat_map(|(_, cells)| cells.keys()).collect();
    behaviours.sort();
    behaviours.dedup();
    let width = behaviours
        .iter()
        .map(|name| name.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut header = format!("{:<width$}", "behaviour");
    for (backend, _) in results {
        header.push_str(&format!("  {backend:>6}"));
    }
    let column = |backend: &str| backend.len().max(6);
    println!("\n{header}");
    println!("{}", "-".repeat(header.len()));
    let (mut passed, mut failed, mut unsupported) = (0, 0, 0);
    let mut notes = Vec::new();
    for behaviour in &behaviours {
        let mut row = format!("{behaviour:<width$}");
        for (backend, cells) in results {
            let cell = cells
                .get(*behaviour)
                .cloned()
                .unwrap_or_else(|| Cell::Failed("not run".into()));
            match &cell {
                Cell::Passed => passed += 1,
                Cell::Unsupported(reason) => {
                    unsupported += 1;
                    notes.push(format!("  unsupported  {backend}  {behaviour}: {reason}"));
                }
                Cell::Failed(message) => {
                    failed += 1;
                    notes.push(format!("  FAILED       {backend}  {behaviour}: {message}"));
                }
            }
            row.push_str(&format!("  {:>w$}", cell.to_string(), w = column(backend)));
        }
        println!("{row}");
    }
    if !notes.is_empty() {
        println!();
        for note in &notes {
            println!("{note}");
        }
    }
    println!(
        "\n{} behaviours x {} backend(s); {unsupported} unsupported (reasons above)",
        behaviours.len(),
        results.len()
    );
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        Err(format!("{failed} conformance behaviour(s) failed"))
    } else {
        Ok(())
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_lines_become_cells() {
        let cells = libtest_results(
            "running 2 tests\ntest a_b ... ok\ntest c_d ... FAILED\n\ntest result: FAILED.",
        );
        assert_eq!(cells.get("a_b"), Some(&Cell::Passed));
        assert!(matches!(cells.get("c_d"), Some(Cell::Failed(_))));
        assert_eq!(cells.len(), 2);
    }
}
