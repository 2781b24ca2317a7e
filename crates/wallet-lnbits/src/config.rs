//! Settings, with LNbits' own names.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use wallet_core::endpoint::require_tls;
use wallet_core::untrusted::max_reply_bytes;
use wallet_core::{Secret, Settings, WalletError};

/// The LNbits class name.
pub const CLASS_NAME: &str = "LNbitsWallet";
/// The LNbits server, e.g. `https://legend.lnbits.com` (LNbits' setting).
pub const ENDPOINT: &str = "LNBITS_ENDPOINT";
/// The admin key (LNbits' setting; `LNBITS_KEY` is its older alias). Needed to pay.
pub const ADMIN_KEY: &str = "LNBITS_ADMIN_KEY";
/// The older alias of [`ADMIN_KEY`].
pub const KEY: &str = "LNBITS_KEY";
/// The invoice (read) key (LNbits' setting).
pub const INVOICE_KEY: &str = "LNBITS_INVOICE_KEY";
/// `true` allows plain `http://` to a host other than loopback or `.onion`.
pub const ALLOW_INSECURE: &str = "LNBITS_ALLOW_INSECURE";
/// Seconds every request may take (default 15).
pub const REQUEST_TIMEOUT: &str = "LNBITS_REQUEST_TIMEOUT";
/// The largest reply read, in bytes (default 4 MiB, at least 64 KiB): a larger one is not read.
pub const MAX_REPLY_BYTES: &str = "LNBITS_MAX_REPLY_BYTES";
/// `true` says the server's funding source has hold invoices (LNbits' `LndWallet` and
/// `LndRestWallet` do; FakeWallet and the rest do not). LNbits' API does not tell its clients,
/// so this crate's own setting turns the `HOLDINVOICE` feature on.
pub const HOLD_INVOICES: &str = "LNBITS_HOLD_INVOICES";

/// Every setting an [`crate::LnbitsWallet`] reads.
pub const SETTING_KEYS: &[&str] = &[
    ENDPOINT,
    ADMIN_KEY,
    KEY,
    INVOICE_KEY,
    ALLOW_INSECURE,
    REQUEST_TIMEOUT,
    MAX_REPLY_BYTES,
    HOLD_INVOICES,
];

/// How to reach an LNbits wallet. `Debug` never shows the keys.
#[derive(Clone)]
pub struct LnbitsConfig {
    /// The server's base URL.
    pub endpoint: Url,
    /// The admin key: pays, settles, cancels, and does everything the invoice key does.
    pub admin_key: Option<Secret<String>>,
    /// The invoice key: creates invoices and reads statuses.
    pub invoice_key: Option<Secret<String>>,
    /// The deadline of every request except payments, which use their own timeout.
    pub request_timeout: Duration,
    /// Whether the server's funding source has hold invoices ([`HOLD_INVOICES`]).
    pub hold_invoices: bool,
    /// The largest reply read ([`MAX_REPLY_BYTES`]).
    pub max_reply_bytes: usize,
}

impl fmt::Debug for LnbitsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LnbitsConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("admin_key", &self.admin_key)
            .field("invoice_key", &self.invoice_key)
            .field("request_timeout", &self.request_timeout)
            .field("hold_invoices", &self.hold_invoices)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .finish()
    }
}

impl LnbitsConfig {
    /// A configuration for `endpoint` with the given keys (at least one), checked as
    /// [`LnbitsConfig::from_settings`] checks them.
    pub fn new(
        endpoint: &str,
        admin_key: Option<String>,
        invoice_key: Option<String>,
    ) -> Result<Self, WalletError> {
        let settings = [
            (ENDPOINT, Some(endpoint.to_owned())),
            (ADMIN_KEY, admin_key),
            (INVOICE_KEY, invoice_key),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect::<Settings>();
        Self::from_settings(&settings)
    }

    /// Says the server's funding source has hold invoices (see [`HOLD_INVOICES`]).
    pub fn with_hold_invoices(mut self, hold_invoices: bool) -> Self {
        self.hold_invoices = hold_invoices;
        self
    }

    /// Reads `LNBITS_ENDPOINT`, `LNBITS_ADMIN_KEY` (or `LNBITS_KEY`), `LNBITS_INVOICE_KEY`,
    /// `LNBITS_ALLOW_INSECURE`, `LNBITS_REQUEST_TIMEOUT`, `LNBITS_MAX_REPLY_BYTES` and
    /// `LNBITS_HOLD_INVOICES`. Errors name the setting.
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        let text = settings.require(ENDPOINT)?;
        let endpoint = Url::parse(text.trim()).map_err(|err| {
            // Not the value: a malformed URL may still hold a user and password.
            WalletError::invalid(ENDPOINT, format!("is not a URL: {err}"))
        })?;
        let uses_tls = match endpoint.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(WalletError::invalid(
                    ENDPOINT,
                    format!("scheme {other:?} is not http or https"),
                ));
            }
        };
        let host = endpoint
            .host_str()
            .ok_or_else(|| WalletError::invalid(ENDPOINT, "has no host"))?;
        // A browser wallet URL (`?usr=...&wal=...`) carries an account login; a user:password
        // part is a credential too. Neither belongs in a base URL this crate shows in errors.
        if !endpoint.username().is_empty()
            || endpoint.password().is_some()
            || endpoint.query().is_some()
            || endpoint.fragment().is_some()
        {
            return Err(WalletError::invalid(
                ENDPOINT,
                "must be the server's base URL, without a user, a query or a fragment (the value \
                 is not shown: it may hold a login)",
            ));
        }
        let allow_insecure = settings.flag(ALLOW_INSECURE)?.unwrap_or(false);
        require_tls(uses_tls, host, allow_insecure, ENDPOINT, ALLOW_INSECURE)?;
        let admin_key = match settings.first_of(&[ADMIN_KEY, KEY]) {
            Some((name, value)) => Some(checked_key(name, value)?),
            None => None,
        };
        let invoice_key = match settings.get(INVOICE_KEY) {
            Some(value) => Some(checked_key(INVOICE_KEY, value)?),
            None => None,
        };
        if admin_key.is_none() && invoice_key.is_none() {
            return Err(WalletError::invalid(
                ADMIN_KEY,
                "set LNBITS_ADMIN_KEY (to pay) or at least LNBITS_INVOICE_KEY",
            ));
        }
        let request_timeout = settings
            .timeout(REQUEST_TIMEOUT)?
            .unwrap_or(Duration::from_secs(15));
        let max_reply_bytes = max_reply_bytes(settings, MAX_REPLY_BYTES)?;
        Ok(Self {
            endpoint,
            admin_key,
            invoice_key,
            request_timeout,
            hold_invoices: settings.flag(HOLD_INVOICES)?.unwrap_or(false),
            max_reply_bytes,
        })
    }

    /// The key for reading: the invoice key, or the admin key when only that is set.
    pub(crate) fn read_key(&self) -> &Secret<String> {
        match (&self.invoice_key, &self.admin_key) {
            (Some(key), _) | (None, Some(key)) => key,
            // `from_settings` guarantees one of them; an empty key fails at the server.
            (None, None) => &EMPTY_KEY,
        }
    }
}

static EMPTY_KEY: Secret<String> = Secret::new(String::new());

/// LNbits keys are 32 hex digits; anything that is not a plain token is refused, since keys go
/// into a websocket URL path.
fn checked_key(name: &'static str, value: &str) -> Result<Secret<String>, WalletError> {
    let value = value.trim();
    let plain = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if plain {
        Ok(Secret::new(value.to_owned()))
    } else {
        Err(WalletError::invalid(
            name,
            "is not an LNbits key (32 hex digits)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs.iter().copied().collect()
    }

    #[test]
    fn lnbits_env_names_are_read_and_the_admin_alias_works() {
        let config = LnbitsConfig::from_settings(&settings(&[
            (ENDPOINT, "http://127.0.0.1:5000"),
            (KEY, "0123456789abcdef0123456789abcdef"),
        ]))
        .unwrap();
        assert!(config.admin_key.is_some());
        assert_eq!(
            config.read_key().expose(),
            "0123456789abcdef0123456789abcdef"
        );
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], ENDPOINT),
            (&[(ENDPOINT, "not a url")], ENDPOINT),
            (&[(ENDPOINT, "ftp://x.example")], ENDPOINT),
            (
                &[
                    (
                        ENDPOINT,
                        "https://lnbits.example.com/wallet?usr=abc&wal=def",
                    ),
                    (ADMIN_KEY, "ab"),
                ],
                ENDPOINT,
            ),
            (
                &[
                    (ENDPOINT, "https://user:pw@lnbits.example.com"),
                    (ADMIN_KEY, "ab"),
                ],
                ENDPOINT,
            ),
            (
                &[
                    (ENDPOINT, "https://lnbits.example.com/#frag"),
                    (ADMIN_KEY, "ab"),
                ],
                ENDPOINT,
            ),
            (
                &[(ENDPOINT, "http://lnbits.example.com"), (ADMIN_KEY, "ab")],
                ENDPOINT,
            ),
            (&[(ENDPOINT, "https://lnbits.example.com")], ADMIN_KEY),
            (
                &[
                    (ENDPOINT, "https://lnbits.example.com"),
                    (INVOICE_KEY, "a/b"),
                ],
                INVOICE_KEY,
            ),
            (
                &[
                    (ENDPOINT, "https://x.example"),
                    (ADMIN_KEY, "ab"),
                    (REQUEST_TIMEOUT, "0"),
                ],
                REQUEST_TIMEOUT,
            ),
        ];
        for (pairs, field) in cases {
            let err = LnbitsConfig::from_settings(&settings(pairs)).unwrap_err();
            assert_eq!(err.field(), Some(*field), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn plaintext_to_a_remote_host_needs_the_opt_in() {
        let config = LnbitsConfig::from_settings(&settings(&[
            (ENDPOINT, "http://lnbits.example.com"),
            (ADMIN_KEY, "ab"),
            (ALLOW_INSECURE, "true"),
        ]));
        assert!(config.is_ok());
    }

    #[test]
    fn debug_hides_the_keys() {
        let config = LnbitsConfig::new(
            "https://lnbits.example.com",
            Some("4526ecdd520d48dd8f49dbaaf97e4178".into()),
            Some("35e1f3e044454a0e8cac74fbdf3efa3e".into()),
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("4526ecdd") && !shown.contains("35e1f3e0"),
            "{shown}"
        );
    }
}
