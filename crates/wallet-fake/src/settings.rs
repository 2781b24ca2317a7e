//! Building a [`FakeWallet`] from LNbits-style settings.

use lightning_invoice::Currency;
use wallet_core::{Registry, Settings, WalletError};

use crate::{FakeNetwork, FakeWallet, NodeConfig};

/// The LNbits class name.
pub const CLASS_NAME: &str = "FakeWallet";
/// The secret the node key is derived from (LNbits' setting; default `ToTheMoon1`, as there).
pub const SECRET: &str = "FAKE_WALLET_SECRET";
/// The network of the invoices: `regtest` (default), `bitcoin`/`mainnet` (the `lnbc` prefix
/// LNbits' FakeWallet uses), `testnet`, `signet` or `simnet`.
pub const NETWORK: &str = "FAKE_WALLET_NETWORK";
/// The node alias.
pub const ALIAS: &str = "FAKE_WALLET_ALIAS";
/// The starting balance in millisatoshis (default one million sats).
pub const BALANCE_MSAT: &str = "FAKE_WALLET_BALANCE_MSAT";

/// Every setting a [`FakeWallet`] reads.
pub const SETTING_KEYS: &[&str] = &[SECRET, NETWORK, ALIAS, BALANCE_MSAT];

/// LNbits' default `FAKE_WALLET_SECRET`.
pub const DEFAULT_SECRET: &str = "ToTheMoon1";

/// Parses a network name as `FAKE_WALLET_NETWORK` takes it.
pub fn parse_currency(name: &str) -> Result<Currency, WalletError> {
    match name.to_ascii_lowercase().as_str() {
        "regtest" => Ok(Currency::Regtest),
        "bitcoin" | "mainnet" => Ok(Currency::Bitcoin),
        "testnet" | "testnet3" | "testnet4" => Ok(Currency::BitcoinTestnet),
        "signet" => Ok(Currency::Signet),
        "simnet" => Ok(Currency::Simnet),
        other => Err(WalletError::invalid(
            NETWORK,
            format!("{other:?} is not one of regtest, bitcoin, testnet, signet, simnet"),
        )),
    }
}

impl FakeWallet {
    /// A wallet on the process-wide [`FakeNetwork::global`], configured by
    /// `FAKE_WALLET_SECRET`, `FAKE_WALLET_NETWORK`, `FAKE_WALLET_ALIAS` and
    /// `FAKE_WALLET_BALANCE_MSAT`.
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        Self::from_settings_on(&FakeNetwork::global(), settings)
    }

    /// Like [`FakeWallet::from_settings`], on a given network.
    pub fn from_settings_on(
        network: &FakeNetwork,
        settings: &Settings,
    ) -> Result<Self, WalletError> {
        let secret = settings.get(SECRET).unwrap_or(DEFAULT_SECRET);
        let alias = settings.get(ALIAS).unwrap_or(CLASS_NAME);
        let mut config = NodeConfig::new(alias).secret(secret);
        if let Some(name) = settings.get(NETWORK) {
            config = config.currency(parse_currency(name)?);
        }
        if let Some(balance_msat) = settings.parse::<u64>(BALANCE_MSAT)? {
            config = config.balance_msat(balance_msat);
        }
        Ok(Self::new(network.add_node(config)?))
    }

    /// Registers `FakeWallet` in `registry`.
    pub fn register(registry: &mut Registry) {
        registry.register(CLASS_NAME, SETTING_KEYS, |settings| {
            Ok(Box::new(FakeWallet::from_settings(settings)?))
        });
    }
}
