//! The randomized fault campaign (`cargo xtask chaos`): a seeded schedule of payments (alone,
//! concurrent from two wallet instances, retried, amountless, to hold invoices resolved late) and
//! faults (lost answers, stalls, failures, route failures retried, slow settlement, an
//! unreachable node, restarts), checked after every step and at the end against the ledger of
//! the fake network underneath, never against what a `Wallet` says. Mutants (deliberately
//! broken wallets) must be caught; a schedule that breaks an invariant is shrunk.
//!
//! It runs the fake backend, `LndWallet` and `CoreLightningWallet` against lnd-sim and cln-sim,
//! and `LnbitsWallet` on a real LNbits funded by lnd-sim (the `lnbits-testserver` bed).

pub mod beds;
pub mod campaign;
pub mod mutant;
pub mod oracle;
pub mod plan;
pub mod rng;
pub mod shrink;
mod subscriber;

pub use beds::{BACKENDS, Backend};
pub use campaign::{Config, Report, execute, run};
pub use mutant::{MUTANTS, Mutant};
pub use oracle::{Invariant, Violation, Violations};
pub use plan::{Rates, Step};
