//! [`LedgerConfig`]: where the ledger is, and the key that opens it.

use std::time::Duration;

use reqwest::Url;
use wallet_core::untrusted::DEFAULT_MAX_REPLY_BYTES;
use wallet_core::{Secret, WalletError};

/// The deadline of one call to the ledger unless [`LedgerConfig::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a ledger: its base URL and API key, and how long a call may take.
///
/// `Debug` shows the URL and never the key ([`Secret`] redacts it), so a config can be logged.
#[derive(Clone, Debug)]
pub struct LedgerConfig {
    pub(crate) endpoint: Url,
    pub(crate) api_key: Secret<String>,
    pub(crate) timeout: Duration,
    pub(crate) allow_plaintext: bool,
    pub(crate) max_reply_bytes: usize,
}

impl LedgerConfig {
    /// The ledger at `endpoint` (its base URL: `https://...`, or `http://` on a loopback or onion
    /// address), opened with `api_key`. Errors name the field at fault, never the key.
    pub fn new(endpoint: &str, api_key: impl Into<String>) -> Result<Self, WalletError> {
        let endpoint = Url::parse(endpoint.trim())
            .map_err(|err| WalletError::invalid("endpoint", format!("not a URL: {err}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(WalletError::invalid(
                "endpoint",
                "must be an http or https URL with a host",
            ));
        }
        // A key in the URL would travel in every log line that shows the endpoint; a query or
        // fragment would be cut off by the paths this crate appends.
        if !endpoint.username().is_empty()
            || endpoint.password().is_some()
            || endpoint.query().is_some()
            || endpoint.fragment().is_some()
        {
            return Err(WalletError::invalid(
                "endpoint",
                "must have no user, password, query or fragment: the key goes in api_key",
            ));
        }
        let api_key = api_key.into();
        // It travels in a header: nothing a header cannot carry, and no surrounding blanks
        // pasted along with it.
        if api_key.is_empty() || !api_key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(WalletError::invalid(
                "api_key",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(Self {
            endpoint,
            api_key: Secret::new(api_key),
            timeout: DEFAULT_TIMEOUT,
            allow_plaintext: false,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        })
    }

    /// Sets the deadline of each call (a payment has its own, `PayInvoiceRequest::timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows `http://` to an address that is not loopback or onion: the key then crosses the
    /// network unencrypted (contract rule 10).
    pub fn allow_plaintext(mut self, allow: bool) -> Self {
        self.allow_plaintext = allow;
        self
    }

    /// The ledger's base URL.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_endpoint_or_key_is_refused_naming_the_field_and_never_showing_the_key() {
        for (endpoint, key, field) in [
            ("not a url", "key", "endpoint"),
            ("ftp://ledger.example.com", "key", "endpoint"),
            (
                "https://user:secret-key@ledger.example.com",
                "key",
                "endpoint",
            ),
            (
                "https://ledger.example.com/?key=secret-key",
                "key",
                "endpoint",
            ),
            ("https://ledger.example.com", "", "api_key"),
            ("https://ledger.example.com", "secret key", "api_key"),
        ] {
            let err = LedgerConfig::new(endpoint, key).unwrap_err();
            assert_eq!(err.field(), Some(field), "{endpoint} {key:?}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[test]
    fn debug_shows_the_endpoint_and_never_the_key() {
        let config = LedgerConfig::new("https://ledger.example.com", "4526ecdd520d48dd").unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("ledger.example.com"), "{shown}");
        assert!(!shown.contains("4526ecdd520d48dd"), "{shown}");
    }
}
