//! `cln-sim` started as a user would: it prints its socket, and a Core Lightning client given
//! that path works.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wallet_core::{InvoiceRequest, PayInvoiceRequest, Settings, Wallet};

/// Kills the child when dropped, so a failing test leaves no process behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_sockets_and_its_two_nodes_pay_each_other() {
    let dir = std::env::temp_dir().join(format!("cln-sim-binary-{}", std::process::id()));
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_cln-sim"))
            .args(["--dir", dir.to_str().unwrap(), "--peer"])
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
    let socket_of = |alias: &str| {
        let prefix = format!("{alias}: lightningd (regtest) on ");
        let line = printed
            .iter()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{text}"));
        line[prefix.len()..].trim().to_owned()
    };
    let (carol_socket, dave_socket) = (socket_of("carol"), socket_of("dave"));
    assert!(carol_socket.ends_with("regtest/lightning-rpc"), "{text}");
    assert!(
        text.contains(&format!("CORELIGHTNING_RPC={carol_socket}")),
        "{text}"
    );

    let wallet_at = |socket: &str| {
        wallet_cln::CoreLightningWallet::from_settings(
            &Settings::new().with("CORELIGHTNING_RPC", socket),
        )
        .unwrap()
    };
    let (carol, dave) = (wallet_at(&carol_socket), wallet_at(&dave_socket));
    assert_eq!(carol.node_info().await.unwrap().alias, "carol");
    let invoice = dave
        .create_invoice(InvoiceRequest::new(21_000))
        .await
        .unwrap();
    let paid = carol
        .pay_invoice(PayInvoiceRequest::new(invoice.payment_request, 5_000))
        .await
        .unwrap();
    assert!(paid.status.is_succeeded(), "{paid:?}");
    assert!(
        dave.get_invoice_status(&invoice.checking_id)
            .await
            .unwrap()
            .is_paid()
    );
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
