//! Property tests of everything here that reads untrusted data: the one-attempt payment rule,
//! amounts, times, cursors, BOLT11 and server text, on arbitrary input.

use proptest::prelude::*;

use crate::amount::{MAX_MONEY_MSAT, reported_msat, sum_msat};
use crate::bolt11::Bolt11;
use crate::pay::{Attempt, AttemptState, payment_status};
use crate::time::{parse_rfc3339_micros, plausible_seconds};
use crate::untrusted::{MAX_SERVER_TEXT_CHARS, server_text};
use crate::{FailureReason, PaymentHash, PaymentStatus, Preimage, StreamCursor};

const PREIMAGE: Preimage = Preimage::from_bytes([0x42; 32]);

fn asked() -> PaymentHash {
    PREIMAGE.payment_hash()
}

/// One node record: about the asked hash, another, or one that could not be read; in any state,
/// with the right preimage, a wrong one or none.
fn attempt() -> impl Strategy<Value = Attempt> {
    let hash = prop_oneof![
        Just(Some(asked())),
        Just(Some(PaymentHash::from_bytes([9; 32]))),
        Just(None),
    ];
    let preimage = prop_oneof![
        Just(Some(PREIMAGE)),
        Just(Some(Preimage::from_bytes([7; 32]))),
        Just(None),
    ];
    let state = prop_oneof![
        Just(AttemptState::InFlight),
        (preimage, any::<u64>())
            .prop_map(|(preimage, fee_msat)| AttemptState::Succeeded { preimage, fee_msat }),
        Just(AttemptState::Failed {
            reason: FailureReason::NoRoute
        }),
    ];
    (hash, state, any::<u64>()).prop_map(|(payment_hash, state, order)| Attempt {
        payment_hash,
        state,
        order,
    })
}

fn about_asked(attempt: &Attempt) -> bool {
    attempt.payment_hash.is_none_or(|hash| hash == asked())
}

fn reports_success_with(attempt: &Attempt, preimage: &Preimage) -> bool {
    about_asked(attempt)
        && matches!(&attempt.state, AttemptState::Succeeded { preimage: Some(reported), .. } if reported == preimage)
}

fn failed_for_good(attempt: &Attempt) -> bool {
    attempt.payment_hash.is_some() && matches!(attempt.state, AttemptState::Failed { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_payment_succeeds_only_with_its_proof_and_fails_only_when_every_attempt_failed(
        attempts in prop::collection::vec(attempt(), 0..6)
    ) {
        match payment_status(&asked(), &attempts) {
            PaymentStatus::Succeeded { preimage, .. } => {
                prop_assert!(asked().is_paid_by(&preimage));
                let reported = attempts.iter().any(|attempt| reports_success_with(attempt, &preimage));
                prop_assert!(reported);
            }
            PaymentStatus::Failed { .. } => {
                let mine: Vec<&Attempt> = attempts.iter().filter(|a| about_asked(a)).collect();
                prop_assert!(!mine.is_empty());
                let all_failed = mine.iter().all(|attempt| failed_for_good(attempt));
                prop_assert!(all_failed);
            }
            PaymentStatus::Unknown => {
                prop_assert!(!attempts.iter().any(about_asked));
            }
            PaymentStatus::Pending => {}
        }
    }

    #[test]
    fn reported_amounts_never_exceed_all_bitcoin_and_sums_never_wrap(
        amounts in prop::collection::vec(any::<i64>(), 0..8),
    ) {
        let readable: Vec<u64> = amounts
            .iter()
            .filter_map(|amount| reported_msat(*amount, "an amount").ok())
            .collect();
        prop_assert!(readable.iter().all(|msat| *msat <= MAX_MONEY_MSAT));
        let exact: u128 = readable.iter().map(|msat| u128::from(*msat)).sum();
        match sum_msat(readable, "amounts") {
            Ok(sum) => prop_assert_eq!(u128::from(sum), exact),
            Err(_) => prop_assert!(exact > u128::from(MAX_MONEY_MSAT)),
        }
    }

    #[test]
    fn any_text_parses_as_a_time_in_range_or_not_at_all(text in any::<String>()) {
        if let Some(micros) = parse_rfc3339_micros(&text) {
            prop_assert!(micros > -62_200_000_000_000_000 && micros < 253_500_000_000_000_000);
        }
    }

    #[test]
    fn time_like_text_never_breaks_the_parser(
        year in -1i64..100_000, month in 0u32..14, day in 0u32..33,
        hour in 0u32..26, minute in 0u32..62, second in 0u32..62,
        fraction in "[0-9]{0,12}", offset in prop::sample::select(vec!["", "Z", "+00:00", "-23:59", "+99:99", "+5"]),
    ) {
        let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{fraction}{offset}");
        let _ = parse_rfc3339_micros(&text);
    }

    #[test]
    fn plausible_times_are_before_the_year_10000(seconds in any::<u64>()) {
        if let Some(seconds) = plausible_seconds(seconds) {
            prop_assert!(seconds < 253_402_300_800);
        }
    }

    #[test]
    fn server_text_never_shows_control_characters_and_is_cut(text in any::<String>()) {
        let shown = server_text(&text);
        prop_assert!(!shown.chars().any(char::is_control));
        prop_assert!(shown.chars().count() <= MAX_SERVER_TEXT_CHARS + 40);
    }

    #[test]
    fn cursors_read_as_an_index_or_are_refused(text in any::<String>(), index in any::<u64>()) {
        let _ = StreamCursor::new(text).to_index();
        prop_assert_eq!(StreamCursor::from_index(index).to_index().ok(), Some(index));
    }

    #[test]
    fn a_bolt11_lookalike_never_breaks_the_parser(
        prefix in prop::sample::select(vec!["lnbc", "lntb", "lnbcrt", "lno", "LNBC", "lightning:lnbc"]),
        amount in prop::sample::select(vec!["", "1", "21000001", "2100000000000000001", "1p", "99999999999999999999m"]),
        rest in "[02-9ac-hj-np-z]{0,200}",
    ) {
        if let Ok(invoice) = Bolt11::parse(&format!("{prefix}{amount}1{rest}")) {
            prop_assert!(invoice.amount_msat().is_none_or(|msat| msat <= MAX_MONEY_MSAT));
        }
    }
}
