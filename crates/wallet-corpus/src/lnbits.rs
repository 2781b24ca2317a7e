//! LNbits: every HTTP request `wallet-lnbits` makes, answered by a scripted LNbits on loopback.
//! Each request gets an ordinary LNbits answer unless the case scripts a bad one for it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wallet_core::{InvoiceRequest, Wallet};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};

use hostile_input::http;

use crate::Runnable;
use crate::case::{Class, Expect, Observed, Row, Table};
use crate::ops::{Op, Targets};
use crate::shapes::{REPAINT, spoiled};

const ADMIN_KEY: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const INVOICE_KEY: &str = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";

/// The requests `wallet-lnbits` makes, as the scripted server tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Route {
    Wallet,
    CreateInvoice,
    CreateHoldInvoice,
    Pay,
    FeeReserve,
    /// `GET /api/v1/payments/paginated?payment_hash=…`
    RecordsOfHash,
    /// `GET /api/v1/payments/paginated?status=success…`: paid invoices, newest first.
    PaidInvoices,
    /// `GET /api/v1/payments/paginated?status=pending…`: the pending re-check.
    PendingRecheck,
    Settle,
    Cancel,
    Websocket,
    Other,
}

impl Route {
    fn of(method: &str, target: &str, body: &str) -> Self {
        let path = target.split('?').next().unwrap_or_default();
        match (method, path) {
            ("GET", "/api/v1/wallet") => Self::Wallet,
            ("GET", "/api/v1/payments/fee-reserve") => Self::FeeReserve,
            ("GET", "/api/v1/payments/paginated") if target.contains("payment_hash=") => {
                Self::RecordsOfHash
            }
            ("GET", "/api/v1/payments/paginated") if target.contains("status=success") => {
                Self::PaidInvoices
            }
            ("GET", "/api/v1/payments/paginated") => Self::PendingRecheck,
            ("POST", "/api/v1/payments/settle") => Self::Settle,
            ("POST", "/api/v1/payments/cancel") => Self::Cancel,
            ("POST", "/api/v1/payments") if body.contains("\"out\":true") => Self::Pay,
            ("POST", "/api/v1/payments") if body.contains("payment_hash") => {
                Self::CreateHoldInvoice
            }
            ("POST", "/api/v1/payments") => Self::CreateInvoice,
            ("GET", ws) if ws.starts_with("/api/v1/ws/") => Self::Websocket,
            _ => Self::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Wallet => "GET /api/v1/wallet",
            Self::CreateInvoice => "POST /api/v1/payments (invoice)",
            Self::CreateHoldInvoice => "POST /api/v1/payments (hold invoice)",
            Self::Pay => "POST /api/v1/payments (pay)",
            Self::FeeReserve => "GET /api/v1/payments/fee-reserve",
            Self::RecordsOfHash => "GET /api/v1/payments/paginated?payment_hash",
            Self::PaidInvoices => "GET /api/v1/payments/paginated?status=success",
            Self::PendingRecheck => "GET /api/v1/payments/paginated?status=pending",
            Self::Settle => "POST /api/v1/payments/settle",
            Self::Cancel => "POST /api/v1/payments/cancel",
            Self::Websocket => "GET /api/v1/ws/<key>",
            Self::Other => "other",
        }
    }
}

/// A scripted answer.
#[derive(Clone, Debug)]
enum Answer {
    /// An HTTP answer with this status line and JSON body.
    Json(&'static str, Value),
    /// These bytes as the whole answer.
    Raw(Vec<u8>),
    /// No answer; the connection stays open.
    Silence,
    /// The connection closes once the request was read.
    Close,
}

/// What the ordinary answers are about.
#[derive(Clone, Debug)]
struct World {
    targets: Targets,
    /// An invoice for 21 sat with the memo "corpus", as LNbits' node would issue it.
    invoice: wallet_core::InvoiceResponse,
    /// The hold invoice for `targets.hold_request()`.
    hold_invoice: wallet_core::InvoiceResponse,
}

const TIME: &str = "2026-11-29T04:25:09.829568+00:00";

fn record(hash: &str, bolt11: &str, amount: i64, status: &str, preimage: &str) -> Value {
    json!({"checking_id": hash, "payment_hash": hash, "bolt11": bolt11, "amount": amount,
        "fee": 0, "status": status, "memo": "corpus", "preimage": preimage, "time": TIME,
        "created_at": TIME, "updated_at": TIME, "expiry": "2026-11-29T05:25:09", "labels": [],
        "extra": {}, "wallet_id": "corpus"})
}

impl World {
    /// The ordinary answer to `route`.
    fn ordinary(&self, route: Route) -> Answer {
        Answer::Json("200 OK", self.shape(route))
    }

    /// A well-formed answer to `route` with something in it: what the spoiling classes spoil.
    fn shape(&self, route: Route) -> Value {
        let targets = &self.targets;
        match route {
            Route::Wallet => json!({"id": "corpus", "name": "corpus", "balance": 100_000}),
            Route::CreateInvoice => record(
                &self.invoice.checking_id.to_hex(),
                &self.invoice.payment_request,
                21_000,
                "pending",
                &"00".repeat(32),
            ),
            Route::CreateHoldInvoice => record(
                &self.hold_invoice.checking_id.to_hex(),
                &self.hold_invoice.payment_request,
                21_000,
                "pending",
                &"00".repeat(32),
            ),
            Route::Pay => record(
                &targets.payable_hash.to_hex(),
                &targets.payable,
                -10_000,
                "pending",
                &"00".repeat(32),
            ),
            Route::FeeReserve => json!({"fee_reserve": 1_000}),
            Route::RecordsOfHash | Route::PaidInvoices | Route::PendingRecheck => {
                json!({"data": [], "total": 0})
            }
            Route::Settle | Route::Cancel => json!([true, null, null, null]),
            Route::Websocket | Route::Other => json!({"detail": "Not Found"}),
        }
    }

    /// A well-formed answer claiming the most it can: the records say paid, with preimages that
    /// hash right, so that what the spoiling breaks is the spoiled field.
    fn claiming(&self, route: Route, op: Op) -> Value {
        let targets = &self.targets;
        match (route, op) {
            (Route::RecordsOfHash, Op::InvoiceStatus) | (Route::PaidInvoices, _) => {
                json!({"data": [record(&targets.own_invoice.to_hex(), &targets.payable, 21_000,
                    "success", &targets.own_preimage.to_hex())], "total": 1})
            }
            (Route::RecordsOfHash, _) => {
                json!({"data": [record(&targets.payable_hash.to_hex(), &targets.payable, -10_000,
                    "success", &targets.payable_preimage_hex())], "total": 1})
            }
            (Route::Pay, _) => record(
                &targets.payable_hash.to_hex(),
                &targets.payable,
                -10_000,
                "success",
                &targets.payable_preimage_hex(),
            ),
            _ => self.shape(route),
        }
    }
}

/// A scripted LNbits on loopback.
struct Server {
    address: std::net::SocketAddr,
    scripts: Arc<Mutex<HashMap<Route, VecDeque<Answer>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(world: Arc<World>) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| err.to_string())?;
        let address = listener.local_addr().map_err(|err| err.to_string())?;
        let scripts: Arc<Mutex<HashMap<Route, VecDeque<Answer>>>> = Arc::default();
        let shared = Arc::clone(&scripts);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                let world = Arc::clone(&world);
                let scripts = Arc::clone(&shared);
                held.push(tokio::spawn(serve(socket, world, scripts)));
            }
        });
        Ok(Self {
            address,
            scripts,
            task,
        })
    }

    fn script(&self, route: Route, answer: Answer) {
        self.scripts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route)
            .or_default()
            .push_back(answer);
    }
}

async fn serve(
    mut socket: TcpStream,
    world: Arc<World>,
    scripts: Arc<Mutex<HashMap<Route, VecDeque<Answer>>>>,
) {
    let Some(request) = http::read_request(&mut socket).await else {
        return;
    };
    let mut words = request.line().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let body: String = String::from_utf8_lossy(&request.body)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let route = Route::of(method, target, &body);
    let scripted = scripts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_mut(&route)
        .and_then(VecDeque::pop_front);
    let answer = match scripted {
        Some(answer) => answer,
        None if route == Route::Websocket => {
            let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(
                request
                    .header("sec-websocket-key")
                    .unwrap_or_default()
                    .as_bytes(),
            );
            let upgrade = format!(
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {accept}\r\n\r\n"
            );
            let _ = socket.write_all(upgrade.as_bytes()).await;
            // A websocket that says nothing: the catch-up and the re-check do the work.
            let mut sink = [0u8; 1024];
            while matches!(socket.read(&mut sink).await, Ok(1..)) {}
            return;
        }
        None => world.ordinary(route),
    };
    match answer {
        Answer::Json(status, body) => {
            let _ = socket
                .write_all(&http::answer(status, "", body.to_string().as_bytes()))
                .await;
        }
        Answer::Raw(bytes) => {
            let _ = socket.write_all(&bytes).await;
        }
        Answer::Silence => {
            let mut sink = [0u8; 1024];
            while matches!(socket.read(&mut sink).await, Ok(1..)) {}
            return;
        }
        Answer::Close => {}
    }
    let _ = socket.shutdown().await;
}

/// A request `wallet-lnbits` makes, in the wallet call that makes it.
struct Request {
    op: Op,
    route: Route,
    dispatch: bool,
}

const REQUESTS: &[Request] = &[
    Request {
        op: Op::Status,
        route: Route::Wallet,
        dispatch: false,
    },
    Request {
        op: Op::CreateInvoice,
        route: Route::CreateInvoice,
        dispatch: false,
    },
    Request {
        op: Op::InvoiceStatus,
        route: Route::RecordsOfHash,
        dispatch: false,
    },
    Request {
        op: Op::Pay,
        route: Route::FeeReserve,
        dispatch: false,
    },
    Request {
        op: Op::Pay,
        route: Route::RecordsOfHash,
        dispatch: false,
    },
    Request {
        op: Op::Pay,
        route: Route::Pay,
        dispatch: true,
    },
    Request {
        op: Op::PaymentStatus,
        route: Route::RecordsOfHash,
        dispatch: false,
    },
    Request {
        op: Op::Cursor,
        route: Route::PaidInvoices,
        dispatch: false,
    },
    Request {
        op: Op::Stream,
        route: Route::Websocket,
        dispatch: false,
    },
    Request {
        op: Op::Stream,
        route: Route::PaidInvoices,
        dispatch: false,
    },
    Request {
        op: Op::HoldInvoice,
        route: Route::CreateHoldInvoice,
        dispatch: false,
    },
    Request {
        op: Op::SettleHold,
        route: Route::Settle,
        dispatch: false,
    },
    Request {
        op: Op::CancelHold,
        route: Route::Cancel,
        dispatch: false,
    },
];

/// HTTP's error classes, as LNbits sends them (520: its funding source failed).
const NODE_ERRORS: &[(&str, &str)] = &[
    ("400", "400 Bad Request"),
    ("401", "401 Unauthorized"),
    ("403", "403 Forbidden"),
    ("404", "404 Not Found"),
    ("405", "405 Method Not Allowed"),
    ("413", "413 Payload Too Large"),
    ("422", "422 Unprocessable Entity"),
    ("429", "429 Too Many Requests"),
    ("500", "500 Internal Server Error"),
    ("502", "502 Bad Gateway"),
    ("503", "503 Service Unavailable"),
    ("504", "504 Gateway Timeout"),
    ("520", "520 Unknown"),
];

fn answer(world: &World, request: &Request, class: Class) -> Answer {
    match class {
        Class::Garbage => Answer::Raw(http::answer("200 OK", "", b"<html>\x00\xffnot json")),
        Class::Truncated => Answer::Raw(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n{\"data\": [{\"pay"
                .to_vec(),
        ),
        Class::HugeBody => {
            let mut body = br#"{"detail": ""#.to_vec();
            body.resize(body.len() + 6 * 1024 * 1024, b'a');
            body.extend_from_slice(b"\"}");
            Answer::Raw(http::answer("200 OK", "", &body))
        }
        Class::ControlCharacters => Answer::Json(
            "500 Internal Server Error",
            json!({"detail": format!("{REPAINT} scripted failure")}),
        ),
        Class::NodeError(name) => Answer::Json(
            NODE_ERRORS
                .iter()
                .find(|(known, _)| *known == name)
                .map_or("500 Internal Server Error", |(_, status)| *status),
            json!({"detail": "scripted failure"}),
        ),
        Class::Redirect => Answer::Raw(http::answer(
            "307 Temporary Redirect",
            "location: http://127.0.0.1:9/api/v1/payments\r\n",
            b"{}",
        )),
        Class::Silence => Answer::Silence,
        Class::Closed | Class::EarlierFailure => Answer::Close,
        shaped => Answer::Json(
            if request.route == Route::Pay || request.route == Route::CreateInvoice {
                "201 Created"
            } else {
                "200 OK"
            },
            spoiled(&world.claiming(request.route, request.op), shaped),
        ),
    }
}

fn expect(request: &Request, class: Class) -> Expect {
    // Says what was wrong with the answer.
    let source: &'static [&'static str] = &[
        "unreadable",
        "unexpected body",
        "another",
        "without",
        "past",
        "expected",
        "reported",
    ];
    let cause: &'static [&'static str] = match class {
        Class::Garbage => &["unexpected body", "unreadable", "invalid type"],
        Class::Truncated => &["reading LNbits' answer failed", "did not answer"],
        Class::Closed => &["connection closed", "request to LNbits failed"],
        Class::HugeBody => &["LNBITS_MAX_REPLY_BYTES"],
        Class::Silence => &["did not answer", "in time"],
        Class::ControlCharacters | Class::NodeError(_) => &["scripted failure", "rate limited"],
        Class::Redirect => &["redirect"],
        _ => source,
    };
    match request.op {
        // LNbits' refusals before it records a payment (bad request, key, wallet, rate limit, a
        // redirect); after anything else LNbits records the payment (scripted), so it is pending.
        Op::Pay if request.dispatch => match class {
            Class::NodeError("400" | "401" | "403" | "404" | "422" | "429") => {
                Expect::NotSentOrPending(&["scripted failure", "LNbits", "rate limited"])
            }
            Class::Redirect => Expect::NotSentOrPending(&["redirect"]),
            _ => Expect::Pending,
        },
        // Rule 2: a node that cannot say what it has in flight leaves the payment pending.
        Op::Pay if request.route == Route::RecordsOfHash => match class {
            Class::NodeError(_) | Class::Redirect => Expect::NotSentOrPending(&[
                "scripted failure",
                "LNbits",
                "redirect",
                "rate limited",
            ]),
            _ => Expect::Pending,
        },
        Op::Pay => Expect::NeverFailed,
        // The websocket's opening answer is read by its headers only.
        Op::Stream if request.route == Route::Websocket && class != Class::Silence => {
            Expect::NoClaim(&["LNbits", "websocket"])
        }
        Op::Stream if class == Class::OtherHash => Expect::WorksOrError(source),
        Op::InvoiceStatus | Op::PaymentStatus | Op::Stream => Expect::NoClaim(cause),
        Op::SettleHold | Op::CancelHold if class.keeps_shape() => Expect::WorksOrError(source),
        // The invoice is read from its BOLT11, checked against the request; the record's numbers
        // and hashes are not used.
        Op::CreateInvoice | Op::HoldInvoice
            if matches!(class, Class::HugeNumbers | Class::NegativeNumbers) =>
        {
            Expect::WorksOrError(source)
        }
        Op::Status | Op::Cursor if class == Class::OtherHash => Expect::WorksOrError(source),
        _ => Expect::Error(cause),
    }
}

/// Every LNbits case.
pub(crate) fn cases() -> Vec<Runnable> {
    Table {
        backend: "lnbits",
        requests: REQUESTS,
        row: |request| Row {
            request: format!("{:?} {}", request.op, request.route.name()),
            op: request.op,
            dispatch: request.dispatch,
        },
        node_errors: NODE_ERRORS.iter().map(|(name, _)| *name).collect(),
        redirects: true,
        expect,
    }
    .cases(|index, class| Box::pin(run(index, class)))
}

fn earlier_failure(world: &World) -> Answer {
    let targets = &world.targets;
    let mut failed = record(
        &targets.payable_hash.to_hex(),
        &targets.payable,
        -10_000,
        "failed",
        &"00".repeat(32),
    );
    failed["time"] = json!("2020-09-13T12:26:40+00:00");
    failed["created_at"] = json!("2020-09-13T12:26:40+00:00");
    failed["updated_at"] = json!("2020-09-13T12:26:40+00:00");
    Answer::Json("200 OK", json!({"data": [failed], "total": 1}))
}

async fn run(index: usize, class: Class) -> Result<(Observed, Vec<String>), String> {
    let request = REQUESTS.get(index).ok_or("no such request")?;
    let network = FakeNetwork::new();
    let issuer = FakeWallet::new(
        network
            .add_node(NodeConfig::new("lnbits-node"))
            .map_err(|err| err.to_string())?,
    );
    let payee = FakeWallet::new(
        network
            .add_node(NodeConfig::new("payee"))
            .map_err(|err| err.to_string())?,
    );
    let targets = Targets::new(&payee).await?;
    let invoice = issuer
        .create_invoice(InvoiceRequest::new(21_000).memo("corpus"))
        .await
        .map_err(|err| err.to_string())?;
    let hold_invoice = issuer
        .create_hold_invoice(targets.hold_request())
        .await
        .map_err(|err| err.to_string())?;
    let world = Arc::new(World {
        targets: targets.clone(),
        invoice,
        hold_invoice,
    });
    let server = Server::start(Arc::clone(&world)).await?;
    let mut config = LnbitsConfig::new(
        &format!("http://{}", server.address),
        Some(ADMIN_KEY.into()),
        Some(INVOICE_KEY.into()),
    )
    .map_err(|err| err.to_string())?;
    config.request_timeout = Duration::from_secs(1);
    config.hold_invoices = true;
    let wallet: Arc<dyn Wallet> =
        Arc::new(LnbitsWallet::new(config).map_err(|err| err.to_string())?);
    if request.dispatch && matches!(class, Class::NodeError(_) | Class::ControlCharacters) {
        // Nothing before; the error; then the payment LNbits recorded anyway.
        server.script(
            Route::RecordsOfHash,
            Answer::Json("200 OK", json!({"data": [], "total": 0})),
        );
        server.script(request.route, answer(&world, request, class));
        let mut pending = record(
            &targets.payable_hash.to_hex(),
            &targets.payable,
            -10_000,
            "pending",
            &"00".repeat(32),
        );
        pending["updated_at"] = json!("2099-01-01T00:00:00+00:00");
        for _ in 0..64 {
            server.script(
                Route::RecordsOfHash,
                Answer::Json("200 OK", json!({"data": [pending.clone()], "total": 1})),
            );
        }
    } else if class == Class::EarlierFailure {
        server.script(Route::RecordsOfHash, earlier_failure(&world));
        server.script(Route::Pay, Answer::Close);
        for _ in 0..64 {
            server.script(Route::RecordsOfHash, earlier_failure(&world));
        }
    } else {
        server.script(request.route, answer(&world, request, class));
    }
    let observed = crate::ops::run(wallet, request.op, &targets).await;
    let mut secrets = targets.secrets();
    secrets.extend([ADMIN_KEY.to_owned(), INVOICE_KEY.to_owned()]);
    Ok((observed, secrets))
}

/// Well-formed answers to the calls the fuzz harness scripts, each claiming what it can: its
/// seeds (a status byte of 0, "200 OK", then the body).
pub(crate) fn fuzz_seeds(targets: &Targets) -> Vec<(Op, Vec<u8>)> {
    let invoice = wallet_core::InvoiceResponse {
        checking_id: targets.payable_hash,
        payment_request: targets.payable.clone(),
        expires_at: 4_102_444_800,
    };
    let world = World {
        targets: targets.clone(),
        invoice: invoice.clone(),
        hold_invoice: invoice,
    };
    REQUESTS
        .iter()
        .filter(|request| !request.dispatch)
        .map(|request| {
            let body = world.claiming(request.route, request.op).to_string();
            (request.op, [&[0], body.as_bytes()].concat())
        })
        .collect()
}
