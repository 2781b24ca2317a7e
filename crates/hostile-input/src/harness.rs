//! The fuzz targets' bodies: each takes any bytes, runs one of wallet-core's parsers of untrusted
//! input on them, and panics if the parser breaks its contract. `fuzz/fuzz_targets/*.rs` call
//! these under libFuzzer (nightly); `tests/fuzz_corpus.rs` replays every kept input on stable.

use wallet_core::amount::{MAX_MONEY_MSAT, reported_msat, sum_msat};
use wallet_core::bolt11::Bolt11;
use wallet_core::time::parse_rfc3339_micros;
use wallet_core::untrusted::{MAX_SERVER_TEXT_CHARS, server_text};
use wallet_core::{Settings, StreamCursor};

/// A harness: any bytes in, a panic when the contract breaks.
pub type Harness = fn(&[u8]);

/// Every harness, by the name of its fuzz target and corpus folder.
pub const TARGETS: &[(&str, Harness)] = &[
    ("bolt11", bolt11),
    ("rfc3339", rfc3339),
    ("dotenv", dotenv),
    ("server_text", server_text_is_safe),
    ("cursor", cursor),
    ("amounts", amounts),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A BOLT11 invoice that parses carries an amount that exists, and reads back the same.
pub fn bolt11(data: &[u8]) {
    let text = text(data);
    if let Ok(invoice) = Bolt11::parse(&text) {
        if let Some(amount) = invoice.amount_msat() {
            assert!(
                amount <= MAX_MONEY_MSAT,
                "{text:?} parsed with {amount} msat"
            );
        }
        let again = Bolt11::parse(&invoice.to_string());
        assert!(
            again.is_ok_and(|again| again.payment_hash() == invoice.payment_hash()),
            "{text:?} does not read back"
        );
        // Expiry arithmetic on hostile timestamps must not overflow.
        let _ = invoice.expires_at();
        let _ = invoice.is_expired();
    }
}

/// A time that parses lies between the years 0 and 10000.
pub fn rfc3339(data: &[u8]) {
    let text = text(data);
    if let Some(micros) = parse_rfc3339_micros(&text) {
        // 0000-01-01 and 10000-01-01, give or take a day of offset.
        let earliest = -62_167_219_200_000_000_i64 - 86_400_000_000;
        let latest = 253_402_300_800_000_000_i64 + 86_400_000_000;
        assert!(
            (earliest..=latest).contains(&micros),
            "{text:?} parsed as {micros}"
        );
    }
}

/// An env file is read or refused, never a panic.
pub fn dotenv(data: &[u8]) {
    let _ = Settings::from_dotenv(&text(data));
}

/// Server text comes out without control characters, and cut.
pub fn server_text_is_safe(data: &[u8]) {
    let shown = server_text(&text(data));
    assert!(
        !shown.chars().any(char::is_control),
        "control characters survive in {shown:?}"
    );
    assert!(
        shown.chars().count() <= MAX_SERVER_TEXT_CHARS + 40,
        "{} characters shown",
        shown.chars().count()
    );
}

/// A cursor reads as an index or is refused.
pub fn cursor(data: &[u8]) {
    let _ = StreamCursor::new(text(data)).to_index();
}

/// Amounts a node reports are never past all the bitcoin there is, and sums never wrap.
pub fn amounts(data: &[u8]) {
    let numbers: Vec<i64> = data
        .chunks(8)
        .map(|chunk| {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            i64::from_le_bytes(bytes)
        })
        .collect();
    let mut readable = Vec::new();
    for number in &numbers {
        if let Ok(msat) = reported_msat(*number, "an amount") {
            assert!(msat <= MAX_MONEY_MSAT && i128::from(msat) == i128::from(*number));
            readable.push(msat);
        }
    }
    let exact: u128 = readable.iter().map(|msat| u128::from(*msat)).sum();
    match sum_msat(readable, "amounts") {
        Ok(sum) => assert!(
            u128::from(sum) == exact && sum <= MAX_MONEY_MSAT,
            "{sum} for {exact}"
        ),
        Err(_) => assert!(
            exact > u128::from(MAX_MONEY_MSAT),
            "refused a sum of {exact}"
        ),
    }
}
