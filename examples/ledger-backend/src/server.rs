//! [`LedgerServer`]: the ledger service itself, a tiny custodial wallet service owning one node of
//! wallet-fake's network (real signed BOLT11, real balances), behind a JSON API with a bearer key.
//!
//! Every call needs `Authorization: Bearer <key>`; answers are JSON.
//!
//! | call | answer |
//! |---|---|
//! | `GET /v1/info` | `{"network"}`: the BOLT11 prefix of the node's network (`bcrt`, ...) |
//! | `GET /v1/balance` | `{"balance_msat"}` |
//! | `POST /v1/invoices` `{amount_msat?, memo?, description_hash?, expiry_secs?}` | 201 `{payment_hash, bolt11, expires_at}` |
//! | `GET /v1/lookup/invoice?payment_hash=H` | `{"invoice": record or null}` |
//! | `POST /v1/payments` `{bolt11, amount_msat, max_fee_msat, wait_ms}` | `{"payment": record}`, once final or `wait_ms` later |
//! | `GET /v1/lookup/payment?payment_hash=H` | `{"payment": record or null}`, with every attempt |
//! | `GET /v1/paid/cursor` | `{"settle_index"}`: the last invoice settled so far |
//! | `GET /v1/paid?after=N&wait_ms=M[&boot=B]` | `{"boot", "paid": [...]}`: invoices settled after index `N`, waiting up to `M` ms for one (not at all when `B` is not this run's `boot`) |
//!
//! Errors are `{"code", "field", "message"}`: 400 for a request the ledger cannot use and 401 for
//! a wrong key, both answered before anything reaches the node; 404, 409, 500 and 503 for what
//! the node said. `boot` names this run of the server: it changes with every (re)start, so a
//! client polling for paid invoices can tell that it restarted between two polls.
//!
//! Lookups of invoices and payments share the path prefix `/v1/lookup/` and take the hash as
//! the query parameter `payment_hash`: a proxy in front of the ledger (the conformance suite's
//! `FaultProxy`) can then slow down or misdirect every lookup by hash at once.

mod http1;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{FutureExt, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};
use wallet_core::bolt11::Bolt11;
use wallet_core::{
    DescriptionHash, FailureReason, InvoiceRequest, PaymentHash, Secret, WalletError,
};
use wallet_fake::{
    FakeInvoiceState, FakeNode, FakeNodeError, FakePaymentState, InvoiceSnapshot, NewInvoice,
    PaymentSnapshot,
};

use self::http1::Request;

/// How long a connection may wait for its next request. Clients keep idle connections for less
/// (30 s in `client.rs`), so they never send a request on one this server is closing.
const IDLE_LIMIT: Duration = Duration::from_secs(75);

/// The longest a payment or a poll is held open for an answer.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The most paid invoices one poll returns.
const MAX_PAGE: usize = 100;

/// The ledger service on one node, listening on one address.
///
/// It can be stopped, resumed and restarted on the same address: a stop closes every connection
/// at once (a poll or a payment waiting for its answer is cut off, as by a crash), and the node,
/// its invoices, payments and balance survive. Dropping it stops it.
pub struct LedgerServer {
    address: SocketAddr,
    node: FakeNode,
    api_key: Secret<String>,
    /// The accept loop while serving; its connections end with it.
    running: Mutex<Option<JoinHandle<()>>>,
    starts: AtomicU64,
}

impl fmt::Debug for LedgerServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerServer")
            .field("address", &self.address)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// A listening socket on `address` that a restart can take again at once, while the connections
/// it just closed linger in `TIME_WAIT`.
fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

impl LedgerServer {
    /// Serves `node` on `address` (port 0 picks a free port; [`LedgerServer::address`] says which)
    /// to clients that present `api_key`.
    pub async fn start(
        node: FakeNode,
        api_key: impl Into<String>,
        address: SocketAddr,
    ) -> io::Result<Self> {
        let listener = listen(address)?;
        let mut server = Self {
            address: listener.local_addr()?,
            node,
            api_key: Secret::new(api_key.into()),
            running: Mutex::new(None),
            starts: AtomicU64::new(0),
        };
        let accepting = server.serve(listener);
        *server.running.get_mut() = Some(accepting);
        Ok(server)
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its base URL, `http://<address>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The node it serves.
    pub fn node(&self) -> &FakeNode {
        &self.node
    }

    /// Stops serving: the address refuses connections and every open one is closed.
    pub async fn stop(&self) {
        let mut running = self.running.lock().await;
        if let Some(accepting) = running.take() {
            accepting.abort();
            // Awaited, so the listener is closed when this returns and the address is free.
            let _cancelled = accepting.await;
        }
    }

    /// Serves again on the same address after [`LedgerServer::stop`]; nothing when serving.
    pub async fn resume(&self) -> io::Result<()> {
        let mut running = self.running.lock().await;
        if running.is_none() {
            *running = Some(self.serve(listen(self.address)?));
        }
        Ok(())
    }

    /// Stops and serves again, as a crash and a restart of the service would; returns once it
    /// serves.
    pub async fn restart(&self) -> io::Result<()> {
        self.stop().await;
        self.resume().await
    }

    fn serve(&self, listener: TcpListener) -> JoinHandle<()> {
        let start = self.starts.fetch_add(1, Ordering::Relaxed) + 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let service = Arc::new(Service {
            node: self.node.clone(),
            api_key: self.api_key.clone(),
            boot: format!("{nanos:x}-{start}"),
        });
        tokio::spawn(accept(listener, service))
    }
}

impl Drop for LedgerServer {
    fn drop(&mut self) {
        if let Some(accepting) = self.running.get_mut().take() {
            accepting.abort();
        }
    }
}

/// Accepts connections until aborted; aborting it drops `connections`, which aborts every
/// connection task, so a stop closes them all at once.
async fn accept(listener: TcpListener, service: Arc<Service>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(Arc::clone(&service), stream));
                }
                Err(err) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %err, "the ledger cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_finished) = connections.join_next() => {}
        }
    }
}

async fn serve_connection(service: Arc<Service>, mut stream: TcpStream) {
    // Answers are written whole, in one write; there is nothing to batch.
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    loop {
        let request =
            match tokio::time::timeout(IDLE_LIMIT, http1::read_request(&mut stream, &mut buffer))
                .await
            {
                Ok(Ok(Some(request))) => request,
                Ok(Err(err)) if err.kind() == io::ErrorKind::InvalidData => {
                    let answer = Reject::new(400, "bad_http", None, err.to_string()).answer();
                    let _ =
                        http1::write_response(&mut stream, answer.status, &answer.bytes(), true)
                            .await;
                    return;
                }
                // Closed between requests, broken, or idle too long.
                Ok(Ok(None) | Err(_)) | Err(_) => return,
            };
        let answer = service.handle(&request).await;
        tracing::debug!(
            method = %request.method,
            path = %request.path,
            status = answer.status,
            "ledger call"
        );
        let written =
            http1::write_response(&mut stream, answer.status, &answer.bytes(), request.close).await;
        if written.is_err() || request.close {
            return;
        }
    }
}

/// One run of the service: what every connection of it shares.
struct Service {
    node: FakeNode,
    api_key: Secret<String>,
    boot: String,
}

/// An answer: a status and a JSON body.
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    fn bytes(&self) -> Vec<u8> {
        // A `Value` always serializes.
        serde_json::to_vec(&self.body).unwrap_or_default()
    }
}

/// A refusal: `{"code", "field", "message"}` with an error status.
#[derive(Debug)]
struct Reject {
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
    message: String,
}

impl Reject {
    fn new(
        status: u16,
        code: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            field,
            message: message.into(),
        }
    }

    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", Some(field), message)
    }

    /// A request wallet-core's own checks refuse.
    fn from_wallet(err: WalletError) -> Self {
        match err {
            WalletError::InvalidRequest { field, reason } => Self::invalid(field, reason),
            other => Self::new(500, "internal", None, other.to_string()),
        }
    }

    /// What the node's error means for a call that is not a payment.
    fn from_node(err: FakeNodeError) -> Self {
        let message = err.to_string();
        match err {
            FakeNodeError::Offline(_) | FakeNodeError::Disconnected(_) => {
                Self::new(503, "unavailable", None, message)
            }
            FakeNodeError::Invalid { field, .. } => Self::invalid(field, message),
            FakeNodeError::InvoiceNotFound => Self::new(404, "not_found", None, message),
            FakeNodeError::DuplicateInvoice
            | FakeNodeError::InvoiceStillOpen
            | FakeNodeError::InvoiceAlreadyCanceled
            | FakeNodeError::InvoiceAlreadySettled
            | FakeNodeError::NotAHoldInvoice => Self::new(409, "conflict", None, message),
        }
    }

    fn answer(self) -> Answer {
        Answer {
            status: self.status,
            body: json!({ "code": self.code, "field": self.field, "message": self.message }),
        }
    }
}

impl From<FakeNodeError> for Reject {
    fn from(err: FakeNodeError) -> Self {
        Self::from_node(err)
    }
}

fn read_body<T: DeserializeOwned>(request: &Request) -> Result<T, Reject> {
    serde_json::from_slice(&request.body).map_err(|err| {
        Reject::new(
            400,
            "invalid_request",
            None,
            format!("unreadable body: {err}"),
        )
    })
}

fn queried_hash(request: &Request) -> Result<PaymentHash, Reject> {
    PaymentHash::from_hex(request.query("payment_hash").unwrap_or_default())
        .map_err(Reject::from_wallet)
}

fn queried_number(
    request: &Request,
    key: &str,
    field: &'static str,
) -> Result<Option<u64>, Reject> {
    request
        .query(key)
        .map(|text| {
            text.parse()
                .map_err(|_| Reject::invalid(field, format!("{key} must be a whole number")))
        })
        .transpose()
}

#[derive(Deserialize)]
struct NewInvoiceBody {
    amount_msat: Option<u64>,
    memo: Option<String>,
    description_hash: Option<String>,
    expiry_secs: Option<u64>,
}

#[derive(Deserialize)]
struct PayBody {
    bolt11: String,
    amount_msat: u64,
    max_fee_msat: u64,
    #[serde(default)]
    wait_ms: u64,
}

impl Service {
    async fn handle(&self, request: &Request) -> Answer {
        if !self.authorized(request.authorization.as_deref()) {
            return Reject::new(401, "unauthorized", None, "missing or wrong API key").answer();
        }
        let answered = match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v1/info") => Ok(Answer::ok(json!({
                "network": self.node.currency().to_string(),
                "alias": self.node.alias(),
            }))),
            ("GET", "/v1/balance") => self.balance(),
            ("POST", "/v1/invoices") => self.create_invoice(request),
            ("GET", "/v1/lookup/invoice") => self.invoice(request),
            ("POST", "/v1/payments") => self.pay(request).await,
            ("GET", "/v1/lookup/payment") => self.payment(request),
            ("GET", "/v1/paid/cursor") => self.cursor(),
            ("GET", "/v1/paid") => self.paid(request).await,
            _ => Err(Reject::new(404, "no_such_call", None, "no such call")),
        };
        answered.unwrap_or_else(Reject::answer)
    }

    /// Whether `header` carries this ledger's key. Every byte is compared whatever the first
    /// difference, so the time taken says nothing about how much of a guess was right.
    fn authorized(&self, header: Option<&str>) -> bool {
        let Some(presented) = header.and_then(|value| value.strip_prefix("Bearer ")) else {
            return false;
        };
        let expected = self.api_key.expose().as_bytes();
        let presented = presented.as_bytes();
        presented.len() == expected.len()
            && presented
                .iter()
                .zip(expected)
                .fold(0u8, |difference, (left, right)| difference | (left ^ right))
                == 0
    }

    fn balance(&self) -> Result<Answer, Reject> {
        let balance_msat = self.node.balance_msat()?;
        Ok(Answer::ok(json!({ "balance_msat": balance_msat })))
    }

    fn create_invoice(&self, request: &Request) -> Result<Answer, Reject> {
        let body: NewInvoiceBody = read_body(request)?;
        let description_hash = body
            .description_hash
            .as_deref()
            .map(DescriptionHash::from_hex)
            .transpose()
            .map_err(Reject::from_wallet)?;
        let expiry = body.expiry_secs.map(Duration::from_secs);
        // The same rules as every wallet's requests: the ledger trusts its clients no more than
        // they trust it.
        InvoiceRequest {
            amount_msat: body.amount_msat,
            memo: body.memo.clone(),
            description_hash,
            unhashed_description: None,
            expiry,
        }
        .validate()
        .map_err(Reject::from_wallet)?;
        let invoice = self.node.create_invoice(NewInvoice {
            amount_msat: body.amount_msat,
            memo: body.memo.unwrap_or_default(),
            description_hash,
            expiry,
            ..NewInvoice::default()
        })?;
        Ok(Answer {
            status: 201,
            body: json!({
                "payment_hash": invoice.payment_hash.to_hex(),
                "bolt11": invoice.bolt11,
                "expires_at": invoice.expires_at(),
            }),
        })
    }

    fn invoice(&self, request: &Request) -> Result<Answer, Reject> {
        let invoice = self.node.invoice(&queried_hash(request)?)?;
        Ok(Answer::ok(
            json!({ "invoice": invoice.as_ref().map(invoice_record) }),
        ))
    }

    fn payment(&self, request: &Request) -> Result<Answer, Reject> {
        let payment = self.node.payment(&queried_hash(request)?)?;
        Ok(Answer::ok(
            json!({ "payment": payment.as_ref().map(payment_record) }),
        ))
    }

    /// Pays, then waits up to `wait_ms` for the payment to be final. Every refusal with 400 comes
    /// before the node is asked to pay (client.rs reads them as "not sent"); what the node says
    /// after is 500 or 503, which proves nothing about the payment.
    async fn pay(&self, request: &Request) -> Result<Answer, Reject> {
        let body: PayBody = read_body(request)?;
        let invoice = Bolt11::parse(&body.bolt11).map_err(Reject::from_wallet)?;
        if body.amount_msat == 0
            || invoice
                .amount_msat()
                .is_some_and(|asked| asked != body.amount_msat)
        {
            return Err(Reject::invalid(
                "amount_msat",
                "must be positive, and the invoice's amount when it has one",
            ));
        }
        let outcome = self
            .node
            .pay(&invoice, body.amount_msat, body.max_fee_msat)
            .map_err(|err| {
                let (status, code) = match err {
                    FakeNodeError::Offline(_) => (503, "unavailable"),
                    _ => (500, "node_error"),
                };
                Reject::new(status, code, None, err.to_string())
            })?;
        let mut payment = outcome.payment().clone();
        let wait = Duration::from_millis(body.wait_ms).min(MAX_WAIT);
        if !payment.state.is_final() && !wait.is_zero() {
            // A restart of this server cuts the wait with the connection; the payment carries on
            // at the node either way.
            if let Ok(Some(latest)) = self
                .node
                .wait_for_payment(&invoice.payment_hash(), wait)
                .await
            {
                payment = latest;
            }
        }
        Ok(Answer::ok(json!({ "payment": payment_record(&payment) })))
    }

    fn cursor(&self) -> Result<Answer, Reject> {
        let settle_index = self.node.settled_count()?;
        Ok(Answer::ok(json!({ "settle_index": settle_index })))
    }

    /// The invoices settled after `after`, waiting up to `wait_ms` for the first.
    async fn paid(&self, request: &Request) -> Result<Answer, Reject> {
        let after = queried_number(request, "after", "cursor")?
            .ok_or_else(|| Reject::invalid("cursor", "after is required"))?;
        let mut wait =
            Duration::from_millis(queried_number(request, "wait_ms", "request")?.unwrap_or(0))
                .min(MAX_WAIT);
        // A client polling since another run of the ledger hears so at once, not after a wait
        // on a ledger that may stay quiet.
        if request.query("boot").is_some_and(|boot| boot != self.boot) {
            wait = Duration::ZERO;
        }
        // The node's own stream of settlements from `after`: it refuses a cursor ahead of the
        // node, delivers what settled since at once, then waits for the next.
        let mut settled = self.node.paid_invoices(Some(after))?;
        let mut paid = Vec::new();
        match tokio::time::timeout(wait, settled.next()).await {
            Ok(Some(Ok(invoice))) => paid.push(invoice),
            Ok(Some(Err(err))) => return Err(err.into()),
            // Nothing settled within the wait: an empty page, and the client polls again.
            Ok(None) | Err(_) => {}
        }
        // The rest of what settled already, without waiting for more.
        while !paid.is_empty() && paid.len() < MAX_PAGE {
            match settled.next().now_or_never() {
                Some(Some(Ok(invoice))) => paid.push(invoice),
                _ => break,
            }
        }
        let paid: Vec<Value> = paid.iter().filter_map(paid_record).collect();
        Ok(Answer::ok(json!({ "boot": self.boot, "paid": paid })))
    }
}

fn invoice_record(invoice: &InvoiceSnapshot) -> Value {
    let (state, received, paid_at, settle_index) = match invoice.state {
        FakeInvoiceState::Open => ("open", None, None, None),
        FakeInvoiceState::Accepted { amount_msat } => ("accepted", Some(amount_msat), None, None),
        FakeInvoiceState::Settled {
            amount_received_msat,
            settle_index,
            paid_at,
        } => (
            "settled",
            Some(amount_received_msat),
            Some(paid_at),
            Some(settle_index),
        ),
        FakeInvoiceState::Canceled => ("canceled", None, None, None),
        FakeInvoiceState::Expired => ("expired", None, None, None),
    };
    // The preimage of an invoice not paid yet is the secret that releases its money: only a
    // settled invoice shows it (contract rule 10).
    let preimage = settle_index
        .and(invoice.preimage)
        .map(|preimage| preimage.to_hex());
    json!({
        "payment_hash": invoice.payment_hash.to_hex(),
        "bolt11": invoice.bolt11,
        "state": state,
        "amount_msat": invoice.amount_msat,
        "amount_received_msat": received,
        "preimage": preimage,
        "paid_at": paid_at,
        "settle_index": settle_index,
        "expires_at": invoice.expires_at(),
    })
}

fn failure_code(reason: &FailureReason) -> &'static str {
    match reason {
        FailureReason::NoRoute => "no_route",
        FailureReason::InsufficientBalance => "insufficient_balance",
        FailureReason::IncorrectPaymentDetails => "incorrect_payment_details",
        FailureReason::Timeout => "timeout",
        FailureReason::Canceled => "canceled",
        FailureReason::Other(_) => "other",
    }
}

fn payment_record(payment: &PaymentSnapshot) -> Value {
    let attempts: Vec<Value> = payment
        .attempts
        .iter()
        .zip(1u64..)
        .map(|(attempt, index)| {
            let (state, fee_msat, preimage, failure, message) = match &attempt.state {
                FakePaymentState::InFlight => ("in_flight", attempt.fee_msat, None, None, None),
                FakePaymentState::Succeeded { preimage, fee_msat } => {
                    ("succeeded", *fee_msat, Some(preimage.to_hex()), None, None)
                }
                FakePaymentState::Failed { reason } => (
                    "failed",
                    attempt.fee_msat,
                    None,
                    Some(failure_code(reason)),
                    Some(reason.to_string()),
                ),
            };
            json!({
                "index": index,
                "state": state,
                "fee_msat": fee_msat,
                "preimage": preimage,
                "failure": failure,
                "message": message,
                "started_at": attempt.started_at,
            })
        })
        .collect();
    json!({
        "payment_hash": payment.payment_hash.to_hex(),
        "amount_msat": payment.amount_msat,
        "attempts": attempts,
    })
}

fn paid_record(invoice: &InvoiceSnapshot) -> Option<Value> {
    match invoice.state {
        FakeInvoiceState::Settled {
            amount_received_msat,
            settle_index,
            paid_at,
        } => Some(json!({
            "payment_hash": invoice.payment_hash.to_hex(),
            "amount_received_msat": amount_received_msat,
            "paid_at": paid_at,
            "settle_index": settle_index,
        })),
        _ => None,
    }
}
