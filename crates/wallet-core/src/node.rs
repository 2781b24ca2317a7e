//! Node-manager types (the `NODEMANAGER` feature).

use serde::{Deserialize, Serialize};

/// What the node says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node id, 66 hex digits.
    pub pubkey: String,
    /// The node's alias.
    pub alias: String,
    /// The network, e.g. `regtest` or `bitcoin`.
    pub network: String,
    /// The best block height the node knows.
    pub block_height: u32,
    /// Connected peers.
    pub num_peers: u32,
    /// Channels that can route now.
    pub num_active_channels: u32,
    /// The sum of local channel balances, in millisatoshis.
    pub channel_balance_msat: u64,
}

/// One channel of the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// The short channel id or funding outpoint, as the backend names channels.
    pub id: String,
    /// The peer's node id.
    pub peer_pubkey: String,
    /// Channel capacity, in millisatoshis.
    pub capacity_msat: u64,
    /// Our side, in millisatoshis.
    pub local_balance_msat: u64,
    /// Their side, in millisatoshis.
    pub remote_balance_msat: u64,
    /// Whether it can route payments now.
    pub active: bool,
}

/// One peer of the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The peer's node id.
    pub pubkey: String,
    /// The address it is connected at, if known.
    pub address: Option<String>,
    /// Whether it is connected now.
    pub connected: bool,
}
