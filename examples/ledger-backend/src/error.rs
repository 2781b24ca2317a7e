//! Errors: the ledger's refusals and the transport's failures, sorted into wallet-core's
//! [`CallFailure`](wallet_core::call::CallFailure) and mapped to [`WalletError`], with the
//! transport's own error kept as the [`source`](std::error::Error::source) beneath.

use serde::Deserialize;
use wallet_core::WalletError;
use wallet_core::call::Broken;
use wallet_core::pay::Dispatched;
use wallet_core::untrusted::server_text;

/// Why a call to the ledger got no answer to use: wallet-core's sorting, with the ledger's error
/// answer as the node's own error.
pub(crate) type CallFailure = wallet_core::call::CallFailure<Refusal>;

/// An answer other than 2xx: the status, and the ledger's `{"code", "field", "message"}` read
/// leniently and made safe to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

impl Refusal {
    /// Reads an error answer; a body that is not the ledger's error shape still gives the status.
    pub(crate) fn read(status: u16, body: &[u8]) -> Self {
        #[derive(Default, Deserialize)]
        struct Body {
            code: Option<String>,
            field: Option<String>,
            message: Option<String>,
        }
        let body: Body = serde_json::from_slice(body).unwrap_or_default();
        Self {
            status,
            code: body.code.map(|code| server_text(&code)).unwrap_or_default(),
            field: body.field,
            message: body
                .message
                .map_or_else(|| format!("status {status}"), |text| server_text(&text)),
        }
    }
}

/// The request fields the ledger may name. `WalletError::InvalidRequest` holds a `&'static str`,
/// so a field the server names is mapped to one of these, or to `request`.
const FIELDS: &[&str] = &[
    "amount_msat",
    "bolt11",
    "cursor",
    "description_hash",
    "expiry",
    "max_fee_msat",
    "memo",
    "payment_hash",
];

fn known_field(field: Option<&str>) -> &'static str {
    field
        .and_then(|named| FIELDS.iter().copied().find(|known| *known == named))
        .unwrap_or("request")
}

/// Sorts a failed request by whether it can have reached the ledger: only a failed connect
/// cannot. The URL is left out of the kept error (it is the caller's to show).
pub(crate) fn transport(err: reqwest::Error) -> CallFailure {
    let (connect, timeout) = (err.is_connect(), err.is_timeout());
    let err = err.without_url();
    if connect {
        CallFailure::NotConnected(Broken::because("cannot connect to the ledger", err))
    } else if timeout {
        CallFailure::Lost(Broken::because("the ledger did not answer in time", err))
    } else {
        CallFailure::Lost(Broken::because("the request to the ledger failed", err))
    }
}

/// A 2xx answer that is not what the call answers: the request may have been acted on, and
/// nothing can be concluded from the answer (contract rule 12).
pub(crate) fn unreadable(err: serde_json::Error) -> CallFailure {
    CallFailure::Lost(Broken::because("the ledger's answer cannot be read", err))
}

/// The error for a call whose failure is safe to report as an error: anything but a payment.
pub(crate) fn ledger_error(failure: CallFailure) -> WalletError {
    failure.into_error(|refusal| refused(&refusal))
}

/// What the ledger's refusal means. The message never quotes the key: the ledger's 401 is
/// replaced by a text of this crate's own.
pub(crate) fn refused(refusal: &Refusal) -> WalletError {
    let message = refusal.message.clone();
    match refusal.status {
        401 | 403 => WalletError::Unauthorized("the ledger refused the API key".into()),
        400 | 422 => WalletError::invalid(known_field(refusal.field.as_deref()), message),
        404 => WalletError::NotFound(message),
        409 => WalletError::InvalidState(message),
        429 | 500 | 502 | 503 | 504 => WalletError::unavailable(format!(
            "the ledger answered {} ({}): {message}",
            refusal.status, refusal.code
        )),
        status => WalletError::backend(Some(i64::from(status)), message),
    }
}

/// What a refusal of a payment proves about it.
pub(crate) fn refused_payment(refusal: Refusal) -> Dispatched {
    match refusal.status {
        // The ledger answers 400 and 401 to `POST /v1/payments` only before it hands anything to
        // its node (server.rs, `Service::pay`): nothing can have left.
        400 | 401 | 403 => Dispatched::NotSent(refused(&refusal)),
        // Anything else may come after the node started paying (its own error, or a proxy's
        // 502 while it worked): the ledger's records decide (contract rule 2).
        _ => Dispatched::Declined(refused(&refusal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_read_whatever_its_body_and_shown_safely() {
        let refusal = Refusal::read(
            400,
            br#"{"code":"invalid_request","field":"bolt11","message":"bad \u001b[2J"}"#,
        );
        assert_eq!(refusal.field.as_deref(), Some("bolt11"));
        assert!(!refusal.message.contains('\u{1b}'), "{refusal:?}");
        assert_eq!(refused(&refusal).field(), Some("bolt11"));
        let garbage = Refusal::read(502, b"<html>bad gateway</html>");
        assert!(refused(&garbage).is_retryable());
    }

    #[test]
    fn a_field_the_ledger_invents_is_the_request() {
        let refusal = Refusal::read(400, br#"{"field":"surprise","message":"no"}"#);
        assert_eq!(refused(&refusal).field(), Some("request"));
    }

    #[test]
    fn only_a_bad_request_or_key_proves_a_payment_was_not_sent() {
        for status in [400, 401] {
            let refusal = Refusal::read(status, b"{}");
            assert!(matches!(refused_payment(refusal), Dispatched::NotSent(_)));
        }
        for status in [404, 409, 500, 502, 503] {
            let refusal = Refusal::read(status, b"{}");
            assert!(matches!(refused_payment(refusal), Dispatched::Declined(_)));
        }
    }
}
