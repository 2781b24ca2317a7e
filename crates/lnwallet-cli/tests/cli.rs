//! The `lnwallet` binary, run as a user would.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::process::{Command, Output};

use common::{stderr, stdout};

/// `lnwallet` with `args`, on an embedded network of its own.
fn lnwallet(args: &[&str]) -> Output {
    common::run_once(args)
}

#[test]
fn demo_creates_pays_streams_and_moves_balances() {
    let output = lnwallet(&["demo"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for step in [
        "bob created an invoice for 21000000 msat: lnbcrt",
        "alice paid it: succeeded",
        "bob's stream: paid",
        "bob's invoice: paid: 21000000 msat",
        "(-21022000 msat: 21000000 paid + 22000 fee)",
        "(+21000000 msat)",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
}

#[test]
fn demo_as_json_reports_balances_before_and_after() {
    let output = lnwallet(&["--json", "demo"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let before = summary["bob"]["before_msat"].as_u64().unwrap();
    let after = summary["bob"]["after_msat"].as_u64().unwrap();
    assert_eq!(after - before, 21_000_000);
    assert_eq!(summary["payment"]["status"]["state"], "succeeded");
    assert_eq!(summary["streamed"]["amount_received_msat"], 21_000_000);
}

#[test]
fn with_no_settings_it_runs_on_the_embedded_fake_wallet() {
    let output = lnwallet(&["--json", "status"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let status: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(status["balance_msat"], 1_000_000_000);
}

#[test]
fn an_invoice_is_printed_with_its_checking_id() {
    let output = lnwallet(&[
        "--json", "invoice", "21sat", "--memo", "tea", "--expiry", "600",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let invoice: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        invoice["payment_request"]
            .as_str()
            .unwrap()
            .starts_with("lnbcrt210n1")
    );
    assert_eq!(invoice["checking_id"].as_str().unwrap().len(), 64);
}

#[test]
fn the_network_setting_changes_the_invoice_prefix() {
    let output = lnwallet(&["--set", "FAKE_WALLET_NETWORK=bitcoin", "invoice", "1000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("payment_request: lnbc10n1"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_unknown_hash_is_unknown() {
    let hash = "00".repeat(32);
    let output = lnwallet(&["invoice-status", &hash]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("unknown"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_input_gives_a_one_line_error_and_a_nonzero_exit() {
    let cases: &[(&[&str], &str)] = &[
        (&["invoice", "abc"], "invalid amount"),
        (&["invoice", "0"], "invalid amount_msat"),
        (
            &["invoice", "1000", "--memo", &"m".repeat(700)],
            "invalid memo",
        ),
        (
            &["invoice", "1000", "--description-hash", "zz"],
            "invalid description_hash",
        ),
        (&["invoice-status", "zz"], "invalid payment_hash"),
        (&["payment-status", "00"], "invalid payment_hash"),
        (&["pay", "lnbc1garbage"], "invalid bolt11"),
        (
            &["pay", "lnbc1garbage", "--max-fee", "10sat"],
            "payment not sent: invalid bolt11",
        ),
        (
            &["--backend", "VoidWallet", "status"],
            "unknown backend \"VoidWallet\"",
        ),
        (
            &["--set", "FAKE_WALLET_BALANCE_MSAT=lots", "status"],
            "invalid FAKE_WALLET_BALANCE_MSAT",
        ),
        (
            &["--env-file", "/nonexistent/.env", "status"],
            "cannot read /nonexistent/.env",
        ),
    ];
    for (args, expected) in cases {
        let output = lnwallet(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        // One error line, last; above it at most the notes of which backend runs (and, for
        // the embedded one, that its network was made).
        let message = stderr(&output);
        let errors: Vec<&str> = message
            .lines()
            .filter(|line| line.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {message}");
        assert_eq!(
            message.lines().last(),
            errors.first().copied(),
            "{args:?}: {message}"
        );
        assert!(
            message
                .lines()
                .all(|line| line.starts_with("error: ") || line.starts_with("lnwallet: ")),
            "{args:?}: {message}"
        );
        assert!(errors[0].contains(expected), "{args:?}: {message}");
    }
}

#[test]
fn errors_in_json_mode_are_json() {
    let output = lnwallet(&["--json", "invoice-status", "zz"]);
    assert_eq!(output.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(error["exit_code"], 1);
    assert!(error["error"].as_str().unwrap().contains("payment_hash"));
}

#[test]
fn usage_errors_exit_with_two() {
    let output = lnwallet(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    let output = lnwallet(&["--set", "NOEQUALS", "status"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn an_env_file_selects_the_backend_like_an_lnbits_env() {
    let dir = std::env::temp_dir().join(format!("lnwallet-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(".env");
    std::fs::write(
        &path,
        "LNBITS_BACKEND_WALLET_CLASS=FakeWallet\nFAKE_WALLET_BALANCE_MSAT=5000\n",
    )
    .unwrap();
    let output = lnwallet(&["--env-file", path.to_str().unwrap(), "status"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "balance: 5000 msat");
}

#[test]
fn backends_lists_every_compiled_in_backend_and_its_settings() {
    let output = lnwallet(&["backends"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for expected in [
        "FakeWallet: FAKE_WALLET_SECRET",
        "LNbitsWallet: LNBITS_ENDPOINT",
        "LndWallet: LND_GRPC_ENDPOINT",
        "CoreLightningWallet: CORELIGHTNING_RPC",
        "(--connect type=clightning)",
        "(--connect type=lnd-grpc)",
        "(--connect type=lnbits)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// A simulated lightningd for a node `alias` of a network of its own, in a directory of its own.
async fn lightningd(alias: &str) -> (cln_sim::ClnSimulator, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("lnwallet-{alias}-{}", std::process::id()));
    let node = wallet_fake::FakeNetwork::new()
        .add_node(wallet_fake::NodeConfig::new(alias))
        .unwrap();
    let cln = cln_sim::ClnSimulator::start(node, dir.clone())
        .await
        .unwrap();
    (cln, dir)
}

#[tokio::test]
async fn lnbits_settings_for_core_lightning_drive_a_lightningd() {
    let (cln, dir) = lightningd("cli-cln").await;
    let socket = format!("CORELIGHTNING_RPC={}", cln.socket_path().display());
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            lnwallet(&args)
        })
    };
    let settings = [
        "--set",
        "LNBITS_BACKEND_WALLET_CLASS=CoreLightningWallet",
        "--set",
        &socket,
    ];
    let with = |rest: &[&str]| {
        settings
            .iter()
            .chain(rest)
            .map(|arg| (*arg).to_owned())
            .collect::<Vec<_>>()
    };
    let created = run(with(&["--json", "invoice", "1000"])).await.unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let invoice: serde_json::Value = serde_json::from_str(&stdout(&created)).unwrap();
    let hash = invoice["checking_id"].as_str().unwrap().to_owned();
    let status = run(with(&["invoice-status", &hash])).await.unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("pending"), "{}", stdout(&status));
    assert_eq!(cln.calls_of("invoice"), 1);
    cln.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A BTCPay-style connection string reaches a lightningd, from `--connect` or from
/// `LNWALLET_CONNECT`; a bad one is refused without echoing its values.
#[tokio::test]
async fn a_connection_string_drives_a_lightningd_from_the_flag_or_the_environment() {
    let (cln, dir) = lightningd("cli-connect").await;
    let connection = format!(
        "type=clightning;server=unix://{}",
        cln.socket_path().display()
    );
    let by_flag = lnwallet_async(vec![
        "--connect".into(),
        connection.clone(),
        "--json".into(),
        "invoice".into(),
        "1000".into(),
    ])
    .await;
    assert!(by_flag.status.success(), "{}", stderr(&by_flag));
    assert!(
        stderr(&by_flag).contains("backend CoreLightningWallet"),
        "{}",
        stderr(&by_flag)
    );
    let scratch = tempfile::tempdir().unwrap();
    let by_env = tokio::task::spawn_blocking(move || {
        common::command(scratch.path(), &["status"])
            .env("LNWALLET_CONNECT", connection)
            // Another configuration in the environment: the string replaces it, nothing of it
            // mixes in (this timeout alone would be refused).
            .env("LNBITS_BACKEND_WALLET_CLASS", "LndWallet")
            .env("CORELIGHTNING_TIMEOUT", "0")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(by_env.status.success(), "{}", stderr(&by_env));
    assert!(stdout(&by_env).contains("balance:"), "{}", stdout(&by_env));
    assert_eq!(cln.calls_of("invoice"), 1);
    assert!(cln.calls_of("getinfo") + cln.calls_of("listfunds") >= 1);
    cln.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    let refused = lnwallet(&[
        "--connect",
        "type=lnbits;server=https://x;apikey=f00dcafe",
        "status",
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("did you mean api-key=?"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !stderr(&refused).contains("f00dcafe"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn watch_stops_after_its_timeout() {
    let output = lnwallet(&["watch", "--timeout", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_timeout_past_what_the_clock_holds_is_no_deadline_not_a_panic() {
    let output = lnwallet(&["watch", "--timeout", "18446744073709551615", "--count", "0"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Runs `lnwallet` with `args` off the async runtime, so a simulator in this process keeps
/// serving while it waits.
async fn lnwallet_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lnwallet(&args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_the_documented_table() {
    use wallet_core::{InvoiceRequest, Wallet};

    let dir = std::env::temp_dir().join(format!("lnwallet-cli-exits-{}", std::process::id()));
    let network = wallet_fake::FakeNetwork::new();
    let node = network
        .add_node(wallet_fake::NodeConfig::new("cli-payer"))
        .unwrap();
    let payee = wallet_fake::FakeWallet::new(
        network
            .add_node(wallet_fake::NodeConfig::new("cli-payee"))
            .unwrap(),
    );
    let control = node.control();
    let cln = cln_sim::ClnSimulator::start(node, dir.clone())
        .await
        .unwrap();
    let socket = format!("CORELIGHTNING_RPC={}", cln.socket_path().display());
    let run = |rest: &[&str]| {
        let mut args = vec![
            "--set".to_owned(),
            "LNBITS_BACKEND_WALLET_CLASS=CoreLightningWallet".to_owned(),
            "--set".to_owned(),
            socket.clone(),
        ];
        args.extend(rest.iter().map(|arg| (*arg).to_owned()));
        lnwallet_async(args)
    };
    let invoice = |expiry: u64| {
        let payee = payee.clone();
        async move {
            payee
                .create_invoice(
                    InvoiceRequest::new(100_000).expiry(std::time::Duration::from_secs(expiry)),
                )
                .await
                .unwrap()
        }
    };
    let code = |output: &Output| output.status.code();

    let paid = invoice(600).await;
    let hash = paid.checking_id.to_hex();
    let output = run(&["pay", &paid.payment_request, "--max-fee", "5sat"]).await;
    assert_eq!(code(&output), Some(0), "succeeded: {}", stderr(&output));
    assert_eq!(code(&run(&["payment-status", &hash]).await), Some(0));

    control.fail_next_payment(wallet_core::FailureReason::NoRoute);
    let failed = invoice(600).await;
    let output = run(&["pay", &failed.payment_request, "--max-fee", "5sat"]).await;
    assert_eq!(code(&output), Some(3), "failed: {}", stderr(&output));
    let output = run(&["payment-status", &failed.checking_id.to_hex()]).await;
    assert_eq!(code(&output), Some(3), "{}", stderr(&output));

    control.stall_next_payment();
    let stalled = invoice(600).await;
    let output = run(&[
        "pay",
        &stalled.payment_request,
        "--max-fee",
        "5sat",
        "--timeout",
        "1",
    ])
    .await;
    assert_eq!(code(&output), Some(4), "pending: {}", stderr(&output));
    let output = run(&["payment-status", &stalled.checking_id.to_hex()]).await;
    assert_eq!(code(&output), Some(4), "{}", stderr(&output));

    let output = run(&["payment-status", &"00".repeat(32)]).await;
    assert_eq!(code(&output), Some(5), "unknown: {}", stderr(&output));

    let lapsed = invoice(1).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let output = run(&["pay", &lapsed.payment_request, "--max-fee", "5sat"]).await;
    assert_eq!(code(&output), Some(1), "not sent: {}", stderr(&output));
    assert!(
        stderr(&output).contains("payment not sent"),
        "{}",
        stderr(&output)
    );

    for any_state in [&hash, &lapsed.checking_id.to_hex(), &"00".repeat(32)] {
        let output = run(&["invoice-status", any_state]).await;
        assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    }

    let output = run(&["pay", "not-an-invoice", "--max-fee", "5sat"]).await;
    assert_eq!(code(&output), Some(1));
    control.release_all(wallet_fake::Release::Succeed);
    cln.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_the_exit_codes() {
    let output = lnwallet(&["--help"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for line in [
        "1  error; for pay: nothing was sent",
        "4  the payment is pending",
        "5  payment-status: the node knows no payment of this hash",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// A loopback HTTP server that answers every request with `status` and an LNbits-style error.
fn refusing_server(status: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer);
            let body = r#"{"detail":"Invalid key"}"#;
            let _ = write!(
                socket,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

fn watch_lnbits_at(endpoint: &str, timeout: &str) -> Output {
    lnwallet(&[
        "--set",
        "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
        "--set",
        &format!("LNBITS_ENDPOINT={endpoint}"),
        "--set",
        "LNBITS_INVOICE_KEY=b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1",
        "watch",
        "--timeout",
        timeout,
    ])
}

#[test]
fn watch_stops_at_once_and_fails_when_the_server_refuses_the_key() {
    let started = std::time::Instant::now();
    let output = watch_lnbits_at(&refusing_server("401 Unauthorized"), "60");
    assert!(!output.status.success(), "{}", stderr(&output));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "retried a refused key for {:?}",
        started.elapsed()
    );
    assert!(
        stderr(&output).contains("unauthorized"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("b1b1b1b1"), "{}", stderr(&output));
}

#[test]
fn watch_reports_reconnects_and_fails_when_the_server_is_down() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = watch_lnbits_at(&endpoint, "3");
    assert!(!output.status.success(), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(errors.contains("reconnecting"), "{errors}");
    assert!(errors.contains("not connected"), "{errors}");
}

#[test]
fn every_command_says_which_backend_runs_on_stderr_and_warns_about_misspelt_settings() {
    let output = lnwallet(&["--set", "LNBITS_BACKEND_WALET_CLASS=LndWallet", "status"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(errors.contains("lnwallet: backend FakeWallet"), "{errors}");
    assert!(
        errors.contains(
            "LNBITS_BACKEND_WALET_CLASS is not a setting; did you mean LNBITS_BACKEND_WALLET_CLASS?"
        ),
        "{errors}"
    );
    assert!(!stdout(&output).contains("backend"), "{}", stdout(&output));
}

#[test]
fn an_env_file_with_a_byte_order_mark_selects_its_backend() {
    let dir = std::env::temp_dir().join(format!("lnwallet-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = dir.join(".env");
    std::fs::write(&env, "\u{feff}LNBITS_BACKEND_WALLET_CLASS=VoidWallet\n").unwrap();
    let output = lnwallet(&["--env-file", env.to_str().unwrap(), "status"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        stderr(&output).contains("unknown backend \"VoidWallet\""),
        "the class in a BOM-prefixed file was ignored: {}",
        stderr(&output)
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_program_quietly_not_with_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnwallet"))
        .arg("demo")
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes its end before anything is written, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_ne!(output.status.code(), Some(101), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}

#[test]
fn a_set_without_an_equals_sign_is_refused_without_echoing_it() {
    let pasted = "0201036c6e6402f801030a10aa";
    let output = lnwallet(&["--set", pasted, "status"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr(&output).contains(pasted), "{}", stderr(&output));
}

#[test]
fn an_error_prints_its_causes_one_per_line_and_in_json() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("LNBITS_ENDPOINT=http://{}", closed.local_addr().unwrap());
    drop(closed);
    let args = |json: bool| {
        let mut args = vec![
            "--set",
            "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
            "--set",
            endpoint.as_str(),
            "--set",
            "LNBITS_ADMIN_KEY=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
        ];
        if json {
            args.push("--json");
        }
        args.push("status");
        lnwallet(&args)
    };

    let human = args(false);
    assert_eq!(human.status.code(), Some(1), "{}", stderr(&human));
    let errors = stderr(&human);
    assert!(
        errors.contains("error: backend unavailable: cannot connect to LNbits\n"),
        "{errors}"
    );
    let causes: Vec<&str> = errors
        .lines()
        .filter_map(|line| line.strip_prefix("  caused by: "))
        .collect();
    assert!(
        causes
            .iter()
            .any(|cause| cause.to_lowercase().contains("refused")),
        "{errors}"
    );

    let json = args(true);
    assert_eq!(json.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        error["error"],
        "backend unavailable: cannot connect to LNbits"
    );
    let causes = error["causes"].as_array().unwrap();
    assert!(
        causes
            .iter()
            .any(|cause| cause.as_str().unwrap().to_lowercase().contains("refused")),
        "{error}"
    );
}

#[test]
fn logging_goes_to_stderr_only_when_asked_for_with_v_or_rust_log() {
    let quiet = lnwallet(&["invoice", "1000"]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(
        !stderr(&quiet).contains("create_invoice"),
        "{}",
        stderr(&quiet)
    );

    let verbose = lnwallet(&["-v", "invoice", "1000"]);
    assert!(verbose.status.success(), "{}", stderr(&verbose));
    let logged = stderr(&verbose);
    assert!(logged.contains("create_invoice"), "{logged}");
    assert!(
        logged.contains("backend=\"fake\"") || logged.contains("backend=fake"),
        "{logged}"
    );
    // The span's close says how long the call took.
    assert!(logged.contains("time.busy"), "{logged}");
    // stdout holds the answer alone, so that it stays parseable.
    assert!(!String::from_utf8_lossy(&verbose.stdout).contains("create_invoice"));

    let data = tempfile::tempdir().unwrap();
    let from_env = common::command(data.path(), &["--json", "status"])
        .env("RUST_LOG", "wallet_fake=debug")
        .output()
        .expect("run lnwallet");
    assert!(from_env.status.success(), "{}", stderr(&from_env));
    assert!(
        stderr(&from_env).contains("status"),
        "{}",
        stderr(&from_env)
    );
    let json: serde_json::Value = serde_json::from_slice(&from_env.stdout).expect("JSON on stdout");
    assert!(json.get("balance_msat").is_some(), "{json}");
}
