#![doc = include_str!("../README.md")]

mod api;
pub mod config;
pub mod connection;
mod http;
mod mapping;
mod stream;
mod wallet;
mod websocket;

pub use config::LnbitsConfig;
pub use wallet::LnbitsWallet;

#[cfg(test)]
mod proptests;
