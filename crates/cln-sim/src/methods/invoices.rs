//! `invoice`, `listinvoices`, `waitanyinvoice`, `waitinvoice`, `delinvoice` and `decode`, with
//! Core Lightning's labels, limits, statuses, `pay_index` and error codes.

use std::time::Duration;

use serde_json::{Value, json};
use wallet_core::bolt11::{Bolt11, Bolt11Description};
use wallet_core::{DescriptionHash, PaymentHash, Preimage};
use wallet_fake::{FakeInvoiceState, FakeNodeError, NewInvoice};

use super::node_error;
use crate::daemon::{ClnInvoice, Daemon};
use crate::params::{Params, parse_msat};
use crate::rpc::{RpcError, RpcResult};

/// Core Lightning's default invoice expiry: a week.
const DEFAULT_EXPIRY_SECS: u64 = 604_800;
const MAX_LABEL_BYTES: usize = 128;
const MAX_DESCRIPTION_BYTES: usize = 639;

fn status(invoice: &ClnInvoice) -> &'static str {
    match invoice.invoice.state {
        FakeInvoiceState::Settled { .. } => "paid",
        FakeInvoiceState::Expired | FakeInvoiceState::Canceled => "expired",
        FakeInvoiceState::Open | FakeInvoiceState::Accepted { .. } => "unpaid",
    }
}

/// An invoice as `listinvoices`, `waitanyinvoice` and `waitinvoice` show it.
pub(crate) fn invoice_json(invoice: &ClnInvoice) -> Value {
    let snapshot = &invoice.invoice;
    let mut entry = json!({
        "label": invoice.label,
        "description": snapshot.memo,
        "payment_hash": snapshot.payment_hash.to_hex(),
        "status": status(invoice),
        "expires_at": snapshot.expires_at(),
        "bolt11": snapshot.bolt11,
        "created_index": snapshot.add_index,
    });
    if let Some(amount) = snapshot.amount_msat {
        entry["amount_msat"] = json!(amount);
    }
    if let Some(updated_index) = invoice.updated_index {
        entry["updated_index"] = json!(updated_index);
    }
    if let FakeInvoiceState::Settled {
        amount_received_msat,
        paid_at,
        ..
    } = snapshot.state
    {
        entry["pay_index"] = json!(invoice.pay_index);
        entry["amount_received_msat"] = json!(amount_received_msat);
        entry["paid_at"] = json!(paid_at);

        if let Some(preimage) = snapshot.preimage {
            entry["payment_preimage"] = json!(preimage.to_hex());
        }
    }
    entry
}

fn label_of(value: &Value) -> Result<String, RpcError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(RpcError::param("label", "should be a string or number")),
    }
}

pub(crate) fn invoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(
        params,
        &[
            "amount_msat",
            "label",
            "description",
            "expiry",
            "fallbacks",
            "preimage",
            "exposeprivatechannels",
            "cltv",
            "deschashonly",
        ],
    )?;
    let amount = params.required("amount_msat")?;
    let amount_msat = if amount.as_str() == Some("any") {
        None
    } else {
        match parse_msat(amount) {
            Some(msat) if msat > 0 => Some(msat),
            _ => {
                return Err(RpcError::param(
                    "amount_msat",
                    "should be positive msat or 'any'",
                ));
            }
        }
    };
    let label = label_of(params.required("label")?)?;
    if label.len() > MAX_LABEL_BYTES {
        return Err(RpcError::new(
            -32602,
            format!("Label '{label}' over {MAX_LABEL_BYTES} bytes"),
        ));
    }
    let description = params.required_string("description")?;
    let hash_only = params.bool("deschashonly")?.unwrap_or(false);
    if !hash_only && description.len() > MAX_DESCRIPTION_BYTES {
        return Err(RpcError::new(
            -32602,
            format!(
                "Description greater than {MAX_DESCRIPTION_BYTES} bytes invalid (description length {})",
                description.len()
            ),
        ));
    }
    let expiry = params.u64("expiry")?.unwrap_or(DEFAULT_EXPIRY_SECS);
    let preimage = params
        .string("preimage")?
        .map(|hex| {
            Preimage::from_hex(&hex)
                .map_err(|_| RpcError::param("preimage", "should be 64 hex digits"))
        })
        .transpose()?;
    let created = daemon.create_labelled(label, || {
        let new = NewInvoice {
            amount_msat,
            description_hash: hash_only
                .then(|| DescriptionHash::of_description(description.as_bytes())),
            memo: description,
            expiry: Some(Duration::from_secs(expiry)),
            preimage,
            hold_payment_hash: None,
            // lightningd leaves its node id out of invoices.
            payee_field: false,
        };
        match daemon.node.create_invoice(new) {
            Ok(created) => Ok((created.clone(), created.payment_hash)),
            Err(FakeNodeError::DuplicateInvoice) => {
                Err(RpcError::new(901, "preimage already used"))
            }
            Err(err) => Err(node_error(err)),
        }
    })?;
    Ok(json!({
        "bolt11": created.bolt11,
        "payment_hash": created.payment_hash.to_hex(),
        "payment_secret": wallet_core::hex::encode(&created.payment_secret),
        "expires_at": created.expires_at(),
        "created_index": created.add_index,
    }))
}

pub(crate) fn listinvoices(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(
        params,
        &[
            "label",
            "invstring",
            "payment_hash",
            "offer_id",
            "index",
            "start",
            "limit",
        ],
    )?;
    let label = params.get("label").map(label_of).transpose()?;
    let invstring = params.string("invstring")?;
    let payment_hash = params.string("payment_hash")?;
    let selectors = [
        label.is_some(),
        invstring.is_some(),
        payment_hash.is_some(),
        params.get("offer_id").is_some(),
    ];
    if selectors.iter().filter(|given| **given).count() > 1 {
        return Err(RpcError::new(
            -32602,
            "Can only specify one of {label}, {invstring}, {payment_hash} or {offer_id}",
        ));
    }
    let hash = match (&payment_hash, &invstring) {
        (Some(hex), _) => Some(
            PaymentHash::from_hex(hex)
                .map_err(|_| RpcError::param("payment_hash", "should be a 32 byte hex value"))?,
        ),
        (None, Some(invoice)) => Some(
            Bolt11::parse(invoice)
                .map_err(|_| RpcError::param("invstring", "should be a bolt11 invoice"))?
                .payment_hash(),
        ),
        (None, None) => None,
    };
    let by_updated = match params.string("index")?.as_deref() {
        None | Some("created") => false,
        Some("updated") => true,
        Some(_) => return Err(RpcError::param("index", "should be 'created' or 'updated'")),
    };
    let start = params.u64("start")?.unwrap_or(0);
    let limit = params
        .u64("limit")?
        .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX));
    let mut invoices: Vec<ClnInvoice> = daemon
        .invoices()?
        .into_iter()
        .filter(|invoice| label.as_ref().is_none_or(|label| &invoice.label == label))
        .filter(|invoice| hash.is_none_or(|hash| invoice.invoice.payment_hash == hash))
        .collect();
    if by_updated {
        invoices.retain(|invoice| invoice.pay_index.is_some_and(|index| index >= start));
        invoices.sort_by_key(|invoice| invoice.pay_index);
    } else {
        invoices.retain(|invoice| invoice.invoice.add_index >= start);
    }
    if let Some(limit) = limit {
        invoices.truncate(limit);
    }
    Ok(json!({"invoices": invoices.iter().map(invoice_json).collect::<Vec<_>>()}))
}

/// Waits for a change of the node until `deadline`; `false` when it passed.
async fn changed(
    changes: &mut tokio::sync::watch::Receiver<u64>,
    deadline: Option<tokio::time::Instant>,
) -> bool {
    match deadline {
        Some(deadline) => matches!(
            tokio::time::timeout_at(deadline, changes.changed()).await,
            Ok(Ok(()))
        ),
        None => changes.changed().await.is_ok(),
    }
}

pub(crate) async fn waitanyinvoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["lastpay_index", "timeout"])?;
    let last = params.u64("lastpay_index")?.unwrap_or(0);
    let deadline = params
        .u64("timeout")?
        .map(|seconds| tokio::time::Instant::now() + Duration::from_secs(seconds));
    let mut changes = daemon.node.changes();
    loop {
        changes.borrow_and_update();
        let next = daemon
            .invoices()?
            .into_iter()
            .filter(|invoice| invoice.pay_index.is_some_and(|index| index > last))
            .min_by_key(|invoice| invoice.pay_index);
        if let Some(invoice) = next {
            return Ok(invoice_json(&invoice));
        }
        if !changed(&mut changes, deadline).await {
            return Err(RpcError::new(
                904,
                "Timed out while waiting for invoice to be paid",
            ));
        }
    }
}

pub(crate) async fn waitinvoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["label"])?;
    let label = label_of(params.required("label")?)?;
    let mut changes = daemon.node.changes();
    loop {
        changes.borrow_and_update();
        let Some(invoice) = daemon
            .invoices()?
            .into_iter()
            .find(|invoice| invoice.label == label)
        else {
            return Err(RpcError::general("Label not found"));
        };
        match status(&invoice) {
            "paid" => return Ok(invoice_json(&invoice)),
            "expired" => {
                return Err(RpcError::new(903, "invoice expired during wait")
                    .with_data(invoice_json(&invoice)));
            }
            _ => {}
        }
        // An open invoice expires without any node change: look again at least every second.
        let _ = tokio::time::timeout(Duration::from_secs(1), changes.changed()).await;
    }
}

pub(crate) fn delinvoice(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["label", "status", "desconly"])?;
    let label = label_of(params.required("label")?)?;
    let expected = params.required_string("status")?;
    let Some(hash) = daemon.hash_of_label(&label) else {
        return Err(RpcError::new(905, "Unknown invoice"));
    };
    let Some(invoice) = daemon
        .invoices()?
        .into_iter()
        .find(|invoice| invoice.invoice.payment_hash == hash)
    else {
        return Err(RpcError::new(905, "Unknown invoice"));
    };
    let current = status(&invoice);
    if current != expected {
        return Err(
            RpcError::new(906, format!("Invoice status is {current} not {expected}"))
                .with_data(json!({"current_status": current, "expected_status": expected})),
        );
    }
    if current == "unpaid" {
        // A deleted invoice can no longer be paid.
        daemon.node.cancel_invoice(&hash).map_err(node_error)?;
    }
    daemon.delete(hash);
    Ok(invoice_json(&invoice))
}

/// The BOLT11 prefix `decode` reports as the currency.
fn currency_prefix(currency: &wallet_core::bolt11::Currency) -> &'static str {
    use wallet_core::bolt11::Currency;
    match currency {
        Currency::Bitcoin => "bc",
        Currency::BitcoinTestnet => "tb",
        Currency::Regtest => "bcrt",
        Currency::Signet => "tbs",
        Currency::Simnet => "sb",
    }
}

pub(crate) fn decode(_daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(params, &["string", "bolt11", "description"])?;
    let text = params
        .string("string")?
        .or(params.string("bolt11")?)
        .ok_or_else(|| RpcError::new(-32602, "missing required parameter: string"))?;
    let invoice =
        Bolt11::parse(&text).map_err(|err| RpcError::param("string", &err.to_string()))?;
    let mut decoded = json!({
        "type": "bolt11 invoice",
        "valid": true,
        "currency": currency_prefix(&invoice.currency()),
        "created_at": invoice.created_at(),
        "expiry": invoice.expiry().as_secs(),
        "payee": wallet_core::hex::encode(&invoice.payee()),
        "payment_hash": invoice.payment_hash().to_hex(),
        "payment_secret": wallet_core::hex::encode(&invoice.payment_secret()),
        "min_final_cltv_expiry": 18,
    });
    if let Some(amount) = invoice.amount_msat() {
        decoded["amount_msat"] = json!(amount);
    }
    match invoice.description() {
        Bolt11Description::Memo(memo) => decoded["description"] = json!(memo),
        Bolt11Description::Hash(hash) => decoded["description_hash"] = json!(hash.to_hex()),
    }
    Ok(decoded)
}
