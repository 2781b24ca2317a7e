//! Just enough HTTP/1.1 for the ledger's JSON API: requests with a `content-length` body (no
//! chunked uploads), answers with one, connections kept alive between requests.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request head read: far above what a client of this API sends.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The largest request body read: an invoice and a few numbers.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// One request. Deliberately without `Debug`: it carries the `Authorization` header.
pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    query: Vec<(String, String)>,
    pub(super) authorization: Option<String>,
    pub(super) body: Vec<u8>,
    /// Whether the client asked to close the connection after the answer.
    pub(super) close: bool,
}

impl Request {
    /// The value of the query parameter `key`, if given.
    pub(super) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// The head of a request, read before its body.
struct Head {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
    content_length: usize,
    close: bool,
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> io::Result<usize> {
    let mut chunk = [0u8; 8 * 1024];
    let count = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..count]);
    Ok(count)
}

/// Reads the next request from `stream`; `buffer` keeps what was read past it (a pipelined
/// request) for the next call. `None` when the client closed the connection between requests;
/// an error of kind `InvalidData` for a request this server cannot read.
pub(super) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(malformed("the request head is too large"));
        }
        if read_more(stream, buffer).await? == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    };
    let head = parse_head(&buffer[..head_end])?;
    let end = head_end + head.content_length;
    while buffer.len() < end {
        if read_more(stream, buffer).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    let body = buffer[head_end..end].to_vec();
    buffer.drain(..end);
    Ok(Some(Request {
        method: head.method,
        path: head.path,
        query: head.query,
        authorization: head.authorization,
        body,
        close: head.close,
    }))
}

fn parse_head(bytes: &[u8]) -> io::Result<Head> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| malformed("the request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) = (
        request_line.next(),
        request_line.next(),
        request_line.next(),
        request_line.next(),
    ) else {
        return Err(malformed(
            "the request line is not `METHOD target HTTP/1.x`",
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(malformed("only HTTP/1.x is spoken here"));
    }
    let mut head = Head {
        method: method.to_owned(),
        path: String::new(),
        query: Vec::new(),
        authorization: None,
        content_length: 0,
        // HTTP/1.0 closes after each answer unless asked otherwise; 1.1 keeps the connection.
        close: version == "HTTP/1.0",
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    head.path = path.to_owned();
    head.query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect();
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("a header line without a colon"))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                head.content_length = value
                    .parse()
                    .map_err(|_| malformed("content-length is not a number"))?;
            }
            "transfer-encoding" => {
                return Err(malformed("chunked request bodies are not supported"));
            }
            "authorization" => head.authorization = Some(value.to_owned()),
            "connection" => head.close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    if head.content_length > MAX_BODY_BYTES {
        return Err(malformed("the request body is too large"));
    }
    Ok(head)
}

/// The reason phrase of the statuses the ledger answers with.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes one JSON answer, in one write (no half-written answer waits on a slow reader's window).
pub(super) async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let mut answer = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n",
        reason(status),
        body.len(),
        if close { "connection: close\r\n" } else { "" },
    )
    .into_bytes();
    answer.extend_from_slice(body);
    stream.write_all(&answer).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pipelined_requests_are_read_one_at_a_time_with_their_bodies() {
        let mut wire: &[u8] = b"POST /v1/payments HTTP/1.1\r\nAuthorization: Bearer k\r\n\
            Content-Length: 2\r\n\r\n{}GET /v1/lookup/payment?payment_hash=ab&x= HTTP/1.1\r\n\
            Connection: close\r\n\r\n";
        let mut buffer = Vec::new();
        let first = read_request(&mut wire, &mut buffer).await.unwrap().unwrap();
        assert_eq!(
            (first.method.as_str(), first.path.as_str()),
            ("POST", "/v1/payments")
        );
        assert_eq!(first.authorization.as_deref(), Some("Bearer k"));
        assert_eq!(first.body, b"{}");
        assert!(!first.close);
        let second = read_request(&mut wire, &mut buffer).await.unwrap().unwrap();
        assert_eq!(second.path, "/v1/lookup/payment");
        assert_eq!(second.query("payment_hash"), Some("ab"));
        assert_eq!(second.query("x"), Some(""));
        assert!(second.close);
        assert!(
            read_request(&mut wire, &mut buffer)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_chunked_or_oversized_request_is_refused_as_unreadable() {
        for wire in [
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
            format!(
                "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                MAX_BODY_BYTES + 1
            ),
            "GARBAGE\r\n\r\n".to_owned(),
        ] {
            let mut bytes = wire.as_bytes();
            let err = read_request(&mut bytes, &mut Vec::new())
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{wire:?}");
        }
    }
}
