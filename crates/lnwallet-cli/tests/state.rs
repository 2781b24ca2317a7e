//! The embedded FakeWallet network kept in a data directory: the README's quick start run as
//! separate processes, concurrent invocations, the lock, the files' permissions, and state
//! files it cannot read.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{command, json, run_in, stderr, stdout};

const STATE_FILE: &str = "fake-network.json";
const LOCK_FILE: &str = "fake-network.lock";

fn balance(data: &Path, node: &str) -> u64 {
    json(&run_in(data, &["--json", "--node", node, "status"]))["balance_msat"]
        .as_u64()
        .unwrap()
}

#[test]
fn the_quick_start_runs_as_separate_processes() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let alice_before = balance(data, "alice");
    let bob_before = balance(data, "bob");

    let invoice = json(&run_in(
        data,
        &["--json", "invoice", "21sat", "--memo", "tea"],
    ));
    let bolt11 = invoice["payment_request"].as_str().unwrap().to_owned();
    let hash = invoice["checking_id"].as_str().unwrap().to_owned();
    let unpaid = stdout(&run_in(data, &["invoice-status", &hash]));
    assert!(unpaid.starts_with("pending: not paid yet"), "{unpaid}");

    // `lnwallet watch` in another terminal: started before the payment, it prints it.
    let mut watch = command(data, &["watch", "--count", "1", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, notes) = mpsc::channel();
    let watch_stderr = watch.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(watch_stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match notes.recv_timeout(left) {
            Ok(line) if line.starts_with("connected: watching for paid invoices") => break,
            Ok(_) => {}
            Err(err) => panic!("watch never said it was connected: {err}"),
        }
    }

    let paid = run_in(data, &["--node", "bob", "pay", &bolt11]);
    assert_eq!(paid.status.code(), Some(0), "{}", stderr(&paid));
    assert!(
        stdout(&paid).starts_with("succeeded: fee "),
        "{}",
        stdout(&paid)
    );

    let watched = watch.wait_with_output().unwrap();
    assert!(watched.status.success(), "watch: {}", stderr(&watched));
    assert_eq!(
        stdout(&watched).trim(),
        format!("paid {hash} 21000 msat (cursor 1)")
    );

    let status = json(&run_in(data, &["--json", "invoice-status", &hash]));
    assert_eq!(status["state"], "paid", "{status}");
    assert_eq!(status["amount_received_msat"], 21_000);
    let payment = run_in(data, &["--json", "--node", "bob", "payment-status", &hash]);
    assert_eq!(payment.status.code(), Some(0), "{}", stderr(&payment));
    let payment = json(&payment);
    assert_eq!(payment["state"], "succeeded", "{payment}");
    let fee_msat = payment["fee_msat"].as_u64().unwrap();

    assert_eq!(balance(data, "alice"), alice_before + 21_000);
    assert_eq!(balance(data, "bob"), bob_before - 21_000 - fee_msat);
    // Alice never paid it: she knows no payment of the hash (exit 5).
    let alice_payment = run_in(data, &["payment-status", &hash]);
    assert_eq!(
        alice_payment.status.code(),
        Some(5),
        "{}",
        stderr(&alice_payment)
    );
}

#[test]
fn commands_say_where_the_network_is_and_when_they_made_it() {
    let data = tempfile::tempdir().unwrap();
    let first = run_in(data.path(), &["status"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let state = data.path().join(STATE_FILE);
    assert!(
        stderr(&first).contains(&format!(
            "made a FakeWallet network with nodes alice and bob in {}",
            state.display()
        )),
        "{}",
        stderr(&first)
    );
    let second = run_in(
        data.path(),
        &["--set", "FAKE_WALLET_NETWORK=bitcoin", "invoice", "1000"],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stderr(&second).contains("made a FakeWallet network"));
    assert!(
        stderr(&second).contains("warning: FAKE_WALLET_NETWORK applies when a network is made"),
        "{}",
        stderr(&second)
    );
    // The stored network's, not the setting's: regtest.
    assert!(stdout(&second).contains("lnbcrt"), "{}", stdout(&second));
}

#[test]
fn the_data_directory_comes_from_the_flag_then_lnbits_data_folder_then_the_platform() {
    let lnbits_folder = tempfile::tempdir().unwrap();
    let flag = tempfile::tempdir().unwrap();
    let output = command(
        lnbits_folder.path(),
        &["--data-dir", flag.path().to_str().unwrap(), "status"],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(flag.path().join(STATE_FILE).exists());
    assert!(!lnbits_folder.path().join(STATE_FILE).exists());

    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lnwallet"))
        .arg("status")
        .env_clear()
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    #[cfg(all(unix, not(target_os = "macos")))]
    assert!(
        home.path()
            .join(".local/share/lnwallet")
            .join(STATE_FILE)
            .exists()
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lnwallet"))
        .arg("status")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("pass --data-dir or set LNBITS_DATA_FOLDER"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn concurrent_invocations_lose_nothing() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let alice_before = balance(data, "alice");
    let invoices: Vec<(String, String)> = (1..=4u64)
        .map(|sats| {
            let invoice = json(&run_in(data, &["--json", "invoice", &format!("{sats}sat")]));
            (
                invoice["payment_request"].as_str().unwrap().to_owned(),
                invoice["checking_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Four payments and four new invoices at once, each its own process.
    let mut children = Vec::new();
    for (bolt11, _) in &invoices {
        children.push(
            command(data, &["--node", "bob", "pay", bolt11])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        children.push(
            command(data, &["--json", "invoice", "1sat"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let mut new_hashes = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        if let Ok(invoice) = serde_json::from_slice::<serde_json::Value>(&output.stdout) {
            new_hashes.push(invoice["checking_id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(new_hashes.len(), 4);
    for (_, hash) in &invoices {
        let status = json(&run_in(data, &["--json", "invoice-status", hash]));
        assert_eq!(status["state"], "paid", "{status}");
    }
    for hash in &new_hashes {
        let status = json(&run_in(data, &["--json", "invoice-status", hash]));
        assert_eq!(status["state"], "pending", "{status}");
    }
    assert_eq!(balance(data, "alice"), alice_before + 10_000);
}

#[test]
fn a_second_process_waits_for_the_lock_then_fails_naming_it() {
    let data = tempfile::tempdir().unwrap();
    assert!(run_in(data.path(), &["status"]).status.success());
    let lock_path = data.path().join(LOCK_FILE);
    let lock = std::fs::File::options()
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();

    let started = Instant::now();
    let output = run_in(data.path(), &["--lock-wait", "1", "status"]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(
        errors.contains(&format!(
            "another process holds the lock {}",
            lock_path.display()
        )),
        "{errors}"
    );

    let waiting = command(data.path(), &["--json", "status"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    lock.unlock().unwrap();
    let output = waiting.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(json(&output)["balance_msat"].is_u64());
}

#[cfg(unix)]
#[test]
fn the_files_holding_keys_and_preimages_are_private() {
    use std::os::unix::fs::PermissionsExt;

    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("new").join("lnwallet");
    let output = command(&data, &["invoice", "1000"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(STATE_FILE)), 0o600);
    assert_eq!(mode(&data.join(LOCK_FILE)), 0o600);
}

#[test]
fn a_corrupt_or_newer_state_file_is_an_error_naming_it_and_is_kept() {
    let data = tempfile::tempdir().unwrap();
    let state = data.path().join(STATE_FILE);
    for (text, says) in [
        (
            "{\"format\": 1, \"nodes\": [",
            "is not a fake network this version can read",
        ),
        (
            "{\"format\": 7, \"nodes\": []}",
            "was written by a newer version (format 7",
        ),
    ] {
        std::fs::write(&state, text).unwrap();
        let output = run_in(data.path(), &["status"]);
        assert_eq!(output.status.code(), Some(1));
        let errors = stderr(&output);
        assert!(errors.contains(says), "{errors}");
        assert!(errors.contains(&state.display().to_string()), "{errors}");
        assert_eq!(std::fs::read_to_string(&state).unwrap(), text);
    }
}

#[test]
fn node_names_another_node_only_of_the_embedded_network() {
    let data = tempfile::tempdir().unwrap();
    let output = run_in(data.path(), &["--node", "carol", "status"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("has the nodes alice, bob"),
        "{}",
        stderr(&output)
    );

    let output = run_in(
        data.path(),
        &["--backend", "LNbitsWallet", "--node", "bob", "status"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--node chooses a node of the embedded FakeWallet network"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn piped_output_has_no_spinner() {
    let data = tempfile::tempdir().unwrap();
    // A watch of a second: long enough for a spinner to draw, were it on.
    let output = run_in(data.path(), &["watch", "--timeout", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(
        !errors.contains('\r') && !errors.contains('\u{1b}'),
        "{errors:?}"
    );
}

/// Runs `lnwallet args` on a terminal (util-linux's `script` gives it one) and returns what the
/// terminal showed.
#[cfg(target_os = "linux")]
fn on_a_terminal(data: &Path, args: &str) -> String {
    let line = format!(
        "'{}' --data-dir '{}' {args}",
        env!("CARGO_BIN_EXE_lnwallet"),
        data.display()
    );
    let output = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("util-linux's `script` runs the command on a terminal; install util-linux");
    assert!(output.status.success(), "{}", stdout(&output));
    stdout(&output)
}

#[cfg(target_os = "linux")]
#[test]
fn a_terminal_shows_a_spinner_with_the_elapsed_time_and_json_does_not() {
    let data = tempfile::tempdir().unwrap();
    let shown = on_a_terminal(data.path(), "watch --timeout 1");
    // A frame with the seconds so far, whichever tick the machine managed to draw.
    assert!(shown.contains("watching for paid invoices 0."), "{shown:?}");
    assert!(shown.contains(" s\r\u{1b}[2K"), "{shown:?}");
    // The spinner wipes its line when done: the next output starts on a clean line.
    assert!(shown.contains("\r\u{1b}[2K"), "{shown:?}");
    let json = on_a_terminal(data.path(), "--json watch --timeout 1");
    assert!(!json.contains("watching for paid invoices"), "{json:?}");
    assert!(!json.contains('\u{1b}'), "{json:?}");
}
