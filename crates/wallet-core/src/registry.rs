//! Building a wallet from LNbits-style settings.
//!
//! Apps configure backends the way LNbits users already do:
//! `LNBITS_BACKEND_WALLET_CLASS=LndWallet`, `LND_GRPC_ENDPOINT=...`, and so on. [`Settings`] holds
//! those keys (from the environment, a `.env` file, or code) and a [`Registry`] maps each class
//! name to the constructor a backend crate registers, so this crate depends on no backend.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::connection::{CONNECTION_STRING, ConnectionString};
use crate::{Wallet, WalletError};

/// The setting that names the backend class, as in LNbits.
pub const BACKEND_CLASS_SETTING: &str = "LNBITS_BACKEND_WALLET_CLASS";

/// Settings by LNbits name. Keys are case-insensitive (stored upper-case), as in LNbits, and an
/// empty value counts as unset. `Debug` shows the keys only, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<String, String>,
}

impl Settings {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every environment variable of this process.
    pub fn from_env() -> Self {
        std::env::vars().collect()
    }

    /// Parses a `.env` file: `KEY=VALUE` lines, `#` comments, an optional `export `, and values
    /// optionally in single or double quotes. The error names the line.
    pub fn from_dotenv(text: &str) -> Result<Self, WalletError> {
        let mut settings = Self::new();
        // Editors on Windows start files with a byte-order mark, which would glue itself to the
        // first key and make it unknown.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                return Err(WalletError::invalid(
                    "env file",
                    format!("line {} is not KEY=VALUE", index + 1),
                ));
            };
            settings.set(key.trim(), unquote(value.trim()));
        }
        Ok(settings)
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values.insert(key.to_ascii_uppercase(), value.into());
        self
    }

    /// Unsets `key`.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.values.remove(&key.to_ascii_uppercase());
        self
    }

    /// These settings with `key` set to `value`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// These settings overridden by `other`'s non-empty values.
    pub fn merged_with(mut self, other: &Settings) -> Self {
        for (key, value) in &other.values {
            if !value.is_empty() {
                self.values.insert(key.clone(), value.clone());
            }
        }
        self
    }

    /// The value of `key`, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(&key.to_ascii_uppercase())
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// The value of `key`, or an error naming it.
    pub fn require(&self, key: &'static str) -> Result<&str, WalletError> {
        self.get(key)
            .ok_or_else(|| WalletError::invalid(key, "is not set"))
    }

    /// The first of `keys` that is set, with its name (LNbits accepts aliases such as
    /// `LNBITS_KEY` / `LNBITS_ADMIN_KEY`).
    pub fn first_of(&self, keys: &[&'static str]) -> Option<(&'static str, &str)> {
        keys.iter()
            .find_map(|key| self.get(key).map(|value| (*key, value)))
    }

    /// The value of `key` parsed as `T`; an unparsable value is an error naming the key.
    pub fn parse<T>(&self, key: &'static str) -> Result<Option<T>, WalletError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.get(key)
            .map(|text| {
                text.parse()
                    .map_err(|err| WalletError::invalid(key, format!("{text:?}: {err}")))
            })
            .transpose()
    }

    /// A per-call timeout in whole seconds, from 1 s to one hour: a call that may wait longer is
    /// not bounded in any sense an operator means (contract rule 6). An error naming `key`
    /// outside that range.
    pub fn timeout(&self, key: &'static str) -> Result<Option<std::time::Duration>, WalletError> {
        const MAX_SECONDS: u64 = 3_600;
        match self.parse::<u64>(key)? {
            None => Ok(None),
            Some(seconds @ 1..=MAX_SECONDS) => Ok(Some(std::time::Duration::from_secs(seconds))),
            Some(_) => Err(WalletError::invalid(
                key,
                format!("must be from 1 to {MAX_SECONDS} seconds"),
            )),
        }
    }

    /// A boolean setting in LNbits' spellings (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`).
    pub fn flag(&self, key: &'static str) -> Result<Option<bool>, WalletError> {
        self.get(key)
            .map(|text| match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(WalletError::invalid(
                    key,
                    format!("{text:?} is not a boolean"),
                )),
            })
            .transpose()
    }

    /// The keys that are set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, _)| key.as_str())
    }
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for Settings {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut settings = Self::new();
        for (key, value) in iter {
            settings.set(key.as_ref(), value);
        }
        settings
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Builds a wallet from settings.
pub type WalletConstructor =
    Arc<dyn Fn(&Settings) -> Result<Box<dyn Wallet>, WalletError> + Send + Sync>;

/// One backend a [`Registry`] can build.
#[derive(Clone)]
pub struct BackendEntry {
    /// The LNbits class name, e.g. `FakeWallet`.
    pub class_name: &'static str,
    /// The settings it reads, for help texts.
    pub setting_keys: &'static [&'static str],
    constructor: WalletConstructor,
}

impl fmt::Debug for BackendEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendEntry")
            .field("class_name", &self.class_name)
            .field("setting_keys", &self.setting_keys)
            .finish_non_exhaustive()
    }
}

/// Maps a connection string onto a backend's settings.
pub type ConnectionMapping =
    Arc<dyn Fn(&ConnectionString) -> Result<Settings, WalletError> + Send + Sync>;

/// One connection-string `type` a [`Registry`] can read.
#[derive(Clone)]
pub struct ConnectionEntry {
    /// The `type`, lower-case, e.g. `clightning`.
    pub type_name: &'static str,
    /// The class its settings build.
    pub class_name: &'static str,
    mapping: ConnectionMapping,
}

impl fmt::Debug for ConnectionEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionEntry")
            .field("type_name", &self.type_name)
            .field("class_name", &self.class_name)
            .finish_non_exhaustive()
    }
}

/// Backend class names mapped to constructors, and connection-string types mapped to settings.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    backends: Vec<BackendEntry>,
    connection_types: Vec<ConnectionEntry>,
}

impl Registry {
    /// A registry with no backends.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `class_name`, replacing any earlier entry of that name.
    pub fn register<F>(
        &mut self,
        class_name: &'static str,
        setting_keys: &'static [&'static str],
        constructor: F,
    ) -> &mut Self
    where
        F: Fn(&Settings) -> Result<Box<dyn Wallet>, WalletError> + Send + Sync + 'static,
    {
        self.backends.retain(|entry| entry.class_name != class_name);
        self.backends.push(BackendEntry {
            class_name,
            setting_keys,
            constructor: Arc::new(constructor),
        });
        self
    }

    /// The registered backends, in registration order.
    pub fn backends(&self) -> &[BackendEntry] {
        &self.backends
    }

    /// Registers the connection-string `type_name` (matched case-insensitively), whose strings
    /// `to_settings` maps onto the settings of `class_name`, replacing any earlier entry of that
    /// type. The mapping need not set [`BACKEND_CLASS_SETTING`].
    pub fn register_connection_type<F>(
        &mut self,
        type_name: &'static str,
        class_name: &'static str,
        to_settings: F,
    ) -> &mut Self
    where
        F: Fn(&ConnectionString) -> Result<Settings, WalletError> + Send + Sync + 'static,
    {
        self.connection_types
            .retain(|entry| !entry.type_name.eq_ignore_ascii_case(type_name));
        self.connection_types.push(ConnectionEntry {
            type_name,
            class_name,
            mapping: Arc::new(to_settings),
        });
        self
    }

    /// The registered connection-string types, in registration order.
    pub fn connection_types(&self) -> &[ConnectionEntry] {
        &self.connection_types
    }

    /// The settings a connection string stands for, [`BACKEND_CLASS_SETTING`] included: what an
    /// LNbits-style `.env` would hold for that funding source (a backend may read a setting of
    /// its own, such as `LND_GRPC_CERT_THUMBPRINT`).
    pub fn settings_from_connection(
        &self,
        connection: &ConnectionString,
    ) -> Result<Settings, WalletError> {
        let entry = self
            .connection_types
            .iter()
            .find(|entry| entry.type_name.eq_ignore_ascii_case(connection.kind()))
            .ok_or_else(|| {
                let known: Vec<_> = self
                    .connection_types
                    .iter()
                    .map(|entry| entry.type_name)
                    .collect();
                WalletError::invalid(
                    CONNECTION_STRING,
                    format!(
                        "unknown type {:?}; this build reads {}",
                        connection.kind(),
                        known.join(", ")
                    ),
                )
            })?;
        Ok((entry.mapping)(connection)?.with(BACKEND_CLASS_SETTING, entry.class_name))
    }

    /// Removes from `settings` every setting of every registered backend, and the backend class:
    /// what is left cannot change the funding source that settings laid over it name. For a
    /// connection string replacing a configuration, rather than patching it.
    pub fn without_backend_settings(&self, mut settings: Settings) -> Settings {
        settings.remove(BACKEND_CLASS_SETTING);
        for entry in &self.backends {
            for key in entry.setting_keys {
                settings.remove(key);
            }
        }
        settings
    }

    /// Builds the wallet a connection string (`type=…;server=…`) names.
    pub fn connect(&self, connection: &str) -> Result<Box<dyn Wallet>, WalletError> {
        let settings = self.settings_from_connection(&ConnectionString::parse(connection)?)?;
        self.build(&settings)
    }

    /// Keys in `settings` that are not a setting of any registered backend but are one or two
    /// letters away from one (a misspelt `LNBITS_BACKEND_WALLET_CLASS` silently selects the
    /// default backend), each with the setting it probably means.
    pub fn near_misses(&self, settings: &Settings) -> Vec<(String, &'static str)> {
        let known: Vec<&'static str> = self
            .backends
            .iter()
            .flat_map(|entry| entry.setting_keys.iter().copied())
            .chain([BACKEND_CLASS_SETTING])
            .collect();
        settings
            .keys()
            .filter(|key| !known.contains(key))
            .filter_map(|key| {
                let meant = known.iter().find(|candidate| {
                    key.len() >= 8 && (1..=2).contains(&edit_distance(key, candidate))
                })?;
                Some((key.to_owned(), *meant))
            })
            .collect()
    }

    /// Builds the backend named by [`BACKEND_CLASS_SETTING`].
    pub fn build(&self, settings: &Settings) -> Result<Box<dyn Wallet>, WalletError> {
        let class_name = settings.require(BACKEND_CLASS_SETTING)?;
        self.build_class(class_name, settings)
    }

    /// Builds the backend `class_name` (matched case-insensitively) from `settings`.
    pub fn build_class(
        &self,
        class_name: &str,
        settings: &Settings,
    ) -> Result<Box<dyn Wallet>, WalletError> {
        let entry = self
            .backends
            .iter()
            .find(|entry| entry.class_name.eq_ignore_ascii_case(class_name))
            .ok_or_else(|| {
                let known: Vec<_> = self.backends.iter().map(|entry| entry.class_name).collect();
                WalletError::invalid(
                    BACKEND_CLASS_SETTING,
                    format!(
                        "unknown backend {class_name:?}; this build knows {}",
                        known.join(", ")
                    ),
                )
            })?;
        (entry.constructor)(settings)
    }
}

/// Levenshtein distance between two ASCII-ish keys (bounded work: keys are short).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_from_one_second_to_one_hour() {
        let timeout = |value: &str| Settings::new().with("T", value).timeout("T");
        assert_eq!(
            timeout("15").ok(),
            Some(Some(std::time::Duration::from_secs(15)))
        );
        assert_eq!(Settings::new().timeout("T").ok(), Some(None));
        for bad in ["0", "3601", "18446744073709551615", "-1", "ten"] {
            assert_eq!(timeout(bad).unwrap_err().field(), Some("T"), "{bad}");
        }
    }

    #[test]
    fn a_byte_order_mark_does_not_hide_the_first_key() {
        let settings =
            Settings::from_dotenv("\u{feff}LNBITS_BACKEND_WALLET_CLASS=LndWallet\n").unwrap();
        assert_eq!(settings.get(BACKEND_CLASS_SETTING), Some("LndWallet"));
    }

    #[test]
    fn misspelt_settings_are_found_with_what_they_probably_mean() {
        let mut registry = Registry::new();
        registry.register("X", &["LND_GRPC_MACAROON"], |_| {
            Err(WalletError::invalid("x", "unused"))
        });
        let settings = Settings::new()
            .with("LNBITS_BACKEND_WALET_CLASS", "LndWallet")
            .with("LND_GRPC_MACCAROON", "ab")
            .with("LND_GRPC_MACAROON", "ab")
            .with("PATH", "/bin")
            .with("LNBITS_ADMIN_UI", "true");
        let mut found = registry.near_misses(&settings);
        found.sort();
        assert_eq!(
            found,
            vec![
                (
                    "LNBITS_BACKEND_WALET_CLASS".to_owned(),
                    BACKEND_CLASS_SETTING
                ),
                ("LND_GRPC_MACCAROON".to_owned(), "LND_GRPC_MACAROON"),
            ]
        );
    }

    #[test]
    fn dotenv_files_parse_like_lnbits_env_files() {
        let settings = Settings::from_dotenv(
            "# funding\nLNBITS_BACKEND_WALLET_CLASS=LndWallet\nexport LND_GRPC_ENDPOINT = \"127.0.0.1\"\n\nlnd_grpc_port='10009'\nLND_GRPC_MACAROON=\n",
        )
        .unwrap();
        assert_eq!(
            settings.get("LNBITS_BACKEND_WALLET_CLASS"),
            Some("LndWallet")
        );
        assert_eq!(settings.get("LND_GRPC_ENDPOINT"), Some("127.0.0.1"));
        assert_eq!(settings.parse::<u16>("LND_GRPC_PORT"), Ok(Some(10009)));
        assert_eq!(settings.get("LND_GRPC_MACAROON"), None);
        let err = Settings::from_dotenv("A=1\nnonsense\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn settings_errors_name_the_key() {
        let settings = Settings::new().with("LND_GRPC_PORT", "port");
        assert_eq!(
            settings.parse::<u16>("LND_GRPC_PORT").unwrap_err().field(),
            Some("LND_GRPC_PORT")
        );
        assert_eq!(
            settings.require("LND_GRPC_ENDPOINT").unwrap_err().field(),
            Some("LND_GRPC_ENDPOINT")
        );
        let flagged = Settings::new().with("X", "maybe");
        assert_eq!(flagged.flag("X").unwrap_err().field(), Some("X"));
        assert_eq!(Settings::new().with("X", "On").flag("X"), Ok(Some(true)));
    }

    #[test]
    fn a_connection_string_becomes_the_settings_of_its_type() {
        let mut registry = Registry::new();
        registry.register("CoreLightningWallet", &["CORELIGHTNING_RPC"], |settings| {
            Err(WalletError::invalid(
                "CORELIGHTNING_RPC",
                settings.require("CORELIGHTNING_RPC")?.to_owned(),
            ))
        });
        registry.register_connection_type("clightning", "CoreLightningWallet", |connection| {
            Ok(Settings::new().with("CORELIGHTNING_RPC", connection.require("server")?))
        });
        let connection = ConnectionString::parse("TYPE=CLightning;server=/tmp/rpc").unwrap();
        let settings = registry.settings_from_connection(&connection).unwrap();
        assert_eq!(
            settings.get(BACKEND_CLASS_SETTING),
            Some("CoreLightningWallet")
        );
        assert_eq!(settings.get("CORELIGHTNING_RPC"), Some("/tmp/rpc"));
        // `connect` builds through the class's constructor.
        let Err(built) = registry.connect("/tmp/rpc") else {
            panic!("the test constructor always fails");
        };
        assert_eq!(
            built.to_string(),
            WalletError::invalid("CORELIGHTNING_RPC", "/tmp/rpc").to_string()
        );
        let unknown = registry
            .settings_from_connection(&ConnectionString::parse("type=eclair;server=x").unwrap())
            .unwrap_err();
        assert!(
            unknown.to_string().contains("this build reads clightning"),
            "{unknown}"
        );
    }

    #[test]
    fn backend_settings_can_be_cleared_for_a_connection_string_to_replace() {
        let mut registry = Registry::new();
        registry.register("A", &["A_KEY", "A_PORT"], |_| {
            Err(WalletError::invalid("x", "unused"))
        });
        let settings = Settings::new()
            .with(BACKEND_CLASS_SETTING, "A")
            .with("A_PORT", "1")
            .with("LNBITS_DATA_FOLDER", "/data");
        let left = registry.without_backend_settings(settings);
        assert_eq!(left.keys().collect::<Vec<_>>(), ["LNBITS_DATA_FOLDER"]);
    }

    #[test]
    fn debug_shows_keys_but_not_values() {
        let settings = Settings::new().with("LNBITS_ADMIN_KEY", "4526ecdd520d48dd8f49");
        let shown = format!("{settings:?}");
        assert!(shown.contains("LNBITS_ADMIN_KEY"));
        assert!(!shown.contains("4526"), "{shown}");
    }

    #[test]
    fn an_unknown_class_lists_the_known_ones() {
        let mut registry = Registry::new();
        registry.register("FakeWallet", &[], |_| {
            Err(WalletError::unavailable("not in this test"))
        });
        let settings = Settings::new().with(BACKEND_CLASS_SETTING, "NopeWallet");
        let err = registry.build(&settings).unwrap_err();
        assert_eq!(err.field(), Some(BACKEND_CLASS_SETTING));
        assert!(err.to_string().contains("FakeWallet"), "{err}");
        let err = registry.build(&Settings::new()).unwrap_err();
        assert_eq!(err.field(), Some(BACKEND_CLASS_SETTING));
        let err = registry.build_class("fakewallet", &settings).unwrap_err();
        assert!(
            err.is_retryable(),
            "the constructor was found case-insensitively: {err}"
        );
    }
}
