//! Millisatoshi amounts and the only sat/msat conversions in the project.
//!
//! Every amount in this crate is a `u64` number of millisatoshis whose name ends in `_msat`.
//! Backends whose wire format is in satoshis convert at the wire edge with these helpers, so the
//! rounding rule is written down once:
//!
//! * amounts **received or requested** round to whole sats only when the caller asks
//!   ([`msat_to_sat_exact`] refuses fractions),
//! * **fees and fee limits round up** ([`msat_to_sat_ceil`]) when they are reported to the
//!   user, so a fee is never understated, and **down** ([`msat_to_sat_floor`]) when they bound
//!   what a node may spend, so a limit is never exceeded.

use crate::WalletError;

/// Millisatoshis in one satoshi.
pub const MSAT_PER_SAT: u64 = 1_000;

/// 21 million bitcoin in millisatoshis: no amount can be larger.
pub const MAX_MONEY_MSAT: u64 = 21_000_000 * 100_000_000 * MSAT_PER_SAT;

/// Converts satoshis to millisatoshis, refusing amounts beyond [`MAX_MONEY_MSAT`].
pub fn sat_to_msat(sat: u64, field: &'static str) -> Result<u64, WalletError> {
    sat.checked_mul(MSAT_PER_SAT)
        .filter(|msat| *msat <= MAX_MONEY_MSAT)
        .ok_or_else(|| WalletError::invalid(field, format!("{sat} sat is more than 21M BTC")))
}

/// An amount a node reported, in millisatoshis, checked to be one that can exist: a negative
/// one, or one beyond [`MAX_MONEY_MSAT`], is an error naming `what` (contract rule 12: a
/// node's number is never turned into a confident zero or wrapped).
pub fn reported_msat(amount: i64, what: &str) -> Result<u64, WalletError> {
    u64::try_from(amount)
        .ok()
        .filter(|msat| *msat <= MAX_MONEY_MSAT)
        .ok_or_else(|| {
            WalletError::backend(None, format!("the node reported {what} of {amount} msat"))
        })
}

/// The sum of amounts a node reported, each and all at most [`MAX_MONEY_MSAT`]; an error naming
/// `what` when they are not (a sum past 21 million bitcoin is a lie, never a wrapped number).
pub fn sum_msat(amounts: impl IntoIterator<Item = u64>, what: &str) -> Result<u64, WalletError> {
    amounts
        .into_iter()
        .try_fold(0u64, |sum, amount| {
            sum.checked_add(amount).filter(|sum| *sum <= MAX_MONEY_MSAT)
        })
        .ok_or_else(|| {
            WalletError::backend(
                None,
                format!("the node reported {what} past 21 million BTC"),
            )
        })
}

/// Whole satoshis in `msat`, rounding down. Use for limits a node must stay below.
pub const fn msat_to_sat_floor(msat: u64) -> u64 {
    msat / MSAT_PER_SAT
}

/// Satoshis covering `msat`, rounding up. Use for fees shown or charged.
pub const fn msat_to_sat_ceil(msat: u64) -> u64 {
    msat.div_ceil(MSAT_PER_SAT)
}

/// Satoshis in `msat` when it is a whole number of sats; an error naming `field` otherwise.
pub fn msat_to_sat_exact(msat: u64, field: &'static str) -> Result<u64, WalletError> {
    if msat.is_multiple_of(MSAT_PER_SAT) {
        Ok(msat / MSAT_PER_SAT)
    } else {
        Err(WalletError::invalid(
            field,
            format!("{msat} msat is not a whole number of sats, which this backend requires"),
        ))
    }
}

/// The fee limit LNbits reserves for a payment: the larger of 2 sat and 1 % of the amount.
///
/// Callers that have no policy of their own can pass this as
/// [`PayInvoiceRequest::max_fee_msat`](crate::PayInvoiceRequest::max_fee_msat); a limit of zero
/// would only allow fee-free routes (lnd#8438).
pub const fn default_fee_limit_msat(amount_msat: u64) -> u64 {
    const MIN_RESERVE_MSAT: u64 = 2_000;
    let percent = amount_msat.div_ceil(100);
    if percent > MIN_RESERVE_MSAT {
        percent
    } else {
        MIN_RESERVE_MSAT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_amounts_beyond_what_exists_are_errors_not_zero_or_wrapped() {
        assert_eq!(reported_msat(5_000, "a balance").ok(), Some(5_000));
        assert!(reported_msat(-1, "a balance").is_err());
        assert!(reported_msat(i64::MIN, "a balance").is_err());
        assert!(reported_msat(i64::MAX, "a balance").is_err());
        assert_eq!(sum_msat([1, 2, 3], "channel balances").ok(), Some(6));
        assert_eq!(sum_msat([], "channel balances").ok(), Some(0));
        assert!(sum_msat([u64::MAX, 1], "channel balances").is_err());
        assert!(sum_msat([MAX_MONEY_MSAT, 1], "channel balances").is_err());
    }

    #[test]
    fn fees_round_up_and_limits_round_down() {
        assert_eq!(msat_to_sat_ceil(1), 1);
        assert_eq!(msat_to_sat_ceil(1_000), 1);
        assert_eq!(msat_to_sat_ceil(1_001), 2);
        assert_eq!(msat_to_sat_floor(1_999), 1);
        assert_eq!(msat_to_sat_floor(0), 0);
    }

    #[test]
    fn exact_conversion_refuses_fractions_of_a_sat() {
        assert_eq!(msat_to_sat_exact(5_000, "amount_msat"), Ok(5));
        let err = msat_to_sat_exact(5_001, "amount_msat").unwrap_err();
        assert_eq!(err.field(), Some("amount_msat"));
    }

    #[test]
    fn sat_to_msat_refuses_more_than_all_bitcoin() {
        assert_eq!(sat_to_msat(2, "x"), Ok(2_000));
        assert!(sat_to_msat(u64::MAX, "x").is_err());
        assert!(sat_to_msat(2_100_000_000_000_001, "x").is_err());
    }

    #[test]
    fn default_fee_limit_is_two_sats_or_one_percent() {
        assert_eq!(default_fee_limit_msat(0), 2_000);
        assert_eq!(default_fee_limit_msat(100_000), 2_000);
        assert_eq!(default_fee_limit_msat(1_000_000), 10_000);
        assert_eq!(default_fee_limit_msat(1_000_001), 10_001);
    }
}
