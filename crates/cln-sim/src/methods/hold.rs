//! The hold-invoice plugin's RPCs, with the names of BoltzExchange/hold: `holdinvoice`,
//! `settleholdinvoice`, `cancelholdinvoice`, `listholdinvoices`. The node never learns the
//! preimage before settling; states are `unpaid`, `accepted`, `paid` and `cancelled`.

use serde_json::{Value, json};
use wallet_core::{PaymentHash, Preimage};
use wallet_fake::{FakeInvoiceState, FakeNodeError, InvoiceSnapshot, NewInvoice};

use super::node_error;
use crate::daemon::Daemon;
use crate::params::Params;
use crate::rpc::{RpcError, RpcResult};

/// The plugin's error code for its own refusals.
const PLUGIN_ERROR: i64 = -3;

fn hold_state(invoice: &InvoiceSnapshot) -> &'static str {
    match invoice.state {
        FakeInvoiceState::Open => "unpaid",
        FakeInvoiceState::Accepted { .. } => "accepted",
        FakeInvoiceState::Settled { .. } => "paid",
        FakeInvoiceState::Canceled | FakeInvoiceState::Expired => "cancelled",
    }
}

/// A time as BoltzExchange/hold writes it: a date-time without an offset (UTC), to the
/// millisecond.
fn plugin_time(unix_secs: u64) -> String {
    let t = wallet_core::time::utc(unix_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn plugin_error(err: FakeNodeError) -> RpcError {
    match err {
        FakeNodeError::InvoiceNotFound => RpcError::new(PLUGIN_ERROR, "hold invoice not found"),
        FakeNodeError::InvoiceStillOpen => {
            RpcError::new(PLUGIN_ERROR, "hold invoice is not accepted")
        }
        FakeNodeError::InvoiceAlreadyCanceled => {
            RpcError::new(PLUGIN_ERROR, "hold invoice is cancelled")
        }
        FakeNodeError::InvoiceAlreadySettled => RpcError::new(PLUGIN_ERROR, "hold invoice is paid"),
        FakeNodeError::DuplicateInvoice => RpcError::new(
            PLUGIN_ERROR,
            "hold invoice with that payment hash exists already",
        ),
        other => node_error(other),
    }
}

fn hash_param(params: &Params) -> Result<PaymentHash, RpcError> {
    PaymentHash::from_hex(&params.required_string("payment_hash")?)
        .map_err(|_| RpcError::param("payment_hash", "should be a 32 byte hex value"))
}

pub(crate) fn holdinvoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["payment_hash", "amount", "description", "expiry"])?;
    let hash = hash_param(&params)?;
    let amount = params
        .msat("amount")?
        .ok_or_else(|| RpcError::new(-32602, "missing required parameter: amount"))?;
    let new = NewInvoice {
        amount_msat: Some(amount).filter(|amount| *amount > 0),
        memo: params.string("description")?.unwrap_or_default(),
        expiry: params.u64("expiry")?.map(std::time::Duration::from_secs),
        hold_payment_hash: Some(hash),
        ..NewInvoice::default()
    };
    let created = daemon.node.create_invoice(new).map_err(plugin_error)?;
    Ok(json!({"bolt11": created.bolt11}))
}

pub(crate) fn settleholdinvoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["preimage"])?;
    let preimage = Preimage::from_hex(&params.required_string("preimage")?)
        .map_err(|_| RpcError::param("preimage", "should be a 32 byte hex value"))?;
    let is_hold = daemon
        .node
        .invoice(&preimage.payment_hash())
        .map_err(node_error)?
        .is_some_and(|invoice| invoice.is_hold);
    if !is_hold {
        return Err(RpcError::new(PLUGIN_ERROR, "hold invoice not found"));
    }
    daemon
        .node
        .settle_hold_invoice(&preimage)
        .map_err(plugin_error)?;
    Ok(json!({}))
}

pub(crate) fn cancelholdinvoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["payment_hash"])?;
    let hash = hash_param(&params)?;
    let is_hold = daemon
        .node
        .invoice(&hash)
        .map_err(node_error)?
        .is_some_and(|invoice| invoice.is_hold);
    if !is_hold {
        return Err(RpcError::new(PLUGIN_ERROR, "hold invoice not found"));
    }
    daemon.node.cancel_invoice(&hash).map_err(plugin_error)?;
    Ok(json!({}))
}

pub(crate) fn listholdinvoices(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["payment_hash", "bolt11"])?;
    let hash = params
        .string("payment_hash")?
        .map(|hex| {
            PaymentHash::from_hex(&hex)
                .map_err(|_| RpcError::param("payment_hash", "should be a 32 byte hex value"))
        })
        .transpose()?;
    let bolt11 = params.string("bolt11")?;
    let holds: Vec<Value> = daemon
        .node
        .invoices()
        .map_err(node_error)?
        .into_iter()
        .filter(|invoice| invoice.is_hold)
        .filter(|invoice| hash.is_none_or(|hash| invoice.payment_hash == hash))
        .filter(|invoice| {
            bolt11
                .as_ref()
                .is_none_or(|bolt11| &invoice.bolt11 == bolt11)
        })
        .map(|invoice| {
            let mut entry = json!({
                "id": invoice.add_index,
                "payment_hash": invoice.payment_hash.to_hex(),
                "invoice": invoice.bolt11,
                "state": hold_state(&invoice),
                "created_at": plugin_time(invoice.created_at),
                "htlcs": [],
            });
            if let Some(amount) = invoice.amount_msat {
                entry["amount_msat"] = json!(amount);
            }
            match invoice.state {
                FakeInvoiceState::Accepted { amount_msat } => {
                    entry["htlcs"] = json!([{"state": "accepted", "msat": amount_msat}]);
                }
                FakeInvoiceState::Settled {
                    amount_received_msat,
                    paid_at,
                    ..
                } => {
                    entry["settled_at"] = json!(plugin_time(paid_at));
                    entry["htlcs"] = json!([{"state": "paid", "msat": amount_received_msat}]);
                    if let Some(preimage) = invoice.preimage {
                        entry["preimage"] = json!(preimage.to_hex());
                    }
                }
                _ => {}
            }
            entry
        })
        .collect();
    Ok(json!({"holdinvoices": holds}))
}
