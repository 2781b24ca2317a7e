//! A loopback TCP proxy that breaks connections on request: the "cut the connection" fault for
//! any backend reached over TCP, without touching the server behind it.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards connections from a loopback port to `upstream`, and on request:
/// goes offline (cuts every connection and refuses new ones), or lets the next request that
/// starts with given bytes through but drops its answer and the connection, so the client never
/// learns what happened (for plaintext HTTP/1.1: `b"POST /api/v1/payments "`).
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
    lose_answer_to: Mutex<Option<Vec<u8>>>,
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
            lose_answer_to: Mutex::new(None),
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
        *self
            .state
            .lose_answer_to
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(prefix.to_vec());
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

async fn forward(mut client: TcpStream, state: Arc<State>) {
    let Ok(mut server) = TcpStream::connect(state.upstream).await else {
        return;
    };
    let mut cut = state.cut.subscribe();
    cut.borrow_and_update();
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    let mut losing_answer = false;
    loop {
        tokio::select! {
            read = client_read.read(&mut from_client) => {
                let Ok(count @ 1..) = read else { return };
                let chunk = &from_client[..count];
                if !losing_answer {
                    let mut armed = state.lose_answer_to.lock().unwrap_or_else(PoisonError::into_inner);
                    if armed.as_deref().is_some_and(|prefix| chunk.starts_with(prefix)) {
                        *armed = None;
                        losing_answer = true;
                    }
                }
                if server_write.write_all(chunk).await.is_err() {
                    return;
                }
            }
            read = server_read.read(&mut from_server) => {
                let Ok(count @ 1..) = read else { return };
                if losing_answer {
                    return;
                }
                if client_write.write_all(&from_server[..count]).await.is_err() {
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
