#![doc = include_str!("../README.md")]

mod announce;
mod client;
pub mod config;
pub mod connection;
mod mapping;
mod pay;
mod stream;
mod tls;
mod wallet;

pub use client::{LndClients, MacaroonInterceptor, Transport};
pub use config::{CertificatePin, LndConfig};
pub use wallet::LndWallet;

#[cfg(test)]
mod proptests;
