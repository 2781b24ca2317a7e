//! The connection string for an LNbits server, in the style of BTCPay Server's strings (BTCPay
//! itself has no LNbits type; its LNbits plugins write it this way):
//! `type=lnbits;server=https://lnbits.example.com;api-key=…`.

use wallet_core::{ConnectionString, Settings, WalletError};

use crate::config::{ADMIN_KEY, ALLOW_INSECURE, ENDPOINT, INVOICE_KEY};

/// The connection-string type this crate reads.
pub const CONNECTION_TYPE: &str = "lnbits";

/// The settings a `type=lnbits` string stands for: `server` → `LNBITS_ENDPOINT`, `api-key` (the
/// admin key) → `LNBITS_ADMIN_KEY`, `invoice-key` → `LNBITS_INVOICE_KEY`, `allowinsecure` →
/// `LNBITS_ALLOW_INSECURE`. `wallet-id`, which plugins write, is accepted and not needed: the
/// key names the wallet.
pub fn settings_from_connection(connection: &ConnectionString) -> Result<Settings, WalletError> {
    connection.only_keys(&[
        "server",
        "api-key",
        "invoice-key",
        "wallet-id",
        "allowinsecure",
    ])?;
    let mut settings = Settings::new().with(ENDPOINT, connection.require("server")?);
    for (key, setting) in [("api-key", ADMIN_KEY), ("invoice-key", INVOICE_KEY)] {
        if let Some(value) = connection.get(key) {
            settings.set(setting, value);
        }
    }
    if let Some(allow) = connection.flag("allowinsecure")? {
        settings.set(ALLOW_INSECURE, allow.to_string());
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use wallet_core::connection::CONNECTION_STRING;

    use super::*;
    use crate::LnbitsConfig;

    const ADMIN: &str = "4526ecdd520d48dd8f49f4b6e1a1d7a3";
    const INVOICE: &str = "0f3a1b6f2c3d4e5f60718293a4b5c6d7";

    #[test]
    fn a_plugin_string_reads_like_the_lnbits_settings() {
        let connection = ConnectionString::parse(&format!(
            "type=lnbits;server=https://lnbits.example.com;api-key={ADMIN};invoice-key={INVOICE};wallet-id=w1"
        ))
        .unwrap();
        let settings = settings_from_connection(&connection).unwrap();
        let from_string = LnbitsConfig::from_settings(&settings).unwrap();
        let from_env = LnbitsConfig::from_settings(
            &Settings::new()
                .with(ENDPOINT, "https://lnbits.example.com")
                .with(ADMIN_KEY, ADMIN)
                .with(INVOICE_KEY, INVOICE),
        )
        .unwrap();
        assert_eq!(format!("{from_string:?}"), format!("{from_env:?}"));
        assert_eq!(settings.get(ADMIN_KEY), Some(ADMIN));
        assert_eq!(settings.get(INVOICE_KEY), Some(INVOICE));
    }

    #[test]
    fn plain_http_needs_allowinsecure_as_lnbits_settings_do() {
        let text = format!("type=lnbits;server=http://lnbits.lan;api-key={ADMIN}");
        let settings = settings_from_connection(&ConnectionString::parse(&text).unwrap()).unwrap();
        assert_eq!(
            LnbitsConfig::from_settings(&settings).unwrap_err().field(),
            Some(ENDPOINT)
        );
        let allowed = ConnectionString::parse(&format!("{text};allowinsecure=true")).unwrap();
        let settings = settings_from_connection(&allowed).unwrap();
        assert!(LnbitsConfig::from_settings(&settings).is_ok());
    }

    #[test]
    fn a_misspelt_key_is_named_not_dropped() {
        let connection =
            ConnectionString::parse(&format!("type=lnbits;server=https://x;apikey={ADMIN}"))
                .unwrap();
        let err = settings_from_connection(&connection).unwrap_err();
        assert_eq!(err.field(), Some(CONNECTION_STRING));
        assert!(err.to_string().contains("did you mean api-key=?"), "{err}");
        assert!(!err.to_string().contains(ADMIN), "{err}");
    }
}
