//! Settings, with LNbits' own names.

use std::fmt;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use wallet_core::untrusted::{DEFAULT_MAX_REPLY_BYTES, max_reply_bytes};
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
/// Instead of [`CERT`], the SHA-256 of the node's certificate (DER), in hex, colons allowed:
/// BTCPay's `certthumbprint`. Not an LNbits setting. Only that certificate is accepted.
pub const CERT_THUMBPRINT: &str = "LND_GRPC_CERT_THUMBPRINT";
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
/// The largest message read, in bytes (default 4 MiB, at least 64 KiB): a larger one fails the
/// call instead of being read.
pub const MAX_REPLY_BYTES: &str = "LND_GRPC_MAX_REPLY_BYTES";

/// Every setting an [`crate::LndWallet`] reads.
pub const SETTING_KEYS: &[&str] = &[
    ENDPOINT,
    PORT,
    CERT,
    CERT_THUMBPRINT,
    MACAROON,
    ADMIN_MACAROON,
    INVOICE_MACAROON,
    MACAROON_ENCRYPTED,
    TIMEOUT,
    MAX_REPLY_BYTES,
];

/// The certificate a node must present: lnd's `tls.cert` is its own CA, so the check is "is it
/// exactly this certificate".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificatePin {
    /// The certificate itself, DER.
    Certificate(CertificateDer<'static>),
    /// The SHA-256 of the certificate's DER (BTCPay's `certthumbprint`).
    Sha256([u8; 32]),
}

impl CertificatePin {
    /// Whether `presented` (DER) is the pinned certificate.
    pub fn matches(&self, presented: &[u8]) -> bool {
        match self {
            Self::Certificate(pinned) => pinned.as_ref() == presented,
            Self::Sha256(digest) => wallet_core::sha256(presented) == *digest,
        }
    }

    /// Reads a thumbprint: 64 hex digits, in any case, optionally in colon-separated pairs as
    /// `openssl x509 -fingerprint -sha256` prints them. Errors name `setting`.
    pub fn from_thumbprint(setting: &'static str, text: &str) -> Result<Self, WalletError> {
        let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode_array::<32>(&digits).ok().ok_or_else(|| {
            WalletError::invalid(
                setting,
                "is not a SHA-256 thumbprint (64 hex digits, colons allowed)",
            )
        })?;
        Ok(Self::Sha256(bytes))
    }
}

/// How to reach an lnd node. `Debug` never shows the macaroon.
#[derive(Clone)]
pub struct LndConfig {
    /// Host name or IP address.
    pub host: String,
    /// gRPC port.
    pub port: u16,
    /// The only certificate accepted from the node.
    pub pin: CertificatePin,
    /// The macaroon, binary.
    pub macaroon: Secret<Vec<u8>>,
    /// The deadline of every call except payments, which use their own timeout.
    pub timeout: Duration,
    /// The largest message read ([`MAX_REPLY_BYTES`]).
    pub max_reply_bytes: usize,
}

impl fmt::Debug for LndConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LndConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("pin", &self.pin)
            .field("macaroon", &self.macaroon)
            .field("timeout", &self.timeout)
            .field("max_reply_bytes", &self.max_reply_bytes)
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

/// The macaroon a setting gives, as LNbits reads it: the file it names, or the macaroon itself
/// in hex or base64. Quotes and whitespace around it (a hand-written `.env`) are ignored. The
/// value is never shown in an error: it may be the credential itself.
fn macaroon_bytes(setting: &'static str, value: &str) -> Result<Vec<u8>, WalletError> {
    use base64::Engine as _;
    let value = value
        .trim()
        .trim_matches(|character| character == '"' || character == '\'')
        .trim();
    if value.is_empty() {
        return Err(WalletError::invalid(setting, "is empty"));
    }
    let path = std::path::Path::new(value);
    if path.is_file() {
        return std::fs::read(path).map_err(|err| {
            WalletError::invalid(
                setting,
                format!("names a macaroon file that cannot be read: {}", err.kind()),
            )
        });
    }
    if let Ok(bytes) = hex::decode(value) {
        return Ok(bytes);
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    if let Some(bytes) = engines.iter().find_map(|engine| engine.decode(value).ok()) {
        return Ok(bytes);
    }
    let hint = if value.contains('/') || value.starts_with('~') {
        "names no readable file (a path must exist; `~` is not expanded)"
    } else {
        "is neither a file, nor hex, nor base64"
    };
    Err(WalletError::invalid(
        setting,
        format!("{hint}; the value is not shown, since it may be the macaroon itself"),
    ))
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
        Self::pinned(
            host,
            port,
            CertificatePin::Certificate(pinned_cert),
            macaroon,
        )
    }

    /// A configuration accepting only the certificate `pin` names, with a macaroon as bytes.
    pub fn pinned(
        host: &str,
        port: u16,
        pin: CertificatePin,
        macaroon: Vec<u8>,
    ) -> Result<Self, WalletError> {
        if macaroon.is_empty() {
            return Err(WalletError::invalid(MACAROON, "is empty"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            pin,
            macaroon: Secret::new(macaroon),
            timeout: Duration::from_secs(15),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
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
        let pin = match (settings.get(CERT), settings.get(CERT_THUMBPRINT)) {
            (Some(_), Some(_)) => {
                return Err(WalletError::invalid(
                    CERT_THUMBPRINT,
                    "set either LND_GRPC_CERT or LND_GRPC_CERT_THUMBPRINT, not both",
                ));
            }
            (None, Some(thumbprint)) => {
                CertificatePin::from_thumbprint(CERT_THUMBPRINT, thumbprint)?
            }
            (Some(cert), None) => {
                let pem = path_or_value(CERT, cert, |value| value.contains("-----BEGIN"))?;
                CertificatePin::Certificate(
                    CertificateDer::from_pem_slice(&pem)
                        .map_err(|err| {
                            WalletError::invalid(CERT, format!("not a PEM certificate: {err}"))
                        })?
                        .into_owned(),
                )
            }
            (None, None) => return Err(WalletError::invalid(CERT, "is not set")),
        };
        let (macaroon_setting, macaroon_value) = settings
            .first_of(&[MACAROON, ADMIN_MACAROON, INVOICE_MACAROON])
            .ok_or_else(|| WalletError::invalid(MACAROON, "is not set"))?;
        let macaroon = macaroon_bytes(macaroon_setting, macaroon_value)?;
        let mut config = Self::pinned(host, port, pin, macaroon).map_err(|err| match err {
            WalletError::InvalidRequest {
                field: MACAROON,
                reason,
            } => WalletError::invalid(macaroon_setting, reason),
            other => other,
        })?;
        if let Some(timeout) = settings.timeout(TIMEOUT)? {
            config.timeout = timeout;
        }
        config.max_reply_bytes = max_reply_bytes(settings, MAX_REPLY_BYTES)?;
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
    fn a_macaroon_is_read_from_hex_base64_or_a_file_like_lnbits_and_never_echoed() {
        use base64::Engine as _;
        let macaroon = vec![0x02, 0x01, 0x03, 0xfe, 0x10, 0x42, 0x99];
        let hex_form = hex::encode(&macaroon);
        let base64_form = base64::engine::general_purpose::STANDARD.encode(&macaroon);
        for value in [
            hex_form.clone(),
            format!("{hex_form} "),
            format!("\"{hex_form}\""),
            format!("'{hex_form}'"),
            base64_form.clone(),
            base64_form.trim_end_matches('=').to_owned(),
        ] {
            assert_eq!(
                macaroon_bytes(MACAROON, &value).ok(),
                Some(macaroon.clone()),
                "{value:?}"
            );
        }
        let secret_looking = "0201036c6e640258030a10b3e1f0c1d2e3f405!!";
        for value in [
            secret_looking,
            "~/.lnd/admin.macaroon",
            "/nonexistent/admin.macaroon",
        ] {
            let err = macaroon_bytes(MACAROON, value).unwrap_err();
            assert_eq!(err.field(), Some(MACAROON));
            assert!(!err.to_string().contains(value), "{err}");
        }
        assert!(macaroon_bytes(MACAROON, "  ").is_err());
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
            pin: CertificatePin::Certificate(CertificateDer::from(vec![1, 2, 3])),
            macaroon: Secret::new(vec![0xab; 40]),
            timeout: Duration::from_secs(1),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("abab"),
            "{shown}"
        );
    }
}
