//! `xpay` and `pay` (as xpay answers it), `listpays` and `listsendpays`, with Core Lightning's
//! error codes: 207 expired, 219 already paid, 205 no route, 203 refused by the destination,
//! 209 gave up.

use std::time::Duration;

use serde_json::{Value, json};
use wallet_core::bolt11::Bolt11;
use wallet_core::{FailureReason, PaymentHash};
use wallet_fake::{
    AnswerFault, AnswerFaultKind, AttemptSnapshot, FakePaymentState, PaymentSnapshot, SendOutcome,
    TemporaryFailures,
};

use super::node_error;
use crate::daemon::{Daemon, network_name};
use crate::params::Params;
use crate::rpc::{RpcError, RpcResult};

/// xpay's default fee limit: the larger of 5000 msat and 1 %.
fn default_maxfee_msat(amount_msat: u64) -> u64 {
    (amount_msat / 100).max(5_000)
}

fn attempt_status(state: &FakePaymentState) -> &'static str {
    match state {
        FakePaymentState::InFlight => "pending",
        FakePaymentState::Succeeded { .. } => "complete",
        FakePaymentState::Failed { .. } => "failed",
    }
}

fn failure_error(reason: &FailureReason) -> RpcError {
    match reason {
        FailureReason::NoRoute | FailureReason::InsufficientBalance => {
            RpcError::new(205, format!("Failed: could not find a route: {reason}"))
        }
        FailureReason::IncorrectPaymentDetails | FailureReason::Canceled => RpcError::new(
            203,
            format!("Destination said it doesn't know invoice: {reason}"),
        ),
        FailureReason::Timeout | FailureReason::Other(_) => {
            RpcError::new(209, format!("Failed after 1 attempts: {reason}"))
        }
    }
}

struct Request {
    invoice: Bolt11,
    amount_msat: u64,
    maxfee_msat: u64,
    retry_for: Duration,
}

/// The checks xpay makes before it sends anything.
fn checked(daemon: &Daemon, params: &Params, invoice_param: &str) -> Result<Request, RpcError> {
    let text = params.required_string(invoice_param)?;
    let invoice = Bolt11::parse(&text)
        .map_err(|err| RpcError::param(invoice_param, &format!("Invalid bolt11: {err}")))?;
    if network_name(&invoice.currency()) != daemon.network {
        return Err(RpcError::param(
            invoice_param,
            &format!("Invoice is for another network than {}", daemon.network),
        ));
    }
    if invoice.is_expired() {
        let now = wallet_core::time::unix_now();
        return Err(RpcError::new(207, "Invoice expired")
            .with_data(json!({"now": now, "expiry": invoice.expires_at()})));
    }
    let given = params.msat("amount_msat")?;
    let amount_msat = match (invoice.amount_msat(), given) {
        (Some(_), Some(_)) => {
            return Err(RpcError::param(
                "amount_msat",
                "Invoice has an amount, cannot specify amount_msat",
            ));
        }
        (None, None) => {
            return Err(RpcError::param(
                "amount_msat",
                "Invoice has no amount, must specify amount_msat",
            ));
        }
        (Some(amount), None) | (None, Some(amount)) => amount,
    };
    if amount_msat == 0 {
        return Err(RpcError::param("amount_msat", "Cannot pay zero msat"));
    }
    Ok(Request {
        amount_msat,
        maxfee_msat: params
            .msat("maxfee")?
            .unwrap_or_else(|| default_maxfee_msat(amount_msat)),
        retry_for: Duration::from_secs(params.u64("retry_for")?.unwrap_or(60)),
        invoice,
    })
}

/// The answer to a payment whose answer a test spoils: the payment goes its way (late, if the
/// fault says so) while the caller gets a dropped connection, `{}`, or an answer of the wrong
/// shape.
async fn spoiled(daemon: &Daemon, request: &Request, fault: AnswerFault) -> RpcResult {
    daemon.node.pay_after(
        request.invoice.clone(),
        request.amount_msat,
        request.maxfee_msat,
        fault.dispatch_after,
    );
    match fault.kind {
        AnswerFaultKind::Lost => {
            daemon.drop_connections();
            std::future::pending().await
        }
        AnswerFaultKind::Empty => Ok(json!({})),
        AnswerFaultKind::Junk => Ok(json!("\u{1}\u{7f}\u{fffd}#!~garbage~")),
    }
}

/// How long xpay waits between attempts after a temporary failure.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What a call does when a payment of the hash is already in flight.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InFlight {
    /// Wait for it, as `pay` does.
    Join,
    /// Refuse: 200 for the same amount, 201 for another, as xpay does.
    Refuse,
}

/// Dispatches a payment that stays in flight (one part stuck at a hop) and answers `code` at
/// once, as xpay without slow mode does when another part fails.
fn failed_with_parts_in_flight(daemon: &Daemon, request: &Request, code: i32) -> RpcError {
    daemon.node.control().stall_next_payment();
    if let Err(err) = daemon
        .node
        .pay(&request.invoice, request.amount_msat, request.maxfee_msat)
    {
        return node_error(err);
    }
    let message = match code {
        203 => "Destination said it doesn't know invoice: incorrect_or_unknown_payment_details",
        205 => "Failed: could not find a route for the remaining amount",
        206 => "Failed: the route would cost more than maxfee",
        210 => "Timed out before the payment completed",
        _ => "Failed after 2 attempts: one part failed, another is still in flight",
    };
    RpcError::new(i64::from(code), message)
}

/// Sends (or joins) the payment and waits for its outcome, as xpay does.
async fn send(
    daemon: &Daemon,
    request: &Request,
    in_flight: InFlight,
) -> Result<PaymentSnapshot, RpcError> {
    let hash = request.invoice.payment_hash();
    // Attempts that fail at a hop with a temporary channel failure (a fault a test sets) are
    // retried, each a failed attempt in `listsendpays`, for as long as `retry_for` allows; past
    // it, xpay gives up with 209.
    let outcome = match daemon
        .node
        .pay_retrying_temporary_failures(
            &request.invoice,
            request.amount_msat,
            request.maxfee_msat,
            request.retry_for,
            RETRY_PAUSE,
        )
        .await
        .map_err(node_error)?
    {
        TemporaryFailures::Sent(outcome) => outcome,
        TemporaryFailures::GaveUp { failed } => {
            return Err(RpcError::new(
                209,
                format!(
                    "Failed after {failed} attempts: temporary_channel_failure (retry_for {} s \
                     passed)",
                    request.retry_for.as_secs()
                ),
            ));
        }
    };
    let payment = match outcome {
        SendOutcome::AlreadyExists(existing)
            if matches!(existing.state, FakePaymentState::Succeeded { .. }) =>
        {
            return Err(RpcError::new(219, "Already paid with this hash"));
        }
        SendOutcome::AlreadyExists(existing) if in_flight == InFlight::Refuse => {
            return Err(if existing.amount_msat == request.amount_msat {
                RpcError::new(200, "Already have a payment in progress for this invoice")
            } else {
                RpcError::new(
                    201,
                    format!(
                        "Already paying this invoice with {}msat, not {}msat",
                        existing.amount_msat, request.amount_msat
                    ),
                )
            });
        }
        SendOutcome::AlreadyExists(payment) | SendOutcome::Dispatched(payment) => payment,
    };
    // A stalled payment keeps xpay waiting, however long retry_for is: it does not abort HTLCs
    // in flight.
    let final_payment = daemon
        .node
        .wait_for_payment(&hash, Duration::from_secs(24 * 3600))
        .await
        .map_err(node_error)?
        .unwrap_or(payment);
    match &final_payment.state {
        FakePaymentState::Succeeded { .. } => Ok(final_payment),
        FakePaymentState::Failed { reason } => Err(failure_error(reason)),
        FakePaymentState::InFlight => Err(RpcError::new(209, "Payment still in progress")),
    }
}

fn sent_msat(payment: &PaymentSnapshot, fee_msat: u64) -> u64 {
    payment.amount_msat.saturating_add(fee_msat)
}

pub(crate) async fn xpay(daemon: &Daemon, params: Value) -> RpcResult {
    let params = Params::new(
        params,
        &[
            "invstring",
            "amount_msat",
            "maxfee",
            "layers",
            "retry_for",
            "partial_msat",
            "maxdelay",
            "payer_note",
            "label",
            "localinvreqid",
            "dev_use_shadow",
        ],
    )?;
    let request = checked(daemon, &params, "invstring")?;
    if let Some(fault) = daemon.node.take_answer_fault() {
        return spoiled(daemon, &request, fault).await;
    }
    if let Some(code) = daemon.take_early_failure() {
        return Err(failed_with_parts_in_flight(daemon, &request, code));
    }
    let payment = send(daemon, &request, InFlight::Refuse).await?;
    let FakePaymentState::Succeeded { preimage, fee_msat } = &payment.state else {
        return Err(RpcError::new(209, "Payment failed"));
    };
    Ok(json!({
        "payment_preimage": preimage.to_hex(),
        "failed_parts": payment.attempts.len().saturating_sub(1),
        "successful_parts": 1,
        "amount_msat": payment.amount_msat,
        "amount_sent_msat": sent_msat(&payment, *fee_msat),
    }))
}

pub(crate) async fn pay(daemon: &Daemon, params: Value) -> RpcResult {
    let mut params_value = params;
    // `pay` takes `bolt11`, or `invstring` since v26.06.
    if let Some(object) = params_value.as_object_mut()
        && let Some(invoice) = object.remove("invstring")
    {
        object.insert("bolt11".into(), invoice);
    }
    let params = Params::new(
        params_value,
        &[
            "bolt11",
            "amount_msat",
            "label",
            "riskfactor",
            "maxfeepercent",
            "retry_for",
            "maxdelay",
            "exemptfee",
            "localinvreqid",
            "exclude",
            "maxfee",
            "description",
            "partial_msat",
        ],
    )?;
    let request = checked(daemon, &params, "bolt11")?;
    if let Some(fault) = daemon.node.take_answer_fault() {
        return spoiled(daemon, &request, fault).await;
    }
    let hash = request.invoice.payment_hash();
    // An invoice paid already is answered from the earlier payment.
    let payment = match daemon.node.payment(&hash).map_err(node_error)? {
        Some(earlier) if matches!(earlier.state, FakePaymentState::Succeeded { .. }) => earlier,
        _ => send(daemon, &request, InFlight::Join).await?,
    };
    let FakePaymentState::Succeeded { preimage, fee_msat } = &payment.state else {
        return Err(RpcError::new(209, "Payment failed"));
    };
    Ok(json!({
        "payment_preimage": preimage.to_hex(),
        "payment_hash": hash.to_hex(),
        "destination": wallet_core::hex::encode(&payment.payee),
        "created_at": payment.created_at as f64,
        "parts": 1,
        "amount_msat": payment.amount_msat,
        "amount_sent_msat": sent_msat(&payment, *fee_msat),
        "status": "complete",
    }))
}

fn payments(daemon: &Daemon, params: &Params) -> Result<Vec<PaymentSnapshot>, RpcError> {
    let by_hash = params
        .string("payment_hash")?
        .map(|hex| {
            PaymentHash::from_hex(&hex)
                .map_err(|_| RpcError::param("payment_hash", "should be a 32 byte hex value"))
        })
        .transpose()?;
    let by_invoice = params
        .string("bolt11")?
        .map(|text| {
            Bolt11::parse(&text)
                .map(|invoice| invoice.payment_hash())
                .map_err(|_| RpcError::param("bolt11", "should be a bolt11 invoice"))
        })
        .transpose()?;
    Ok(daemon
        .node
        .payments()
        .map_err(node_error)?
        .into_iter()
        .filter(|payment| by_hash.is_none_or(|hash| payment.payment_hash == hash))
        .filter(|payment| by_invoice.is_none_or(|hash| payment.payment_hash == hash))
        .collect())
}

fn attempt_json(payment: &PaymentSnapshot, attempt: &AttemptSnapshot, index: u64) -> Value {
    let mut entry = json!({
        "created_index": index,
        "payment_hash": payment.payment_hash.to_hex(),
        "status": attempt_status(&attempt.state),
        "destination": wallet_core::hex::encode(&payment.payee),
        "created_at": attempt.started_at,
        "bolt11": payment.bolt11,
        "amount_msat": payment.amount_msat,
        "amount_sent_msat": sent_msat(payment, attempt.fee_msat),
    });
    if let FakePaymentState::Succeeded { preimage, .. } = &attempt.state {
        entry["completed_at"] = json!(attempt.started_at);
        entry["preimage"] = json!(preimage.to_hex());
    }
    entry
}

/// One entry per attempt of the payments `params` selects (by bolt11, hash or index), shaped by
/// `shape` from the attempt's index and number, and kept if its status is the one asked for.
fn attempt_entries(
    daemon: &Daemon,
    params: Value,
    shape: impl Fn(&PaymentSnapshot, &AttemptSnapshot, u64, usize) -> Value,
) -> Result<Vec<Value>, RpcError> {
    let params = Params::new(
        params,
        &[
            "bolt11",
            "payment_hash",
            "status",
            "index",
            "start",
            "limit",
        ],
    )?;
    let wanted = params.string("status")?;
    let mut entries = Vec::new();
    for payment in payments(daemon, &params)? {
        for (number, attempt) in payment.attempts.iter().enumerate() {
            let index = payment.payment_index * 1_000 + number as u64;
            let entry = shape(&payment, attempt, index, number);
            if wanted
                .as_deref()
                .is_none_or(|status| entry["status"] == status)
            {
                entries.push(entry);
            }
        }
    }
    Ok(entries)
}

pub(crate) fn listpays(daemon: &Daemon, params: Value) -> RpcResult {
    let pays = attempt_entries(daemon, params, |payment, attempt, index, _| {
        attempt_json(payment, attempt, index)
    })?;
    Ok(json!({"pays": pays}))
}

pub(crate) fn listsendpays(daemon: &Daemon, params: Value) -> RpcResult {
    let sends = attempt_entries(daemon, params, |payment, attempt, index, number| {
        let mut entry = attempt_json(payment, attempt, index);
        entry["id"] = json!(index);
        entry["groupid"] = json!(number + 1);
        entry["partid"] = json!(0);
        if let Some(preimage) = entry
            .as_object_mut()
            .and_then(|object| object.remove("preimage"))
        {
            entry["payment_preimage"] = preimage;
        }
        entry
    })?;
    Ok(json!({"payments": sends}))
}
