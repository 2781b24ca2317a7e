//! Every input the backends' fuzzers kept (`fuzz/corpus/<target>/`, seeds included), replayed on
//! stable through the same harnesses against the same scripted nodes; and arbitrary bytes
//! through each as a property test.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use proptest::prelude::*;
use wallet_corpus::harness::{Backend, Bed, TARGETS};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn replay(target: &str, backend: Backend) {
    let folder = fuzz_dir().join("corpus").join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|err| panic!("{}: {err}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    inputs.sort();
    assert!(
        inputs.iter().any(|input| input
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("seed-"))),
        "{} holds no seeds (cargo run -p wallet-corpus -- --fuzz-seeds fuzz/corpus)",
        folder.display()
    );
    let bed = Bed::start(backend).unwrap();
    for input in inputs {
        let data = std::fs::read(&input).unwrap();
        let outcome = bed.run(&data);
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        // A seed is a well-formed answer: it reaches the backend's mapping and reads as what it
        // claims, so that the fuzzer's mutations start from there.
        if let Some(expected) = seed_outcome(&name) {
            let outcome = outcome.unwrap_or_default();
            assert!(
                outcome.starts_with(expected),
                "{target}/{name}: {outcome}, not {expected}"
            );
        }
    }
}

/// What a seed's call gives, by the call its name ends with.
fn seed_outcome(name: &str) -> Option<&'static str> {
    if !name.starts_with("seed-") {
        return None;
    }
    let (_, call) = name.rsplit_once('-')?;
    Some(match call {
        "InvoiceStatus" => "Invoice(Paid",
        "PaymentStatus" => "Payment(Succeeded",
        "Status" | "ListChannels" => "Amounts",
        "CreateInvoice" => "Issued",
        "Cursor" => "Cursor",
        "NodeInfo" | "ListPeers" => "Texts",
        other => panic!("a seed for an unknown call: {other}"),
    })
}

#[test]
fn every_kept_lightningd_answer_still_passes_its_harness() {
    replay("cln_answer", Backend::Cln);
}

#[test]
fn every_kept_lnd_reply_still_passes_its_harness() {
    replay("lnd_reply", Backend::Lnd);
}

#[test]
fn every_kept_lnbits_answer_still_passes_its_harness() {
    replay("lnbits_answer", Backend::Lnbits);
}

#[test]
fn every_backend_harness_has_a_fuzz_target() {
    for (target, _) in TARGETS {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert!(
            source.contains("Bed::start"),
            "{} does not run a harness bed",
            file.display()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_backend_breaks_on_arbitrary_answers(
        data in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        thread_local! {
            static BEDS: Vec<Bed> = [Backend::Cln, Backend::Lnd, Backend::Lnbits]
                .into_iter()
                .map(|backend| Bed::start(backend).unwrap())
                .collect();
        }
        BEDS.with(|beds| {
            for bed in beds {
                let _ = bed.run(&data);
            }
        });
    }
}
