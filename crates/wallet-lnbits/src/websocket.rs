//! Opening LNbits' websocket with a handshake of our own.
//!
//! LNbits names the channel by the invoice key, in the URL path (`/api/v1/ws/<key>`), so the
//! request line holds a credential. tungstenite's own client handshake logs that request line at
//! `TRACE`, which would put the key in any log that captures transport crates (contract rule 10;
//! `tests/secrets_in_logs.rs` found it). So the upgrade request is written here, the answer read
//! and checked here (status, `Sec-WebSocket-Accept`), and only the upgraded connection is handed
//! to tungstenite ([`WebSocketStream::from_raw_socket`]), which logs no request.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wallet_core::Cause;

/// The longest handshake answer read (headers only).
const MAX_ANSWER_HEAD: usize = 16 * 1024;

/// An open websocket to LNbits.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the websocket did not open.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    /// LNbits answered the upgrade with this HTTP status.
    Refused(u16),
    /// Anything else: no connection, TLS, a broken or foreign answer. The text never holds the
    /// key.
    Broken(String, Option<Cause>),
}

/// Opens `path` (which holds the key) on `endpoint`'s host, over TLS for `https`.
pub(crate) async fn open(
    endpoint: &reqwest::Url,
    path: &str,
    limits: WebSocketConfig,
) -> Result<Socket, OpenFailure> {
    let host = endpoint
        .host_str()
        .ok_or_else(|| OpenFailure::Broken("LNBITS_ENDPOINT has no host".into(), None))?
        .to_owned();
    let tls = endpoint.scheme() == "https";
    let port = endpoint
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    // An IPv6 literal comes bracketed in the URL; the socket and TLS take it bare.
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tcp = TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|err| {
            OpenFailure::Broken(
                "cannot connect to LNbits' websocket".into(),
                Some(Cause::snapshot(&err)),
            )
        })?;
    // Pongs and closes are small frames: Nagle's algorithm would hold them for the server's
    // delayed ACK.
    let _ = tcp.set_nodelay(true);
    let mut stream = if tls {
        MaybeTlsStream::Rustls(tls_connect(&bare_host, tcp).await?)
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    let host_header = match endpoint.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    let key = generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|err| {
        OpenFailure::Broken(
            "sending the websocket upgrade to LNbits failed".into(),
            Some(Cause::snapshot(&err)),
        )
    })?;
    let head = read_head(&mut stream).await?;
    check_answer(&head, &key)?;
    Ok(WebSocketStream::from_raw_socket(stream, Role::Client, Some(limits)).await)
}

async fn tls_connect(
    host: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, OpenFailure> {
    crate::http::install_crypto_provider();
    let roots = tokio_rustls::rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name =
        tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|err| {
            OpenFailure::Broken(
                "LNBITS_ENDPOINT's host is no TLS server name".into(),
                Some(Cause::snapshot(&err)),
            )
        })?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|err| {
            OpenFailure::Broken(
                "the TLS handshake with LNbits' websocket failed".into(),
                Some(Cause::snapshot(&err)),
            )
        })
}

/// The answer's head, up to and including its blank line, and not a byte more: what follows
/// belongs to the websocket.
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<Vec<u8>, OpenFailure> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_ANSWER_HEAD {
            return Err(OpenFailure::Broken(
                format!(
                    "LNbits' websocket answer has more than {MAX_ANSWER_HEAD} bytes of headers"
                ),
                None,
            ));
        }
        let read = stream.read(&mut byte).await.map_err(|err| {
            OpenFailure::Broken(
                "reading LNbits' websocket answer failed".into(),
                Some(Cause::snapshot(&err)),
            )
        })?;
        if read == 0 {
            return Err(OpenFailure::Broken(
                "LNbits closed the connection before answering the websocket upgrade".into(),
                None,
            ));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// A `101 Switching Protocols` that accepts our key, or why not.
fn check_answer(head: &[u8], key: &str) -> Result<(), OpenFailure> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| OpenFailure::Broken("LNbits' websocket answer is not HTTP".into(), None))?;
    if status != 101 {
        return Err(OpenFailure::Refused(status));
    }
    let accept = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|(_, value)| value.trim().to_owned());
    if accept.as_deref() != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return Err(OpenFailure::Broken(
            "LNbits' websocket answer does not accept our key (Sec-WebSocket-Accept)".into(),
            None,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_101_that_accepts_our_key_opens_the_socket() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let accepted = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(key.as_bytes())
        );
        assert!(check_answer(accepted.as_bytes(), key).is_ok());
        let forged = "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n\r\n";
        assert!(matches!(
            check_answer(forged.as_bytes(), key),
            Err(OpenFailure::Broken(..))
        ));
        assert!(matches!(
            check_answer(b"HTTP/1.1 401 Unauthorized\r\n\r\n", key),
            Err(OpenFailure::Refused(401))
        ));
        assert!(matches!(
            check_answer(b"SSH-2.0-OpenSSH\r\n\r\n", key),
            Err(OpenFailure::Broken(..))
        ));
    }
}
