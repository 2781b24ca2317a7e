//! The connection string for Core Lightning, in BTCPay Server's form:
//! `type=clightning;server=unix:///path/to/lightning-rpc` (or the bare socket path).

use wallet_core::connection::CONNECTION_STRING;
use wallet_core::{ConnectionString, Settings, WalletError};

use crate::config::RPC;

/// The connection-string type this crate reads.
pub const CONNECTION_TYPE: &str = "clightning";

/// The settings (`CORELIGHTNING_RPC`) a `type=clightning` string stands for. `server` is the
/// socket as `unix:///path` or `/path`; BTCPay's `tcp://` form (lightningd behind a TCP bridge)
/// is refused: this crate talks to the socket only.
pub fn settings_from_connection(connection: &ConnectionString) -> Result<Settings, WalletError> {
    connection.only_keys(&["server"])?;
    let server = connection.require("server")?;
    let path = if let Some(path) = server.strip_prefix("unix://") {
        path
    } else if server.starts_with('/') {
        server
    } else if server.starts_with("tcp://") {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "server=tcp://… is lightningd behind a TCP bridge; this crate talks to lightningd's \
             unix socket only: server=unix:///path/to/lightning-rpc",
        ));
    } else {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "server must be lightningd's socket: server=unix:///path/to/lightning-rpc",
        ));
    };
    if path.is_empty() {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "server=unix:// names no socket",
        ));
    }
    Ok(Settings::new().with(RPC, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<Settings, WalletError> {
        settings_from_connection(&ConnectionString::parse(text)?)
    }

    #[test]
    fn btcpay_socket_strings_become_the_rpc_setting() {
        for text in [
            "type=clightning;server=unix:///root/.lightning/bitcoin/lightning-rpc",
            "unix:///root/.lightning/bitcoin/lightning-rpc",
            "/root/.lightning/bitcoin/lightning-rpc",
        ] {
            assert_eq!(
                settings(text).unwrap().get(RPC),
                Some("/root/.lightning/bitcoin/lightning-rpc"),
                "{text}"
            );
        }
    }

    #[test]
    fn tcp_relative_and_unknown_keys_are_refused_with_the_reason() {
        for (text, says) in [
            (
                "type=clightning;server=tcp://127.0.0.1:9835",
                "unix socket only",
            ),
            (
                "type=clightning;server=lightning-rpc",
                "must be lightningd's socket",
            ),
            ("type=clightning;server=unix://", "names no socket"),
            ("type=clightning", "needs server="),
            (
                "type=clightning;server=/x;macaroon=00",
                "has no key \"macaroon\"",
            ),
        ] {
            let err = settings(text).unwrap_err();
            assert_eq!(err.field(), Some(CONNECTION_STRING), "{text}");
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
    }
}
