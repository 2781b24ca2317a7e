//! The ledger's REST API as this crate calls it: a deadline on every request, the key in a header
//! marked sensitive, replies capped and read as JSON, failures sorted by whether the request can
//! have reached the ledger.

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, Method, Response, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use wallet_core::WalletError;
use wallet_core::call::{Broken, call_repeatable_within, call_within};

use crate::LedgerConfig;
use crate::error::{CallFailure, Refusal, transport, unreadable};

/// How the ledger is named in messages.
const LEDGER: &str = "the ledger";

/// How long a connection may sit in the pool. The ledger closes connections idle for longer
/// (75 s in `server.rs`); a client that never keeps one that long never sends a request on a
/// connection the ledger is closing, which for a payment would leave its outcome unknown.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// One ledger's API. Clones share the connection pool.
#[derive(Clone)]
pub(crate) struct Api {
    http: Client,
    base: Url,
    authorization: HeaderValue,
    max_reply_bytes: usize,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Api {
    pub(crate) fn new(config: &LedgerConfig) -> Result<Self, WalletError> {
        // reqwest is built without a crypto provider; it needs one installed to build a client at
        // all. Another provider installed first is fine.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        // No redirects: following one would send the key to whatever host it names.
        let http = Client::builder()
            .connect_timeout(config.timeout)
            .pool_idle_timeout(POOL_IDLE)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| {
                WalletError::backend(None, format!("cannot build an HTTP client: {err}"))
            })?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose())).map_err(
                |_| WalletError::invalid("api_key", "must be printable ASCII without spaces"),
            )?;
        // Sensitive headers are left out of the HTTP stack's own `Debug` output and logs.
        authorization.set_sensitive(true);
        Ok(Self {
            http,
            base: config.endpoint.clone(),
            authorization,
            max_reply_bytes: config.max_reply_bytes,
        })
    }

    /// A call that is safe to send twice (a read, a new unpaid invoice): sent once more, within
    /// the same deadline, when the transport failed (contract rule 6).
    pub(crate) async fn repeatable<T: DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        deadline: Duration,
    ) -> Result<T, CallFailure> {
        let url = self.url(path)?;
        call_repeatable_within(deadline, LEDGER, what, || {
            self.send(method.clone(), url.clone(), body, deadline)
        })
        .await
    }

    /// A call sent once, whatever happens: a payment, or a poll whose loss must end its stream.
    pub(crate) async fn once<T: DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        deadline: Duration,
    ) -> Result<T, CallFailure> {
        let url = self.url(path)?;
        call_within(
            deadline,
            LEDGER,
            what,
            self.send(method, url, body, deadline),
        )
        .await
    }

    /// The base URL with `path` (and its query) appended: the ledger may live under a sub-path.
    fn url(&self, path: &str) -> Result<Url, CallFailure> {
        let joined = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&joined).map_err(|err| {
            CallFailure::Misconfigured(WalletError::invalid(
                "endpoint",
                format!("cannot call {path} under it: {err}"),
            ))
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        deadline: Duration,
    ) -> Result<T, CallFailure> {
        let mut request = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(deadline);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = read_capped(response, self.max_reply_bytes).await?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(unreadable)
        } else {
            Err(CallFailure::Node(Refusal::read(status.as_u16(), &bytes)))
        }
    }
}

/// The body of `response`, or an error once it passes `cap` bytes (contract rule 12).
async fn read_capped(mut response: Response, cap: usize) -> Result<Vec<u8>, CallFailure> {
    let too_large = || {
        CallFailure::Lost(Broken::from(format!(
            "the ledger's answer is larger than {cap} bytes; not read"
        )))
    };
    if response
        .content_length()
        .is_some_and(|length| u64::try_from(cap).is_ok_and(|cap| length > cap))
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| {
        CallFailure::Lost(Broken::because(
            "reading the ledger's answer failed",
            err.without_url(),
        ))
    })? {
        if bytes.len().saturating_add(chunk.len()) > cap {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
