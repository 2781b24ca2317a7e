//! An example third-party backend: [`LedgerWallet`] puts a custodial "ledger" service behind
//! [`wallet_core::Wallet`], and the crate proves it with the project's conformance suite, as
//! `WRITING_A_BACKEND.md` asks of any backend written outside the repository.
//!
//! The ledger is a small JSON API over HTTP with a bearer API key; the module `server` (feature
//! `server`) implements it on a node of wallet-fake's network and lists its calls. This crate's
//! client side is:
//!
//! * [`LedgerConfig`]: the ledger's URL and key; its `Debug` never shows the key;
//! * [`LedgerWallet`]: the trait, with payments run by wallet-core's payment protocol
//!   ([`wallet_core::pay::Payments`]) through a [`wallet_core::pay::PaymentDriver`], so that it
//!   never reports `Failed` unless the ledger's node said so and never pays a hash twice;
//! * errors as [`wallet_core::WalletError`], the transport's error kept as their source.
//!
//! The paid-invoice stream long-polls the ledger from a settle-index cursor and ends with an
//! error when the connection or the ledger goes away; reconnecting is
//! [`wallet_core::SupervisedStream`]'s job:
//!
//! ```rust,no_run
//! use std::sync::Arc;
//!
//! use futures::StreamExt;
//! use ledger_backend::{LedgerConfig, LedgerWallet};
//! use wallet_core::{InvoiceRequest, SupervisedStream, SupervisorConfig, Wallet};
//!
//! # async fn example() -> Result<(), wallet_core::WalletError> {
//! let wallet = LedgerWallet::new(LedgerConfig::new("https://ledger.example.com", "my-key")?)?;
//! let invoice = wallet
//!     .create_invoice(InvoiceRequest::new(21_000).memo("coffee"))
//!     .await?;
//! println!("pay {}", invoice.payment_request);
//!
//! let wallet: Arc<dyn Wallet> = Arc::new(wallet);
//! let mut paid = SupervisedStream::new(wallet, None, SupervisorConfig::default());
//! while let Some(item) = paid.next().await {
//!     let item = item?;
//!     println!("{} paid {} msat", item.payment_hash, item.amount_received_msat);
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod error;
mod mapping;
#[cfg(feature = "server")]
pub mod server;
pub mod settings;
mod stream;
mod wallet;

pub use config::{DEFAULT_TIMEOUT, LedgerConfig};
#[cfg(feature = "server")]
pub use server::LedgerServer;
pub use wallet::LedgerWallet;
