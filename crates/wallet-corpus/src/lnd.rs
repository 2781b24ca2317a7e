//! lnd: every gRPC method `wallet-lnd` calls, answered by lnd-sim with each class of bad answer
//! (`LndSimulator::script_next`) over real gRPC with TLS and macaroons.

use std::sync::Arc;
use std::time::Duration;

use lnd_grpc::{invoicesrpc, lnrpc};
use lnd_sim::{LndSimulator, ScriptedReply, SimOptions};
use prost::Message;
use wallet_core::Wallet;
use wallet_fake::{FakeNetwork, NodeConfig};
use wallet_lnd::{LndConfig, LndWallet};

use crate::case::{Class, Expect, Observed, Row, Table};
use crate::ops::{Op, Targets};
use crate::shapes::REPAINT;
use wallet_conformance::fixtures::TempDir;

use crate::Runnable;

/// The numbers and hash a well-formed answer carries, spoiled per class.
#[derive(Clone)]
struct Fill {
    unsigned: u64,
    signed: i64,
    small: u32,
    /// Replaces every payment hash (another hash), when set.
    other_hash: Option<[u8; 32]>,
}

impl Fill {
    fn for_class(class: Class) -> Self {
        let plain = Self {
            unsigned: 1_000,
            signed: 1_000,
            small: 1,
            other_hash: None,
        };
        match class {
            Class::HugeNumbers => Self {
                unsigned: u64::MAX,
                signed: i64::MAX,
                small: u32::MAX,
                other_hash: None,
            },
            Class::NegativeNumbers => Self {
                signed: -1_000,
                ..plain
            },
            Class::OtherHash => Self {
                other_hash: Some([0x0f; 32]),
                ..plain
            },
            _ => plain,
        }
    }

    fn hash(&self, hash: &wallet_core::PaymentHash) -> Vec<u8> {
        self.other_hash
            .map_or_else(|| hash.as_bytes().to_vec(), |other| other.to_vec())
    }
}

const PEER: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

/// A method `wallet-lnd` calls, in the wallet call that makes it.
struct Request {
    op: Op,
    path: &'static str,
    shape: fn(&Targets, &Fill) -> Vec<u8>,
    dispatch: bool,
    /// The wallet sends it once more when the transport fails (it is safe to send twice).
    repeated: bool,
}

fn payment(
    targets: &Targets,
    fill: &Fill,
    status: lnrpc::payment::PaymentStatus,
) -> lnrpc::Payment {
    lnrpc::Payment {
        payment_hash: wallet_core::hex::encode(&fill.hash(&targets.payable_hash)),
        value: fill.signed,
        value_sat: fill.signed,
        value_msat: fill.signed,
        creation_date: fill.signed,
        creation_time_ns: fill.signed,
        fee: fill.signed,
        fee_sat: fill.signed,
        fee_msat: fill.signed,
        payment_preimage: targets.payable_preimage_hex(),
        payment_request: targets.payable.clone(),
        status: status as i32,
        payment_index: fill.unsigned,
        ..lnrpc::Payment::default()
    }
}

fn settled_invoice(targets: &Targets, fill: &Fill) -> lnrpc::Invoice {
    lnrpc::Invoice {
        memo: "corpus".into(),
        r_preimage: targets.own_preimage.as_bytes().to_vec(),
        r_hash: fill.hash(&targets.own_invoice),
        value: fill.signed,
        value_msat: fill.signed,
        settled: true,
        creation_date: fill.signed,
        settle_date: fill.signed,
        expiry: fill.signed,
        payment_request: targets.payable.clone(),
        add_index: fill.unsigned,
        settle_index: fill.unsigned,
        amt_paid: fill.signed,
        amt_paid_sat: fill.signed,
        amt_paid_msat: fill.signed,
        state: lnrpc::invoice::InvoiceState::Settled as i32,
        ..lnrpc::Invoice::default()
    }
}

fn channel_balance(_: &Targets, fill: &Fill) -> Vec<u8> {
    let amount = Some(lnrpc::Amount {
        sat: fill.unsigned,
        msat: fill.unsigned,
    });
    lnrpc::ChannelBalanceResponse {
        balance: fill.signed,
        pending_open_balance: fill.signed,
        local_balance: amount,
        remote_balance: amount,
        ..lnrpc::ChannelBalanceResponse::default()
    }
    .encode_to_vec()
}

fn add_invoice(targets: &Targets, fill: &Fill) -> Vec<u8> {
    lnrpc::AddInvoiceResponse {
        r_hash: fill.hash(&targets.payable_hash),
        payment_request: targets.payable.clone(),
        add_index: fill.unsigned,
        payment_addr: vec![1; 32],
    }
    .encode_to_vec()
}

fn lookup_invoice(targets: &Targets, fill: &Fill) -> Vec<u8> {
    settled_invoice(targets, fill).encode_to_vec()
}

fn list_invoices(targets: &Targets, fill: &Fill) -> Vec<u8> {
    lnrpc::ListInvoiceResponse {
        invoices: vec![settled_invoice(targets, fill)],
        last_index_offset: fill.unsigned,
        first_index_offset: fill.unsigned,
    }
    .encode_to_vec()
}

fn get_info(_: &Targets, fill: &Fill) -> Vec<u8> {
    lnrpc::GetInfoResponse {
        identity_pubkey: PEER.into(),
        alias: "corpus".into(),
        num_active_channels: fill.small,
        num_peers: fill.small,
        block_height: fill.small,
        best_header_timestamp: fill.signed,
        synced_to_chain: true,
        version: "0.19.0-beta".into(),
        chains: vec![lnrpc::Chain {
            chain: "bitcoin".into(),
            network: "regtest".into(),
        }],
        ..lnrpc::GetInfoResponse::default()
    }
    .encode_to_vec()
}

fn succeeded_payment(targets: &Targets, fill: &Fill) -> Vec<u8> {
    payment(targets, fill, lnrpc::payment::PaymentStatus::Succeeded).encode_to_vec()
}

fn not_found(_: &Targets, _: &Fill) -> Vec<u8> {
    Vec::new()
}

fn add_hold_invoice(targets: &Targets, fill: &Fill) -> Vec<u8> {
    invoicesrpc::AddHoldInvoiceResp {
        payment_request: targets.payable.clone(),
        add_index: fill.unsigned,
        payment_addr: vec![1; 32],
    }
    .encode_to_vec()
}

fn empty(_: &Targets, _: &Fill) -> Vec<u8> {
    Vec::new()
}

fn list_peers(_: &Targets, fill: &Fill) -> Vec<u8> {
    lnrpc::ListPeersResponse {
        peers: vec![lnrpc::Peer {
            pub_key: PEER.into(),
            address: "127.0.0.1:9735".into(),
            bytes_sent: fill.unsigned,
            bytes_recv: fill.unsigned,
            sat_sent: fill.signed,
            sat_recv: fill.signed,
            ping_time: fill.signed,
            ..lnrpc::Peer::default()
        }],
    }
    .encode_to_vec()
}

fn list_channels(_: &Targets, fill: &Fill) -> Vec<u8> {
    lnrpc::ListChannelsResponse {
        channels: vec![lnrpc::Channel {
            active: true,
            remote_pubkey: PEER.into(),
            chan_id: fill.unsigned,
            capacity: fill.signed,
            local_balance: fill.signed,
            remote_balance: fill.signed,
            ..lnrpc::Channel::default()
        }],
    }
    .encode_to_vec()
}

const REQUESTS: &[Request] = &[
    Request {
        op: Op::Status,
        path: "/lnrpc.Lightning/ChannelBalance",
        shape: channel_balance,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::CreateInvoice,
        path: "/lnrpc.Lightning/AddInvoice",
        shape: add_invoice,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::InvoiceStatus,
        path: "/lnrpc.Lightning/LookupInvoice",
        shape: lookup_invoice,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::Pay,
        path: "/lnrpc.Lightning/GetInfo",
        shape: get_info,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::Pay,
        path: "/routerrpc.Router/TrackPaymentV2",
        shape: not_found,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::Pay,
        path: "/routerrpc.Router/SendPaymentV2",
        shape: succeeded_payment,
        dispatch: true,
        repeated: false,
    },
    Request {
        op: Op::PaymentStatus,
        path: "/routerrpc.Router/TrackPaymentV2",
        shape: succeeded_payment,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::Cursor,
        path: "/lnrpc.Lightning/ListInvoices",
        shape: list_invoices,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::Stream,
        path: "/lnrpc.Lightning/SubscribeInvoices",
        shape: lookup_invoice,
        dispatch: false,
        repeated: false,
    },
    Request {
        op: Op::HoldInvoice,
        path: "/invoicesrpc.Invoices/AddHoldInvoice",
        shape: add_hold_invoice,
        dispatch: false,
        repeated: false,
    },
    Request {
        op: Op::SettleHold,
        path: "/invoicesrpc.Invoices/SettleInvoice",
        shape: empty,
        dispatch: false,
        repeated: false,
    },
    Request {
        op: Op::CancelHold,
        path: "/invoicesrpc.Invoices/CancelInvoice",
        shape: empty,
        dispatch: false,
        repeated: false,
    },
    Request {
        op: Op::NodeInfo,
        path: "/lnrpc.Lightning/GetInfo",
        shape: get_info,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::ListPeers,
        path: "/lnrpc.Lightning/ListPeers",
        shape: list_peers,
        dispatch: false,
        repeated: true,
    },
    Request {
        op: Op::ListChannels,
        path: "/lnrpc.Lightning/ListChannels",
        shape: list_channels,
        dispatch: false,
        repeated: true,
    },
];

/// gRPC's error classes, as lnd sends them.
const NODE_ERRORS: &[(&str, i32)] = &[
    ("1 cancelled", 1),
    ("2 unknown", 2),
    ("3 invalid argument", 3),
    ("4 deadline exceeded", 4),
    ("5 not found", 5),
    ("6 already exists", 6),
    ("7 permission denied", 7),
    ("8 resource exhausted", 8),
    ("9 failed precondition", 9),
    ("10 aborted", 10),
    ("11 out of range", 11),
    ("12 unimplemented", 12),
    ("13 internal", 13),
    ("14 unavailable", 14),
    ("15 data loss", 15),
    ("16 unauthenticated", 16),
];

/// `bytes` with the wire type of its first field changed: a string read as a fixed32, or a
/// number read as bytes.
fn wrong_types(bytes: &[u8]) -> Vec<u8> {
    match bytes.split_first() {
        Some((tag, rest)) if tag & 0x07 == 2 => [&[(tag & !0x07) | 5], rest].concat(),
        Some((tag, rest)) => [&[(tag & !0x07) | 2, 0x7f], rest].concat(),
        None => vec![0x0a, 0x7f],
    }
}

fn reply(request: &Request, class: Class, targets: &Targets) -> ScriptedReply {
    let shape = |class| (request.shape)(targets, &Fill::for_class(class));
    match class {
        Class::Garbage => ScriptedReply::Message(vec![0xff; 24]),
        Class::Truncated => ScriptedReply::Body(vec![0, 0, 0, 0, 200, 0x0a, 0x05]),
        Class::WrongTypes => ScriptedReply::Message(wrong_types(&shape(Class::Garbage))),
        Class::MissingFields => ScriptedReply::Message(Vec::new()),
        Class::HugeBody => {
            // One unknown bytes field (number 1000) of 6 MiB.
            let mut message = vec![0xc2, 0x3e];
            let mut length = 6 * 1024 * 1024_u64;
            while length >= 0x80 {
                message.push(u8::try_from(length & 0x7f).unwrap_or(0) | 0x80);
                length >>= 7;
            }
            message.push(u8::try_from(length).unwrap_or(0));
            message.resize(message.len() + 6 * 1024 * 1024, b'a');
            ScriptedReply::Message(message)
        }
        Class::ControlCharacters => ScriptedReply::Status {
            code: 2,
            message: format!("{REPAINT} scripted failure"),
        },
        Class::NodeError(name) => ScriptedReply::Status {
            code: NODE_ERRORS
                .iter()
                .find(|(known, _)| *known == name)
                .map_or(2, |(_, code)| *code),
            message: "scripted failure".into(),
        },
        Class::Silence => ScriptedReply::Silence,
        Class::Closed | Class::Redirect | Class::EarlierFailure => ScriptedReply::Reset,
        shaped => ScriptedReply::Message(shape(shaped)),
    }
}

fn failed_long_ago(targets: &Targets) -> ScriptedReply {
    let mut failed = payment(
        targets,
        &Fill::for_class(Class::Garbage),
        lnrpc::payment::PaymentStatus::Failed,
    );
    failed.creation_date = 1_600_000_000;
    failed.creation_time_ns = 1_600_000_000_000_000_000;
    failed.failure_reason = lnrpc::PaymentFailureReason::FailureReasonNoRoute as i32;
    ScriptedReply::Message(failed.encode_to_vec())
}

fn script(
    request: &Request,
    class: Class,
    targets: &Targets,
) -> Vec<(&'static str, ScriptedReply)> {
    let track = "/routerrpc.Router/TrackPaymentV2";
    if request.dispatch && matches!(class, Class::NodeError(_) | Class::ControlCharacters) {
        // Nothing before (lnd's NotFound); the error; then the attempt lnd made anyway.
        let mut script = vec![
            (
                track,
                ScriptedReply::Status {
                    code: 5,
                    message: "payment isn't initiated".into(),
                },
            ),
            (request.path, reply(request, class, targets)),
        ];
        let in_flight = payment(
            targets,
            &Fill::for_class(Class::Garbage),
            lnrpc::payment::PaymentStatus::InFlight,
        );
        script.extend((0..32).map(|_| (track, ScriptedReply::Message(in_flight.encode_to_vec()))));
        return script;
    }
    if class == Class::EarlierFailure {
        return vec![
            (track, failed_long_ago(targets)),
            (request.path, ScriptedReply::Reset),
            (track, failed_long_ago(targets)),
        ];
    }
    let answer = (request.path, reply(request, class, targets));
    if request.repeated && class == Class::Closed {
        // Both sends meet the closed connection: the wallet does not repeat it a third time.
        return vec![answer.clone(), answer];
    }
    vec![answer]
}

fn expect(request: &Request, class: Class) -> Expect {
    // Says what was wrong with the answer.
    let source: &'static [&'static str] = &[
        "reported",
        "another",
        "unreadable",
        "without",
        "ended",
        "r_hash",
        "topmost",
        "sent no",
        "unusable",
    ];
    let cause: &'static [&'static str] = match class {
        Class::Garbage | Class::WrongTypes => &["decode"],
        Class::Truncated => &["Missing response message", "decode", "ended"],
        Class::Silence => &["did not answer"],
        Class::HugeBody => &["LND_GRPC_MAX_REPLY_BYTES"],
        Class::Closed => &["stream error", "connection", "reset"],
        Class::ControlCharacters | Class::NodeError(_) => &["scripted failure"],
        _ => source,
    };
    match request.op {
        // Only refused credentials, a method lnd does not have, and lnd's documented pre-flight
        // texts (which the scripted message is not) come before any attempt; after any other
        // error lnd records an attempt (scripted), so the payment is pending.
        Op::Pay if request.dispatch => match class {
            Class::NodeError("16 unauthenticated" | "7 permission denied" | "12 unimplemented") => {
                Expect::NotSentOrPending(&["scripted failure"])
            }
            _ => Expect::Pending,
        },
        // Rule 2: a node that cannot say what it has in flight leaves the payment pending.
        Op::Pay if request.path.ends_with("TrackPaymentV2") => match class {
            Class::NodeError(_) => Expect::NotSentOrPending(&["scripted failure"]),
            _ => Expect::Pending,
        },
        Op::Pay => Expect::NeverFailed,
        // A paid invoice that does not read ends the stream: skipping it would lose it.
        Op::Stream
            if matches!(
                class,
                Class::WrongTypes | Class::HugeNumbers | Class::NegativeNumbers
            ) =>
        {
            Expect::Error(cause)
        }
        Op::Stream if class == Class::OtherHash => Expect::WorksOrError(source),
        Op::InvoiceStatus | Op::PaymentStatus | Op::Stream => Expect::NoClaim(cause),
        Op::SettleHold | Op::CancelHold | Op::ListPeers | Op::ListChannels | Op::NodeInfo
            if class.keeps_shape() =>
        {
            Expect::WorksOrError(cause)
        }
        Op::Status | Op::Cursor if class == Class::OtherHash => Expect::WorksOrError(source),
        // The balance is read from unsigned fields (Amount.msat): negative numbers reach only
        // the deprecated signed ones.
        Op::Status if class == Class::NegativeNumbers => Expect::WorksOrError(source),
        // Protobuf cannot tell a missing list from an empty one, and settle indexes are
        // unsigned: an empty or negative-amount listing is a node with nothing settled yet.
        Op::Cursor if matches!(class, Class::MissingFields | Class::NegativeNumbers) => {
            Expect::WorksOrError(source)
        }
        _ => Expect::Error(cause),
    }
}

/// Every lnd case.
pub(crate) fn cases() -> Vec<Runnable> {
    Table {
        backend: "lnd",
        requests: REQUESTS,
        row: |request| Row {
            request: format!("{:?} {}", request.op, request.path),
            op: request.op,
            dispatch: request.dispatch,
        },
        node_errors: NODE_ERRORS.iter().map(|(name, _)| *name).collect(),
        redirects: false,
        expect,
    }
    .cases(|index, class| Box::pin(run(index, class)))
}

async fn run(index: usize, class: Class) -> Result<(Observed, Vec<String>), String> {
    let request = REQUESTS.get(index).ok_or("no such request")?;
    let network = FakeNetwork::new();
    let dir = TempDir::new("corpus-lnd").map_err(|err| err.to_string())?;
    let node = network
        .add_node(NodeConfig::new("lnd"))
        .map_err(|err| err.to_string())?;
    let simulator = LndSimulator::start(node, SimOptions::in_dir(dir.path().to_path_buf()))
        .await
        .map_err(|err| err.to_string())?;
    let macaroon =
        std::fs::read(&simulator.files().admin_macaroon).map_err(|err| err.to_string())?;
    let secrets = vec![wallet_core::hex::encode(&macaroon)];
    let mut config =
        LndConfig::from_settings(&simulator.settings()).map_err(|err| err.to_string())?;
    config.timeout = Duration::from_secs(1);
    let wallet: Arc<dyn Wallet> = Arc::new(LndWallet::new(config).map_err(|err| err.to_string())?);
    let targets = Targets::prepare(&network, wallet.as_ref(), request.op).await?;
    for (path, reply) in script(request, class, &targets) {
        simulator.script_next(path, reply);
    }
    let observed = crate::ops::run(wallet, request.op, &targets).await;
    let mut all = targets.secrets();
    all.extend(secrets);
    Ok((observed, all))
}

/// Well-formed answers to the calls the fuzz harness scripts: its seeds.
pub(crate) fn fuzz_seeds(targets: &Targets) -> Vec<(Op, Vec<u8>)> {
    let fill = Fill::for_class(Class::Garbage);
    REQUESTS
        .iter()
        .filter(|request| !request.dispatch)
        .map(|request| (request.op, (request.shape)(targets, &fill)))
        .collect()
}
