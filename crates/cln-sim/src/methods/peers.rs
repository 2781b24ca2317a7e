//! The node-manager calls real Core Lightning clients make: `listnodes`, `connect`,
//! `disconnect`, `fundchannel`, `close`, `setchannel`. The node's one peer is the network's hub;
//! what the fake network cannot do (an on-chain wallet, a second peer) is refused the way
//! lightningd refuses it.

use serde_json::{Value, json};

use super::info::{channel_id, short_channel_id};
use super::node_error;
use crate::daemon::Daemon;
use crate::params::Params;
use crate::rpc::{RpcError, RpcResult};

const FEATURES: &str = "08a0000a8a5961";
const HUB_ADDRESS: &str = "127.0.0.1";
const HUB_PORT: u64 = 9735;

/// A node id as lightningd parses it: 33 bytes, compressed, in hex.
fn node_id(params: &Params, name: &str) -> Result<String, RpcError> {
    let text = params.required_string(name)?;
    let id = text
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let valid = id.len() == 66
        && (id.starts_with("02") || id.starts_with("03"))
        && id.bytes().all(|byte| byte.is_ascii_hexdigit());
    if valid {
        Ok(id)
    } else {
        Err(RpcError::param(
            name,
            &format!("should be a node id: invalid token '{text}'"),
        ))
    }
}

/// Whether `id` names the node's one channel: by the hub's node id, the short channel id or the
/// channel id.
fn names_the_channel(daemon: &Daemon, id: &str) -> bool {
    [
        daemon.node.hub_pubkey_hex(),
        short_channel_id(daemon),
        channel_id(daemon),
    ]
    .iter()
    .any(|ours| ours == id)
}

pub(crate) fn listnodes(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["id"])?;
    let wanted = params.string("id")?;
    let now = wallet_core::time::unix_now();
    let nodes: Vec<Value> = [
        (
            daemon.node.pubkey_hex(),
            daemon.node.alias().to_owned(),
            "0366ff",
        ),
        (daemon.node.hub_pubkey_hex(), "hub".to_owned(), "ff6600"),
    ]
    .into_iter()
    .filter(|(id, _, _)| wanted.as_deref().is_none_or(|wanted| wanted == id))
    .map(|(id, alias, color)| {
        json!({
            "nodeid": id,
            "alias": alias,
            "color": color,
            "last_timestamp": now,
            "features": FEATURES,
            "addresses": [{"type": "ipv4", "address": HUB_ADDRESS, "port": HUB_PORT}],
        })
    })
    .collect();
    Ok(json!({ "nodes": nodes }))
}

pub(crate) fn connect(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["id", "host", "port"])?;
    let id = node_id(&params, "id")?;
    let host = params.string("host")?;
    if id == daemon.node.hub_pubkey_hex() {
        return Ok(json!({
            "id": id,
            "features": FEATURES,
            "direction": "out",
            "address": {"type": "ipv4", "address": HUB_ADDRESS, "port": HUB_PORT},
        }));
    }
    let addressed = host.is_some() || params.string("id")?.is_some_and(|text| text.contains('@'));
    if addressed {
        Err(RpcError::new(
            401,
            "All addresses failed: Connection establishment: Connection refused. ",
        ))
    } else {
        Err(RpcError::new(
            400,
            format!("Unable to connect, no address known for peer {id}"),
        ))
    }
}

pub(crate) fn disconnect(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["id", "force"])?;
    let id = node_id(&params, "id")?;
    if id != daemon.node.hub_pubkey_hex() {
        return Err(RpcError::general("Peer not connected"));
    }
    if params.bool("force")? == Some(true) {
        // The hub reconnects at once: the channel is all this node has.
        return Ok(json!({}));
    }
    Err(RpcError::general(
        "Peer has (at least one) channel in state CHANNELD_NORMAL",
    ))
}

pub(crate) fn fundchannel(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(
        params,
        &[
            "id",
            "amount",
            "feerate",
            "announce",
            "minconf",
            "push_msat",
            "close_to",
            "request_amt",
            "compact_lease",
            "utxos",
            "mindepth",
            "reserve",
            "channel_type",
        ],
    )?;
    let id = node_id(&params, "id")?;
    let amount = params.required("amount")?.clone();
    if id != daemon.node.hub_pubkey_hex() {
        return Err(RpcError::general(format!("Unknown peer '{id}'")));
    }
    // The node has no on-chain wallet: nothing to fund a channel with.
    let asked = match &amount {
        Value::String(text) => text.clone(),
        other => format!("{other}sat"),
    };
    Err(RpcError::new(
        301,
        format!("Could not afford {asked} using all 0 available UTXOs: {asked} short"),
    ))
}

pub(crate) fn close(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(
        params,
        &[
            "id",
            "unilateraltimeout",
            "destination",
            "fee_negotiation_step",
            "wrong_funding",
            "force_lease_closed",
            "feerange",
        ],
    )?;
    let id = params.required_string("id")?;
    if !names_the_channel(daemon, &id) {
        return Err(RpcError::param(
            "id",
            &format!("Short channel ID not found: '{id}'"),
        ));
    }
    Err(RpcError::general(
        "cln-sim cannot close its channel to the hub: it is the node's only route",
    ))
}

pub(crate) fn setchannel(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(
        params,
        &[
            "id",
            "feebase",
            "feeppm",
            "htlcmin",
            "htlcmax",
            "enforcedelay",
            "ignorefeelimits",
        ],
    )?;
    let id = params.required_string("id")?;
    if id != "all" && !names_the_channel(daemon, &id) {
        return Err(RpcError::param(
            "id",
            "Could not find any active channels of peer with that id",
        ));
    }
    let balance = daemon.node.balance_msat().map_err(node_error)?;
    let fees = daemon.set_channel_fees(params.msat("feebase")?, params.u64("feeppm")?);
    Ok(json!({
        "channels": [{
            "peer_id": daemon.node.hub_pubkey_hex(),
            "channel_id": channel_id(daemon),
            "short_channel_id": short_channel_id(daemon),
            "fee_base_msat": fees.base_msat,
            "fee_proportional_millionths": fees.ppm,
            "minimum_htlc_out_msat": params.msat("htlcmin")?.unwrap_or(0),
            "maximum_htlc_out_msat": params.msat("htlcmax")?.unwrap_or(balance),
            "ignore_fee_limits": params.bool("ignorefeelimits")?.unwrap_or(false),
        }],
    }))
}
