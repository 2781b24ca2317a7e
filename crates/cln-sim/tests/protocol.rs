//! lightningd's JSON-RPC as raw bytes on the socket: framing, envelopes, parameters by name and
//! by position, and the error codes clients sort failures by.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use cln_sim::ClnSimulator;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use wallet_fake::{FakeNetwork, NodeConfig};

struct Sim {
    simulator: ClnSimulator,
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn sim(name: &str) -> Sim {
    let dir = std::env::temp_dir().join(format!("cln-sim-protocol-{name}-{}", std::process::id()));
    let node = FakeNetwork::new().add_node(NodeConfig::new(name)).unwrap();
    let simulator = ClnSimulator::start(node, dir.clone()).await.unwrap();
    Sim { simulator, dir }
}

/// A raw client: writes requests, reads answers as a stream of JSON objects.
struct Raw {
    socket: UnixStream,
    buffer: Vec<u8>,
}

impl Raw {
    async fn connect(sim: &Sim) -> Self {
        Self {
            socket: UnixStream::connect(sim.simulator.socket_path())
                .await
                .unwrap(),
            buffer: Vec::new(),
        }
    }

    async fn send(&mut self, request: Value) {
        self.socket
            .write_all(request.to_string().as_bytes())
            .await
            .unwrap();
    }

    /// The next answer, or `None` if the connection closed.
    async fn answer(&mut self) -> Option<Value> {
        loop {
            let mut objects =
                serde_json::Deserializer::from_slice(&self.buffer).into_iter::<Value>();
            if let Some(Ok(value)) = objects.next() {
                let used = objects.byte_offset();
                self.buffer.drain(..used);
                return Some(value);
            }
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout(Duration::from_secs(5), self.socket.read(&mut chunk))
                .await
                .expect("an answer or a close within 5 s");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(count) => self.buffer.extend_from_slice(&chunk[..count]),
            }
        }
    }

    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let answer = self.answer().await.expect("an answer");
        assert_eq!(answer["id"], json!(id), "{answer}");
        answer
    }
}

fn error_code(answer: &Value) -> i64 {
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
}

#[tokio::test]
async fn parameters_are_accepted_by_name_and_by_position() {
    let sim = sim("params").await;
    let mut client = Raw::connect(&sim).await;
    let by_name = client
        .call(
            1,
            "invoice",
            json!({"amount_msat": 5_000, "label": "named", "description": "by name"}),
        )
        .await;
    assert!(
        by_name["result"]["bolt11"]
            .as_str()
            .unwrap()
            .starts_with("lnbcrt"),
        "{by_name}"
    );
    let by_position = client
        .call(2, "invoice", json!(["any", "positional", "by position"]))
        .await;
    assert!(
        by_position["result"]["payment_hash"].is_string(),
        "{by_position}"
    );
    let listed = client.call(3, "listinvoices", json!(["positional"])).await;
    assert_eq!(
        listed["result"]["invoices"][0]["label"], "positional",
        "{listed}"
    );
    assert_eq!(
        listed["result"]["invoices"][0]["status"], "unpaid",
        "{listed}"
    );
}

#[tokio::test]
async fn refusals_carry_lightningds_error_codes() {
    let sim = sim("codes").await;
    let mut client = Raw::connect(&sim).await;
    client
        .call(
            1,
            "invoice",
            json!({"amount_msat": 1, "label": "once", "description": ""}),
        )
        .await;
    let duplicate = client
        .call(
            2,
            "invoice",
            json!({"amount_msat": 1, "label": "once", "description": ""}),
        )
        .await;
    assert_eq!(error_code(&duplicate), 900, "{duplicate}");
    let unknown = client.call(3, "fly", json!({})).await;
    assert_eq!(error_code(&unknown), -32601, "{unknown}");
    let bad_parameter = client.call(4, "getinfo", json!({"verbose": true})).await;
    assert_eq!(error_code(&bad_parameter), -32602, "{bad_parameter}");
    let quiet = client
        .call(
            5,
            "waitanyinvoice",
            json!({"lastpay_index": 0, "timeout": 0}),
        )
        .await;
    assert_eq!(error_code(&quiet), 904, "{quiet}");
    let missing = client
        .call(6, "waitinvoice", json!({"label": "never-made"}))
        .await;
    assert_eq!(error_code(&missing), -1, "{missing}");
}

#[tokio::test]
async fn an_envelope_without_jsonrpc_or_method_is_an_invalid_request() {
    let sim = sim("envelope").await;
    let mut client = Raw::connect(&sim).await;
    client
        .send(json!({"id": 1, "method": "getinfo", "params": {}}))
        .await;
    assert_eq!(error_code(&client.answer().await.unwrap()), -32600);
    client
        .send(json!({"jsonrpc": "2.0", "id": 2, "params": {}}))
        .await;
    assert_eq!(error_code(&client.answer().await.unwrap()), -32600);
}

#[tokio::test]
async fn requests_on_one_connection_are_answered_by_id_even_when_one_waits() {
    let sim = sim("pipelined").await;
    let mut client = Raw::connect(&sim).await;
    client.send(json!({"jsonrpc": "2.0", "id": "slow", "method": "waitanyinvoice", "params": {"timeout": 1}})).await;
    client
        .send(json!({"jsonrpc": "2.0", "id": "fast", "method": "getinfo", "params": {}}))
        .await;
    let first = client.answer().await.unwrap();
    let second = client.answer().await.unwrap();
    assert_eq!(first["id"], "fast", "{first}");
    assert!(first["result"]["id"].is_string(), "{first}");
    assert_eq!(second["id"], "slow", "{second}");
    assert_eq!(error_code(&second), 904);
}

#[tokio::test]
async fn bytes_that_are_not_json_close_the_connection() {
    let sim = sim("garbage").await;
    let mut client = Raw::connect(&sim).await;
    client.socket.write_all(b"}{ not json").await.unwrap();
    assert_eq!(client.answer().await, None);
}

#[tokio::test]
async fn a_stop_breaks_open_connections_and_removes_the_socket_and_a_restart_keeps_state() {
    let sim = sim("crash").await;
    let mut old = Raw::connect(&sim).await;
    old.call(
        1,
        "invoice",
        json!({"amount_msat": 7, "label": "kept", "description": ""}),
    )
    .await;
    old.send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "waitanyinvoice", "params": {"timeout": 60}}),
    )
    .await;
    let mut just_connected = Raw::connect(&sim).await;
    sim.simulator.stop().await;
    assert_eq!(old.answer().await, None);
    assert_eq!(just_connected.answer().await, None);
    assert!(!sim.simulator.socket_path().exists());
    assert!(
        UnixStream::connect(sim.simulator.socket_path())
            .await
            .is_err()
    );

    sim.simulator.resume().await.unwrap();
    let mut client = Raw::connect(&sim).await;
    let listed = client
        .call(3, "listinvoices", json!({"label": "kept"}))
        .await;
    assert_eq!(
        listed["result"]["invoices"][0]["amount_msat"], 7,
        "{listed}"
    );
}

#[tokio::test]
async fn a_connection_made_just_before_a_stop_breaks_too() {
    let sim = sim("instant").await;
    // Whether the listener accepts it before it stops is a race; each round is another chance
    // for a connection to slip past the crash.
    for round in 0..20 {
        let mut client = Raw::connect(&sim).await;
        sim.simulator.stop().await;
        assert_eq!(client.answer().await, None, "round {round}");
        sim.simulator.resume().await.unwrap();
    }
}
