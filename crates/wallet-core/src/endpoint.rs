//! TLS by default (contract rule 10): plaintext only where nothing can be read on the way.

use std::net::IpAddr;

use crate::WalletError;

/// Whether traffic to `host` in plaintext stays private: loopback addresses (`127.0.0.0/8`,
/// `::1`, `localhost`) and Tor onion services, which encrypt end to end.
pub fn plaintext_is_private(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".onion") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a plaintext connection to `host` unless it is private (see
/// [`plaintext_is_private`]) or the user opted in with `opt_in_setting`. `endpoint_setting`
/// names the setting the error is about.
pub fn require_tls(
    uses_tls: bool,
    host: &str,
    allow_insecure: bool,
    endpoint_setting: &'static str,
    opt_in_setting: &str,
) -> Result<(), WalletError> {
    if uses_tls || allow_insecure || plaintext_is_private(host) {
        Ok(())
    } else {
        Err(WalletError::invalid(
            endpoint_setting,
            format!(
                "refusing plaintext to {host}: use https, or set {opt_in_setting}=true to send keys unencrypted"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_onion_may_be_plaintext() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "abc.onion",
        ] {
            assert!(plaintext_is_private(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "192.168.1.2",
            "lnbits.example.com",
            "onion.example.com",
        ] {
            assert!(!plaintext_is_private(host), "{host}");
        }
    }

    #[test]
    fn plaintext_elsewhere_needs_the_opt_in() {
        let refused =
            require_tls(false, "lnbits.example.com", false, "LNBITS_ENDPOINT", "X").unwrap_err();
        assert_eq!(refused.field(), Some("LNBITS_ENDPOINT"));
        assert!(require_tls(false, "lnbits.example.com", true, "LNBITS_ENDPOINT", "X").is_ok());
        assert!(require_tls(true, "lnbits.example.com", false, "LNBITS_ENDPOINT", "X").is_ok());
    }
}
