//! Connection strings: one line per funding source, for apps that store one string each.
//!
//! The format is BTCPay Server's (`BTCPayServer.Lightning`): `key=value` pairs separated by `;`,
//! keys case-insensitive, no key twice, and a mandatory `type`:
//!
//! ```text
//! type=clightning;server=unix:///home/bitcoin/.lightning/bitcoin/lightning-rpc
//! type=lnd-grpc;server=https://127.0.0.1:10009;macaroonfilepath=/lnd/admin.macaroon;certthumbprint=…
//! type=lnbits;server=https://lnbits.example.com;api-key=…
//! ```
//!
//! As in BTCPay, a bare `unix://…` or `/…` path is a Core Lightning socket, and `unix://X` is
//! the absolute path `/X` ([`unix_socket_path`]). The format has no escaping, so no value can
//! hold a `;`. Keys are names (`a-z`, digits, `-`, `_`): a part whose "key" is anything else is
//! refused without being shown, since it is most likely a credential pasted without its key.
//!
//! A connection string is configuration, as trusted as an `.env` file: it can name local files
//! (`macaroonfilepath=`) and local sockets (`server=unix://…`). Do not build wallets from strings
//! an untrusted party supplies. Each backend crate says which `type`s it reads and maps
//! their keys onto its LNbits settings ([`crate::Registry::register_connection_type`]); this
//! module only parses and prints.
//!
//! A connection string usually holds a credential (a macaroon, an API key): `Debug` shows the
//! type and how many keys there are, errors show no value and no key the caller did not name,
//! and only [`ConnectionString::expose`] prints the whole string.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::WalletError;

/// What errors about a connection string name as the setting to fix.
pub const CONNECTION_STRING: &str = "connection string";

/// A parsed connection string: its `type` and its other keys. `Debug` shows the type only.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    kind: String,
    values: BTreeMap<String, String>,
}

impl ConnectionString {
    /// A connection string of type `kind` (lower-cased) with no other key.
    pub fn new(kind: &str) -> Result<Self, WalletError> {
        let kind = kind.trim().to_ascii_lowercase();
        if kind.is_empty() {
            return Err(WalletError::invalid(CONNECTION_STRING, "the type is empty"));
        }
        if !is_key_name(&kind) {
            return Err(WalletError::invalid(
                CONNECTION_STRING,
                "the type is not a name of letters, digits, '-' and '_' (not shown)",
            ));
        }
        Ok(Self {
            kind,
            values: BTreeMap::new(),
        })
    }

    /// Parses `text`. Errors name the part at fault by its key or position, never by its value,
    /// which may be a credential.
    pub fn parse(text: &str) -> Result<Self, WalletError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(WalletError::invalid(CONNECTION_STRING, "is empty"));
        }
        // BTCPay reads a bare socket address as Core Lightning's.
        if !text.contains('=') && (text.starts_with("unix://") || text.starts_with('/')) {
            return Self::new("clightning")?.with("server", text);
        }
        let mut kind = None;
        let mut values = BTreeMap::new();
        for (index, part) in text.split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(WalletError::invalid(
                    CONNECTION_STRING,
                    format!("part {} is not key=value", index + 1),
                ));
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim().to_owned();
            if key.is_empty() {
                return Err(WalletError::invalid(
                    CONNECTION_STRING,
                    format!("part {} has no key", index + 1),
                ));
            }
            if !is_key_name(&key) {
                return Err(WalletError::invalid(
                    CONNECTION_STRING,
                    format!(
                        "part {} has no key name before its '=' (not shown: it may be a \
                         credential)",
                        index + 1
                    ),
                ));
            }
            if key == "type" {
                if kind.replace(value).is_some() {
                    return Err(WalletError::invalid(
                        CONNECTION_STRING,
                        "the type is given twice",
                    ));
                }
            } else if values.insert(key, value).is_some() {
                return Err(WalletError::invalid(
                    CONNECTION_STRING,
                    format!("part {} repeats an earlier key", index + 1),
                ));
            }
        }
        let kind = kind.ok_or_else(|| {
            WalletError::invalid(
                CONNECTION_STRING,
                "has no type (e.g. type=clightning;server=unix:///path/to/lightning-rpc)",
            )
        })?;
        let mut parsed = Self::new(&kind)?;
        parsed.values = values;
        Ok(parsed)
    }

    /// This string with `key` (lower-cased) set to `value`. A key or value the format cannot
    /// carry (holding `;`, or a key holding `=`) is an error.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Result<Self, WalletError> {
        let key = key.trim().to_ascii_lowercase();
        let value = value.into().trim().to_owned();
        if !is_key_name(&key) || key == "type" {
            return Err(WalletError::invalid(
                CONNECTION_STRING,
                "a key is a name of letters, digits, '-' and '_', other than type",
            ));
        }
        check_part(&key, &value)?;
        self.values.insert(key, value);
        Ok(self)
    }

    /// The `type`, lower-cased, e.g. `clightning`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The value of `key` (any case), if present and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// The value of `key`, or an error naming it.
    pub fn require(&self, key: &str) -> Result<&str, WalletError> {
        self.get(key).ok_or_else(|| {
            WalletError::invalid(
                CONNECTION_STRING,
                format!("type={} needs {key}=", self.kind),
            )
        })
    }

    /// A boolean key (`true`/`false`, any case), if present.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, WalletError> {
        self.get(key)
            .map(|text| match text.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(WalletError::invalid(
                    CONNECTION_STRING,
                    format!("{key} must be true or false"),
                )),
            })
            .transpose()
    }

    /// The value of whichever one of `keys` is present, with its key; an error when none or
    /// more than one is.
    pub fn one_of<'k>(&self, keys: &[&'k str]) -> Result<(&'k str, &str), WalletError> {
        let mut present = keys
            .iter()
            .filter_map(|key| self.get(key).map(|value| (*key, value)));
        match (present.next(), present.next()) {
            (Some(found), None) => Ok(found),
            _ => Err(WalletError::invalid(
                CONNECTION_STRING,
                format!(
                    "type={} needs exactly one of {}",
                    self.kind,
                    keys.iter()
                        .map(|key| format!("{key}="))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The keys other than `type`, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// An error when a key is not in `known`: a misspelt key (`macarooon=`) would otherwise be
    /// dropped without a word. The key is not shown (a credential pasted without its key parses
    /// as a key); one a letter or two from a known key is answered with that key.
    pub fn only_keys(&self, known: &[&str]) -> Result<(), WalletError> {
        let Some(unknown) = self.keys().find(|key| !known.contains(key)) else {
            return Ok(());
        };
        let meant = known
            .iter()
            .find(|candidate| crate::registry::edit_distance(unknown, candidate) <= 2);
        let hint = match meant {
            Some(meant) => format!("did you mean {meant}=? "),
            None => String::new(),
        };
        Err(WalletError::invalid(
            CONNECTION_STRING,
            format!(
                "type={} has a key it does not read (not shown: it may be a credential); \
                 {hint}it reads {}",
                self.kind,
                known.join(", ")
            ),
        ))
    }

    /// The whole string, credentials included: `type` first, then the keys in order. Parsing it
    /// gives this connection string back.
    pub fn expose(&self) -> String {
        let mut text = format!("type={}", self.kind);
        for (key, value) in &self.values {
            text.push(';');
            text.push_str(key);
            text.push('=');
            text.push_str(value);
        }
        text
    }
}

/// The socket a Core Lightning `server` names, as BTCPay reads it: `unix://X` is `/X` (so
/// `unix://root/lightning-rpc` and `unix:///root/lightning-rpc` are both `/root/lightning-rpc`),
/// and an absolute path is itself. `None` for anything else.
pub fn unix_socket_path(server: &str) -> Option<String> {
    let path = match server.strip_prefix("unix://") {
        Some(rest) => format!("/{}", rest.trim_start_matches('/')),
        None if server.starts_with('/') => server.to_owned(),
        None => return None,
    };
    (path.len() > 1).then_some(path)
}

/// Whether `key` can be a key: short, and made of the characters keys are made of.
fn is_key_name(key: &str) -> bool {
    (1..=40).contains(&key.len())
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// A `;` would end the part early, and control characters would not survive a config file.
fn check_part(key: &str, text: &str) -> Result<(), WalletError> {
    if text.contains(';') || text.chars().any(char::is_control) {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            format!(
                "the value of {key} holds ';' or a control character, which the format cannot carry"
            ),
        ));
    }
    Ok(())
}

impl FromStr for ConnectionString {
    type Err = WalletError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the keys either: a credential pasted without its key parses as one.
        f.debug_struct("ConnectionString")
            .field("type", &self.kind)
            .field("keys", &self.values.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn btcpay_strings_parse_with_keys_in_any_case() {
        let parsed = ConnectionString::parse(
            " Type=LND-GRPC; Server=https://127.0.0.1:10009 ;MACAROON=0201;certthumbprint=ab:cd; ",
        )
        .unwrap();
        assert_eq!(parsed.kind(), "lnd-grpc");
        assert_eq!(parsed.get("server"), Some("https://127.0.0.1:10009"));
        assert_eq!(parsed.get("Macaroon"), Some("0201"));
        assert_eq!(parsed.get("certthumbprint"), Some("ab:cd"));
        assert_eq!(
            parsed.keys().collect::<Vec<_>>(),
            ["certthumbprint", "macaroon", "server"]
        );
    }

    #[test]
    fn a_bare_socket_path_is_core_lightning() {
        for text in ["unix:///tmp/l1/lightning-rpc", "/tmp/l1/lightning-rpc"] {
            let parsed = ConnectionString::parse(text).unwrap();
            assert_eq!(parsed.kind(), "clightning");
            assert_eq!(parsed.get("server"), Some(text));
        }
    }

    #[test]
    fn malformed_strings_are_errors_that_do_not_show_values() {
        for (text, says) in [
            ("", "is empty"),
            ("server=https://x", "has no type"),
            (
                "type=lnbits;api-key=s3cret;api-key=s3cret",
                "part 3 repeats an earlier key",
            ),
            ("type=lnbits;type=lnd-grpc", "the type is given twice"),
            ("type=lnbits;s3cret", "part 2 is not key=value"),
            ("type=lnbits;=s3cret", "part 2 has no key"),
            ("type=lnbits;s3cret key=1", "part 2 has no key name"),
            ("type=", "the type is empty"),
        ] {
            let err = ConnectionString::parse(text).unwrap_err();
            assert_eq!(err.field(), Some(CONNECTION_STRING), "{text}");
            let shown = err.to_string();
            assert!(shown.contains(says), "{text}: {shown}");
            assert!(!shown.contains("s3cret"), "{text}: {shown}");
        }
    }

    #[test]
    fn debug_shows_the_type_but_no_key_or_value() {
        // A base64 macaroon pasted without its key parses as a key: never shown either.
        let parsed =
            ConnectionString::parse("type=lnbits;server=https://x;api-key=f00dcafe;AgEDs3cret==")
                .unwrap();
        let shown = format!("{parsed:?}");
        assert!(shown.contains("lnbits") && shown.contains('3'), "{shown}");
        for hidden in ["f00dcafe", "https", "s3cret", "api-key"] {
            assert!(!shown.contains(hidden), "{shown}");
        }
    }

    #[test]
    fn unix_urls_are_absolute_paths_as_in_btcpay() {
        for (server, path) in [
            (
                "unix://root/.lightning/lightning-rpc",
                Some("/root/.lightning/lightning-rpc"),
            ),
            (
                "unix:///root/.lightning/lightning-rpc",
                Some("/root/.lightning/lightning-rpc"),
            ),
            (
                "/root/.lightning/lightning-rpc",
                Some("/root/.lightning/lightning-rpc"),
            ),
            ("unix://", None),
            ("/", None),
            ("lightning-rpc", None),
            ("tcp://127.0.0.1:9835", None),
        ] {
            assert_eq!(unix_socket_path(server).as_deref(), path, "{server}");
        }
    }

    #[test]
    fn one_of_wants_exactly_one() {
        let parsed = ConnectionString::parse("type=x;a=1;b=2").unwrap();
        assert_eq!(parsed.one_of(&["a", "c"]).unwrap(), ("a", "1"));
        assert!(
            parsed
                .one_of(&["a", "b"])
                .unwrap_err()
                .to_string()
                .contains("exactly one of a=, b=")
        );
        assert!(parsed.one_of(&["c", "d"]).is_err());
    }

    #[test]
    fn an_unknown_key_is_refused_without_showing_it_and_a_near_miss_gets_a_hint() {
        let parsed = ConnectionString::parse("type=lnbits;server=https://x;apikey=1").unwrap();
        let err = parsed
            .only_keys(&["server", "api-key"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean api-key=?"), "{err}");
        assert!(!err.contains("apikey"), "{err}");
        assert!(parsed.only_keys(&["server", "apikey"]).is_ok());
        let pasted = ConnectionString::parse("type=lnbits;server=https://x;AgEDs3cret==").unwrap();
        let err = pasted
            .only_keys(&["server", "api-key"])
            .unwrap_err()
            .to_string();
        assert!(!err.to_ascii_lowercase().contains("s3cret"), "{err}");
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn values_the_format_cannot_carry_are_refused() {
        let base = ConnectionString::new("lnbits").unwrap();
        assert!(base.clone().with("server", "a;b").is_err());
        assert!(base.clone().with("se=rver", "a").is_err());
        assert!(base.clone().with("s3cret/", "a").is_err());
        assert!(base.clone().with("type", "a").is_err());
        assert!(base.with("server", "line\nbreak").is_err());
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_-]{0,12}".prop_filter("not type", |key| key != "type")
    }

    fn value() -> impl Strategy<Value = String> {
        // Anything the format can carry: no ';', no control characters, no edge whitespace.
        "[^;\\p{Cc}]{0,40}".prop_map(|value| value.trim().to_owned())
    }

    proptest! {
        #[test]
        fn exposing_and_parsing_again_gives_the_same_string(
            kind in "[a-z][a-z0-9-]{0,10}",
            pairs in proptest::collection::btree_map(key(), value(), 0..6),
        ) {
            let mut built = ConnectionString::new(&kind).unwrap();
            for (key, value) in &pairs {
                built = built.with(key, value.clone()).unwrap();
            }
            let text = built.expose();
            let parsed = ConnectionString::parse(&text).unwrap();
            prop_assert_eq!(&parsed, &built);
            prop_assert_eq!(parsed.expose(), text);
        }
    }
}
