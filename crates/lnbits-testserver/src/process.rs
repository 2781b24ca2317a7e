//! Starting and stopping the uvicorn process that serves LNbits.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::control::Control;

/// What identifies our server in `/proc/PID/cmdline`: never kill anything else.
const COMMAND_MARK: &str = "lnbits.__main__:app";

/// Starts LNbits as `control` describes, logging to its log file. Returns the child.
pub(crate) fn spawn(control: &Control) -> Result<Child, String> {
    let log = File::options()
        .create(true)
        .append(true)
        .open(&control.log)
        .map_err(|err| format!("cannot open {}: {err}", control.log.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|err| format!("cannot open {}: {err}", control.log.display()))?;
    let port = control.port.to_string();
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        control.venv.join("bin").display()
    );
    let data = control.data_dir.display().to_string();
    let mut command = Command::new(control.venv.join("bin").join("python"));
    if control.die_with_parent {
        command.args(["-c", WATCH_PARENT]);
    } else {
        command.arg(control.venv.join("bin").join("uvicorn"));
    }
    // LNbits reads every environment variable named like a setting (HOST, PORT, DEBUG, ...), so
    // it starts from an empty environment, with every outbound feature switched off.
    command
        .args([
            COMMAND_MARK,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--loop",
            "uvloop",
        ])
        .current_dir(&control.site_packages)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &control.home)
        .env("LANG", "C.UTF-8")
        .env("LNBITS_DATA_FOLDER", &data)
        .env("LNBITS_EXTENSIONS_PATH", &data)
        .env("LNBITS_BACKEND_WALLET_CLASS", "FakeWallet")
        .envs(control.funding_env.iter().map(|(key, value)| (key, value)))
        .env("LNBITS_ADMIN_UI", "true")
        .env("LNBITS_EXTENSIONS_DEACTIVATE_ALL", "true")
        .env("LNBITS_EXTENSIONS_MANIFESTS", "[]")
        .env("LNBITS_WASM_EXTENSIONS_MANIFESTS", "[]")
        .env("LNBITS_PRICE_AGGREGATOR_ENABLED", "false")
        .env("LNBITS_EXCHANGE_RATE_PROVIDERS", "[]")
        .env("LNBITS_RATE_LIMIT_NO", "1000000")
        .env("LNBITS_BASEURL", format!("{}/", control.endpoint))
        .env("HOST", "127.0.0.1")
        .env("PORT", &port)
        .env("ENABLE_LOG_TO_FILE", "false")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|err| format!("cannot start uvicorn: {err}"))
}

/// Runs uvicorn with the arguments after `-c`, and exits (removing the data folder) as soon as
/// the process that started it is gone: a test binary that starts its own server cannot stop it
/// from a destructor, since libtest never drops statics.
const WATCH_PARENT: &str = r#"
import os, shutil, sys, threading, time
parent = os.getppid()
def watch():
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            shutil.rmtree(os.environ["LNBITS_DATA_FOLDER"], ignore_errors=True)
            os._exit(0)
threading.Thread(target=watch, daemon=True).start()
import uvicorn.main
sys.argv = ["uvicorn", *sys.argv[1:]]
uvicorn.main.main()
"#;

/// Whether `pid` is alive and is our LNbits server.
pub(crate) fn is_our_server(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(COMMAND_MARK))
        .unwrap_or(false)
}

/// Stops our server `pid`: SIGTERM, then SIGKILL after 15 s. Does nothing to any other process.
pub(crate) fn stop(pid: u32) {
    if !is_our_server(pid) {
        return;
    }
    signal("TERM", pid);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if is_our_server(pid) {
        eprintln!("lnbits-testserver: pid {pid} ignored SIGTERM for 15 s, sending SIGKILL");
        signal("KILL", pid);
    }
}

fn signal(name: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}
