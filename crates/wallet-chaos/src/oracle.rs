//! The invariants the oracle holds every campaign to, and what broke them.

use std::fmt;

/// A rule of the contract the campaign checks against the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Invariant {
    /// No payment reported `Failed` while the ledger shows it succeeded or still in flight.
    FailedOnlyWhenFailed,
    /// No `Succeeded` without a preimage that hashes to the payment hash.
    SucceededWithProof,
    /// `Err` from `pay_invoice` only where the ledger shows nothing was sent.
    ErrOnlyWhenNothingSent,
    /// At most one successful payment per hash, across both wallet instances.
    PaidOnce,
    /// Every invoice the ledger shows paid is delivered exactly once by a supervised stream,
    /// within a bound, and nothing else is.
    DeliveredOnce,
    /// Reported balances equal the ledger's after quiescence.
    BalanceMatches,
    /// No call outlives its deadline.
    DeadlineKept,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Self; 7] = [
        Self::FailedOnlyWhenFailed,
        Self::SucceededWithProof,
        Self::ErrOnlyWhenNothingSent,
        Self::PaidOnce,
        Self::DeliveredOnce,
        Self::BalanceMatches,
        Self::DeadlineKept,
    ];

    /// A short name for the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::FailedOnlyWhenFailed => "failed-only-when-failed",
            Self::SucceededWithProof => "succeeded-with-proof",
            Self::ErrOnlyWhenNothingSent => "err-only-when-nothing-sent",
            Self::PaidOnce => "paid-once",
            Self::DeliveredOnce => "delivered-once",
            Self::BalanceMatches => "balance-matches",
            Self::DeadlineKept => "deadline-kept",
        }
    }
}

/// One broken invariant.
#[derive(Clone, Debug)]
pub struct Violation {
    /// Which.
    pub invariant: Invariant,
    /// At which step (the number of payments for the checks at the end).
    pub step: u64,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {}: {}: {}",
            self.step,
            self.invariant.name(),
            self.detail
        )
    }
}

/// Every violation found.
#[derive(Clone, Debug, Default)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// Records one.
    pub fn add(&mut self, invariant: Invariant, step: u64, detail: String) {
        self.0.push(Violation {
            invariant,
            step,
            detail,
        });
    }

    /// How many broke `invariant`.
    pub fn count(&self, invariant: Invariant) -> usize {
        self.0
            .iter()
            .filter(|violation| violation.invariant == invariant)
            .count()
    }

    /// How many in all.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none broke.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
