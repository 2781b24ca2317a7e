//! The connection string for Core Lightning, in BTCPay Server's form:
//! `type=clightning;server=unix:///path/to/lightning-rpc` (or the bare socket path).

use wallet_core::connection::{CONNECTION_STRING, unix_socket_path};
use wallet_core::{ConnectionString, Settings, WalletError};

use crate::config::RPC;

/// The connection-string type this crate reads.
pub const CONNECTION_TYPE: &str = "clightning";

/// The settings (`CORELIGHTNING_RPC`) a `type=clightning` string stands for. `server` is the
/// socket as `unix://path` (absolute, as in BTCPay: `unix://root/x` is `/root/x`) or `/path`;
/// BTCPay's `tcp://` form (lightningd behind a TCP bridge) is refused: this crate talks to the
/// socket only.
pub fn settings_from_connection(connection: &ConnectionString) -> Result<Settings, WalletError> {
    connection.only_keys(&["server"])?;
    let server = connection.require("server")?;
    if server.starts_with("tcp://") {
        return Err(WalletError::invalid(
            CONNECTION_STRING,
            "server=tcp://… is lightningd behind a TCP bridge; this crate talks to lightningd's \
             unix socket only: server=unix:///path/to/lightning-rpc",
        ));
    }
    let path = unix_socket_path(server).ok_or_else(|| {
        WalletError::invalid(
            CONNECTION_STRING,
            "server must name lightningd's socket: server=unix:///path/to/lightning-rpc",
        )
    })?;
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
            "type=clightning;server=unix://root/.lightning/bitcoin/lightning-rpc",
            "unix:///root/.lightning/bitcoin/lightning-rpc",
            "unix://root/.lightning/bitcoin/lightning-rpc",
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
                "must name lightningd's socket",
            ),
            (
                "type=clightning;server=unix://",
                "must name lightningd's socket",
            ),
            ("type=clightning", "needs server="),
            (
                "type=clightning;server=/x;macaroon=00",
                "a key it does not read",
            ),
        ] {
            let err = settings(text).unwrap_err();
            assert_eq!(err.field(), Some(CONNECTION_STRING), "{text}");
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
    }
}
