//! The two halves of a scripted HTTP/1.1 server on loopback, for tests that answer as a broken
//! or hostile server would: reading one request, and writing an answer.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The largest request head read; a longer one ends the connection.
const MAX_HEAD_BYTES: usize = 65_536;
/// The largest request body read.
const MAX_BODY_BYTES: usize = 1 << 20;

/// One request as read: its head (request line and headers) and its body.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request line and headers, as text.
    pub head: String,
    /// The body, at most 1 MiB.
    pub body: Vec<u8>,
}

impl Request {
    /// The request line: `GET /path HTTP/1.1`.
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Reads one request from `socket`; `None` when the client closed it first or sent no end of
/// head within 64 KiB.
pub async fn read_request(socket: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD_BYTES || socket.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let mut request = Request {
        head: String::from_utf8_lossy(&head).into_owned(),
        body: Vec::new(),
    };
    let length = request
        .header("content-length")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY_BYTES);
    request.body = vec![0u8; length];
    socket.read_exact(&mut request.body).await.ok()?;
    Some(request)
}

/// An HTTP/1.1 answer with `status` (`"200 OK"`), a JSON content type, `extra_headers` (each
/// ending in `\r\n`), and `body`; the connection closes after it.
pub fn answer(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body);
    reply
}
