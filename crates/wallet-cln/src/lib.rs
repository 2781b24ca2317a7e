#![doc = include_str!("../README.md")]

pub mod config;
pub mod connection;
mod mapping;
mod pay;
mod position;
mod rpc;
mod stream;
mod wallet;

pub use config::ClnConfig;
pub use wallet::CoreLightningWallet;

#[cfg(test)]
mod proptests;
