//! `lnwallet` against a real LNbits server, configured with nothing but an LNbits `.env`.
//! Ignored without a server; `cargo xtask conformance --backend lnbits` runs it.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn server_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests with `cargo xtask conformance --backend lnbits`")
    })
}

/// An LNbits `.env` for the wallet whose keys are in `admin` / `invoice`.
fn env_file(name: &str, admin: &str, invoice: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lnwallet-cli-lnbits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "# an LNbits .env\nLNBITS_BACKEND_WALLET_CLASS=LNbitsWallet\nLNBITS_ENDPOINT={}\nLNBITS_ADMIN_KEY={}\nLNBITS_INVOICE_KEY={}\n",
            server_env("LNBITS_ENDPOINT"),
            server_env(admin),
            server_env(invoice)
        ),
    )
    .unwrap();
    path
}

fn lnwallet(env_file: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnwallet"))
        .arg("--env-file")
        .arg(env_file)
        .arg("--json")
        .args(args)
        .env_clear()
        .output()
        .expect("run lnwallet")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
#[ignore = "needs a real LNbits server: run `cargo xtask conformance --backend lnbits`"]
fn the_cli_runs_on_an_lnbits_env_file() {
    let wallet = env_file("wallet.env", "LNBITS_ADMIN_KEY", "LNBITS_INVOICE_KEY");
    let peer = env_file(
        "peer.env",
        "LNBITS_PEER_ADMIN_KEY",
        "LNBITS_PEER_INVOICE_KEY",
    );

    let before = json(&lnwallet(&wallet, &["status"]))["balance_msat"]
        .as_u64()
        .unwrap();
    let invoice = json(&lnwallet(&wallet, &["invoice", "21sat", "--memo", "cli"]));
    let bolt11 = invoice["payment_request"].as_str().unwrap();
    let hash = invoice["checking_id"].as_str().unwrap();
    assert_eq!(
        json(&lnwallet(&wallet, &["invoice-status", hash]))["state"],
        "pending"
    );

    let paid = json(&lnwallet(&peer, &["pay", bolt11]));
    assert_eq!(paid["status"]["state"], "succeeded");
    assert_eq!(
        json(&lnwallet(&peer, &["payment-status", hash]))["state"],
        "succeeded"
    );
    let status = json(&lnwallet(&wallet, &["invoice-status", hash]));
    assert_eq!(status["state"], "paid");
    assert_eq!(status["amount_received_msat"], 21_000);
    let after = json(&lnwallet(&wallet, &["status"]))["balance_msat"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 21_000);

    let refused = lnwallet(&wallet, &["invoice", "1500msat"]);
    assert_eq!(refused.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("whole number of sats"),
        "{error}"
    );
}

#[test]
#[ignore = "needs a real LNbits server: run `cargo xtask conformance --backend lnbits`"]
fn a_wrong_key_is_a_one_line_unauthorized_error_without_the_key() {
    let dir = std::env::temp_dir().join(format!("lnwallet-cli-lnbits-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.env");
    let bad_key = "0123456789abcdef0123456789abcdef";
    std::fs::write(
        &path,
        format!(
            "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet\nLNBITS_ENDPOINT={}\nLNBITS_ADMIN_KEY={bad_key}\n",
            server_env("LNBITS_ENDPOINT")
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lnwallet"))
        .arg("--env-file")
        .arg(&path)
        .arg("status")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message
            .lines()
            .last()
            .is_some_and(|line| line.starts_with("error: unauthorized")),
        "{message}"
    );
    assert!(!message.contains(bad_key), "{message}");
}
