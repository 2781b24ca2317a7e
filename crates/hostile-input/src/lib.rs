//! Untrusted input for tests, in one place: proptest strategies that make arbitrary node answers
//! (JSON shaped like them, with numbers at the edges of their types and text with control
//! characters), and the harnesses the fuzz targets under `fuzz/` run, which `tests/` replays on
//! stable over every input the fuzzers kept.
//!
//! A harness is a contract check: it panics when a parser breaks one (that is how a fuzzer
//! reports it), so this crate is test scaffolding only, never a dependency of a product crate.

// The harnesses' assertions are their purpose.
#![allow(clippy::panic)]

pub mod harness;
pub mod http;

use proptest::prelude::*;
use serde_json::Value;

/// Numbers where parsers break: zero, one, the edges of `i64`, `u64` and `u32`, all the
/// bitcoin there is in msat and one past it, floats, and anything else.
pub fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(1)),
        Just(Value::from(-1)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(u64::from(u32::MAX))),
        Just(Value::from(2_100_000_000_000_000_000_u64)),
        Just(Value::from(2_100_000_000_000_000_001_u64)),
        Just(Value::from(1.5)),
        Just(Value::from(-0.0)),
        Just(Value::from(1e300)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
    ]
}

/// Text where parsers break: empty, hex of the right and wrong lengths (payment hashes and
/// preimages), amounts with units, times, control characters, and anything else.
pub fn edge_text(hashes: Vec<String>) -> impl Strategy<Value = String> {
    let known = if hashes.is_empty() {
        vec![String::new()]
    } else {
        hashes
    };
    prop_oneof![
        Just(String::new()),
        proptest::sample::select(known),
        Just("00".repeat(32)),
        Just("ab".repeat(31)),
        Just("zz".repeat(32)),
        Just("5000msat".to_owned()),
        Just("-5msat".to_owned()),
        Just("18446744073709551616msat".to_owned()),
        Just("2026-11-29T04:25:09.829568+00:00".to_owned()),
        Just("9999-12-31T23:59:60.9999999999Z".to_owned()),
        Just("\u{1b}[2J\u{7}\r\u{202e}PAYMENT SUCCEEDED".to_owned()),
        Just("success".to_owned()),
        Just("failed".to_owned()),
        Just("pending".to_owned()),
        Just("paid".to_owned()),
        Just("complete".to_owned()),
        any::<String>(),
    ]
}

/// One JSON leaf at the edges: null, a boolean, an edge number or edge text.
pub fn leaf(hashes: Vec<String>) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_number(),
        edge_text(hashes).prop_map(Value::String),
    ]
}

/// A JSON value shaped like a node's answer: objects whose keys come from `fields` (the names
/// the mapping reads) or anywhere, holding edge numbers, edge text (some of it `hashes`),
/// booleans, nulls, lists and objects, up to a few levels deep.
pub fn json_answer(
    fields: &'static [&'static str],
    hashes: Vec<String>,
) -> impl Strategy<Value = Value> {
    leaf(hashes).prop_recursive(2, 24, 5, move |inner| {
        let key = prop_oneof![
            4 => proptest::sample::select(fields).prop_map(str::to_owned),
            1 => any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A record with the fields a mapping reads: each is one of its `plausible` values (half the
/// time), any edge leaf, or missing. Records that read as valid come up often enough to test
/// what a mapping claims, and every one of them has something wrong somewhere.
pub fn record(
    fields: Vec<(&'static str, Vec<Value>)>,
    hashes: Vec<String>,
) -> impl Strategy<Value = Value> {
    let per_field: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .into_iter()
        .map(|(name, plausible)| {
            let name = name.to_owned();
            let chosen = if plausible.is_empty() {
                leaf(hashes.clone()).boxed()
            } else {
                prop_oneof![
                    2 => proptest::sample::select(plausible),
                    1 => leaf(hashes.clone()),
                ]
                .boxed()
            };
            prop_oneof![
                6 => chosen.prop_map(Some),
                1 => Just(None),
            ]
            .prop_map(move |value| value.map(|value| (name.clone(), value)))
            .boxed()
        })
        .collect();
    per_field.prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
}

/// `count` values of `strategy`, drawn deterministically: for checks that a property test's
/// inputs reach the cases it is about.
pub fn sample<S: Strategy>(strategy: S, count: usize) -> Vec<S::Value> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..count)
        .filter_map(|_| strategy.new_tree(&mut runner).ok())
        .map(|tree| tree.current())
        .collect()
}

/// Whether an invoice state read from untrusted data claims only what it can: a paid invoice
/// with a preimage of `payment_hash`, and amounts that exist.
pub fn invoice_claim_holds(
    status: &wallet_core::InvoiceStatus,
    payment_hash: &wallet_core::PaymentHash,
) -> bool {
    use wallet_core::InvoiceStatus;
    use wallet_core::amount::MAX_MONEY_MSAT;
    match status {
        InvoiceStatus::Paid {
            preimage,
            amount_received_msat,
            ..
        } => payment_hash.is_paid_by(preimage) && *amount_received_msat <= MAX_MONEY_MSAT,
        InvoiceStatus::Held {
            amount_received_msat,
        } => *amount_received_msat <= MAX_MONEY_MSAT,
        _ => true,
    }
}
