//! Amounts on the command line: msat by default, or with a `sat` / `msat` suffix.

use wallet_core::WalletError;
use wallet_core::amount::sat_to_msat;

/// Parses `21000`, `21000msat` or `21sat` into millisatoshis; errors name `field`.
pub(crate) fn parse_msat(text: &str, field: &'static str) -> Result<u64, WalletError> {
    let text = text.trim().to_ascii_lowercase();
    let (digits, in_sats) = if let Some(digits) = text.strip_suffix("msat") {
        (digits, false)
    } else if let Some(digits) = text.strip_suffix("sat") {
        (digits, true)
    } else {
        (text.as_str(), false)
    };
    let number: u64 = digits.trim().parse().map_err(|_| {
        WalletError::invalid(
            field,
            format!("{text:?} is not an amount (use 21000, 21000msat or 21sat)"),
        )
    })?;
    if in_sats {
        sat_to_msat(number, field)
    } else {
        Ok(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_accept_msat_and_sat_suffixes() {
        assert_eq!(parse_msat("21000", "amount"), Ok(21_000));
        assert_eq!(parse_msat("21000msat", "amount"), Ok(21_000));
        assert_eq!(parse_msat("21SAT", "amount"), Ok(21_000));
        assert_eq!(parse_msat(" 5 sat", "amount"), Ok(5_000));
    }

    #[test]
    fn bad_amounts_name_the_field() {
        for text in ["", "-1", "1.5", "abc", "99999999999999999999"] {
            assert_eq!(
                parse_msat(text, "amount").unwrap_err().field(),
                Some("amount"),
                "{text}"
            );
        }
    }
}
