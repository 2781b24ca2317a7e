//! A loopback TCP proxy that misbehaves on request: the "cut the connection", "lose or spoil
//! the answer", "answer slowly" and "answer about another hash" faults for any backend reached
//! over plaintext HTTP/1.1, without touching the server behind it.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::SpoiledAnswer;

/// The largest request the proxy reads whole before spoiling its answer.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// How long the proxy waits for the rest of a request, or for the server's answer to a request
/// it sends on its own.
const IO_LIMIT: Duration = Duration::from_secs(30);

/// Forwards connections from a loopback port to `upstream`, and on request: goes offline (cuts
/// every connection and refuses new ones); lets the next request that starts with given bytes
/// through but drops or replaces its answer (for plaintext HTTP/1.1:
/// `b"POST /api/v1/payments "`); delays requests; or rewrites the payment hash they ask about.
#[derive(Debug)]
pub struct FaultProxy {
    address: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    upstream: SocketAddr,
    offline: AtomicBool,
    cut: watch::Sender<u64>,
    spoil: Mutex<Option<Spoil>>,
    delay: Mutex<Option<(Vec<u8>, Duration)>>,
    rewrite: Mutex<Option<(Vec<u8>, [u8; 64])>>,
}

#[derive(Clone, Debug)]
struct Spoil {
    prefix: Vec<u8>,
    answer: SpoiledAnswer,
    dispatch_after: Duration,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            upstream,
            offline: AtomicBool::new(false),
            cut: watch::Sender::new(0),
            spoil: Mutex::new(None),
            delay: Mutex::new(None),
            rewrite: Mutex::new(None),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Ok(Self {
            address,
            state,
            accept,
        })
    }

    /// The address clients should connect to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Offline: every open connection is cut and new ones are closed at once. Online again:
    /// connections are forwarded.
    pub fn set_offline(&self, offline: bool) {
        self.state.offline.store(offline, Ordering::SeqCst);
        if offline {
            self.cut_connections();
        }
    }

    /// Cuts every open connection.
    pub fn cut_connections(&self) {
        self.state.cut.send_modify(|generation| *generation += 1);
    }

    /// The next request whose first bytes are `prefix` reaches the server, but its answer is
    /// dropped with the connection.
    pub fn lose_answer_to_next(&self, prefix: &[u8]) {
        self.spoil_answer_to_next(prefix, SpoiledAnswer::Lost, Duration::ZERO);
    }

    /// The next request whose first bytes are `prefix` gets a spoiled answer at once: none (the
    /// connection closes), an empty JSON object, or garbage, each with HTTP status 201. The
    /// request itself reaches the server `dispatch_after` later, on a connection of the proxy's
    /// own, whose answer nobody reads.
    pub fn spoil_answer_to_next(
        &self,
        prefix: &[u8],
        answer: SpoiledAnswer,
        dispatch_after: Duration,
    ) {
        *locked(&self.state.spoil) = Some(Spoil {
            prefix: prefix.to_vec(),
            answer,
            dispatch_after,
        });
    }

    /// Every request whose first bytes are `prefix` is held for `delay` before it is forwarded;
    /// [`Duration::ZERO`] ends that.
    pub fn delay_requests(&self, prefix: &[u8], delay: Duration) {
        *locked(&self.state.delay) = (!delay.is_zero()).then(|| (prefix.to_vec(), delay));
    }

    /// In every request whose first bytes are `prefix`, a hash becomes `to` (64 hex digits), so
    /// the server answers about another hash: the 64 hex digits after each `payment_hash=`, and
    /// a path segment of exactly 64 hex digits in the request line (`GET /v1/invoices/<hash>`).
    /// `None` ends that.
    pub fn rewrite_payment_hashes(&self, prefix: &[u8], to: Option<&str>) {
        *locked(&self.state.rewrite) = to.and_then(|hex| {
            let bytes: [u8; 64] = hex.as_bytes().try_into().ok()?;
            Some((prefix.to_vec(), bytes))
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_connections();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if state.offline.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, Arc::clone(&state)));
    }
}

/// Replaces the hashes in `chunk` with `to`: the 64 characters after each `payment_hash=`, and
/// each path segment of the request line that is 64 hex digits.
fn rewrite_hashes(chunk: &mut [u8], to: &[u8; 64]) {
    rewrite_query_hashes(chunk, to);
    rewrite_path_hashes(chunk, to);
}

/// The path segments of the request line (`METHOD /a/<hash>?q HTTP/1.1`) that are exactly 64
/// hex digits become `to`.
fn rewrite_path_hashes(chunk: &mut [u8], to: &[u8; 64]) {
    let line_end = chunk
        .windows(2)
        .position(|window| window == b"\r\n")
        .unwrap_or(chunk.len());
    let Some(path_start) = chunk[..line_end].iter().position(|byte| *byte == b' ') else {
        return;
    };
    let path_end = chunk[path_start + 1..line_end]
        .iter()
        .position(|byte| *byte == b' ' || *byte == b'?')
        .map_or(line_end, |end| path_start + 1 + end);
    let mut segment_start = path_start + 1;
    for at in path_start + 1..=path_end {
        if at == path_end || chunk[at] == b'/' {
            let segment = &mut chunk[segment_start..at];
            if segment.len() == 64 && segment.iter().all(u8::is_ascii_hexdigit) {
                segment.copy_from_slice(to);
            }
            segment_start = at + 1;
        }
    }
}

/// The 64 characters after each `payment_hash=` become `to`, where they are hex digits.
fn rewrite_query_hashes(chunk: &mut [u8], to: &[u8; 64]) {
    const KEY: &[u8] = b"payment_hash=";
    let mut at = 0;
    while let Some(found) = chunk[at..]
        .windows(KEY.len())
        .position(|window| window == KEY)
    {
        let start = at + found + KEY.len();
        let Some(target) = chunk.get_mut(start..start + 64) else {
            return;
        };
        if target.iter().all(u8::is_ascii_hexdigit) {
            target.copy_from_slice(to);
        }
        at = start;
    }
}

/// The length of a whole HTTP/1.1 request at the start of `buffer`, once its head and body
/// (by `content-length`) are all there.
fn complete_request(buffer: &[u8]) -> Option<usize> {
    let head_end = buffer.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let body = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let total = head_end.checked_add(body)?;
    (buffer.len() >= total).then_some(total)
}

/// The HTTP answer a spoiled request gets, if any.
fn spoiled_answer(answer: SpoiledAnswer) -> Option<Vec<u8>> {
    let body: &[u8] = match answer {
        SpoiledAnswer::Lost => return None,
        SpoiledAnswer::Empty => b"{}",
        SpoiledAnswer::Junk => b"\x01\x7f\xff#!~garbage~{\"status\":",
    };
    let mut answer = format!(
        "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    Some(answer)
}

/// Sends `request` to `upstream` after `delay` on a connection of its own, and reads the answer
/// until the server closes or [`IO_LIMIT`] passes; nobody learns what it was.
fn dispatch_later(upstream: SocketAddr, request: Vec<u8>, delay: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let Ok(mut server) = TcpStream::connect(upstream).await else {
            return;
        };
        if server.write_all(&request).await.is_err() {
            return;
        }
        let mut sink = vec![0u8; 16 * 1024];
        let _ = tokio::time::timeout(IO_LIMIT, async {
            while let Ok(1..) = server.read(&mut sink).await {}
        })
        .await;
    });
}

/// Reads the rest of the request that starts in `first`, answers it as `spoil` says, and sends
/// it on later.
async fn spoil_request(client: &mut TcpStream, first: &[u8], spoil: &Spoil, upstream: SocketAddr) {
    let mut request = first.to_vec();
    let mut more = vec![0u8; 16 * 1024];
    let whole = tokio::time::timeout(IO_LIMIT, async {
        loop {
            if let Some(length) = complete_request(&request) {
                request.truncate(length);
                return true;
            }
            if request.len() > MAX_REQUEST_BYTES {
                return false;
            }
            match client.read(&mut more).await {
                Ok(count @ 1..) => request.extend_from_slice(&more[..count]),
                _ => return false,
            }
        }
    })
    .await;
    if whole != Ok(true) {
        return;
    }
    if let Some(answer) = spoiled_answer(spoil.answer) {
        let _ = client.write_all(&answer).await;
        let _ = client.shutdown().await;
    }
    dispatch_later(upstream, request, spoil.dispatch_after);
}

async fn forward(mut client: TcpStream, state: Arc<State>) {
    let Ok(mut server) = TcpStream::connect(state.upstream).await else {
        return;
    };
    let mut cut = state.cut.subscribe();
    cut.borrow_and_update();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    let mut losing_answer = false;
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let Ok(count @ 1..) = read else { return };
                let mut chunk = from_client[..count].to_vec();
                let delay = locked(&state.delay)
                    .as_ref()
                    .filter(|(prefix, _)| chunk.starts_with(prefix))
                    .map(|(_, delay)| *delay);
                if let Some(delay) = delay {
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = cut.changed() => return,
                    }
                }
                if let Some((prefix, to)) = locked(&state.rewrite).as_ref()
                    && chunk.starts_with(prefix)
                {
                    rewrite_hashes(&mut chunk, to);
                }
                if !losing_answer {
                    let spoil = {
                        let mut armed = locked(&state.spoil);
                        match armed.as_ref() {
                            Some(spoil) if chunk.starts_with(&spoil.prefix) => armed.take(),
                            _ => None,
                        }
                    };
                    match spoil {
                        Some(spoil)
                            if spoil.answer == SpoiledAnswer::Lost
                                && spoil.dispatch_after.is_zero() =>
                        {
                            losing_answer = true;
                        }
                        Some(spoil) => {
                            spoil_request(&mut client, &chunk, &spoil, state.upstream).await;
                            return;
                        }
                        None => {}
                    }
                }
                if server.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut from_server) => {
                let Ok(count @ 1..) = read else { return };
                if losing_answer {
                    return;
                }
                if client.write_all(&from_server[..count]).await.is_err() {
                    return;
                }
            }
            _ = cut.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    while let Ok(count @ 1..) = socket.read(&mut buffer).await {
                        if socket.write_all(&buffer[..count]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<Vec<u8>> {
        stream.write_all(bytes).await?;
        let mut answer = vec![0u8; bytes.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
            .await
            .map_err(|_| io::Error::other("timed out"))??;
        Ok(answer)
    }

    #[tokio::test]
    async fn it_forwards_until_cut_and_refuses_while_offline() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.address()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"ping").await.unwrap(), b"ping");
        proxy.set_offline(true);
        assert!(round_trip(&mut stream, b"ping").await.is_err());
        let mut refused = TcpStream::connect(proxy.address()).await.unwrap();
        assert!(round_trip(&mut refused, b"ping").await.is_err());
        proxy.set_offline(false);
        let mut again = TcpStream::connect(proxy.address()).await.unwrap();
        assert_eq!(round_trip(&mut again, b"ping").await.unwrap(), b"ping");
    }

    #[test]
    fn payment_hashes_in_a_query_are_rewritten_and_nothing_else() {
        let asked = "ab".repeat(32);
        let other = "cd".repeat(32);
        let mut request =
            format!("GET /x?payment_hash={asked}&limit=1 HTTP/1.1\r\nx: payment_hash=short\r\n")
                .into_bytes();
        rewrite_hashes(&mut request, other.as_bytes().try_into().unwrap());
        let text = String::from_utf8(request).unwrap();
        assert!(
            text.contains(&format!("payment_hash={other}&limit=1")),
            "{text}"
        );
        assert!(text.contains("payment_hash=short"), "{text}");
    }

    #[test]
    fn a_hash_as_a_path_segment_of_the_request_line_is_rewritten_and_nothing_else() {
        let asked = "ab".repeat(32);
        let other = "cd".repeat(32);
        let mut request = format!(
            "GET /v1/invoices/{asked}?limit=1 HTTP/1.1\r\nreferer: /v1/invoices/{asked}\r\n"
        )
        .into_bytes();
        rewrite_hashes(&mut request, other.as_bytes().try_into().unwrap());
        let text = String::from_utf8(request).unwrap();
        assert!(
            text.starts_with(&format!("GET /v1/invoices/{other}?limit=1 ")),
            "{text}"
        );
        assert!(
            text.contains(&format!("referer: /v1/invoices/{asked}")),
            "{text}"
        );
        for untouched in [
            format!("GET /v1/invoices/{asked}ff HTTP/1.1\r\n"),
            format!("GET /v1/x{asked} HTTP/1.1\r\n"),
            format!("GET /v1/{} HTTP/1.1\r\n", "zz".repeat(32)),
        ] {
            let mut request = untouched.clone().into_bytes();
            rewrite_hashes(&mut request, other.as_bytes().try_into().unwrap());
            assert_eq!(String::from_utf8(request).unwrap(), untouched);
        }
        let mut at_the_end = format!("DELETE /h/{asked} HTTP/1.1\r\n").into_bytes();
        rewrite_hashes(&mut at_the_end, other.as_bytes().try_into().unwrap());
        assert!(
            String::from_utf8(at_the_end)
                .unwrap()
                .starts_with(&format!("DELETE /h/{other} ")),
        );
    }

    #[test]
    fn a_request_is_complete_only_with_its_whole_body() {
        let head = b"POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
        let mut request = head.to_vec();
        assert_eq!(complete_request(&request), None);
        request.extend_from_slice(b"body+next");
        assert_eq!(complete_request(&request), Some(head.len() + 4));
    }

    #[tokio::test]
    async fn a_spoiled_request_is_answered_at_once_and_reaches_the_server_later() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = FaultProxy::start(server.local_addr().unwrap())
            .await
            .unwrap();
        proxy.spoil_answer_to_next(b"POST ", SpoiledAnswer::Empty, Duration::from_millis(300));
        let mut client = TcpStream::connect(proxy.address()).await.unwrap();
        // The proxy connects upstream for the client's connection first; accept and ignore it.
        let (_idle, _) = server.accept().await.unwrap();
        client
            .write_all(b"POST /p HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 201"));
        assert!(answer.ends_with(b"\r\n\r\n{}"));
        let started = tokio::time::Instant::now();
        let (mut late, _) = tokio::time::timeout(Duration::from_secs(5), server.accept())
            .await
            .unwrap()
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(200));
        let mut request = vec![0u8; 64];
        let count = late.read(&mut request).await.unwrap();
        assert!(request[..count].ends_with(b"hi"));
    }

    #[tokio::test]
    async fn the_answer_to_the_armed_request_is_lost_once() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        proxy.lose_answer_to_next(b"POST ");
        let mut stream = TcpStream::connect(proxy.address()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"GET x").await.unwrap(), b"GET x");
        assert!(round_trip(&mut stream, b"POST y").await.is_err());
        let mut next = TcpStream::connect(proxy.address()).await.unwrap();
        assert_eq!(round_trip(&mut next, b"POST z").await.unwrap(), b"POST z");
    }
}
