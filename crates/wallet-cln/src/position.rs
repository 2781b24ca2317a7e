//! Where a CLN paid-invoice stream stands, as the text of its [`StreamCursor`].
//!
//! lightningd numbers paid invoices (`pay_index`), but the hold plugin's invoices are not in
//! lightningd's invoice table and have no such number: only an `id` in creation order and a
//! state. So with hold invoices on, the cursor also says which of them were passed on: every hold
//! invoice up to an id (`below`) is final and was passed on if paid, and the paid ones above it
//! that were passed on already are listed. An unpaid hold invoice a day past its expiry counts as
//! final (the plugin never cancels it), so the list stays as short as the number of hold
//! invoices open at once.
//!
//! Text: `"<pay_index>"`, or `"<pay_index>.h<below>"` followed by `".<id>"` for each hold passed
//! on above `below`.

use std::collections::BTreeSet;
use std::fmt;

use wallet_core::{StreamCursor, WalletError};

/// The most hold invoices a cursor lists as passed on above its mark.
const MAX_PASSED: usize = 10_000;

/// A stream's position: lightningd's `pay_index`, and the hold plugin's when holds are on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// The last `pay_index` passed on (0: none).
    pub(crate) pay_index: u64,
    /// Which hold invoices were passed on; `None` in a cursor made with holds off.
    pub(crate) holds: Option<HoldMark>,
}

/// Which of the hold plugin's paid invoices a stream has passed on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HoldMark {
    /// Every hold invoice with an id up to this is final, and was passed on if it was paid.
    below: u64,
    /// Paid hold invoices above `below` passed on already.
    passed: BTreeSet<u64>,
}

/// One hold invoice as the mark needs it: its id and whether it is paid, or final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HoldEntry {
    pub(crate) id: u64,
    pub(crate) state: HoldState,
}

/// Where a hold invoice stands, for the mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HoldState {
    /// Unpaid, accepted, or in a state this crate does not know: it may still be paid.
    Open,
    /// Settled.
    Paid,
    /// Cancelled (or expired, which the plugin reports as cancelled): never paid.
    Cancelled,
}

impl HoldMark {
    /// The mark of a stream that starts now: every hold invoice paid so far counts as passed on.
    pub(crate) fn now(holds: &[HoldEntry]) -> Result<Self, WalletError> {
        let mut mark = Self::default();
        for hold in holds {
            if hold.state == HoldState::Paid {
                mark.passed.insert(hold.id);
            }
        }
        mark.advance(holds);
        mark.check_size()?;
        Ok(mark)
    }

    /// Whether the paid hold invoice `id` is still to be passed on.
    pub(crate) fn is_new(&self, id: u64) -> bool {
        id > self.below && !self.passed.contains(&id)
    }

    /// Records `id` as passed on, then moves the mark over what `holds` shows final. An error
    /// when the list of holds passed on above the mark has grown past what a cursor may hold
    /// (hold invoices left open for good below them): a cursor that cannot be read back would be
    /// worse than a stream that says so.
    pub(crate) fn pass(&mut self, id: u64, holds: &[HoldEntry]) -> Result<(), WalletError> {
        self.passed.insert(id);
        self.advance(holds);
        self.check_size()
    }

    fn check_size(&self) -> Result<(), WalletError> {
        if self.passed.len() > MAX_PASSED {
            return Err(WalletError::backend(
                None,
                format!(
                    "more than {MAX_PASSED} settled hold invoices wait behind hold invoice {} \
                     that is still open; settle or cancel it to move the stream's cursor on",
                    self.below.saturating_add(1)
                ),
            ));
        }
        Ok(())
    }

    /// Moves `below` over every hold invoice, in id order, that is cancelled or paid and passed
    /// on; stops at the first that may still change.
    fn advance(&mut self, holds: &[HoldEntry]) {
        let mut ordered: Vec<&HoldEntry> = holds.iter().filter(|h| h.id > self.below).collect();
        ordered.sort_by_key(|hold| hold.id);
        for hold in ordered {
            let done = match hold.state {
                HoldState::Cancelled => true,
                HoldState::Paid => self.passed.contains(&hold.id),
                HoldState::Open => false,
            };
            if !done {
                break;
            }
            self.below = hold.id;
        }
        let below = self.below;
        self.passed.retain(|id| *id > below);
    }
}

impl Position {
    /// Reads a cursor this backend made; an error names the field `cursor`.
    pub(crate) fn parse(cursor: &StreamCursor) -> Result<Self, WalletError> {
        let text = cursor.as_str();
        let invalid = || {
            WalletError::invalid(
                "cursor",
                format!(
                    "{:?} is not a cursor of this backend",
                    wallet_core::untrusted::server_text(text)
                ),
            )
        };
        let mut parts = text.split('.');
        let pay_index = parts
            .next()
            .and_then(|index| index.parse().ok())
            .ok_or_else(invalid)?;
        let Some(mark) = parts.next() else {
            return Ok(Self {
                pay_index,
                holds: None,
            });
        };
        let below = mark
            .strip_prefix('h')
            .and_then(|below| below.parse().ok())
            .ok_or_else(invalid)?;
        let mut passed = BTreeSet::new();
        for id in parts {
            let id: u64 = id.parse().map_err(|_| invalid())?;
            if id <= below || !passed.insert(id) || passed.len() > MAX_PASSED {
                return Err(invalid());
            }
        }
        Ok(Self {
            pay_index,
            holds: Some(HoldMark { below, passed }),
        })
    }

    /// The cursor of this position.
    pub(crate) fn cursor(&self) -> StreamCursor {
        StreamCursor::new(self.to_string())
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pay_index)?;
        if let Some(mark) = &self.holds {
            write!(f, ".h{}", mark.below)?;
            for id in &mark.passed {
                write!(f, ".{id}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(id: u64, state: HoldState) -> HoldEntry {
        HoldEntry { id, state }
    }

    fn parsed(text: &str) -> Result<Position, WalletError> {
        Position::parse(&StreamCursor::new(text))
    }

    #[test]
    fn a_cursor_reads_back_as_it_was_written_with_or_without_holds() {
        for text in ["0", "42", "42.h0", "42.h7.9.12"] {
            assert_eq!(parsed(text).unwrap().to_string(), text);
        }
        assert_eq!(parsed("42").unwrap().holds, None);
    }

    #[test]
    fn a_cursor_that_is_not_ours_is_an_invalid_cursor() {
        for text in [
            "",
            "x",
            "-1",
            "42.",
            "42.7",
            "42.hx",
            "42.h7.5",
            "42.h7.9.9",
            "42.h7.x",
            "1.h1.2.h3",
        ] {
            assert!(
                matches!(parsed(text), Err(WalletError::InvalidRequest { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_mark_moves_only_over_holds_that_can_no_longer_be_paid_or_were_passed_on() {
        let holds = [
            hold(3, HoldState::Cancelled),
            hold(5, HoldState::Paid),
            hold(8, HoldState::Open),
            hold(9, HoldState::Paid),
        ];
        let mut mark = HoldMark::default();
        assert!(mark.is_new(5) && mark.is_new(9));
        mark.pass(9, &holds).unwrap();
        // 5 is paid and not passed on yet: the mark stays before it.
        assert_eq!((mark.below, mark.passed.len()), (3, 1));
        assert!(mark.is_new(5) && !mark.is_new(9));
        mark.pass(5, &holds).unwrap();
        // 8 is still open: 9 stays listed above the mark.
        assert_eq!(mark.below, 5);
        assert!(!mark.is_new(9));
        let later = [hold(8, HoldState::Cancelled), hold(9, HoldState::Paid)];
        mark.advance(&later);
        assert_eq!((mark.below, mark.passed.len()), (9, 0));
        assert!(!mark.is_new(9) && !mark.is_new(5));
    }

    #[test]
    fn a_stream_that_starts_now_counts_every_paid_hold_as_passed_on() {
        let holds = [
            hold(2, HoldState::Paid),
            hold(4, HoldState::Open),
            hold(6, HoldState::Paid),
        ];
        let mark = HoldMark::now(&holds).unwrap();
        assert_eq!(mark.below, 2);
        assert!(!mark.is_new(6) && !mark.is_new(2));
        assert!(mark.is_new(4), "the open hold is still to come");
    }
}
