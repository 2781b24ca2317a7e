//! `lnd-sim` started as a user would: it prints where it listens and its files, and a client
//! given those settings works.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wallet_core::{Settings, Wallet};

/// Kills the child when dropped, so a failing test leaves no process behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_binary_prints_its_endpoint_and_files_and_serves_a_client() {
    let dir = std::env::temp_dir().join(format!("lnd-sim-binary-{}", std::process::id()));
    let port = free_port();
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_lnd-sim"))
            .args(["--dir", dir.to_str().unwrap(), "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut printed = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let done = line.starts_with("serving");
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(
        text.contains(&format!("lnd on 127.0.0.1:{port} (regtest)")),
        "{text}"
    );
    let path_of = |label: &str| {
        let line = printed
            .iter()
            .find(|line| line.trim_start().starts_with(label))
            .unwrap();
        line.trim_start()[label.len()..].trim().to_owned()
    };
    let cert = path_of("tls.cert");
    let macaroon = path_of("admin.macaroon");
    assert!(std::path::Path::new(&cert).is_file() && std::path::Path::new(&macaroon).is_file());
    assert!(text.contains("LND_GRPC_ENDPOINT=127.0.0.1"), "{text}");

    let settings = Settings::new()
        .with("LND_GRPC_ENDPOINT", "127.0.0.1")
        .with("LND_GRPC_PORT", port.to_string())
        .with("LND_GRPC_CERT", cert)
        .with("LND_GRPC_MACAROON", macaroon);
    let wallet = wallet_lnd::LndWallet::from_settings(&settings).unwrap();
    let info = wallet.node_info().await.unwrap();
    assert_eq!(info.alias, "alice");
    assert_eq!(info.network, "regtest");
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
