//! The randomized fault campaign (`cargo xtask chaos`): a seeded schedule of payments (alone,
//! concurrent from two wallet instances, retried, amountless) and faults (lost answers, stalls,
//! failures, route failures retried, slow settlement, an unreachable node, restarts), checked
//! after every step and at the end against the ledger of the fake network underneath, never
//! against what a `Wallet` says. A mutant (a deliberately broken wallet) must be caught.
//!
//! This first part runs on the fake backend; the simulators' and the LNbits bed's runs are to
//! come (see the README).

pub mod campaign;
pub mod mutant;
pub mod oracle;
pub mod rng;

pub use campaign::{Config, Report, run};
pub use mutant::Mutant;
pub use oracle::{Invariant, Violation, Violations};
