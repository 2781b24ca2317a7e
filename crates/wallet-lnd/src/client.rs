//! The gRPC connection: hyper-rustls with the pinned certificate (ALPN `h2`, as lnd requires),
//! HTTP/2 keep-alive so that a dead connection shows, the macaroon on every call, and the
//! sorting of errors into "the node said" and "the transport failed".

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use lnd_grpc::invoicesrpc::invoices_client::InvoicesClient;
use lnd_grpc::lnrpc::lightning_client::LightningClient;
use lnd_grpc::routerrpc::router_client::RouterClient;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::{Code, Status};
use wallet_core::call::Broken;
use wallet_core::untrusted::server_text;
use wallet_core::{Cause, WalletError, hex};

use crate::config::LndConfig;
use crate::tls::{NotThePinnedCertificate, PinnedCertificate};

/// Adds the macaroon to every call. `Debug` does not show it.
#[derive(Clone)]
pub struct MacaroonInterceptor {
    macaroon: AsciiMetadataValue,
}

impl std::fmt::Debug for MacaroonInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacaroonInterceptor(<redacted>)")
    }
}

impl Interceptor for MacaroonInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        request
            .metadata_mut()
            .insert("macaroon", self.macaroon.clone());
        Ok(request)
    }
}

/// The channel every client shares: HTTP/2 over TLS to the pinned certificate, the macaroon on
/// every call.
pub type Transport = InterceptedService<
    Client<HttpsConnector<HttpConnector>, tonic::body::Body>,
    MacaroonInterceptor,
>;

/// The three lnd services [`crate::LndWallet`] calls, sharing one connection: pinned TLS
/// certificate, macaroon on every call, replies capped at [`LndConfig::max_reply_bytes`]. For
/// calls the `Wallet` trait does not cover, on the same checked connection, and for measuring
/// what `LndWallet` adds over the bare calls (`cargo xtask bench`).
#[derive(Clone, Debug)]
pub struct LndClients {
    /// `lnrpc.Lightning`.
    pub lightning: LightningClient<Transport>,
    /// `routerrpc.Router`.
    pub router: RouterClient<Transport>,
    /// `invoicesrpc.Invoices`.
    pub invoices: InvoicesClient<Transport>,
    pub(crate) transport: Transport,
    pub(crate) origin: Uri,
    pub(crate) max_reply_bytes: usize,
}

impl LndClients {
    /// Builds the clients. Nothing connects until the first call.
    pub fn new(config: &LndConfig) -> Result<Self, WalletError> {
        clients(config)
    }
}

/// Builds the clients. Nothing connects until the first call.
pub(crate) fn clients(config: &LndConfig) -> Result<LndClients, WalletError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedCertificate::new(config.pin.clone(), Arc::clone(&provider));
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| WalletError::backend(None, format!("TLS setup: {err}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // Small HTTP/2 frames held back by Nagle's algorithm meet the server's delayed ACK: every
    // call would wait about 40 ms (found by `cargo xtask bench`). lnd's Go server sends without
    // delay; so must we.
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http2()
        .wrap_connector(tcp);
    let http = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .timer(TokioTimer::new())
        .http2_keep_alive_interval(Some(Duration::from_secs(20)))
        .http2_keep_alive_timeout(Duration::from_secs(10))
        .http2_keep_alive_while_idle(true)
        .build(https);
    let host = if config.host.contains(':') && !config.host.starts_with('[') {
        format!("[{}]", config.host)
    } else {
        config.host.clone()
    };
    let origin: Uri = format!("https://{host}:{}", config.port)
        .parse()
        .map_err(|err| WalletError::invalid(crate::config::ENDPOINT, format!("{err}")))?;
    let macaroon: AsciiMetadataValue =
        MetadataValue::try_from(hex::encode(config.macaroon.expose()))
            .map_err(|err| WalletError::invalid(crate::config::MACAROON, err.to_string()))?;
    let transport = InterceptedService::new(http, MacaroonInterceptor { macaroon });
    Ok(LndClients {
        lightning: LightningClient::with_origin(transport.clone(), origin.clone())
            .max_decoding_message_size(config.max_reply_bytes),
        router: RouterClient::with_origin(transport.clone(), origin.clone())
            .max_decoding_message_size(config.max_reply_bytes),
        invoices: InvoicesClient::with_origin(transport.clone(), origin.clone())
            .max_decoding_message_size(config.max_reply_bytes),
        transport,
        origin,
        max_reply_bytes: config.max_reply_bytes,
    })
}

/// Why a call to lnd got no result: wallet-core's classification, with lnd's error status.
pub(crate) type CallFailure = wallet_core::call::CallFailure<Status>;

fn source_chain(status: &Status) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    wallet_core::error_chain(status).skip(1)
}

/// Whether the TLS handshake failed because the other side does not speak TLS at all (a REST or
/// peer port, or a plaintext proxy): rustls reads its first bytes as a corrupt record.
fn not_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    let text = err.to_string();
    text.contains("InvalidContentType") || text.contains("corrupt message")
}

/// Whether the TLS handshake failed because the node's certificate is not the pinned one.
fn pin_mismatch(err: &(dyn std::error::Error + 'static)) -> bool {
    match err.downcast_ref::<rustls::Error>() {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => {
            other.0.downcast_ref::<NotThePinnedCertificate>().is_some()
        }
        _ => false,
    }
}

/// Sorts a status: one made by the client from a transport error has a source (a connect
/// error means lnd never saw the request); one lnd sent has none.
pub(crate) fn classify(status: Status) -> CallFailure {
    if std::error::Error::source(&status).is_none() {
        return CallFailure::Node(status);
    }
    if source_chain(&status).any(not_tls) {
        return CallFailure::Misconfigured(WalletError::invalid(
            crate::config::PORT,
            "lnd's address does not answer with TLS: is it lnd's gRPC port (10009 by default), \
             not its REST (8080) or peer (9735) port?",
        ));
    }
    if source_chain(&status).any(pin_mismatch) {
        return CallFailure::Misconfigured(WalletError::invalid(
            crate::config::CERT,
            NotThePinnedCertificate.to_string(),
        ));
    }
    let connect = source_chain(&status)
        .filter_map(|err| err.downcast_ref::<hyper_util::client::legacy::Error>())
        .any(hyper_util::client::legacy::Error::is_connect);
    // A transport status's message is its source's text: the source chain alone says it.
    let broken = Broken {
        message: "lnd connection failed".into(),
        cause: source_chain(&status).next().map(Cause::snapshot),
    };
    if connect {
        CallFailure::NotConnected(broken)
    } else {
        CallFailure::Lost(broken)
    }
}

/// The error for a call whose failure is safe to report as an error.
pub(crate) fn lnd_error(failure: CallFailure) -> WalletError {
    failure.into_error(|status| node_error(&status))
}

/// The macaroon failures lnd reports, all with code Unknown.
const AUTH_MESSAGES: &[&str] = &[
    "expected 1 macaroon",
    "verification failed",
    "permission denied",
    "cannot retrieve macaroon",
    "macaroon has expired",
    "macaroon locked to",
    "invalid ID",
    "unknown macaroon version",
    "empty macaroon data",
    "binary-encoded macaroon",
    "unmarshal v",
    "encoding/hex",
];

/// Whether lnd refused the call's credentials.
pub(crate) fn is_auth_error(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unauthenticated | Code::PermissionDenied
    ) || (status.code() == Code::Unknown
        && AUTH_MESSAGES
            .iter()
            .any(|text| status.message().contains(text)))
}

/// An error status from lnd as a wallet error.
pub(crate) fn node_error(status: &Status) -> WalletError {
    let message = server_text(status.message());
    if is_auth_error(status) {
        return WalletError::Unauthorized(format!("lnd refused the macaroon: {message}"));
    }
    match status.code() {
        // tonic's own refusal to decode a reply past `max_decoding_message_size`.
        Code::OutOfRange if message.contains("message length too large") => {
            tracing::warn!(%message, "lnd's reply is larger than the cap; not reading it");
            WalletError::backend(
                Some(Code::OutOfRange as i64),
                format!(
                    "lnd's reply was larger than the cap (LND_GRPC_MAX_REPLY_BYTES); not read: \
                     {message}"
                ),
            )
        }
        Code::NotFound => WalletError::NotFound(message),
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
            WalletError::unavailable(format!("lnd answered: {message}"))
        }
        Code::Unimplemented => WalletError::backend(
            Some(Code::Unimplemented as i64),
            format!("lnd does not offer this call: {message}"),
        ),
        code => WalletError::backend(Some(code as i64), format!("lnd answered: {message}")),
    }
}
