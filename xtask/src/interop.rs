//! `cargo xtask cln-interop`: the lightningd simulator driven by a Core Lightning client nobody
//! here wrote, `pyln-client` from PyPI (in a venv under `target/pyln/`), through
//! `crates/cln-sim/tests/pyln/interop.py`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cmd::{cargo, step, workspace_root};

/// The pyln-client release the interop test pins (Core Lightning's own client, v26.06).
const PYLN_VERSION: &str = "26.6.9";
/// Its dependencies, pinned the same way.
const CONSTRAINTS: &str = include_str!("../../crates/cln-sim/tests/pyln/constraints.txt");
/// How long the simulator may take to say it serves.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Kills the simulator when dropped, on every exit path.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let python = ensure_venv(
        &root
            .join("target/pyln")
            .join(format!("venv-{PYLN_VERSION}")),
    )?;
    step(
        "cargo build -p cln-sim",
        &mut cargo(&["build", "-p", "cln-sim", "--bin", "cln-sim"]),
    )?;
    let dir = std::env::temp_dir().join(format!("cln-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut simulator = Running(
        Command::new(root.join("target/debug/cln-sim"))
            .arg("--dir")
            .arg(&dir)
            .arg("--peer")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot start cln-sim: {err}"))?,
    );
    wait_until_serving(&mut simulator.0)?;
    eprintln!("==> pyln-client {PYLN_VERSION} against cln-sim");
    let status = Command::new(&python)
        .arg(root.join("crates/cln-sim/tests/pyln/interop.py"))
        .arg(dir.join("regtest/lightning-rpc"))
        .arg(dir.join("dave/regtest/lightning-rpc"))
        .stdin(Stdio::null())
        .status()
        .map_err(|err| format!("cannot run the interop script: {err}"))?;
    drop(simulator);
    let _ = std::fs::remove_dir_all(&dir);
    if status.success() {
        Ok(())
    } else {
        Err(format!("the pyln-client interop test failed ({status})"))
    }
}

/// Reads the simulator's output until it says it serves, within [`START_LIMIT`].
fn wait_until_serving(child: &mut Child) -> Result<(), String> {
    let stdout = child
        .stdout
        .take()
        .ok_or("cln-sim has no standard output")?;
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = std::time::Instant::now() + START_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match received.recv_timeout(left) {
            Ok(line) if line.starts_with("serving") => return Ok(()),
            Ok(_) => {}
            Err(_) => return Err("cln-sim did not start serving in time".into()),
        }
    }
}

/// A venv with pyln-client installed (once; kept under `target/`), and its Python.
fn ensure_venv(path: &Path) -> Result<PathBuf, String> {
    let python = path.join("bin/python");
    let marker = path.join(".installed");
    let wanted = format!("pyln-client=={PYLN_VERSION}\n{CONSTRAINTS}");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
        return Ok(python);
    }
    eprintln!(
        "==> installing pyln-client {PYLN_VERSION} from PyPI into {}",
        path.display()
    );
    let _ = std::fs::remove_dir_all(path);
    let parent = path.parent().ok_or("the venv path has no parent folder")?;
    std::fs::create_dir_all(parent)
        .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    let constraints = parent.join(format!("constraints-{PYLN_VERSION}.txt"));
    std::fs::write(&constraints, CONSTRAINTS)
        .map_err(|err| format!("cannot write {}: {err}", constraints.display()))?;
    step(
        "python3 -m venv",
        Command::new("python3").args(["-m", "venv"]).arg(path),
    )?;
    step(
        "pip install pyln-client",
        Command::new(path.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "-q"])
            .arg(format!("pyln-client=={PYLN_VERSION}"))
            .arg("-c")
            .arg(&constraints),
    )?;
    std::fs::write(&marker, wanted)
        .map_err(|err| format!("cannot write {}: {err}", marker.display()))?;
    Ok(python)
}
