//! A transport that says when a request is on a connection.
//!
//! lnd answers a `SubscribeInvoices` call only with its first update, so the call's future says
//! nothing about whether the request left. HTTP/2 polls a request's body only once the request's
//! stream is open on a connection; from then on that connection breaking (lnd restarting) breaks
//! the stream too. A request still waiting to be sent when lnd restarts would instead go out
//! on a new connection, to the new lnd, and a stream opened before the restart would stay quiet
//! although contract rule 7 says it ends with an error.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use lnd_grpc::lnrpc::lightning_client::LightningClient;
use tokio::sync::oneshot;
use tonic::Status;
use tonic::codegen::{Bytes, Service};

use crate::client::{LndClients, Transport};

/// A transport (by default [`Transport`]) for one call, firing `sent` when the call's request
/// body is first polled.
#[derive(Debug)]
pub(crate) struct Announcing<S = Transport> {
    inner: S,
    sent: Option<oneshot::Sender<()>>,
}

impl<S> Service<http::Request<tonic::body::Body>> for Announcing<S>
where
    S: Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let sent = self.sent.take();
        let request = request.map(|body| tonic::body::Body::new(AnnouncedBody { body, sent }));
        self.inner.call(request)
    }
}

/// A request body that fires `sent` when HTTP/2 first asks it for data.
struct AnnouncedBody {
    body: tonic::body::Body,
    sent: Option<oneshot::Sender<()>>,
}

impl Body for AnnouncedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(sent) = self.sent.take() {
            // Nobody waiting any more is fine: the stream was dropped or stopped waiting.
            let _ = sent.send(());
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl LndClients {
    /// A `Lightning` client for one call on the shared connection, and the signal that its
    /// request is on a connection (dropped unsent if the call failed before).
    pub(crate) fn announcing_lightning(
        &self,
    ) -> (LightningClient<Announcing>, oneshot::Receiver<()>) {
        let (sent, on_connection) = oneshot::channel();
        let transport = Announcing {
            inner: self.transport.clone(),
            sent: Some(sent),
        };
        let client = LightningClient::with_origin(transport, self.origin.clone())
            .max_decoding_message_size(self.max_reply_bytes);
        (client, on_connection)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    /// Keeps the request it is given, as a connection would before writing it.
    #[derive(Default)]
    struct Held(Option<http::Request<tonic::body::Body>>);

    impl Service<http::Request<tonic::body::Body>> for Held {
        type Response = ();
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<(), Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
            self.0 = Some(request);
            std::future::ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn the_signal_fires_when_the_body_is_first_read_not_when_the_call_is_made() {
        let (sent, mut on_connection) = oneshot::channel();
        let mut transport = Announcing {
            inner: Held::default(),
            sent: Some(sent),
        };
        let body = tonic::body::Body::new(one_chunk::Full(Some(Bytes::from_static(b"request"))));
        let _ = transport.call(http::Request::new(body)).await;
        assert_eq!(
            on_connection.try_recv(),
            Err(oneshot::error::TryRecvError::Empty),
            "handed to the transport, not yet on a connection"
        );
        let mut request = transport.inner.0.take().unwrap();
        let frame = poll_fn(|cx| Pin::new(request.body_mut()).poll_frame(cx)).await;
        assert!(
            matches!(frame, Some(Ok(_))),
            "the body's data is passed through"
        );
        assert_eq!(on_connection.try_recv(), Ok(()));
    }

    /// A body of one chunk (the crate has no body utilities as dependencies).
    mod one_chunk {
        use super::*;

        pub(super) struct Full(pub(super) Option<Bytes>);

        impl Body for Full {
            type Data = Bytes;
            type Error = Status;

            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
                Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
            }
        }
    }
}
