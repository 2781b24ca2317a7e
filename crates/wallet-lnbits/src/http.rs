//! The REST client: deadlines on every request, keys in headers, and errors sorted by whether
//! the request can have reached the server.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode, Url};
use serde_json::Value;
use wallet_core::call::Broken;
use wallet_core::untrusted::server_text;
use wallet_core::{Secret, WalletError};

/// An answer from LNbits: the status and the JSON body (`Null` when the body is not JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Reply {
    /// The `detail` message LNbits puts in error bodies, made safe to show
    /// ([`wallet_core::untrusted::server_text`]).
    pub(crate) fn detail(&self) -> String {
        match &self.body["detail"] {
            Value::String(text) => server_text(text),
            Value::Null => self.status.to_string(),
            other => server_text(&other.to_string()),
        }
    }
}

/// Why a request got no successful answer: wallet-core's classification, with LNbits' error
/// answer (any status but 2xx).
pub(crate) type CallFailure = wallet_core::call::CallFailure<Reply>;

/// The error for a call whose failure is safe to report as an error.
pub(crate) fn lnbits_error(failure: CallFailure) -> WalletError {
    failure.into_error(|reply| api_error(&reply))
}

/// The LNbits REST API of one server.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    client: Client,
    base: Url,
    max_reply_bytes: usize,
}

/// Installs ring as the process's rustls provider, unless one is installed already. reqwest and
/// tokio-tungstenite use rustls without choosing a provider.
pub(crate) fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

impl Api {
    pub(crate) fn new(base: Url, max_reply_bytes: usize) -> Result<Self, WalletError> {
        install_crypto_provider();
        // No redirects: following one would send the admin key to whatever host it names (also
        // from https to http), and report a payment from that host's answer.
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| {
                WalletError::backend(None, format!("cannot build an HTTP client: {err}"))
            })?;
        Ok(Self {
            client,
            base,
            max_reply_bytes,
        })
    }

    /// The base URL with `path` appended (LNbits may live under a sub-path).
    pub(crate) fn url(&self, path: &str) -> Result<Url, WalletError> {
        let joined = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&joined)
            .map_err(|err| WalletError::backend(None, format!("bad path {path}: {err}")))
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        url: Url,
        key: Option<&Secret<String>>,
        body: Option<&Value>,
        deadline: Duration,
    ) -> Result<Reply, CallFailure> {
        let mut request = self.client.request(method, url).timeout(deadline);
        if let Some(key) = key {
            request = request.header("X-Api-Key", key.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| {
            if err.is_timeout() {
                CallFailure::Lost("LNbits did not finish its answer in time".into())
            } else {
                CallFailure::Lost(Broken::because(
                    "reading LNbits' answer failed",
                    err.without_url(),
                ))
            }
        })? {
            if bytes.len() + chunk.len() > self.max_reply_bytes {
                tracing::warn!(
                    limit = self.max_reply_bytes,
                    "LNbits' reply is larger than the cap; not reading it"
                );
                return Err(CallFailure::Lost(
                    format!(
                        "LNbits' reply was larger than {} bytes (LNBITS_MAX_REPLY_BYTES); not read",
                        self.max_reply_bytes
                    )
                    .into(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let reply = Reply { status, body };
        if status.is_success() {
            Ok(reply)
        } else {
            Err(CallFailure::Node(reply))
        }
    }
}

/// Sorts a failed request by whether it can have reached LNbits: only a failed connect cannot.
fn classify(err: reqwest::Error) -> CallFailure {
    let connect = err.is_connect();
    let timeout = err.is_timeout();
    let err = err.without_url();
    if connect {
        CallFailure::NotConnected(Broken::because("cannot connect to LNbits", err))
    } else if timeout {
        CallFailure::Lost(Broken::because("LNbits did not answer in time", err))
    } else {
        CallFailure::Lost(Broken::because("the request to LNbits failed", err))
    }
}

/// The error for an unsuccessful answer to anything but a payment.
pub(crate) fn api_error(reply: &Reply) -> WalletError {
    let detail = reply.detail();
    match reply.status.as_u16() {
        401 | 403 => WalletError::Unauthorized(detail),
        // LNbits answers an unknown key with 404 "Wallet not found."
        404 if detail.starts_with("Wallet not found") => {
            WalletError::Unauthorized("the key matches no LNbits wallet".into())
        }
        // FastAPI's own answer to a path it does not serve is a bare 404 or "Not Found".
        404 if reply.body["detail"].is_null() || reply.body["detail"] == "Not Found" => {
            WalletError::NotFound(
                "LNbits has no such endpoint (404): is LNBITS_ENDPOINT the server's base URL?"
                    .into(),
            )
        }
        404 => WalletError::NotFound(detail),
        429 => WalletError::unavailable(format!("rate limited by LNbits: {detail}")),
        300..=399 => WalletError::backend(
            Some(i64::from(reply.status.as_u16())),
            "LNbits answered with a redirect, which this client never follows (it would send the \
             key elsewhere): set LNBITS_ENDPOINT to the address LNbits really serves",
        ),
        500 | 502 | 503 | 504 => {
            WalletError::unavailable(format!("LNbits answered {}: {detail}", reply.status))
        }
        code => WalletError::backend(Some(i64::from(code)), detail),
    }
}
