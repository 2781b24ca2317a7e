//! Settings, with LNbits' own names.

use std::fmt;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use wallet_core::{Secret, Settings, WalletError, hex};

/// The LNbits class name.
pub const CLASS_NAME: &str = "LndWallet";
/// The node's host (LNbits' setting), e.g. `127.0.0.1` or `https://lnd.example.com`.
pub const ENDPOINT: &str = "LND_GRPC_ENDPOINT";
/// The gRPC port (default 10009).
pub const PORT: &str = "LND_GRPC_PORT";
/// The node's `tls.cert`: a path or the PEM text. It is pinned: only this certificate is
/// accepted.
pub const CERT: &str = "LND_GRPC_CERT";
/// The macaroon: a path to the file or its hex.
pub const MACAROON: &str = "LND_GRPC_MACAROON";
/// LNbits' alias of [`MACAROON`] for the admin macaroon.
pub const ADMIN_MACAROON: &str = "LND_GRPC_ADMIN_MACAROON";
/// LNbits' setting for an invoice macaroon (enough to receive, not to pay).
pub const INVOICE_MACAROON: &str = "LND_GRPC_INVOICE_MACAROON";
/// LNbits' encrypted-macaroon setting, which this crate does not support.
pub const MACAROON_ENCRYPTED: &str = "LND_GRPC_MACAROON_ENCRYPTED";
/// Seconds every call may take, payments apart (default 15).
pub const TIMEOUT: &str = "LND_GRPC_TIMEOUT";

/// Every setting an [`crate::LndWallet`] reads.
pub const SETTING_KEYS: &[&str] = &[
    ENDPOINT,
    PORT,
    CERT,
    MACAROON,
    ADMIN_MACAROON,
    INVOICE_MACAROON,
    MACAROON_ENCRYPTED,
    TIMEOUT,
];

/// How to reach an lnd node. `Debug` never shows the macaroon.
#[derive(Clone)]
pub struct LndConfig {
    /// Host name or IP address.
    pub host: String,
    /// gRPC port.
    pub port: u16,
    /// The node's certificate, DER: the only one accepted.
    pub pinned_cert: CertificateDer<'static>,
    /// The macaroon, binary.
    pub macaroon: Secret<Vec<u8>>,
    /// The deadline of every call except payments, which use their own timeout.
    pub timeout: Duration,
}

impl fmt::Debug for LndConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LndConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("macaroon", &self.macaroon)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A setting that is a file path, or the contents themselves.
fn path_or_value(
    setting: &'static str,
    value: &str,
    looks_inline: impl Fn(&str) -> bool,
) -> Result<Vec<u8>, WalletError> {
    if looks_inline(value) {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value)
        .map_err(|err| WalletError::invalid(setting, format!("cannot read {value:?}: {err}")))
}

impl LndConfig {
    /// A configuration from a certificate PEM and a macaroon, both as bytes.
    pub fn new(
        host: &str,
        port: u16,
        cert_pem: &[u8],
        macaroon: Vec<u8>,
    ) -> Result<Self, WalletError> {
        let pinned_cert = CertificateDer::from_pem_slice(cert_pem)
            .map_err(|err| WalletError::invalid(CERT, format!("not a PEM certificate: {err}")))?
            .into_owned();
        if macaroon.is_empty() {
            return Err(WalletError::invalid(MACAROON, "is empty"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            pinned_cert,
            macaroon: Secret::new(macaroon),
            timeout: Duration::from_secs(15),
        })
    }

    /// Reads LNbits' settings: `LND_GRPC_ENDPOINT`, `LND_GRPC_PORT`, `LND_GRPC_CERT`, and
    /// `LND_GRPC_MACAROON` (or `LND_GRPC_ADMIN_MACAROON`, or `LND_GRPC_INVOICE_MACAROON`), each
    /// a path or the value itself. Errors name the setting.
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        if settings.get(MACAROON_ENCRYPTED).is_some() {
            return Err(WalletError::invalid(
                MACAROON_ENCRYPTED,
                "encrypted macaroons are not supported: set LND_GRPC_MACAROON to the plain macaroon",
            ));
        }
        let endpoint = settings.require(ENDPOINT)?.trim();
        let without_scheme = endpoint
            .strip_prefix("https://")
            .or_else(|| endpoint.strip_prefix("http://"))
            .unwrap_or(endpoint)
            .trim_end_matches('/');
        let (host, port_in_endpoint) = match without_scheme.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
            _ => (without_scheme, None),
        };
        if host.is_empty() {
            return Err(WalletError::invalid(ENDPOINT, "has no host"));
        }
        let port = match (settings.parse::<u16>(PORT)?, port_in_endpoint) {
            (Some(port), _) => port,
            (None, Some(port)) => port
                .parse()
                .map_err(|_| WalletError::invalid(ENDPOINT, format!("bad port {port:?}")))?,
            (None, None) => 10009,
        };
        let cert_setting = settings.require(CERT)?;
        let cert_pem = path_or_value(CERT, cert_setting, |value| value.contains("-----BEGIN"))?;
        let (macaroon_setting, macaroon_value) = settings
            .first_of(&[MACAROON, ADMIN_MACAROON, INVOICE_MACAROON])
            .ok_or_else(|| WalletError::invalid(MACAROON, "is not set"))?;
        let is_hex =
            |value: &str| value.len() > 32 && value.bytes().all(|byte| byte.is_ascii_hexdigit());
        let macaroon = if is_hex(macaroon_value) {
            hex::decode(macaroon_value)
                .map_err(|err| WalletError::invalid(macaroon_setting, err.to_string()))?
        } else {
            path_or_value(macaroon_setting, macaroon_value, |_| false)?
        };
        let mut config = Self::new(host, port, &cert_pem, macaroon).map_err(|err| match err {
            WalletError::InvalidRequest {
                field: MACAROON,
                reason,
            } => WalletError::invalid(macaroon_setting, reason),
            other => other,
        })?;
        if let Some(seconds) = settings.parse::<u64>(TIMEOUT)? {
            if seconds == 0 {
                return Err(WalletError::invalid(TIMEOUT, "must be at least 1 second"));
            }
            config.timeout = Duration::from_secs(seconds);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBVjCB/qADAgECAgEBMAoGCCqGSM49BAMCMAAwHhcNMjYwMTAxMDAwMDAwWhcNMjcwMTAxMDAwMDAwWjAAMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END CERTIFICATE-----\n";

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs.iter().copied().collect()
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let hex_macaroon = "ab".repeat(40);
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], ENDPOINT),
            (&[(ENDPOINT, "127.0.0.1")], CERT),
            (
                &[(ENDPOINT, "127.0.0.1"), (CERT, "/nonexistent/tls.cert")],
                CERT,
            ),
            (
                &[
                    (ENDPOINT, "127.0.0.1"),
                    (
                        CERT,
                        "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n",
                    ),
                ],
                MACAROON,
            ),
            (
                &[
                    (ENDPOINT, "127.0.0.1"),
                    (CERT, CERT_PEM),
                    (MACAROON, "/nonexistent/admin.macaroon"),
                ],
                MACAROON,
            ),
            (
                &[
                    (ENDPOINT, "127.0.0.1"),
                    (PORT, "x"),
                    (CERT, CERT_PEM),
                    (MACAROON, &hex_macaroon),
                ],
                PORT,
            ),
            (
                &[(ENDPOINT, "127.0.0.1"), (MACAROON_ENCRYPTED, "x")],
                MACAROON_ENCRYPTED,
            ),
        ];
        for (pairs, field) in cases {
            let err = LndConfig::from_settings(&settings(pairs)).unwrap_err();
            assert_eq!(err.field(), Some(*field), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn debug_hides_the_macaroon() {
        let config = LndConfig {
            host: "127.0.0.1".into(),
            port: 10009,
            pinned_cert: CertificateDer::from(vec![1, 2, 3]),
            macaroon: Secret::new(vec![0xab; 40]),
            timeout: Duration::from_secs(1),
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("abab"),
            "{shown}"
        );
    }
}
