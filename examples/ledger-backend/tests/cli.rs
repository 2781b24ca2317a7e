//! `ledger-lnwallet`, the project's command line built with this backend added, run against a
//! ledger as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Output;

use ledger_backend::LedgerServer;
use wallet_fake::{FakeNetwork, NodeConfig};

const API_KEY: &str = "cli-test-key";

/// Runs `ledger-lnwallet` with `args` and `env` only (no inherited settings), off the runtime
/// so that the ledger in this process keeps serving.
async fn ledger_lnwallet(args: &[&str], env: &[(&str, &str)]) -> Output {
    let data = std::env::temp_dir().join(format!("ledger-lnwallet-{}", std::process::id()));
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ledger-lnwallet"));
    command
        .args(args)
        .env_clear()
        .env("LNBITS_DATA_FOLDER", &data)
        .envs(env.iter().copied());
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_command_line_lists_and_reaches_the_ledger_by_class_or_connection_string() {
    let network = FakeNetwork::new();
    let node = network.add_node(NodeConfig::new("cli-ledger")).unwrap();
    let server = LedgerServer::start(node, API_KEY, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();

    let listed = ledger_lnwallet(&["backends"], &[]).await;
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listed = text(&listed.stdout);
    assert!(
        listed.contains("LedgerWallet: LEDGER_ENDPOINT") && listed.contains("type=ledger"),
        "{listed}"
    );
    assert!(
        listed.contains("LndWallet"),
        "the project's backends stay: {listed}"
    );

    let endpoint = format!("LEDGER_ENDPOINT={}", server.endpoint());
    let key = format!("LEDGER_API_KEY={API_KEY}");
    let status = ledger_lnwallet(
        &[
            "--backend",
            "LedgerWallet",
            "--set",
            &endpoint,
            "--set",
            &key,
            "status",
        ],
        &[],
    )
    .await;
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).starts_with("balance: "),
        "{}",
        text(&status.stdout)
    );
    assert!(text(&status.stderr).contains("backend LedgerWallet"));

    let connection = format!("type=ledger;server={};api-key={API_KEY}", server.endpoint());
    let invoice = ledger_lnwallet(
        &["--json", "invoice", "21sat"],
        &[("LNWALLET_CONNECT", &connection)],
    )
    .await;
    assert!(invoice.status.success(), "{}", text(&invoice.stderr));
    let invoice: serde_json::Value = serde_json::from_slice(&invoice.stdout).unwrap();
    let hash = invoice["checking_id"].as_str().unwrap();
    let issued = server
        .node()
        .invoice(&wallet_core::PaymentHash::from_hex(hash).unwrap())
        .unwrap()
        .expect("the ledger's node issued it");
    assert_eq!(issued.amount_msat, Some(21_000));

    let refused = ledger_lnwallet(
        &["status"],
        &[(
            "LNWALLET_CONNECT",
            "type=ledger;server=http://127.0.0.1:1;api-key=wrong;x=1",
        )],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("a key it does not read"),
        "{}",
        text(&refused.stderr)
    );
    assert!(
        !text(&refused.stderr).contains("wrong"),
        "{}",
        text(&refused.stderr)
    );
}
