//! Running commands with progress output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The workspace root (the parent of this crate's folder).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A `cargo` command run from the workspace root.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    command
}

/// Runs `command` as the step `name`, streaming its output, and says how long it took.
pub(crate) fn step(name: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|err| format!("{name}: cannot start: {err}"))?;
    let elapsed = started.elapsed().as_secs_f32();
    if status.success() {
        eprintln!("==> {name}: ok ({elapsed:.1} s)");
        Ok(())
    } else {
        Err(format!("{name} failed ({status}) after {elapsed:.1} s"))
    }
}
