//! `getinfo`, `listfunds`, `listpeerchannels`, `listpeers`: one channel to the network's hub.

use serde_json::{Value, json};

use super::node_error;
use crate::daemon::Daemon;
use crate::params::Params;
use crate::rpc::RpcResult;

pub(crate) fn channel_id(daemon: &Daemon) -> String {
    // A stable 32-byte id derived from the node id, as hex.
    wallet_core::hex::encode(&wallet_core::sha256(daemon.node.pubkey_hex().as_bytes()))
}

pub(crate) fn short_channel_id(daemon: &Daemon) -> String {
    format!("{}x1x0", daemon.node.network().config().block_height)
}

pub(crate) fn getinfo(daemon: &Daemon, params: Value) -> RpcResult {
    Params::new(params, &[])?;
    Ok(json!({
        "id": daemon.node.pubkey_hex(),
        "alias": daemon.node.alias(),
        "color": "0366ff",
        "num_peers": 1,
        "num_pending_channels": 0,
        "num_active_channels": 1,
        "num_inactive_channels": 0,
        "address": [],
        "binding": [{"type": "local socket", "socket": daemon.socket.display().to_string()}],
        "version": "v26.06.6-cln-sim",
        "blockheight": daemon.node.network().config().block_height,
        "network": daemon.network,
        "fees_collected_msat": 0,
        "lightning-dir": daemon.lightning_dir.display().to_string(),
        "our_features": {"init": "08a0000a8a5961", "node": "88a0000a8a5961", "channel": "", "invoice": "02000002024100"},
    }))
}

pub(crate) fn listfunds(daemon: &Daemon, params: Value) -> RpcResult {
    Params::new(params, &["spent"])?;
    let ours = daemon.node.balance_msat().map_err(node_error)?;
    let theirs = daemon.node.network().config().hub_liquidity_msat;
    Ok(json!({
        "outputs": [],
        "channels": [{
            "peer_id": daemon.node.hub_pubkey_hex(),
            "connected": true,
            "state": "CHANNELD_NORMAL",
            "channel_id": channel_id(daemon),
            "short_channel_id": short_channel_id(daemon),
            "our_amount_msat": ours,
            "amount_msat": ours.saturating_add(theirs),
            "funding_txid": channel_id(daemon),
            "funding_output": 0,
        }],
    }))
}

pub(crate) fn listpeerchannels(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["id", "short_channel_id", "channel_id"])?;
    let ours = daemon.node.balance_msat().map_err(node_error)?;
    let theirs = daemon.node.network().config().hub_liquidity_msat;
    let hub = daemon.node.hub_pubkey_hex();
    if params.string("id")?.is_some_and(|id| id != hub) {
        return Ok(json!({"channels": []}));
    }
    Ok(json!({
        "channels": [{
            "peer_id": hub,
            "peer_connected": true,
            "reestablished": true,
            "state": "CHANNELD_NORMAL",
            "short_channel_id": short_channel_id(daemon),
            "channel_id": channel_id(daemon),
            "funding_txid": channel_id(daemon),
            "funding_outnum": 0,
            "private": false,
            "opener": "local",
            "to_us_msat": ours,
            "min_to_us_msat": 0,
            "max_to_us_msat": ours,
            "total_msat": ours.saturating_add(theirs),
            "spendable_msat": ours,
            "receivable_msat": theirs,
            "fee_base_msat": daemon.channel_fees().base_msat,
            "fee_proportional_millionths": daemon.channel_fees().ppm,
            "htlcs": [],
            "status": ["CHANNELD_NORMAL:Channel ready for use."],
        }],
    }))
}

pub(crate) fn listpeers(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["id", "level"])?;
    daemon.node.balance_msat().map_err(node_error)?;
    let hub = daemon.node.hub_pubkey_hex();
    if params.string("id")?.is_some_and(|id| id != hub) {
        return Ok(json!({"peers": []}));
    }
    Ok(json!({
        "peers": [{
            "id": hub,
            "connected": true,
            "num_channels": 1,
            "netaddr": ["127.0.0.1:9735"],
            "features": "08a0000a8a5961",
        }],
    }))
}
