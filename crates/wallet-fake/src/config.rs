//! Configuration of a fake network and its nodes.

use std::time::Duration;

use lightning_invoice::Currency;
use wallet_core::{Secret, WalletError};

/// Rules of a [`crate::FakeNetwork`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The fixed part of the routing fee between two different nodes, in millisatoshis.
    pub routing_fee_base_msat: u64,
    /// The proportional part of the routing fee, in parts per million of the amount (rounded up).
    pub routing_fee_ppm: u64,
    /// The block height every node reports.
    pub block_height: u32,
    /// The hub's side of each node's channel, in millisatoshis.
    pub hub_liquidity_msat: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            routing_fee_base_msat: 1_000,
            routing_fee_ppm: 1_000,
            block_height: 800_000,
            hub_liquidity_msat: 10_000_000_000,
        }
    }
}

impl NetworkConfig {
    /// The fee the hub charges to forward `amount_msat` between two nodes. A node paying itself
    /// pays nothing.
    pub fn routing_fee_msat(&self, amount_msat: u64) -> u64 {
        let proportional =
            (u128::from(amount_msat) * u128::from(self.routing_fee_ppm)).div_ceil(1_000_000);
        self.routing_fee_base_msat
            .saturating_add(u64::try_from(proportional).unwrap_or(u64::MAX))
    }
}

/// How to create a node of a [`crate::FakeNetwork`].
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The node's alias.
    pub alias: String,
    /// The secret its key is derived from (`FAKE_WALLET_SECRET`). Nodes with the same secret
    /// are the same node.
    pub secret: Secret<String>,
    /// The network its invoices are for (the BOLT11 prefix).
    pub currency: Currency,
    /// The balance it starts with, in millisatoshis.
    pub initial_balance_msat: u64,
    /// The expiry of invoices created without one.
    pub default_expiry: Duration,
}

impl NodeConfig {
    /// The default balance of a new node: LNbits' FakeWallet reports one million sats.
    pub const DEFAULT_BALANCE_MSAT: u64 = 1_000_000_000;

    /// A regtest node called `alias`, keyed by the alias, with the default balance.
    pub fn new(alias: impl Into<String>) -> Self {
        let alias = alias.into();
        Self {
            secret: Secret::new(alias.clone()),
            alias,
            currency: Currency::Regtest,
            initial_balance_msat: Self::DEFAULT_BALANCE_MSAT,
            default_expiry: Duration::from_secs(3600),
        }
    }

    /// Derives the key from `secret` instead of the alias.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Secret::new(secret.into());
        self
    }

    /// Derives the key from a new random secret: a node no one else can make again (store the
    /// secret to keep the node, as [`crate::FakeNetworkDir`] does).
    pub fn random_secret(self) -> Result<Self, WalletError> {
        Ok(self.secret(wallet_core::hex::encode(&crate::keys::random_bytes()?)))
    }

    /// Issues invoices for `currency`.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Starts with `balance_msat`.
    pub fn balance_msat(mut self, balance_msat: u64) -> Self {
        self.initial_balance_msat = balance_msat;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routing_fee_is_base_plus_rounded_up_ppm() {
        let config = NetworkConfig {
            routing_fee_base_msat: 1_000,
            routing_fee_ppm: 1_000,
            ..NetworkConfig::default()
        };
        assert_eq!(config.routing_fee_msat(1_000_000), 2_000);
        assert_eq!(config.routing_fee_msat(1), 1_001);
        // No overflow at the extreme: the product is computed in 128 bits.
        assert_eq!(
            config.routing_fee_msat(u64::MAX),
            1_000 + u64::MAX.div_ceil(1_000)
        );
    }
}
