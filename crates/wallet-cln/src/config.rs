//! Settings, with LNbits' own names.

use std::path::PathBuf;
use std::time::Duration;

use wallet_core::untrusted::{DEFAULT_MAX_REPLY_BYTES, max_reply_bytes};
use wallet_core::{Settings, WalletError};

/// The LNbits class name.
pub const CLASS_NAME: &str = "CoreLightningWallet";
/// lightningd's socket, e.g. `~/.lightning/bitcoin/lightning-rpc` (LNbits' setting).
pub const RPC: &str = "CORELIGHTNING_RPC";
/// LNbits' older name of [`RPC`].
pub const OLD_RPC: &str = "CLIGHTNING_RPC";
/// Seconds every call may take, payments and the stream's long-poll apart (default 15).
pub const TIMEOUT: &str = "CORELIGHTNING_TIMEOUT";
/// `true` when the node runs the hold-invoice plugin (BoltzExchange/hold's RPC names).
pub const HOLD_INVOICES: &str = "CORELIGHTNING_HOLD_INVOICES";
/// The largest reply read, in bytes (default 4 MiB, at least 64 KiB): a larger one is not read.
pub const MAX_REPLY_BYTES: &str = "CORELIGHTNING_MAX_REPLY_BYTES";

/// Every setting a [`crate::CoreLightningWallet`] reads.
pub const SETTING_KEYS: &[&str] = &[RPC, OLD_RPC, TIMEOUT, HOLD_INVOICES, MAX_REPLY_BYTES];

/// How to reach lightningd. There is no secret: the socket's file permissions are the access
/// control.
#[derive(Clone, Debug)]
pub struct ClnConfig {
    /// The `lightning-rpc` socket file.
    pub socket: PathBuf,
    /// The deadline of every call except payments and the stream.
    pub timeout: Duration,
    /// Whether the hold-invoice plugin is installed.
    pub hold_invoices: bool,
    /// The largest reply read ([`MAX_REPLY_BYTES`]).
    pub max_reply_bytes: usize,
}

impl ClnConfig {
    /// A configuration for the socket at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            timeout: Duration::from_secs(15),
            hold_invoices: false,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        }
    }

    /// Reads `CORELIGHTNING_RPC` (or `CLIGHTNING_RPC`), `CORELIGHTNING_TIMEOUT`,
    /// `CORELIGHTNING_HOLD_INVOICES` and `CORELIGHTNING_MAX_REPLY_BYTES`. Errors name the setting.
    pub fn from_settings(settings: &Settings) -> Result<Self, WalletError> {
        let (name, socket) = settings.first_of(&[RPC, OLD_RPC]).ok_or_else(|| {
            WalletError::invalid(
                RPC,
                "is not set (the path of lightningd's lightning-rpc socket)",
            )
        })?;
        let socket = PathBuf::from(socket.trim());
        if socket.is_dir() {
            return Err(WalletError::invalid(
                name,
                format!(
                    "{} is a directory; give the lightning-rpc socket inside it",
                    socket.display()
                ),
            ));
        }
        let mut config = Self::new(socket);
        if let Some(timeout) = settings.timeout(TIMEOUT)? {
            config.timeout = timeout;
        }
        config.hold_invoices = settings.flag(HOLD_INVOICES)?.unwrap_or(false);
        config.max_reply_bytes = max_reply_bytes(settings, MAX_REPLY_BYTES)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnbits_names_are_read_and_errors_name_the_setting() {
        let old = Settings::new().with(OLD_RPC, "/tmp/lightning-rpc");
        assert_eq!(
            ClnConfig::from_settings(&old).unwrap().socket,
            PathBuf::from("/tmp/lightning-rpc")
        );
        assert_eq!(
            ClnConfig::from_settings(&Settings::new())
                .unwrap_err()
                .field(),
            Some(RPC)
        );
        let directory = Settings::new().with(RPC, std::env::temp_dir().display().to_string());
        assert_eq!(
            ClnConfig::from_settings(&directory).unwrap_err().field(),
            Some(RPC)
        );
        let bad = Settings::new().with(RPC, "/x").with(HOLD_INVOICES, "maybe");
        assert_eq!(
            ClnConfig::from_settings(&bad).unwrap_err().field(),
            Some(HOLD_INVOICES)
        );
    }
}
