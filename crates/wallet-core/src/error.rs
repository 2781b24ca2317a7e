//! Errors: one enum for every call, and [`PayError`] for payments that never left.

use std::fmt;
use std::sync::Arc;

use crate::WalletFeature;

/// What went wrong in a wallet call.
///
/// Errors never contain secrets: backends redact keys, macaroons, runes and preimages before
/// building one.
///
/// A transport or decoding failure keeps the error beneath it as its
/// [`source`](std::error::Error::source) (a [`Cause`]), so that "backend unavailable: cannot
/// connect to LNbits" leads to "tcp connect error: Connection refused" rather than flattening
/// it into the message; [`describe_chain`] prints the whole chain on one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The request is malformed; `field` names the offending input.
    #[error("invalid {field}: {reason}")]
    InvalidRequest {
        /// The request field or setting at fault, e.g. `amount_msat` or `LNBITS_ENDPOINT`.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The backend does not support this feature; [`crate::Wallet::features`] agrees.
    #[error("{0} is not supported by this backend")]
    Unsupported(WalletFeature),
    /// The request conflicts with the current state, e.g. settling a hold invoice that has not
    /// been paid yet, or reusing a payment hash.
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// The thing asked for does not exist (statuses report this as `Unknown` instead).
    #[error("not found: {0}")]
    NotFound(String),
    /// The credentials were refused. The message never contains the credential itself.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The backend could not be reached or did not answer in time. Retrying may help.
    #[error("backend unavailable: {message}")]
    Unavailable {
        /// What could not be done, e.g. "cannot connect to LNbits".
        message: String,
        /// The transport's own error, when there is one.
        #[source]
        cause: Option<Cause>,
    },
    /// The backend answered with an error this crate has no better variant for.
    #[error("backend error{}: {message}", DisplayCode(*.code))]
    Backend {
        /// The backend's own error code (HTTP status, gRPC code, JSON-RPC code), if any.
        code: Option<i64>,
        /// The backend's message.
        message: String,
        /// The error beneath it (a decoding error, the transport's status), when there is one.
        #[source]
        cause: Option<Cause>,
    },
}

/// The error beneath a [`WalletError`]: a transport, TLS or decoding error kept whole, so that
/// its own causes stay reachable through [`std::error::Error::source`].
///
/// Shared, so that errors stay `Clone`; two causes are equal when they read the same, since a
/// transport error has no equality of its own.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    /// Keeps `err` as a cause.
    pub fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(err))
    }

    /// The chain from `err` down, as text, for an error that can only be borrowed (a gRPC
    /// status's transport error): each link keeps its own line, so the chain still reads link by
    /// link. Each link's text is made safe to show, since a transport error may quote its peer.
    pub fn snapshot(err: &(dyn std::error::Error + 'static)) -> Self {
        let texts: Vec<String> = error_chain(err)
            .map(|link| crate::untrusted::server_text(&link.to_string()))
            .collect();
        // The chain starts with `err` itself, so there is always a deepest link.
        let mut links = texts.into_iter().rev();
        let deepest = Snapshot {
            text: links.next().unwrap_or_default(),
            below: None,
        };
        Self::new(links.fold(deepest, |below, text| Snapshot {
            text,
            below: Some(Box::new(below)),
        }))
    }
}

/// One link of a [`Cause::snapshot`].
#[derive(Debug)]
struct Snapshot {
    text: String,
    below: Option<Box<Snapshot>>,
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Snapshot {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.below
            .as_deref()
            .map(|below| below as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let inner: &(dyn std::error::Error + 'static) = &*self.0;
        // `io::Error` hides the error it wraps from `source()`: step into it here, once.
        match inner
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => inner.source(),
        }
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

struct DisplayCode(Option<i64>);

impl fmt::Display for DisplayCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(code) => write!(f, " {code}"),
            None => Ok(()),
        }
    }
}

impl WalletError {
    /// An [`WalletError::InvalidRequest`] naming `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field,
            reason: reason.into(),
        }
    }

    /// A [`WalletError::Backend`] error.
    pub fn backend(code: Option<i64>, message: impl Into<String>) -> Self {
        Self::Backend {
            code,
            message: message.into(),
            cause: None,
        }
    }

    /// A [`WalletError::Unavailable`] error.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable {
            message: message.into(),
            cause: None,
        }
    }

    /// This error with `cause` kept beneath it. Only [`WalletError::Unavailable`] and
    /// [`WalletError::Backend`] carry causes; the other kinds are decided by this crate's rules,
    /// not by a lower error, and come back unchanged.
    pub fn caused_by(self, cause: Cause) -> Self {
        match self {
            Self::Unavailable { message, .. } => Self::Unavailable {
                message,
                cause: Some(cause),
            },
            Self::Backend { code, message, .. } => Self::Backend {
                code,
                message,
                cause: Some(cause),
            },
            other => other,
        }
    }

    /// Whether the same call may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// Whether no retry can fix it: a bad request or setting, a missing feature, refused
    /// credentials, or a thing that is not there. Retrying these forever would hide the problem
    /// behind something that looks alive.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::InvalidRequest { .. }
                | Self::Unsupported(_)
                | Self::Unauthorized(_)
                | Self::NotFound(_)
        )
    }

    /// How a paid-invoice stream ends on this error: a permanent one as it is, so that the
    /// supervisor stops; anything else as [`WalletError::Unavailable`] ("`what` failed", with
    /// the error as its cause), so that it reconnects.
    pub fn ending_stream(self, what: &str) -> Self {
        match self {
            permanent if permanent.is_permanent() => permanent,
            unavailable @ Self::Unavailable { .. } => unavailable,
            other => Self::unavailable(format!("{what} failed")).caused_by(Cause::new(other)),
        }
    }

    /// This error with every occurrence of `secret` in its text replaced by `shown_as`: for
    /// errors whose text comes from a server that may quote the request back (a settle error
    /// quoting the preimage of a payment still held).
    pub fn redacted(self, secret: &str, shown_as: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let clean = |text: String| text.replace(secret, shown_as);
        match self {
            Self::InvalidRequest { field, reason } => Self::InvalidRequest {
                field,
                reason: clean(reason),
            },
            Self::InvalidState(text) => Self::InvalidState(clean(text)),
            Self::NotFound(text) => Self::NotFound(clean(text)),
            Self::Unauthorized(text) => Self::Unauthorized(clean(text)),
            // A cause is a transport's or decoder's error, never a server's quote of the request.
            Self::Unavailable { message, cause } => Self::Unavailable {
                message: clean(message),
                cause,
            },
            Self::Backend {
                code,
                message,
                cause,
            } => Self::Backend {
                code,
                message: clean(message),
                cause,
            },
            unsupported @ Self::Unsupported(_) => unsupported,
        }
    }

    /// The request field this error is about, if it is an invalid request.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A payment that was **not sent**: no money can have left the wallet.
///
/// [`crate::Wallet::pay_invoice`] returns this only when the payment was refused before
/// dispatch: a bad, expired or wrong-network invoice, a missing amount, an unsupported option,
/// bad credentials, or a node that rejected the request before creating a payment. Whenever money
/// *may* have moved (a timeout, a dropped connection, an unreadable answer after dispatch) the
/// result is `Ok` with [`crate::PaymentStatus::Pending`] instead, and
/// [`crate::Wallet::get_payment_status`] tells the final state later.
///
/// There is deliberately no `From<WalletError>`: a backend must decide, at each `?`, that the
/// error happened before anything was sent.
///
/// Its text includes the reason's; its [`source`](std::error::Error::source) is what lies
/// beneath the reason, so that a chain printer shows each line once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayError {
    reason: WalletError,
}

impl fmt::Display for PayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment not sent: {}", self.reason)
    }
}

impl std::error::Error for PayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.reason)
    }
}

impl PayError {
    /// Wraps an error raised before the payment was dispatched.
    pub fn not_sent(reason: WalletError) -> Self {
        Self { reason }
    }

    /// Why the payment was refused.
    pub fn reason(&self) -> &WalletError {
        &self.reason
    }

    /// Unwraps the reason.
    pub fn into_reason(self) -> WalletError {
        self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_the_code() {
        let err = WalletError::invalid("amount_msat", "must be positive");
        assert_eq!(err.to_string(), "invalid amount_msat: must be positive");
        let err = WalletError::backend(Some(520), "boom");
        assert_eq!(err.to_string(), "backend error 520: boom");
        let err = WalletError::backend(None, "boom");
        assert_eq!(err.to_string(), "backend error: boom");
    }

    #[test]
    fn only_unavailable_is_retryable() {
        assert!(WalletError::unavailable("down").is_retryable());
        assert!(!WalletError::Unauthorized("bad key".into()).is_retryable());
        assert!(!WalletError::Unsupported(WalletFeature::HoldInvoice).is_retryable());
    }

    #[test]
    fn a_pay_error_says_nothing_was_sent() {
        let err = PayError::not_sent(WalletError::invalid("bolt11", "expired"));
        assert_eq!(err.to_string(), "payment not sent: invalid bolt11: expired");
        assert_eq!(err.reason().field(), Some("bolt11"));
    }
}

/// `err` and every error below it, outermost first. `io::Error` hides the error it wraps from
/// `source()`; this steps into it, so that "connection refused" under a transport error shows.
pub fn error_chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |err| {
        match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        }
    })
}

/// `err` with its causes, as one line: "error sending request: client error (Connect): tcp
/// connect error: Connection refused (os error 111)". A cause whose text repeats the one above
/// is left out.
pub fn describe_chain(err: &(dyn std::error::Error + 'static)) -> String {
    chain_texts(err).join(": ")
}

/// The text of `err` and of each error below it, outermost first, as a CLI prints them one per
/// line, each made safe to show ([`crate::untrusted::server_text`]: a cause may quote a peer). A
/// cause whose text is empty or repeats the one above is left out.
pub fn chain_texts(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    for cause in error_chain(err) {
        let shown = crate::untrusted::server_text(&cause.to_string());
        if shown.is_empty() || texts.last().is_some_and(|last| last.contains(&shown)) {
            continue;
        }
        texts.push(shown);
    }
    texts
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn a_stream_ends_on_a_permanent_error_as_it_is_and_on_anything_else_as_unavailable() {
        let refused = WalletError::Unauthorized("macaroon".into());
        assert_eq!(refused.clone().ending_stream("the subscription"), refused);
        let odd = WalletError::backend(Some(2), "odd").ending_stream("the subscription");
        assert!(odd.is_retryable(), "{odd:?}");
        assert!(odd.to_string().contains("the subscription failed"), "{odd}");
    }

    #[test]
    fn a_quoted_secret_is_redacted_from_every_kind_of_error() {
        let secret = "79".repeat(32);
        for err in [
            WalletError::invalid("preimage", format!("bad: {secret}")),
            WalletError::InvalidState(format!("{secret} is not held")),
            WalletError::backend(Some(422), format!("input {{\"preimage\": \"{secret}\"}}")),
            WalletError::unavailable(secret.clone()),
        ] {
            let shown = err.redacted(&secret, "<preimage>").to_string();
            assert!(
                !shown.contains(&secret) && shown.contains("<preimage>"),
                "{shown}"
            );
        }
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error sending request")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn refused() -> Outer {
        Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ))
    }

    #[test]
    fn a_cause_stays_beneath_the_message_and_every_link_prints_once() {
        let err =
            WalletError::unavailable("cannot connect to LNbits").caused_by(Cause::new(refused()));
        assert_eq!(
            err.to_string(),
            "backend unavailable: cannot connect to LNbits"
        );
        assert_eq!(
            chain_texts(&err),
            [
                "backend unavailable: cannot connect to LNbits",
                "error sending request",
                "Connection refused"
            ]
        );
        let not_sent = PayError::not_sent(err.clone());
        assert_eq!(
            chain_texts(&not_sent),
            [
                "payment not sent: backend unavailable: cannot connect to LNbits",
                "error sending request",
                "Connection refused"
            ]
        );
        assert!(err.is_retryable());
    }

    #[test]
    fn a_snapshot_keeps_each_link_and_makes_it_safe_to_show() {
        let hostile = std::io::Error::other("fake \u{1b}[2J PAYMENT SUCCEEDED");
        let snapshot = Cause::snapshot(&Outer(hostile));
        let err = WalletError::backend(None, "lnd connection failed").caused_by(snapshot);
        let texts = chain_texts(&err);
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert_eq!(texts[1], "error sending request");
        assert!(
            !texts[2].contains('\u{1b}') && texts[2].contains("PAYMENT"),
            "{texts:?}"
        );
    }

    #[test]
    fn causes_compare_by_text_and_only_transport_kinds_carry_one() {
        let one = WalletError::unavailable("down").caused_by(Cause::new(refused()));
        let same = WalletError::unavailable("down").caused_by(Cause::new(refused()));
        assert_eq!(one, same);
        assert_ne!(one, WalletError::unavailable("down"));
        let unauthorized = WalletError::Unauthorized("key".into()).caused_by(Cause::new(refused()));
        assert!(std::error::Error::source(&unauthorized).is_none());
    }

    #[test]
    fn a_stream_ending_on_an_odd_error_keeps_it_as_the_cause() {
        let odd = WalletError::backend(Some(2), "odd").ending_stream("the subscription");
        assert_eq!(
            chain_texts(&odd),
            [
                "backend unavailable: the subscription failed",
                "backend error 2: odd"
            ]
        );
    }

    #[test]
    fn the_cause_under_a_transport_error_is_kept() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let shown = describe_chain(&Outer(refused));
        assert_eq!(shown, "error sending request: Connection refused");
    }
}
