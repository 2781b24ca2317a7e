//! `help`: lightningd's built-in command list. Clients call `help <command>` when they start to
//! learn what the node offers (LNbits' `CoreLightningWallet` calls `help invoice`).

use serde_json::{Value, json};

use crate::params::Params;
use crate::rpc::{RpcError, RpcResult};

/// The commands served, with lightningd's usage lines (parameters in its order; optional ones
/// in brackets).
pub(crate) const COMMANDS: &[(&str, &str)] = &[
    ("getinfo", "getinfo"),
    ("help", "help [command]"),
    ("listfunds", "listfunds [spent]"),
    (
        "listpeerchannels",
        "listpeerchannels [id] [short_channel_id]",
    ),
    ("listpeers", "listpeers [id] [level]"),
    ("listnodes", "listnodes [id]"),
    ("connect", "connect id [host] [port]"),
    ("disconnect", "disconnect id [force]"),
    (
        "fundchannel",
        "fundchannel id amount [feerate] [announce] [minconf] [push_msat] [close_to] \
         [request_amt] [compact_lease] [utxos] [mindepth] [reserve] [channel_type]",
    ),
    (
        "close",
        "close id [unilateraltimeout] [destination] [fee_negotiation_step] [wrong_funding] \
         [force_lease_closed] [feerange]",
    ),
    (
        "setchannel",
        "setchannel id [feebase] [feeppm] [htlcmin] [htlcmax] [enforcedelay] \
         [ignorefeelimits]",
    ),
    (
        "invoice",
        "invoice amount_msat label description [expiry] [fallbacks] [preimage] \
         [exposeprivatechannels] [cltv] [deschashonly]",
    ),
    (
        "listinvoices",
        "listinvoices [label] [invstring] [payment_hash] [offer_id] [index] [start] [limit]",
    ),
    ("waitanyinvoice", "waitanyinvoice [lastpay_index] [timeout]"),
    ("waitinvoice", "waitinvoice label"),
    ("delinvoice", "delinvoice label status [desconly]"),
    ("decode", "decode string"),
    ("decodepay", "decodepay bolt11 [description]"),
    (
        "xpay",
        "xpay invstring [amount_msat] [maxfee] [layers] [retry_for] [partial_msat] [maxdelay] \
         [payer_note]",
    ),
    (
        "pay",
        "pay bolt11 [amount_msat] [label] [riskfactor] [maxfeepercent] [retry_for] [maxdelay] \
         [exemptfee] [localinvreqid] [exclude] [maxfee] [description] [partial_msat]",
    ),
    (
        "listpays",
        "listpays [bolt11] [payment_hash] [status] [index] [start] [limit]",
    ),
    (
        "listsendpays",
        "listsendpays [bolt11] [payment_hash] [status] [index] [start] [limit]",
    ),
    (
        "holdinvoice",
        "holdinvoice payment_hash amount [description] [expiry]",
    ),
    ("settleholdinvoice", "settleholdinvoice preimage"),
    ("cancelholdinvoice", "cancelholdinvoice payment_hash"),
    ("listholdinvoices", "listholdinvoices [payment_hash]"),
];

fn entry(usage: &str) -> Value {
    json!({ "command": usage })
}

/// `help [command]`: every command's usage, or one command's with `"format-hint": "simple"`.
/// A command lightningd does not have (or that is switched off) is -32601.
pub(crate) fn help(params: Value, offered: impl Fn(&str) -> bool) -> RpcResult {
    let params = Params::new(params, &["command"])?;
    match params.string("command")? {
        None => Ok(json!({
            "help": COMMANDS
                .iter()
                .filter(|(name, _)| offered(name))
                .map(|(_, usage)| entry(usage))
                .collect::<Vec<_>>(),
        })),
        Some(name) => match COMMANDS
            .iter()
            .find(|(command, _)| *command == name && offered(command))
        {
            Some((_, usage)) => Ok(json!({
                "help": [entry(usage)],
                "format-hint": "simple",
            })),
            None => Err(RpcError::new(-32601, format!("Unknown command {name}"))),
        },
    }
}
