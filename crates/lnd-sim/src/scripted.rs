//! Answers lnd never gives on its own, scripted per method: for tests of what a client makes of
//! a buggy or hostile node (or a proxy in front of it). A scripted call is answered without
//! running the method.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::StreamBody;

/// What the next call of a method gets instead of lnd's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptedReply {
    /// One message with these bytes as its protobuf encoding (framed with gRPC's 5-byte
    /// prefix), then status OK: garbage, wrong types, huge or negative numbers.
    Message(Vec<u8>),
    /// These bytes as the whole response body, no framing added (a truncated frame), then
    /// status OK.
    Body(Vec<u8>),
    /// A trailers-only error answer with this gRPC code and message, as they are.
    Status {
        /// The gRPC status code.
        code: i32,
        /// The message, which may hold anything.
        message: String,
    },
    /// No answer: the call waits until the client gives up.
    Silence,
    /// The call's stream is reset once the request arrived: the request may have been acted on.
    Reset,
}

/// The queued replies, per gRPC path (`/lnrpc.Lightning/GetInfo`).
#[derive(Debug, Default)]
pub(crate) struct ScriptBook {
    queued: Mutex<HashMap<String, VecDeque<ScriptedReply>>>,
}

impl ScriptBook {
    pub(crate) fn push(&self, path: &str, reply: ScriptedReply) {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(path.to_owned())
            .or_default()
            .push_back(reply);
    }

    pub(crate) fn clear(&self) {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn take(&self, path: &str) -> Option<ScriptedReply> {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(path)?
            .pop_front()
    }
}

type Frames = futures::stream::BoxStream<'static, Result<Frame<Bytes>, std::io::Error>>;

fn ok_trailers() -> Frame<Bytes> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    Frame::trailers(trailers)
}

fn response(frames: Frames) -> http::Response<tonic::body::Body> {
    let mut response = http::Response::new(tonic::body::Body::new(StreamBody::new(frames)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}

/// The HTTP answer a scripted reply makes; silence never answers.
pub(crate) async fn answer(reply: ScriptedReply) -> http::Response<tonic::body::Body> {
    use futures::StreamExt;
    match reply {
        ScriptedReply::Message(message) => {
            let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
            let mut framed = Vec::with_capacity(message.len() + 5);
            framed.push(0);
            framed.extend_from_slice(&length.to_be_bytes());
            framed.extend_from_slice(&message);
            let frames =
                futures::stream::iter([Ok(Frame::data(Bytes::from(framed))), Ok(ok_trailers())]);
            response(frames.boxed())
        }
        ScriptedReply::Body(body) => {
            let frames =
                futures::stream::iter([Ok(Frame::data(Bytes::from(body))), Ok(ok_trailers())]);
            response(frames.boxed())
        }
        ScriptedReply::Status { code, message } => {
            tonic::Status::new(tonic::Code::from_i32(code), message).into_http()
        }
        ScriptedReply::Silence => {
            std::future::pending::<Infallible>().await;
            response(futures::stream::empty().boxed())
        }
        ScriptedReply::Reset => {
            let frames = futures::stream::iter([Err(std::io::Error::other("scripted reset"))]);
            response(frames.boxed())
        }
    }
}
