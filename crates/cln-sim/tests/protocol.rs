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

#[tokio::test]
async fn help_answers_in_lightningds_shape_and_follows_what_is_offered() {
    let sim = sim("help").await;
    let mut client = Raw::connect(&sim).await;
    let invoice = client.call(1, "help", json!({"command": "invoice"})).await;
    assert_eq!(invoice["result"]["format-hint"], "simple", "{invoice}");
    let usage = invoice["result"]["help"][0]["command"].as_str().unwrap();
    assert!(
        usage.starts_with("invoice amount_msat label description [expiry]"),
        "{usage}"
    );
    let all = client.call(2, "help", json!({})).await;
    let names: Vec<&str> = all["result"]["help"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["command"].as_str()?.split(' ').next())
        .collect();
    for name in [
        "getinfo",
        "invoice",
        "xpay",
        "listpays",
        "listnodes",
        "setchannel",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let unknown = client.call(3, "help", json!(["frobnicate"])).await;
    assert_eq!(error_code(&unknown), -32601, "{unknown}");
    sim.simulator.set_xpay_enabled(false);
    assert_eq!(
        error_code(&client.call(4, "help", json!({"command": "xpay"})).await),
        -32601
    );
    assert_eq!(
        error_code(
            &client
                .call(5, "xpay", json!({"invstring": "lnbcrt1"}))
                .await
        ),
        -32601
    );
}

#[tokio::test]
async fn node_manager_calls_work_on_the_hub_and_refuse_as_lightningd_elsewhere() {
    let sim = sim("manager").await;
    let hub = sim.simulator.node().hub_pubkey_hex();
    let stranger = format!("02{}", "ab".repeat(32));
    let mut client = Raw::connect(&sim).await;

    let nodes = client.call(1, "listnodes", json!({})).await;
    assert_eq!(
        nodes["result"]["nodes"].as_array().unwrap().len(),
        2,
        "{nodes}"
    );
    let one = client.call(2, "listnodes", json!({"id": hub})).await;
    assert_eq!(one["result"]["nodes"][0]["nodeid"], json!(hub), "{one}");

    let connected = client.call(3, "connect", json!({"id": hub})).await;
    assert_eq!(connected["result"]["id"], json!(hub), "{connected}");
    assert_eq!(connected["result"]["direction"], "out");
    let nowhere = client.call(4, "connect", json!({"id": stranger})).await;
    assert_eq!(error_code(&nowhere), 400, "{nowhere}");
    let refused = client
        .call(
            5,
            "connect",
            json!({"id": format!("{stranger}@127.0.0.1:9")}),
        )
        .await;
    assert_eq!(error_code(&refused), 401, "{refused}");
    let garbage = client.call(6, "connect", json!({"id": "nope"})).await;
    assert_eq!(error_code(&garbage), -32602, "{garbage}");

    let busy = client.call(7, "disconnect", json!({"id": hub})).await;
    assert_eq!(error_code(&busy), -1, "{busy}");
    let not_connected = client.call(8, "disconnect", json!({"id": stranger})).await;
    assert_eq!(error_code(&not_connected), -1, "{not_connected}");

    let broke = client
        .call(9, "fundchannel", json!({"id": hub, "amount": 100_000}))
        .await;
    assert_eq!(error_code(&broke), 301, "{broke}");
    let unknown_peer = client
        .call(
            10,
            "fundchannel",
            json!({"id": stranger, "amount": 100_000}),
        )
        .await;
    assert_eq!(error_code(&unknown_peer), -1, "{unknown_peer}");

    let set = client
        .call(
            11,
            "setchannel",
            json!({"id": hub, "feebase": 2_000, "feeppm": 10}),
        )
        .await;
    assert_eq!(
        set["result"]["channels"][0]["fee_base_msat"], 2_000,
        "{set}"
    );
    let listed = client.call(12, "listpeerchannels", json!({})).await;
    assert_eq!(
        listed["result"]["channels"][0]["fee_proportional_millionths"],
        10
    );
    let no_channel = client.call(13, "setchannel", json!({"id": stranger})).await;
    assert_eq!(error_code(&no_channel), -32602, "{no_channel}");

    let closing = client.call(14, "close", json!({"id": stranger})).await;
    assert_eq!(error_code(&closing), -32602, "{closing}");
}

#[tokio::test]
async fn updated_index_counts_every_change_not_only_payments() {
    let sim = sim("updated").await;
    let mut client = Raw::connect(&sim).await;
    client
        .call(
            1,
            "invoice",
            json!({"amount_msat": 1000, "label": "lapses", "description": "x", "expiry": 1}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let paid = client
        .call(
            2,
            "invoice",
            json!({"amount_msat": 2000, "label": "paid", "description": "y"}),
        )
        .await;
    let bolt11 = paid["result"]["bolt11"].as_str().unwrap().to_owned();
    let sent = client.call(3, "xpay", json!({"invstring": bolt11})).await;
    assert!(sent["result"]["payment_preimage"].is_string(), "{sent}");
    let listed = client.call(4, "listinvoices", json!({})).await;
    let invoices = listed["result"]["invoices"].as_array().unwrap();
    let by_label = |label: &str| {
        invoices
            .iter()
            .find(|invoice| invoice["label"] == label)
            .unwrap()
            .clone()
    };
    let lapsed = by_label("lapses");
    assert_eq!(lapsed["status"], "expired", "{lapsed}");
    assert_eq!(lapsed["updated_index"], 1, "{lapsed}");
    let paid = by_label("paid");
    assert_eq!(paid["pay_index"], 1, "{paid}");
    assert_eq!(paid["updated_index"], 2, "{paid}");
}

#[tokio::test]
async fn xpay_retries_temporary_failures_within_retry_for_and_gives_up_after_it() {
    let sim = sim("retry").await;
    let mut client = Raw::connect(&sim).await;
    let invoice = |label: &'static str| json!({"amount_msat": 3000, "label": label, "description": "retried"});
    let created = client.call(1, "invoice", invoice("retried")).await;
    let bolt11 = created["result"]["bolt11"].as_str().unwrap().to_owned();
    let hash = created["result"]["payment_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.simulator.fail_next_attempts_temporarily(2);
    let paid = client
        .call(2, "xpay", json!({"invstring": bolt11, "retry_for": 10}))
        .await;
    assert!(paid["result"]["payment_preimage"].is_string(), "{paid}");
    let sends = client
        .call(3, "listsendpays", json!({"payment_hash": hash}))
        .await;
    let statuses: Vec<&str> = sends["result"]["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["status"].as_str())
        .collect();
    assert_eq!(statuses, ["failed", "failed", "complete"], "{sends}");

    let second = client.call(4, "invoice", invoice("gives-up")).await;
    let bolt11 = second["result"]["bolt11"].as_str().unwrap().to_owned();
    sim.simulator.fail_next_attempts_temporarily(10_000);
    let started = std::time::Instant::now();
    let gave_up = client
        .call(5, "xpay", json!({"invstring": bolt11, "retry_for": 1}))
        .await;
    assert_eq!(error_code(&gave_up), 209, "{gave_up}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_second_xpay_of_a_hash_in_flight_is_200_or_201_with_another_amount() {
    let sim = sim("in-flight").await;
    let mut first = Raw::connect(&sim).await;
    let created = first
        .call(
            1,
            "invoice",
            json!({"amount_msat": "any", "label": "open", "description": "any amount"}),
        )
        .await;
    let bolt11 = created["result"]["bolt11"].as_str().unwrap().to_owned();
    sim.simulator.node().control().stall_next_payment();
    // The first xpay waits for its stalled payment; its answer comes after the release.
    first
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "xpay",
                     "params": {"invstring": bolt11, "amount_msat": 1000}}))
        .await;
    let mut second = Raw::connect(&sim).await;
    let mut in_flight = false;
    for _ in 0..50 {
        let listed = second.call(3, "listpays", json!({})).await;
        if listed["result"]["pays"][0]["status"] == "pending" {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(in_flight, "the first payment never showed as pending");
    let same = second
        .call(4, "xpay", json!({"invstring": bolt11, "amount_msat": 1000}))
        .await;
    assert_eq!(error_code(&same), 200, "{same}");
    let other = second
        .call(5, "xpay", json!({"invstring": bolt11, "amount_msat": 2000}))
        .await;
    assert_eq!(error_code(&other), 201, "{other}");
    sim.simulator
        .node()
        .control()
        .release_all(wallet_fake::Release::Succeed);
    let paid = first.answer().await.expect("the first xpay's answer");
    assert!(paid["result"]["payment_preimage"].is_string(), "{paid}");
}
