//! The methods a wallet uses, by name.

mod help;
mod hold;
mod info;
mod invoices;
mod pay;
mod peers;

use serde_json::Value;

use crate::daemon::Daemon;
use crate::rpc::{RpcError, RpcResult};

/// Runs `method`.
pub(crate) async fn call(daemon: &Daemon, method: &str, params: Value) -> RpcResult {
    daemon.count_call(method);
    let params = if LOOKUPS.contains(&method) {
        with_lookup_faults(daemon, params).await?
    } else {
        params
    };
    if !daemon.offers(method) {
        return Err(RpcError::new(-32601, format!("Unknown command '{method}'")));
    }
    match method {
        "help" => help::help(params, |name| daemon.offers(name)),
        "getinfo" => info::getinfo(daemon, params),
        "listfunds" => info::listfunds(daemon, params),
        "listpeerchannels" => info::listpeerchannels(daemon, params),
        "listpeers" => info::listpeers(daemon, params),
        "listnodes" => peers::listnodes(daemon, params),
        "connect" => peers::connect(daemon, params),
        "disconnect" => peers::disconnect(daemon, params),
        "fundchannel" => peers::fundchannel(daemon, params),
        "close" => peers::close(daemon, params),
        "setchannel" => peers::setchannel(daemon, params),
        "invoice" => invoices::invoice(daemon, params),
        "listinvoices" => invoices::listinvoices(daemon, params),
        "waitanyinvoice" => invoices::waitanyinvoice(daemon, params).await,
        "waitinvoice" => invoices::waitinvoice(daemon, params).await,
        "delinvoice" => invoices::delinvoice(daemon, params),
        "decode" | "decodepay" => invoices::decode(daemon, params),
        "xpay" => pay::xpay(daemon, params).await,
        "pay" => pay::pay(daemon, params).await,
        "listpays" => pay::listpays(daemon, params),
        "listsendpays" => pay::listsendpays(daemon, params),
        "holdinvoice" => hold::holdinvoice(daemon, params),
        "settleholdinvoice" => hold::settleholdinvoice(daemon, params),
        "cancelholdinvoice" => hold::cancelholdinvoice(daemon, params),
        "listholdinvoices" => hold::listholdinvoices(daemon, params),
        other => Err(RpcError::new(-32601, format!("Unknown command '{other}'"))),
    }
}

/// The methods that look up payments or invoices by hash, which the node's lookup faults slow
/// down or point at another hash.
const LOOKUPS: &[&str] = &[
    "listpays",
    "listsendpays",
    "listinvoices",
    "listholdinvoices",
];

/// Applies the node's lookup faults: waits out the delay, and answers about the misdirected hash
/// instead of the one asked for.
async fn with_lookup_faults(daemon: &Daemon, mut params: Value) -> Result<Value, RpcError> {
    let faults = daemon.node.lookup_faults().map_err(node_error)?;
    faults.wait().await;
    if let (Some(other), Some(asked)) = (
        faults.misdirect_to,
        params
            .get_mut("payment_hash")
            .filter(|asked| asked.is_string()),
    ) {
        *asked = Value::String(other.to_hex());
    }
    Ok(params)
}

/// A fake-node error as lightningd's catch-all.
pub(crate) fn node_error(err: wallet_fake::FakeNodeError) -> RpcError {
    RpcError::general(err.to_string())
}
