//! Wall-clock time: Unix seconds, the unit every backend reports times in, and the RFC 3339 /
//! ISO 8601 times some wire formats use (LNbits' records, lnd's `time-before` caveats).

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, now. A clock before 1970 reads as 0.
pub fn unix_now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, now. A clock before 1970 reads as 0.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// The last second of the year 9999: a node's time past it is not a time any node means.
pub const LAST_PLAUSIBLE_SECOND: u64 = 253_402_300_799;

/// A time a node reported in Unix seconds, when it is plausible (not past the year 9999).
pub fn plausible_seconds(seconds: u64) -> Option<u64> {
    (seconds <= LAST_PLAUSIBLE_SECOND).then_some(seconds)
}

/// A Unix time as a UTC calendar date and clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// The year (0 to 9999).
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
    /// Hours, minutes and seconds.
    pub hour: u32,
    /// Minutes past the hour.
    pub minute: u32,
    /// Seconds past the minute.
    pub second: u32,
}

/// The UTC date and time of `unix_secs` (capped at the end of year 9999), for simulators that
/// print times as their daemons do.
pub fn utc(unix_secs: u64) -> UtcTime {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), in i64 on a time
    // capped far beyond any invoice's.
    let secs = i64::try_from(unix_secs.min(253_402_300_799)).unwrap_or(0);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let small = |value: i64| u32::try_from(value).unwrap_or(0);
    UtcTime {
        year: year_of_era + era * 400 + i64::from(month <= 2),
        month: small(month),
        day: small(day),
        hour: small(rest / 3_600),
        minute: small(rest % 3_600 / 60),
        second: small(rest % 60),
    }
}

/// Parses an ISO 8601 date-time into microseconds since the Unix epoch. A time without an
/// offset is UTC, as LNbits means it.
pub fn parse_rfc3339_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let (clock, offset_seconds) = split_offset(rest)?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, fraction),
        None => (clock, ""),
    };
    let mut hms_parts = hms.splitn(3, ':');
    // Unsigned: a sign in a clock field ("T-5:00") is not a time, and a huge negative one would
    // overflow below.
    let hour: u32 = hms_parts.next()?.parse().ok()?;
    let minute: u32 = hms_parts.next()?.parse().ok()?;
    let second: u32 = hms_parts.next().unwrap_or("0").parse().ok()?;
    // Years outside 0..=9999 are not times any server means, and would overflow below
    // (contract rule 12: untrusted numbers are checked before any arithmetic).
    if !(0..=9_999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let micros_fraction = fraction_micros(fraction)?;
    let days = days_from_civil(year, month, day);
    // Every operand is bounded by the checks above (|days| < 3.7 million), so none of this can
    // overflow; checked anyway, since the bounds live far from here.
    let clock = i64::from(hour * 3_600 + minute * 60 + second);
    let seconds = days
        .checked_mul(86_400)?
        .checked_add(clock)?
        .checked_sub(offset_seconds)?;
    seconds.checked_mul(1_000_000)?.checked_add(micros_fraction)
}

/// Splits `HH:MM:SS.ffffff+hh:mm` into the clock and the offset in seconds.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
        return Some((clock, 0));
    }
    match rest.rfind(['+', '-']) {
        Some(position) if position >= 5 => {
            let (clock, offset) = rest.split_at(position);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            let hours: i64 = hours.parse().ok()?;
            let minutes: i64 = minutes.parse().ok()?;
            if !(0..=23).contains(&hours) || !(0..=59).contains(&minutes) {
                return None;
            }
            Some((clock, sign * (hours * 3_600 + minutes * 60)))
        }
        _ => Some((rest, 0)),
    }
}

fn fraction_micros(fraction: &str) -> Option<i64> {
    if fraction.is_empty() {
        return Some(0);
    }
    if !fraction.bytes().all(|digit| digit.is_ascii_digit()) {
        return None;
    }
    let padded: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    padded.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_unix_time_reads_back_from_its_utc_date() {
        for secs in [0u64, 951_782_400, 1_796_083_990, 253_402_300_799] {
            let t = utc(secs);
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            );
            assert_eq!(
                parse_rfc3339_micros(&text),
                Some(i64::try_from(secs).unwrap_or(0) * 1_000_000),
                "{text}"
            );
        }
        assert_eq!(utc(951_782_400), utc(951_782_400));
        assert_eq!((utc(951_782_400).month, utc(951_782_400).day), (2, 29));
    }

    use super::*;

    #[test]
    fn absurd_years_and_offsets_are_refused_not_overflowed() {
        for text in [
            "999999999999-01-01T00:00:00Z",
            "-999999999999-01-01T00:00:00Z",
            "2026-11-29T04:25:09+999999999999999:00",
            "2026-11-29T04:25:09+01:99",
            "2026-01-01T-9223372036854775808:00:00Z",
            "2026-01-01T00:-9223372036854775808:00Z",
            "2026-01-01T00:00:-9223372036854775808Z",
            "2026-01-01T-5:00:00Z",
            "2026-01-01T05:00:-1Z",
        ] {
            assert_eq!(parse_rfc3339_micros(text), None, "{text}");
        }
        assert!(parse_rfc3339_micros("9999-12-31T23:59:59Z").is_some());
    }

    #[test]
    fn lnbits_times_parse_to_unix_microseconds() {
        // `date -d 2026-11-29T04:25:09Z +%s` is 1795926309.
        assert_eq!(
            parse_rfc3339_micros("2026-11-29T04:25:09.829568+00:00"),
            Some(1_795_926_309_829_568)
        );
        assert_eq!(
            parse_rfc3339_micros("2026-11-29T04:25:09"),
            Some(1_795_926_309_000_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2026-11-29T04:25:09.5Z"),
            Some(1_795_926_309_500_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2026-11-29T06:25:09+02:00"),
            Some(1_795_926_309_000_000)
        );
        assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:00+00:00"), Some(0));
        assert_eq!(
            parse_rfc3339_micros("2000-03-01T00:00:00Z"),
            Some(951_868_800_000_000)
        );
    }

    #[test]
    fn garbage_is_none() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-11-29",
            "2026-11-29T25:00:00",
            "2026-11-29T04:25:09.x",
        ] {
            assert_eq!(parse_rfc3339_micros(text), None, "{text}");
        }
    }
}
