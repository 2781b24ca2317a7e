//! The behaviours, one async function each, grouped by topic. Each takes a fresh [`TestBed`]
//! and returns a [`Verdict`].
//!
//! [`TestBed`]: crate::TestBed
//! [`Verdict`]: crate::Verdict

mod features;
mod hold;
mod hygiene;
mod invoices;
mod payments;
mod protocol;
mod status;
mod streams;

pub use features::*;
pub use hold::*;
pub use hygiene::*;
pub use invoices::*;
pub use payments::*;
pub use protocol::*;
pub use status::*;
pub use streams::*;
