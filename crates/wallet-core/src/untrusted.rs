//! Limits on what a node or server can make this library hold or print (contract rule 12).
//!
//! A node's answer is untrusted input: a compromised server, a proxy or a buggy plugin can send
//! a reply of hundreds of megabytes, or an error message with terminal escape sequences that
//! repaint the screen with a fake "PAYMENT SUCCEEDED". Every backend caps what it reads at
//! [`DEFAULT_MAX_REPLY_BYTES`] (configurable per backend) and passes every piece of
//! server-supplied text through [`server_text`] before it reaches an error or a log line.

use crate::{Settings, WalletError};

/// The largest reply a backend reads by default: far above any answer these APIs give for one
/// wallet (a page of 1 000 invoices is a few hundred KiB), far below what would hurt a process.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// The smallest reply cap a setting may ask for.
pub const MIN_MAX_REPLY_BYTES: usize = 64 * 1024;

/// The reply cap the setting `key` asks for ([`DEFAULT_MAX_REPLY_BYTES`] when unset); an error
/// naming `key` below [`MIN_MAX_REPLY_BYTES`] or when it is not a number.
pub fn max_reply_bytes(settings: &Settings, key: &'static str) -> Result<usize, WalletError> {
    let bytes = settings
        .parse::<usize>(key)?
        .unwrap_or(DEFAULT_MAX_REPLY_BYTES);
    if bytes < MIN_MAX_REPLY_BYTES {
        return Err(WalletError::invalid(
            key,
            format!("must be at least {MIN_MAX_REPLY_BYTES} (64 KiB)"),
        ));
    }
    Ok(bytes)
}

/// The most characters of server-supplied text kept in an error.
pub const MAX_SERVER_TEXT_CHARS: usize = 500;

/// The most records a backend reads while walking a node's whole invoice list (lnd's "now"
/// cursor, lightningd's highest `pay_index`): the bound on a node that lists pages forever,
/// far above any real node's invoice count.
pub const MAX_LISTED_RECORDS: u64 = 10_000_000;

/// The most paid invoices a stream's catch-up keeps in memory before delivering them: a cursor
/// further behind than this is refused with an error asking for a newer one.
pub const MAX_CATCH_UP_RECORDS: u64 = 100_000;

/// `text` from a node or server, safe to show: control characters (escape sequences, carriage
/// returns, bells, bidirectional overrides) replaced by `?`, and cut to
/// [`MAX_SERVER_TEXT_CHARS`] characters with a note of how much was left out.
pub fn server_text(text: &str) -> String {
    let mut shown = String::with_capacity(text.len().min(MAX_SERVER_TEXT_CHARS + 32));
    for (kept, character) in text.chars().enumerate() {
        if kept == MAX_SERVER_TEXT_CHARS {
            let left_out = text.chars().count().saturating_sub(kept);
            shown.push_str(&format!("... ({left_out} more characters)"));
            return shown;
        }
        shown.push(if is_unsafe(character) { '?' } else { character });
    }
    shown
}

/// Characters that change how a terminal or log viewer shows what follows: what
/// [`server_text`] replaces.
pub fn is_unsafe(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            // Bidirectional marks, overrides and isolates, the line/paragraph separators, and
            // the zero-width no-break space.
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{feff}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_control_characters_are_neutralised() {
        let hostile = "\u{1b}[2J\u{1b}[HPAYMENT SUCCEEDED\r\n\u{7}\u{202e}evil\u{200f}\u{feff}";
        let shown = server_text(hostile);
        assert!(!shown.chars().any(is_unsafe), "{shown:?}");
        assert!(shown.contains("PAYMENT SUCCEEDED"));
        assert_eq!(
            server_text("Payment failed: no route"),
            "Payment failed: no route"
        );
    }

    #[test]
    fn the_reply_cap_setting_has_a_default_and_a_floor() {
        let unset = Settings::new();
        assert_eq!(
            max_reply_bytes(&unset, "CAP").ok(),
            Some(DEFAULT_MAX_REPLY_BYTES)
        );
        let tiny = Settings::new().with("CAP", "100");
        assert_eq!(
            max_reply_bytes(&tiny, "CAP").unwrap_err().field(),
            Some("CAP")
        );
        let large = Settings::new().with("CAP", "10485760");
        assert_eq!(max_reply_bytes(&large, "CAP").ok(), Some(10_485_760));
    }

    #[test]
    fn long_text_is_cut_and_says_how_much_was_left_out() {
        let long = "x".repeat(8 * 1024 * 1024);
        let shown = server_text(&long);
        assert!(shown.len() < MAX_SERVER_TEXT_CHARS + 64, "{}", shown.len());
        assert!(shown.ends_with(&format!(
            "({} more characters)",
            long.len() - MAX_SERVER_TEXT_CHARS
        )));
        let accented = "é".repeat(MAX_SERVER_TEXT_CHARS);
        assert_eq!(server_text(&accented), accented);
    }
}
