//! The backends' fuzz harnesses ([`harness`]); the bad-input corpus itself is the
//! `wallet-corpus` binary (`cargo xtask corpus`).

pub mod harness;
