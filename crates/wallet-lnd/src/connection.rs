//! The connection string for lnd, in BTCPay Server's keys:
//! `type=lnd-grpc;server=https://127.0.0.1:10009;macaroon=…;certthumbprint=…`.
//!
//! BTCPay's own lnd strings (`type=lnd-rest`, and its obsolete `lnd-grpc`, which BTCPay also
//! serves over REST) point at lnd's REST port. This crate speaks gRPC, so here `lnd-grpc`'s
//! `server` is lnd's gRPC address, and `lnd-rest` is not a type it reads (the registry's error
//! lists the ones it does) rather than gRPC sent to a REST port.

use wallet_core::connection::CONNECTION_STRING;
use wallet_core::{ConnectionString, Settings, WalletError};

use crate::config::{CERT, CERT_THUMBPRINT, ENDPOINT, MACAROON};

/// The connection-string type this crate reads.
pub const CONNECTION_TYPE: &str = "lnd-grpc";

/// The settings a `type=lnd-grpc` string stands for:
/// - `server=https://host:port` → `LND_GRPC_ENDPOINT` (port 10009 when none is given);
/// - `macaroon=<hex>`, `macaroonfilepath=<file>` or `macaroondirectorypath=<dir>` (its
///   `admin.macaroon`) → `LND_GRPC_MACAROON`;
/// - `certthumbprint=<sha256 hex>` → `LND_GRPC_CERT_THUMBPRINT`, or `certfilepath=<file>` →
///   `LND_GRPC_CERT`. One of them is required: lnd's certificate is always pinned, and
///   `allowinsecure=true` is refused.
pub fn settings_from_connection(connection: &ConnectionString) -> Result<Settings, WalletError> {
    connection.only_keys(&[
        "server",
        "macaroon",
        "macaroonfilepath",
        "macaroondirectorypath",
        "certthumbprint",
        "certfilepath",
        "allowinsecure",
    ])?;
    let server = connection.require("server")?;
    let Some(address) = server.strip_prefix("https://") else {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "server must be https://host:port: lnd's gRPC always uses TLS",
        ));
    };
    if address.contains('@') {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "server must be https://host:port, without a user or password (lnd authenticates \
             with the macaroon)",
        ));
    }
    let mut settings = Settings::new().with(ENDPOINT, address.trim_end_matches('/'));
    let macaroon =
        match connection.one_of(&["macaroon", "macaroonfilepath", "macaroondirectorypath"])? {
            // Hex only, as in BTCPay: LND_GRPC_MACAROON would also read a file of that name.
            ("macaroon", hex) => {
                if wallet_core::hex::decode(hex).is_err() {
                    return Err(WalletError::invalid(
                        CONNECTION_STRING,
                        "macaroon= is the macaroon in hex (for a file, macaroonfilepath=)",
                    ));
                }
                hex.to_owned()
            }
            ("macaroondirectorypath", dir) => std::path::Path::new(dir)
                .join("admin.macaroon")
                .display()
                .to_string(),
            (_, file) => file.to_owned(),
        };
    settings.set(MACAROON, macaroon);
    if connection.flag("allowinsecure")? == Some(true) {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "allowinsecure=true is refused: lnd's certificate is always checked (give \
             certthumbprint= or certfilepath=)",
        ));
    }
    match (
        connection.get("certthumbprint"),
        connection.get("certfilepath"),
    ) {
        (Some(thumbprint), None) => settings.set(CERT_THUMBPRINT, thumbprint),
        (None, Some(file)) => settings.set(CERT, file),
        _ => {
            return Err(WalletError::invalid(
                CONNECTION_STRING,
                "type=lnd-grpc needs exactly one of certthumbprint= (the SHA-256 of lnd's \
                 tls.cert) and certfilepath=",
            ));
        }
    };
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LndConfig;
    use crate::config::CertificatePin;

    fn settings(text: &str) -> Result<Settings, WalletError> {
        settings_from_connection(&ConnectionString::parse(text)?)
    }

    const THUMBPRINT: &str = "2B:0E:1C:2D:3E:4F:50:61:72:83:94:A5:B6:C7:D8:E9:FA:0B:1C:2D:3E:4F:50:61:72:83:94:A5:B6:C7:D8:E9";

    #[test]
    fn a_btcpay_style_string_becomes_lnd_settings() {
        let settings = settings(&format!(
            "type=lnd-grpc;server=https://10.0.0.5:10019/;macaroon=0201abcd;certthumbprint={THUMBPRINT}"
        ))
        .unwrap();
        let config = LndConfig::from_settings(&settings).unwrap();
        assert_eq!((config.host.as_str(), config.port), ("10.0.0.5", 10019));
        assert_eq!(config.macaroon.expose(), &vec![0x02, 0x01, 0xab, 0xcd]);
        let expected = CertificatePin::from_thumbprint(CERT_THUMBPRINT, THUMBPRINT).unwrap();
        assert_eq!(config.pin, expected);
        let CertificatePin::Sha256(digest) = expected else {
            panic!("a thumbprint pins a digest");
        };
        assert_eq!(digest[0], 0x2b);
        assert_eq!(digest[31], 0xe9);
    }

    #[test]
    fn file_and_directory_forms_name_the_files() {
        let settings = settings(
            "type=lnd-grpc;server=https://lnd:10009;macaroondirectorypath=/lnd/data;certfilepath=/lnd/tls.cert",
        )
        .unwrap();
        assert_eq!(settings.get(MACAROON), Some("/lnd/data/admin.macaroon"));
        assert_eq!(settings.get(CERT), Some("/lnd/tls.cert"));
        assert_eq!(settings.get(ENDPOINT), Some("lnd:10009"));
    }

    #[test]
    fn strings_that_would_skip_the_pin_or_guess_are_refused() {
        for (text, says) in [
            (
                "type=lnd-grpc;server=https://lnd;macaroon=00",
                "exactly one of certthumbprint",
            ),
            (
                "type=lnd-grpc;server=https://lnd;macaroon=00;certthumbprint=ab;certfilepath=/c",
                "exactly one of certthumbprint",
            ),
            (
                "type=lnd-grpc;server=https://lnd;macaroon=00;certfilepath=/c;allowinsecure=true",
                "allowinsecure=true is refused",
            ),
            (
                "type=lnd-grpc;server=http://lnd;macaroon=00;certfilepath=/c",
                "always uses TLS",
            ),
            (
                "type=lnd-grpc;server=https://lnd;macaroon=00;macaroonfilepath=/m;certfilepath=/c",
                "exactly one of macaroon=",
            ),
            (
                "type=lnd-grpc;server=https://lnd;certfilepath=/c",
                "exactly one of macaroon=",
            ),
        ] {
            let err = settings(text).unwrap_err();
            assert_eq!(err.field(), Some(CONNECTION_STRING), "{text}");
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_thumbprint_that_is_not_64_hex_digits_names_the_setting() {
        for bad in ["ab", "zz", &"00".repeat(33)] {
            assert_eq!(
                CertificatePin::from_thumbprint(CERT_THUMBPRINT, bad)
                    .unwrap_err()
                    .field(),
                Some(CERT_THUMBPRINT),
                "{bad}"
            );
        }
    }
}
