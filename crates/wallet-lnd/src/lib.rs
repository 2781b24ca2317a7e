#![doc = include_str!("../README.md")]

mod announce;
mod client;
pub mod config;
mod mapping;
mod pay;
mod stream;
mod tls;
mod wallet;

pub use client::{LndClients, MacaroonInterceptor, Transport};
pub use config::LndConfig;
pub use wallet::LndWallet;

#[cfg(test)]
mod proptests;
