//! What the LNbits backend makes of a hostile or broken server: a scripted HTTP server on
//! loopback answers as a compromised LNbits or a proxy might. No redirect is followed (the admin
//! key never leaves for another host), replies are capped, server text is cut and stripped of
//! control characters, a negative balance is an error, and the admin key never goes into a URL;
//! a path LNbits does not serve names `LNBITS_ENDPOINT`, a refused websocket ends the stream with
//! an error the supervisor stops on, and half an answer says it did not finish in time.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use hostile_input::http::answer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wallet_core::{InvoiceRequest, PayInvoiceRequest, Wallet, WalletError};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};

const ADMIN_KEY: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const INVOICE_KEY: &str = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";

/// A request as the scripted server saw it: its first line and its headers.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    head: String,
}

type Script = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// An HTTP server on loopback answering each request with `script(request line)`, keeping
/// what it saw.
struct Scripted {
    address: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    async fn start(script: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let script = Arc::clone(&script);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let Some(request) = hostile_input::http::read_request(&mut socket).await else {
                        return;
                    };
                    let line = request.line().to_owned();
                    log.lock().unwrap().push(Seen {
                        line: line.clone(),
                        head: request.head.clone(),
                    });
                    let _ = socket.write_all(&script(&line)).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { address, seen }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn json(status: &str, body: serde_json::Value) -> Vec<u8> {
    answer(status, "", body.to_string().as_bytes())
}

fn wallet(endpoint: &str, admin: Option<&str>, invoice: Option<&str>) -> LnbitsWallet {
    let config =
        LnbitsConfig::new(endpoint, admin.map(Into::into), invoice.map(Into::into)).unwrap();
    LnbitsWallet::new(config).unwrap()
}

async fn an_invoice() -> String {
    let payee = FakeWallet::new(
        FakeNetwork::new()
            .add_node(NodeConfig::new("payee"))
            .unwrap(),
    );
    payee
        .create_invoice(InvoiceRequest::new(5_000))
        .await
        .unwrap()
        .payment_request
}

#[tokio::test]
async fn a_redirect_is_never_followed_so_the_admin_key_never_reaches_another_host() {
    let elsewhere = Scripted::start(|_| json("201 Created", serde_json::json!({}))).await;
    let target = format!("{}/api/v1/payments", elsewhere.endpoint());
    let server = Scripted::start(move |line| {
        if line.starts_with("GET /api/v1/payments/paginated") {
            json("200 OK", serde_json::json!({"data": [], "total": 0}))
        } else if line.starts_with("GET /api/v1/payments/fee-reserve") {
            json("200 OK", serde_json::json!({"fee_reserve": 2_000}))
        } else {
            answer(
                "307 Temporary Redirect",
                &format!("location: {target}\r\n"),
                b"",
            )
        }
    })
    .await;
    let wallet = wallet(&server.endpoint(), Some(ADMIN_KEY), Some(INVOICE_KEY));
    let paid = wallet
        .pay_invoice(PayInvoiceRequest::new(an_invoice().await, 10_000))
        .await;
    let err = paid.expect_err("a redirected payment was not sent");
    assert!(err.to_string().contains("redirect"), "{err}");
    let status = wallet.status().await.expect_err("a redirect is no balance");
    assert!(status.to_string().contains("redirect"), "{status}");
    assert!(
        elsewhere.seen().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.seen()
    );
}

#[tokio::test]
async fn a_reply_larger_than_the_cap_is_not_read() {
    let huge = vec![b' '; 6 * 1024 * 1024];
    let server = Scripted::start(move |_| answer("200 OK", "", &huge)).await;
    let status = wallet(&server.endpoint(), Some(ADMIN_KEY), None)
        .status()
        .await
        .expect_err("a 6 MiB reply");
    assert!(
        status.to_string().contains("LNBITS_MAX_REPLY_BYTES"),
        "{status}"
    );
}

#[tokio::test]
async fn server_text_is_cut_and_stripped_of_control_characters() {
    let mut detail = "\u{1b}[2J\u{1b}[H\u{1b}[32mPAYMENT SUCCEEDED\u{7}\r".to_owned();
    detail.push_str(&"x".repeat(100_000));
    let server =
        Scripted::start(move |_| json("400 Bad Request", serde_json::json!({ "detail": detail })))
            .await;
    let err = wallet(&server.endpoint(), Some(ADMIN_KEY), None)
        .status()
        .await
        .expect_err("a 400");
    let shown = err.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.len() < 1_000, "{} bytes", shown.len());
}

#[tokio::test]
async fn a_negative_or_unreadable_balance_is_an_error_not_zero() {
    for balance in [
        serde_json::json!(-5),
        serde_json::json!(null),
        serde_json::json!(1.5),
        serde_json::json!("1000"),
        serde_json::json!(i64::MAX),
    ] {
        let body = serde_json::json!({"name": "w", "balance": balance});
        let server = Scripted::start(move |_| json("200 OK", body.clone())).await;
        let status = wallet(&server.endpoint(), Some(ADMIN_KEY), None)
            .status()
            .await;
        assert!(status.is_err(), "balance {balance}: {status:?}");
    }
}

#[tokio::test]
async fn the_stream_never_puts_the_admin_key_in_a_url() {
    let server = Scripted::start(|line| {
        if line.contains("/paginated") {
            json("200 OK", serde_json::json!({"data": [], "total": 0}))
        } else {
            answer("404 Not Found", "", b"{}")
        }
    })
    .await;
    let wallet = wallet(&server.endpoint(), Some(ADMIN_KEY), None);
    let opened = wallet.paid_invoices_stream(None).await;
    match opened {
        Err(WalletError::InvalidRequest { field, .. }) => assert_eq!(field, "LNBITS_INVOICE_KEY"),
        Err(other) => panic!("expected a refusal naming LNBITS_INVOICE_KEY, got {other:?}"),
        Ok(_) => panic!("a stream opened with the admin key alone"),
    }
    for seen in server.seen() {
        assert!(!seen.line.contains(ADMIN_KEY), "{}", seen.line);
    }
    // The key goes in a header, where it belongs.
    let _ = wallet.status().await;
    assert!(
        server
            .seen()
            .iter()
            .all(|seen| !seen.line.contains(ADMIN_KEY) && seen.head.contains(ADMIN_KEY))
    );
}

#[tokio::test]
async fn an_invoice_without_the_requested_description_hash_is_refused() {
    let payee = FakeWallet::new(
        FakeNetwork::new()
            .add_node(NodeConfig::new("issuer"))
            .unwrap(),
    );
    let plain = payee
        .create_invoice(InvoiceRequest::new(5_000).memo("no hash here"))
        .await
        .unwrap();
    let record = serde_json::json!({
        "payment_hash": plain.checking_id.to_hex(),
        "amount": 5_000,
        "bolt11": plain.payment_request,
        "status": "pending",
    });
    let server = Scripted::start(move |_| json("201 Created", record.clone())).await;
    let request =
        InvoiceRequest::new(5_000).unhashed_description(b"[[\"text/plain\",\"x\"]]".to_vec());
    let created = wallet(&server.endpoint(), Some(ADMIN_KEY), Some(INVOICE_KEY))
        .create_invoice(request)
        .await;
    assert!(created.is_err(), "{created:?}");
}

#[tokio::test]
async fn a_refused_connection_keeps_the_transport_error_as_its_cause() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = wallet(&endpoint, Some(ADMIN_KEY), None)
        .status()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "backend unavailable: cannot connect to LNbits"
    );
    let causes = wallet_core::chain_texts(&err);
    assert!(
        causes.len() > 2
            && causes
                .iter()
                .skip(1)
                .any(|cause| cause.to_lowercase().contains("refused")),
        "the cause was dropped: {causes:?}"
    );
}

#[tokio::test]
async fn a_path_lnbits_does_not_serve_names_the_endpoint_setting() {
    // FastAPI answers a path it does not serve with {"detail": "Not Found"} (or nothing).
    for body in [
        serde_json::json!({"detail": "Not Found"}),
        serde_json::json!({}),
    ] {
        let server = Scripted::start(move |_| json("404 Not Found", body.clone())).await;
        let err = wallet(&server.endpoint(), Some(ADMIN_KEY), None)
            .status()
            .await
            .expect_err("a 404");
        let shown = err.to_string();
        assert!(matches!(err, WalletError::NotFound(_)), "{err:?}");
        assert!(shown.contains("LNBITS_ENDPOINT"), "{shown}");
        assert!(!shown.contains("Not Found not found"), "{shown}");
    }
}

#[tokio::test]
async fn a_refused_websocket_ends_the_stream_with_the_refusal_the_supervisor_stops_on() {
    for (status, unauthorized) in [
        ("401 Unauthorized", true),
        ("403 Forbidden", true),
        ("404 Not Found", false),
    ] {
        let server = Scripted::start(move |line| {
            if line.contains("/paginated") {
                json("200 OK", serde_json::json!({"data": [], "total": 0}))
            } else {
                answer(status, "", b"")
            }
        })
        .await;
        let wallet = wallet(&server.endpoint(), Some(ADMIN_KEY), Some(INVOICE_KEY));
        let err = match wallet.paid_invoices_stream(None).await {
            Err(err) => err,
            Ok(mut stream) => {
                let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
                    .await
                    .expect("the stream said nothing");
                first
                    .expect("the stream ended silently")
                    .expect_err("a refused websocket delivered an item")
            }
        };
        if unauthorized {
            assert!(
                matches!(err, WalletError::Unauthorized(_)),
                "{status}: {err:?}"
            );
        } else {
            assert!(matches!(err, WalletError::NotFound(_)), "{status}: {err:?}");
        }
        assert!(
            err.is_permanent(),
            "{status}: the supervisor would retry {err:?}"
        );
        assert!(!err.to_string().contains(INVOICE_KEY), "{err}");
    }
}

#[tokio::test]
async fn an_answer_that_stalls_after_its_headers_says_it_did_not_finish_in_time() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = hostile_input::http::read_request(&mut socket).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            content-length: 100\r\n\r\n{\"balance\": ";
                let _ = socket.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let mut config = LnbitsConfig::new(&endpoint, Some(ADMIN_KEY.into()), None).unwrap();
    config.request_timeout = Duration::from_secs(1);
    let err = LnbitsWallet::new(config)
        .unwrap()
        .status()
        .await
        .expect_err("half an answer");
    let shown = wallet_core::describe_chain(&err);
    assert!(
        shown.contains("did not finish its answer in time"),
        "{shown}"
    );
    assert!(!shown.contains("error decoding"), "{shown}");
}
