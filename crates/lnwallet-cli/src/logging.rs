//! Logging to stderr: off unless asked for, so that stdout stays parseable and stderr holds only
//! the notes and errors a user expects.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The crates of this project, whose spans and events `-v` and `-vv` show.
const OUR_CRATES: &[&str] = &[
    "wallet_core",
    "wallet_fake",
    "wallet_lnd",
    "wallet_cln",
    "wallet_lnbits",
    "lnwallet",
    "lnwallet_cli",
];

/// What `verbose` (`-v` count) logs when `RUST_LOG` is not set; `None` logs nothing.
pub(crate) fn directives(verbose: u8) -> Option<String> {
    let ours = |level: &str| {
        OUR_CRATES
            .iter()
            .map(|krate| format!("{krate}={level}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    match verbose {
        0 => None,
        1 => Some(format!("warn,{}", ours("info"))),
        2 => Some(format!("info,{}", ours("debug"))),
        _ => Some("trace".to_owned()),
    }
}

/// Installs the stderr logger: `RUST_LOG` if set, else what `-v` asks for, else nothing.
/// Whether it logs anything.
pub(crate) fn init(verbose: u8) -> bool {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => match directives(verbose) {
            Some(directives) => EnvFilter::new(directives),
            None => return false,
        },
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Each wallet call's span, as it closes, with how long it took (time.busy, time.idle).
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_v_shows_more_and_none_shows_nothing() {
        assert_eq!(directives(0), None);
        let one = directives(1).unwrap_or_default();
        assert!(
            one.starts_with("warn,") && one.contains("wallet_core=info"),
            "{one}"
        );
        let two = directives(2).unwrap_or_default();
        assert!(
            two.starts_with("info,") && two.contains("wallet_lnd=debug"),
            "{two}"
        );
        assert_eq!(directives(3).as_deref(), Some("trace"));
        assert_eq!(directives(9).as_deref(), Some("trace"));
    }
}
