//! Serving: a TLS gRPC server whose connections can all be dropped at once, the way they drop
//! when lnd crashes or restarts, and a layer that checks macaroons before any method runs.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

use crate::scripted::ScriptBook;

/// A connection that fails every read and write once its kill switch flips.
pub(crate) struct KillableIo {
    inner: TcpStream,
    killed: Pin<Box<dyn Future<Output = ()> + Send>>,
    dead: bool,
}

impl KillableIo {
    /// Dies at the next `kill`, or when the server stops: a connection accepted while the
    /// server was being stopped, after the kill, dies with the server as in a crash.
    fn new(
        inner: TcpStream,
        mut kill: watch::Receiver<u64>,
        mut stop: watch::Receiver<bool>,
    ) -> Self {
        kill.borrow_and_update();
        Self {
            inner,
            killed: Box::pin(async move {
                tokio::select! {
                    _ = kill.changed() => {}
                    _ = stop.wait_for(|stop| *stop) => {}
                }
            }),
            dead: false,
        }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.dead && self.killed.as_mut().poll(cx).is_ready() {
            self.dead = true;
        }
        if self.dead {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "lnd went away",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(err) = self.check(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(err) = self.check(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(err) = self.check(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connected for KillableIo {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// Accepted connections until `stop` flips to true; each is killed when `kill` changes.
pub(crate) fn incoming(
    listener: TcpListener,
    kill: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
) -> impl futures::Stream<Item = io::Result<KillableIo>> {
    futures::stream::unfold(
        (listener, kill, stop),
        |(listener, kill, mut stop)| async move {
            loop {
                if *stop.borrow() {
                    return None;
                }
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => {
                            let _ = socket.set_nodelay(true);
                            let io = KillableIo::new(socket, kill.clone(), stop.clone());
                            return Some((Ok(io), (listener, kill, stop)));
                        }
                        // A failed accept (e.g. too many open files) is not the end of the server.
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                    },
                    _ = stop.changed() => {}
                }
            }
        },
    )
}

/// Checks the macaroon of every request before the method runs, as lnd's interceptor does.
/// A scripted reply queued for the method answers instead, after the check.
#[derive(Clone)]
pub(crate) struct MacaroonLayer {
    pub(crate) root_key: [u8; 32],
    pub(crate) scripted: Arc<ScriptBook>,
}

impl<S> tower::Layer<S> for MacaroonLayer {
    type Service = MacaroonCheck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MacaroonCheck {
            inner,
            root_key: self.root_key,
            scripted: Arc::clone(&self.scripted),
        }
    }
}

/// The service [`MacaroonLayer`] wraps around the routes.
#[derive(Clone)]
pub(crate) struct MacaroonCheck<S> {
    inner: S,
    root_key: [u8; 32],
    scripted: Arc<ScriptBook>,
}

fn peer_ip<B>(request: &http::Request<B>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(|info| info.get_ref().remote_addr())
        .or_else(|| {
            request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
        })
        .map(|address| address.ip())
}

fn authorize<B>(root_key: &[u8; 32], request: &http::Request<B>) -> Result<(), String> {
    let macaroons: Vec<_> = request.headers().get_all("macaroon").iter().collect();
    let [macaroon] = macaroons.as_slice() else {
        return Err(format!("expected 1 macaroon, got {}", macaroons.len()));
    };
    let hex = macaroon
        .to_str()
        .map_err(|_| "encoding/hex: invalid byte".to_owned())?;
    let now = wallet_core::time::unix_now_micros();
    crate::macaroon::verify(root_key, hex, request.uri().path(), peer_ip(request), now)
}

impl<S, B> tower::Service<http::Request<B>> for MacaroonCheck<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // A method outside the simulated subset gets grpc-go's UNIMPLEMENTED from the router,
        // as a real lnd answers a method it does not have; a macaroon error would mislead.
        let known = crate::macaroon::required_permission(request.uri().path()).is_some();
        let checked = if known {
            authorize(&self.root_key, &request)
        } else {
            Ok(())
        };
        let scripted = checked
            .is_ok()
            .then(|| self.scripted.take(request.uri().path()))
            .flatten();
        if let Some(reply) = scripted {
            return Box::pin(async move { Ok(crate::scripted::answer(reply).await) });
        }
        match checked {
            Ok(()) => {
                // The ready service answers; a fresh clone waits for the next request.
                let fresh = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, fresh);
                Box::pin(inner.call(request))
            }
            Err(message) => {
                let refused = tonic::Status::unknown(message).into_http();
                Box::pin(async move { Ok(refused) })
            }
        }
    }
}

/// A server stream answered the way lnd (grpc-go) answers it: the response headers leave with
/// the first message, so a client sees nothing, not even headers, until there is something to
/// say. An error before any message is a trailers-only answer, as in grpc-go.
pub(crate) async fn with_first_message<T: Send + 'static>(
    mut stream: tonic::codegen::BoxStream<T>,
) -> Result<tonic::Response<tonic::codegen::BoxStream<T>>, tonic::Status> {
    use futures::StreamExt;
    match stream.next().await {
        Some(Ok(first)) => Ok(tonic::Response::new(
            futures::stream::once(async move { Ok(first) })
                .chain(stream)
                .boxed(),
        )),
        Some(Err(status)) => Err(status),
        None => Ok(tonic::Response::new(futures::stream::empty().boxed())),
    }
}
