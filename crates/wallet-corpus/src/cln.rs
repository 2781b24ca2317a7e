//! Core Lightning: every JSON-RPC method `wallet-cln` calls, answered by cln-sim with each class
//! of bad answer (`ClnSimulator::script_next`) on a real unix socket.

use std::sync::Arc;
use std::time::Duration;

use cln_sim::{ClnSimulator, ScriptedAnswer};
use serde_json::{Value, json};
use wallet_cln::{ClnConfig, CoreLightningWallet};
use wallet_core::Wallet;
use wallet_fake::{FakeNetwork, NodeConfig};

use crate::case::{Class, Expect, Row, Table};
use crate::ops::{Op, Targets};
use crate::shapes::{REPAINT, spoiled};
use wallet_conformance::fixtures::TempDir;

use crate::Runnable;

/// A method `wallet-cln` calls, in the wallet call that makes it.
struct Request {
    op: Op,
    method: &'static str,
    /// A well-formed answer, spoiled by the shape-keeping classes.
    shape: fn(&Targets) -> Value,
    /// Whether this is the payment's dispatch.
    dispatch: bool,
}

const REQUESTS: &[Request] = &[
    Request {
        op: Op::Status,
        method: "listfunds",
        shape: listfunds,
        dispatch: false,
    },
    Request {
        op: Op::CreateInvoice,
        method: "invoice",
        shape: invoice,
        dispatch: false,
    },
    Request {
        op: Op::InvoiceStatus,
        method: "listinvoices",
        shape: listinvoices,
        dispatch: false,
    },
    Request {
        op: Op::Pay,
        method: "getinfo",
        shape: getinfo,
        dispatch: false,
    },
    Request {
        op: Op::Pay,
        method: "listpays",
        shape: no_pays,
        dispatch: false,
    },
    Request {
        op: Op::Pay,
        method: "xpay",
        shape: xpay,
        dispatch: true,
    },
    Request {
        op: Op::PaymentStatus,
        method: "listpays",
        shape: listpays,
        dispatch: false,
    },
    Request {
        op: Op::Cursor,
        method: "listinvoices",
        shape: listinvoices,
        dispatch: false,
    },
    Request {
        op: Op::Stream,
        method: "waitanyinvoice",
        shape: waitanyinvoice,
        dispatch: false,
    },
    Request {
        op: Op::HoldInvoice,
        method: "holdinvoice",
        shape: holdinvoice,
        dispatch: false,
    },
    Request {
        op: Op::SettleHold,
        method: "settleholdinvoice",
        shape: resolved,
        dispatch: false,
    },
    Request {
        op: Op::CancelHold,
        method: "cancelholdinvoice",
        shape: resolved,
        dispatch: false,
    },
    Request {
        op: Op::NodeInfo,
        method: "getinfo",
        shape: getinfo,
        dispatch: false,
    },
    Request {
        op: Op::ListPeers,
        method: "listpeers",
        shape: listpeers,
        dispatch: false,
    },
    Request {
        op: Op::ListChannels,
        method: "listpeerchannels",
        shape: listpeerchannels,
        dispatch: false,
    },
];

const PEER: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

fn listfunds(_: &Targets) -> Value {
    json!({"outputs": [{"amount_msat": 100_000, "status": "confirmed"}],
        "channels": [{"peer_id": PEER, "state": "CHANNELD_NORMAL", "our_amount_msat": 50_000,
            "amount_msat": 100_000, "short_channel_id": "1x1x1"}]})
}

fn invoice(targets: &Targets) -> Value {
    json!({"payment_hash": targets.own_invoice.to_hex(), "bolt11": targets.payable,
        "expires_at": 4_000_000_000u64, "created_index": 2})
}

fn paid_invoice(targets: &Targets) -> Value {
    json!({"label": "corpus", "payment_hash": targets.own_invoice.to_hex(), "status": "paid",
        "amount_msat": 21_000, "amount_received_msat": 21_000, "paid_at": 1_795_926_309,
        "payment_preimage": targets.own_preimage.to_hex(), "pay_index": 1, "created_index": 1,
        "bolt11": targets.payable})
}

fn listinvoices(targets: &Targets) -> Value {
    json!({"invoices": [paid_invoice(targets)]})
}

fn waitanyinvoice(targets: &Targets) -> Value {
    paid_invoice(targets)
}

fn getinfo(_: &Targets) -> Value {
    json!({"id": PEER, "alias": "corpus", "color": "02eec7", "num_peers": 1,
        "num_active_channels": 1, "num_pending_channels": 0, "num_inactive_channels": 0,
        "blockheight": 800_000, "network": "regtest", "version": "v25.02"})
}

fn no_pays(_: &Targets) -> Value {
    json!({"pays": []})
}

fn listpays(targets: &Targets) -> Value {
    json!({"pays": [{"payment_hash": targets.payable_hash.to_hex(), "status": "complete",
        "preimage": targets.payable_preimage_hex(), "amount_msat": 10_000, "amount_sent_msat": 10_001,
        "created_at": 1_795_926_300, "completed_at": 1_795_926_309, "bolt11": targets.payable}]})
}

fn xpay(targets: &Targets) -> Value {
    json!({"payment_preimage": targets.payable_preimage_hex(), "amount_msat": 10_000,
        "amount_sent_msat": 10_001, "failed_parts": 0, "successful_parts": 1})
}

fn holdinvoice(targets: &Targets) -> Value {
    json!({"payment_hash": targets.hold_preimage.payment_hash().to_hex(),
        "bolt11": targets.payable, "expires_at": 4_000_000_000u64})
}

fn resolved(_: &Targets) -> Value {
    json!({"state": "SETTLED"})
}

fn listpeers(_: &Targets) -> Value {
    json!({"peers": [{"id": PEER, "connected": true, "netaddr": ["127.0.0.1:9735"],
        "num_channels": 1}]})
}

fn listpeerchannels(_: &Targets) -> Value {
    json!({"channels": [{"peer_id": PEER, "peer_connected": true, "state": "CHANNELD_NORMAL",
        "short_channel_id": "1x1x1", "total_msat": 100_000, "to_us_msat": 50_000}]})
}

/// An attempt at the payable invoice in flight, made after the dispatch.
fn in_flight(targets: &Targets) -> Value {
    json!({"pays": [{"payment_hash": targets.payable_hash.to_hex(), "status": "pending",
        "amount_msat": 10_000, "created_at": wallet_core::time::unix_now(), "created_index": 7,
        "bolt11": targets.payable}]})
}

/// A failed attempt at the payable invoice from long before this payment's dispatch.
fn earlier_failure(targets: &Targets) -> Value {
    json!({"pays": [{"payment_hash": targets.payable_hash.to_hex(), "status": "failed",
        "amount_msat": 10_000, "created_at": 1_600_000_000, "bolt11": targets.payable}]})
}

/// The JSON-RPC error classes lightningd sends.
const NODE_ERRORS: &[(&str, i64)] = &[
    ("-32700 parse error", -32_700),
    ("-32600 invalid request", -32_600),
    ("-32601 unknown method", -32_601),
    ("-32602 invalid params", -32_602),
    ("-32603 internal error", -32_603),
    ("-1 general", -1),
    ("210 pay error", 210),
];

/// An answer larger than the 4 MiB default cap.
fn huge_reply() -> Vec<u8> {
    let mut reply = br#"{"jsonrpc":"2.0","id":1,"result":{"padding":""#.to_vec();
    reply.resize(reply.len() + 6 * 1024 * 1024, b'a');
    reply.extend_from_slice(b"\"}}\n\n");
    reply
}

/// What lightningd answers each call of the case with, in order.
fn script(
    request: &Request,
    class: Class,
    targets: &Targets,
) -> Vec<(&'static str, ScriptedAnswer)> {
    let method = request.method;
    let answer = match class {
        Class::Garbage => ScriptedAnswer::Raw(b"\x00\x9fnot json <html>\xff\n\n".to_vec()),
        Class::Truncated => {
            ScriptedAnswer::Raw(br#"{"jsonrpc":"2.0","id":1,"result":{"invoices":[{"#.to_vec())
        }
        Class::HugeBody => ScriptedAnswer::Raw(huge_reply()),
        Class::ControlCharacters => ScriptedAnswer::Error {
            code: -1,
            message: format!("{REPAINT} scripted failure"),
        },
        Class::NodeError(name) => {
            let code = NODE_ERRORS
                .iter()
                .find(|(known, _)| *known == name)
                .map_or(-1, |(_, code)| *code);
            ScriptedAnswer::Error {
                code,
                message: "scripted failure".into(),
            }
        }
        Class::Silence => ScriptedAnswer::Silence,
        Class::Closed | Class::EarlierFailure => ScriptedAnswer::Close,
        Class::Redirect => ScriptedAnswer::Close,
        shaped => ScriptedAnswer::Result(spoiled(&(request.shape)(targets), shaped)),
    };
    if request.dispatch && matches!(class, Class::NodeError(_) | Class::ControlCharacters) {
        // Nothing before; the error; then the attempt the node made anyway.
        let mut script = vec![
            ("listpays", ScriptedAnswer::Result(no_pays(targets))),
            (method, answer),
        ];
        script.extend((0..32).map(|_| ("listpays", ScriptedAnswer::Result(in_flight(targets)))));
        return script;
    }
    if class == Class::EarlierFailure {
        // The lookup before the dispatch finds a failed attempt from long before; the dispatch's
        // answer is lost; the lookup after it still finds only that old failure.
        return vec![
            ("listpays", ScriptedAnswer::Result(earlier_failure(targets))),
            (method, answer),
            ("listpays", ScriptedAnswer::Result(earlier_failure(targets))),
        ];
    }
    vec![(method, answer)]
}

/// The expectation, from the contract: written per kind of call and class of answer.
fn expect(request: &Request, class: Class) -> Expect {
    // Says what was wrong with the answer.
    let source: &'static [&'static str] = &[
        "unreadable",
        "another",
        "has no",
        "without",
        "past",
        "reported",
        "not paid",
    ];
    let cause: &'static [&'static str] = match class {
        Class::Garbage => &["unreadable"],
        Class::Truncated | Class::Silence => &["did not answer"],
        Class::HugeBody => &["larger than"],
        Class::Closed => &["closed"],
        Class::ControlCharacters | Class::NodeError(_) => &["scripted failure"],
        _ => source,
    };
    match request.op {
        // Only lightningd's documented refusals of a payment's parameters come before any
        // attempt; after any other error the node records an attempt (scripted), so the payment
        // is pending.
        Op::Pay if request.dispatch => match class {
            Class::NodeError("-32602 invalid params" | "-32601 unknown method") => {
                Expect::NotSentOrPending(&["scripted failure"])
            }
            _ => Expect::Pending,
        },
        // Rule 2: a node that cannot say what it has in flight leaves the payment pending.
        Op::Pay if request.method == "listpays" => match class {
            Class::NodeError(_) => Expect::NotSentOrPending(&["scripted failure"]),
            _ => Expect::Pending,
        },
        Op::Pay => Expect::NeverFailed,
        // waitanyinvoice answers about whichever invoice was paid: another hash is no fault.
        Op::Stream if class == Class::OtherHash => Expect::WorksOrError(source),
        // A paid invoice that does not read ends the stream: skipping it would lose it.
        Op::Stream
            if matches!(
                class,
                Class::WrongTypes | Class::HugeNumbers | Class::NegativeNumbers
            ) =>
        {
            Expect::Error(source)
        }
        Op::InvoiceStatus | Op::PaymentStatus | Op::Stream => Expect::NoClaim(cause),
        // A settle's or cancel's result carries nothing the call reads; node listings keep what
        // they can show.
        Op::SettleHold | Op::CancelHold | Op::ListPeers | Op::ListChannels | Op::NodeInfo
            if class.keeps_shape() =>
        {
            Expect::WorksOrError(source)
        }
        // Balances read no hash; a cursor reads no hash either.
        Op::Status | Op::Cursor if class == Class::OtherHash => Expect::WorksOrError(source),
        _ => Expect::Error(cause),
    }
}

/// Every cln case.
pub(crate) fn cases() -> Vec<Runnable> {
    Table {
        backend: "cln",
        requests: REQUESTS,
        row: |request| Row {
            request: format!("{:?} {}", request.op, request.method),
            op: request.op,
            dispatch: request.dispatch,
        },
        node_errors: NODE_ERRORS.iter().map(|(name, _)| *name).collect(),
        redirects: false,
        expect,
    }
    .cases(|index, class| Box::pin(run(index, class)))
}

/// Runs one case on a fresh network and lightningd.
async fn run(index: usize, class: Class) -> Result<(crate::case::Observed, Vec<String>), String> {
    let request = REQUESTS.get(index).ok_or("no such request")?;
    let network = FakeNetwork::new();
    let dir = TempDir::new("corpus-cln").map_err(|err| err.to_string())?;
    let node = network
        .add_node(NodeConfig::new("cln"))
        .map_err(|err| err.to_string())?;
    let simulator = ClnSimulator::start(node, dir.path().to_path_buf())
        .await
        .map_err(|err| err.to_string())?;
    let mut config = ClnConfig::new(simulator.socket_path());
    config.hold_invoices = true;
    config.timeout = Duration::from_secs(1);
    let wallet: Arc<dyn Wallet> = Arc::new(CoreLightningWallet::new(config));
    let targets = Targets::prepare(&network, wallet.as_ref(), request.op).await?;
    for (method, answer) in script(request, class, &targets) {
        simulator.script_next(method, answer);
    }
    let observed = crate::ops::run(wallet, request.op, &targets).await;
    Ok((observed, targets.secrets()))
}

/// Well-formed answers to the calls the fuzz harness scripts: its seeds.
pub(crate) fn fuzz_seeds(targets: &Targets) -> Vec<(Op, Vec<u8>)> {
    REQUESTS
        .iter()
        .filter(|request| !request.dispatch)
        .map(|request| {
            let answer = (request.shape)(targets);
            (request.op, answer.to_string().into_bytes())
        })
        .collect()
}
