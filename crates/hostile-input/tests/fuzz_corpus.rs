//! Every input the fuzzers kept (`fuzz/corpus/<target>/`), replayed through the same harnesses
//! on stable; and arbitrary bytes through each harness as a property test.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use hostile_input::harness::TARGETS;
use proptest::prelude::*;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn every_kept_fuzz_input_still_passes_its_harness() {
    for (target, harness) in TARGETS {
        let folder = corpus(target);
        let inputs: Vec<PathBuf> = std::fs::read_dir(&folder)
            .unwrap_or_else(|err| panic!("{}: {err}", folder.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        assert!(!inputs.is_empty(), "{} holds no inputs", folder.display());
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            harness(&data);
        }
    }
}

#[test]
fn every_harness_has_a_fuzz_target() {
    let targets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    for (target, _) in TARGETS {
        let file = targets.join(format!("{target}.rs"));
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert!(
            source.contains(&format!("harness::{}", harness_name(target))),
            "{} does not run its harness",
            file.display()
        );
    }
}

fn harness_name(target: &str) -> &str {
    match target {
        "server_text" => "server_text_is_safe",
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_harness_breaks_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        for (_, harness) in TARGETS {
            harness(&data);
        }
    }

    #[test]
    fn no_harness_breaks_on_arbitrary_text(text in any::<String>()) {
        for (_, harness) in TARGETS {
            harness(text.as_bytes());
        }
    }

    #[test]
    fn bolt11_lookalikes_never_break_the_parser_or_read_back_wrong(
        prefix in prop::sample::select(vec!["lnbc", "lntb", "lnbcrt", "lnsb", "lno", "LNBC", "lightning:lnbc"]),
        amount in prop::sample::select(vec!["", "1", "21000001", "2100000000000000001", "1p", "10n", "99999999999999999999m"]),
        rest in "[02-9ac-hj-np-z]{0,300}",
    ) {
        hostile_input::harness::bolt11(format!("{prefix}{amount}1{rest}").as_bytes());
    }
}
