//! Peers timed in processes of their own (cdk-fake-wallet in Rust, LNbits' FakeWallet in
//! Python), driven round by round: the bench writes a count on the peer's stdin, the peer creates
//! that many invoices and answers with the nanoseconds they took. Rounds alternate with ours, so
//! that noise on the machine hits every contestant alike.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A running peer.
pub(crate) struct Peer {
    name: String,
    _scratch: tempfile::TempDir,
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `program` with `args`, in a scratch directory of its own: LNbits' settings write a
    /// `data/` folder (with an auth key) into the working directory, which must not be the
    /// workspace.
    pub(crate) fn start(name: &str, program: &Path, args: &[&str]) -> Result<Self, String> {
        let scratch = tempfile::tempdir()
            .map_err(|err| format!("cannot make a directory for {name}: {err}"))?;
        // A relative path names the program from here, not from the scratch directory (made
        // absolute, not canonical: a venv's python is a symlink that must stay one). A bare
        // name is looked up on PATH.
        let program = if program.components().count() > 1 {
            std::path::absolute(program).unwrap_or_else(|_| program.to_owned())
        } else {
            program.to_owned()
        };
        let mut child = Command::new(&program)
            .args(args)
            .current_dir(scratch.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| format!("cannot start {name} ({}): {err}", program.display()))?;
        let input = child.stdin.take().ok_or("no stdin")?;
        let output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Self {
            name: name.to_owned(),
            _scratch: scratch,
            child,
            input,
            output,
        })
    }

    /// The peer's name, for the rows.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Has the peer create `count` invoices; the time it took, by its own clock.
    pub(crate) fn round(&mut self, count: u32) -> Result<Duration, String> {
        writeln!(self.input, "{count}")
            .and_then(|()| self.input.flush())
            .map_err(|err| format!("{}: {err}", self.name))?;
        let mut line = String::new();
        self.output
            .read_line(&mut line)
            .map_err(|err| format!("{}: {err}", self.name))?;
        let nanos: u64 = line
            .trim()
            .parse()
            .map_err(|_| format!("{} answered {line:?} instead of nanoseconds", self.name))?;
        Ok(Duration::from_nanos(nanos))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python LNbits' FakeWallet is timed with, run in LNbits' venv.
pub(crate) const LNBITS_FAKE_WALLET: &str = r#"
import asyncio, sys, time
from lnbits.wallets.fake import FakeWallet

async def main():
    wallet = FakeWallet()
    for line in sys.stdin:
        count = int(line)
        started = time.perf_counter_ns()
        for _ in range(count):
            response = await wallet.create_invoice(amount=1, memo="bench")
            if not response.ok:
                raise SystemExit(f"create_invoice failed: {response.error_message}")
        print(time.perf_counter_ns() - started, flush=True)

asyncio.run(main())
"#;
