//! Capped exponential backoff, shared by every reconnect and retry loop.

use std::time::Duration;

/// Delays that double from `initial` up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// A backoff from `initial` to `max`. Degenerate values are clamped: `initial` is at least
    /// one millisecond (a zero delay would spin) and `max` at least `initial`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Self {
            initial,
            max: max.max(initial),
        }
    }

    /// The shortest delay.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The delay before retry number `attempt` (0 for the first retry): `initial * 2^attempt`,
    /// capped at `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_stop_at_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<_> = (0..6)
            .map(|attempt| backoff.delay(attempt).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn degenerate_settings_are_clamped() {
        let backoff = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(backoff.delay(0), Duration::from_millis(1));
        assert_eq!(backoff.delay(10), Duration::from_millis(1));
    }
}
