//! Settings and connection strings: how `lnwallet` and any app using a
//! [`wallet_core::Registry`] build a [`LedgerWallet`] by name.

use wallet_core::{ConnectionString, Registry, Settings, WalletError};

use crate::{LedgerConfig, LedgerWallet};

/// The class name, for `LNBITS_BACKEND_WALLET_CLASS` and `lnwallet --backend`.
pub const CLASS_NAME: &str = "LedgerWallet";
/// The ledger's base URL.
pub const ENDPOINT: &str = "LEDGER_ENDPOINT";
/// The API key.
pub const API_KEY: &str = "LEDGER_API_KEY";
/// Seconds each call may take.
pub const TIMEOUT: &str = "LEDGER_TIMEOUT";
/// `true` allows `http://` to a host that is not loopback or onion.
pub const ALLOW_PLAINTEXT: &str = "LEDGER_ALLOW_PLAINTEXT";
/// Every setting a [`LedgerWallet`] reads.
pub const SETTING_KEYS: &[&str] = &[ENDPOINT, API_KEY, TIMEOUT, ALLOW_PLAINTEXT];
/// The connection-string type: `type=ledger;server=https://…;api-key=…`.
pub const CONNECTION_TYPE: &str = "ledger";

impl LedgerConfig {
    /// Reads [`SETTING_KEYS`]. Errors name the setting, never its value.
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        let renamed = |err: WalletError| match err {
            WalletError::InvalidRequest {
                field: "endpoint",
                reason,
            } => WalletError::invalid(ENDPOINT, reason),
            WalletError::InvalidRequest {
                field: "api_key",
                reason,
            } => WalletError::invalid(API_KEY, reason),
            other => other,
        };
        let mut config = LedgerConfig::new(settings.require(ENDPOINT)?, settings.require(API_KEY)?)
            .map_err(renamed)?;
        if let Some(timeout) = settings.timeout(TIMEOUT)? {
            config = config.timeout(timeout);
        }
        if let Some(allow) = settings.flag(ALLOW_PLAINTEXT)? {
            config = config.allow_plaintext(allow);
        }
        Ok(config)
    }
}

impl LedgerWallet {
    /// Registers the class [`CLASS_NAME`] and the connection type [`CONNECTION_TYPE`] in
    /// `registry`.
    pub fn register(registry: &mut Registry) {
        registry.register(CLASS_NAME, SETTING_KEYS, |settings| {
            Ok(Box::new(LedgerWallet::new(LedgerConfig::from_settings(
                settings,
            )?)?))
        });
        registry.register_connection_type(CONNECTION_TYPE, CLASS_NAME, settings_from_connection);
    }
}

/// The settings a `type=ledger;server=…;api-key=…[;allowinsecure=true]` string stands for.
pub fn settings_from_connection(connection: &ConnectionString) -> Result<Settings, WalletError> {
    connection.only_keys(&["server", "api-key", "allowinsecure"])?;
    let mut settings = Settings::new()
        .with(ENDPOINT, connection.require("server")?)
        .with(API_KEY, connection.require("api-key")?);
    if let Some(allow) = connection.flag("allowinsecure")? {
        settings.set(ALLOW_PLAINTEXT, allow.to_string());
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_string_and_the_settings_build_the_same_config() {
        let connection = ConnectionString::parse(
            "type=ledger;server=https://ledger.example.com;api-key=k3y;allowinsecure=false",
        )
        .map_err(|err| err.to_string());
        let from_string = connection
            .and_then(|connection| {
                settings_from_connection(&connection).map_err(|err| err.to_string())
            })
            .and_then(|settings| {
                LedgerConfig::from_settings(&settings).map_err(|err| err.to_string())
            });
        let from_settings = LedgerConfig::from_settings(
            &Settings::new()
                .with(ENDPOINT, "https://ledger.example.com")
                .with(API_KEY, "k3y"),
        )
        .map_err(|err| err.to_string());
        assert_eq!(
            format!("{from_string:?}"),
            format!("{from_settings:?}"),
            "same config"
        );
        assert!(from_string.is_ok(), "{from_string:?}");
        // `Debug` hides the key: check where it went.
        let mapped = ConnectionString::parse("type=ledger;server=https://l.example;api-key=k3y")
            .and_then(|connection| settings_from_connection(&connection))
            .map_err(|err| err.to_string());
        assert_eq!(
            mapped
                .as_ref()
                .ok()
                .and_then(|settings| settings.get(API_KEY)),
            Some("k3y")
        );
        assert_eq!(
            mapped
                .as_ref()
                .ok()
                .and_then(|settings| settings.get(ENDPOINT)),
            Some("https://l.example")
        );
    }

    #[test]
    fn a_bad_setting_is_named_and_its_value_not_shown() {
        let err = LedgerConfig::from_settings(
            &Settings::new()
                .with(ENDPOINT, "https://ledger.example.com")
                .with(API_KEY, "has space"),
        )
        .err();
        assert_eq!(err.as_ref().and_then(WalletError::field), Some(API_KEY));
        assert!(!format!("{err:?}").contains("has space"), "{err:?}");
    }
}
