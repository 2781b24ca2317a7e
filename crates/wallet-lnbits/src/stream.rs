//! The paid-invoice stream: LNbits' websocket as a hint, its REST API as the truth.
//!
//! LNbits pushes every change of a wallet to `/api/v1/ws/{key}`: outgoing payments and admin
//! top-ups too, each event about twice, and any text anyone sends to the channel. It keeps no
//! cursor and replays nothing. So:
//!
//! 1. connect the websocket first, so nothing paid from now on is missed;
//! 2. ask LNbits to re-check pending invoices, then read the paid invoices changed after the
//!    cursor (newest first, until the cursor) and deliver them oldest first;
//! 3. take each websocket message as a hint: parse it defensively, keep settled incoming
//!    payments, drop duplicates, confirm over REST, deliver;
//! 4. every 15 s, ask LNbits to re-check pending invoices and deliver what became paid: LNbits
//!    misses payments its node settled while LNbits was reconnecting to it, and marks them paid
//!    only when asked, without a websocket event;
//! 5. end with an error when the socket closes, fails or falls silent, and let the supervisor
//!    reconnect and resume.
//!
//! The cursor is the paid invoice's last-change time in microseconds and its hash, which orders
//! them as LNbits does; it survives restarts of both sides.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use wallet_core::amount::reported_msat;
use wallet_core::untrusted::MAX_CATCH_UP_RECORDS;
use wallet_core::{Cause, PaidInvoice, PaidInvoiceStream, PaymentHash, StreamCursor, WalletError};

use crate::api::{PAGE, PaymentRecord, Side, TOP_UP_MEMO};
use crate::wallet::Inner;
use crate::websocket::{OpenFailure, Socket};

/// How often we ping, so that a dead connection shows.
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long the socket may stay silent (uvicorn itself pings every 20 s).
const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// How often, while connected, the stream asks LNbits to re-check this wallet's pending invoices
/// with its node and reads what became paid. LNbits' own subscription to its node breaks when the
/// node restarts, and on its return asks for nothing it missed: an invoice paid in that gap stays
/// pending in LNbits, with no websocket event, until someone asks (contract rule 7).
const RECHECK_EVERY: Duration = Duration::from_secs(15);
/// How far before the newest delivered invoice a re-check reads. An invoice LNbits marks paid late
/// takes the time of marking as its position, so this only has to cover clock steps.
const RECHECK_WINDOW_MICROS: i64 = 600_000_000;
/// Hashes remembered per connection to skip LNbits' repeated events.
const SEEN_CAPACITY: usize = 4_096;

/// Where a paid invoice stands in LNbits' order: last change, then hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    micros: i64,
    hash: PaymentHash,
}

impl Position {
    /// The first position at `micros`: before every paid invoice of that time.
    const fn at(micros: i64) -> Self {
        Self {
            micros,
            hash: PaymentHash::from_bytes([0; 32]),
        }
    }

    fn of(record: &PaymentRecord) -> Option<Self> {
        Some(Self {
            micros: record.updated_micros()?,
            hash: record.hash()?,
        })
    }

    fn cursor(&self) -> StreamCursor {
        StreamCursor::new(format!("lnbits:{}:{}", self.micros, self.hash))
    }

    fn parse(cursor: &StreamCursor) -> Result<Self, WalletError> {
        let invalid = || {
            WalletError::invalid(
                "cursor",
                format!("{:?} is not a cursor of an LNbits stream", cursor.as_str()),
            )
        };
        let mut parts = cursor.as_str().splitn(3, ':');
        if parts.next() != Some("lnbits") {
            return Err(invalid());
        }
        let micros = parts
            .next()
            .and_then(|text| text.parse().ok())
            .ok_or_else(invalid)?;
        let hash = parts
            .next()
            .and_then(|text| PaymentHash::from_hex(text).ok())
            .ok_or_else(invalid)?;
        Ok(Self { micros, hash })
    }
}

/// Where a paid record stands; one whose time or hash cannot be read ends the stream with an
/// error (skipping it would lose it once a later one moves the cursor past it: contract rule 7).
fn position(record: &PaymentRecord) -> Result<Position, WalletError> {
    Position::of(record).ok_or_else(|| {
        WalletError::backend(
            None,
            "LNbits listed a paid invoice without a readable time or hash",
        )
    })
}

fn paid_invoice(record: &PaymentRecord) -> Result<PaidInvoice, WalletError> {
    let position = position(record)?;
    Ok(PaidInvoice {
        payment_hash: position.hash,
        amount_received_msat: reported_msat(record.amount, "an amount received")?,
        paid_at: u64::try_from(position.micros / 1_000_000).map_err(|_| {
            WalletError::backend(None, "LNbits listed a paid invoice paid before 1970")
        })?,
        cursor: position.cursor(),
    })
}

struct Listener {
    inner: Arc<Inner>,
    socket: Socket,
    backlog: VecDeque<PaidInvoice>,
    /// Paid invoices at or before this position were paid before the stream started.
    start: Option<Position>,
    /// The newest position delivered or queued.
    newest: Option<Position>,
    /// When to re-check pending invoices next.
    next_recheck: Instant,
    seen: HashSet<PaymentHash>,
    seen_order: VecDeque<PaymentHash>,
    last_frame: Instant,
    ended: bool,
}

/// The cursor of "now": the newest paid invoice's position, or the beginning when there is none.
pub(crate) async fn now(inner: &Inner) -> Result<StreamCursor, WalletError> {
    let (_, newest) = paid_after(inner, None).await?;
    let start = newest.unwrap_or(Position::at(0));
    Ok(start.cursor())
}

/// Connects, catches up, and returns the live stream.
pub(crate) async fn open(
    inner: Arc<Inner>,
    resume_from: Option<StreamCursor>,
) -> Result<PaidInvoiceStream, WalletError> {
    let resume = resume_from.as_ref().map(Position::parse).transpose()?;
    let socket = connect(&inner).await?;
    let deadline = inner.config.request_timeout;
    let key = inner.config.read_key();
    inner.api.recheck_pending_invoices(key, deadline).await?;
    let (backlog, newest) = paid_after(&inner, resume).await?;
    let start = resume.or(newest);
    let listener = Listener {
        start,
        newest: backlog.iter().filter_map(Position::of).max().max(start),
        next_recheck: Instant::now() + RECHECK_EVERY,
        backlog: backlog.iter().map(paid_invoice).collect::<Result<_, _>>()?,
        seen: backlog.iter().filter_map(PaymentRecord::hash).collect(),
        seen_order: backlog.iter().filter_map(PaymentRecord::hash).collect(),
        inner,
        socket,
        last_frame: Instant::now(),
        ended: false,
    };
    Ok(futures::stream::unfold(listener, Listener::next).boxed())
}

async fn connect(inner: &Inner) -> Result<Socket, WalletError> {
    // LNbits' websocket takes the key in its URL path, which proxies log: never the admin key.
    let key = inner
        .config
        .invoice_key
        .as_ref()
        .ok_or_else(|| {
            WalletError::invalid(
                crate::config::INVOICE_KEY,
                "the paid-invoice stream needs the invoice key: LNbits' websocket takes its key \
                 in the URL, and the admin key never goes into a URL",
            )
        })?
        .expose();
    let base = inner.config.endpoint.as_str().trim_end_matches('/');
    let path = format!(
        "{}/api/v1/ws/{key}",
        inner.config.endpoint.path().trim_end_matches('/')
    );
    // The reply cap holds for websocket messages too (tungstenite's default is 64 MiB).
    let cap = Some(inner.config.max_reply_bytes);
    let limits = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(cap)
        .max_frame_size(cap);
    match tokio::time::timeout(
        inner.config.request_timeout,
        crate::websocket::open(&inner.config.endpoint, &path, limits),
    )
    .await
    {
        Ok(Ok(socket)) => Ok(socket),
        // Refusals no retry will change: the supervisor stops on them instead of retrying.
        Ok(Err(OpenFailure::Refused(status))) => {
            let message =
                format!("LNbits answered {status} to the websocket at {base}/api/v1/ws/<key>");
            Err(match status {
                401 | 403 => WalletError::Unauthorized(message),
                404 => WalletError::NotFound(format!(
                    "{message}: is LNBITS_ENDPOINT an LNbits server?"
                )),
                _ => WalletError::unavailable(message),
            })
        }
        Ok(Err(OpenFailure::Broken(message, cause))) => {
            let error =
                WalletError::unavailable(format!("cannot open the LNbits websocket: {message}"));
            Err(match cause {
                Some(cause) => error.caused_by(cause),
                None => error,
            })
        }
        Err(_) => Err(WalletError::unavailable(
            "the LNbits websocket did not open in time",
        )),
    }
}

/// Paid invoices changed after `after`, oldest first, and the newest paid position overall.
async fn paid_after(
    inner: &Inner,
    after: Option<Position>,
) -> Result<(Vec<PaymentRecord>, Option<Position>), WalletError> {
    let key = inner.config.read_key();
    let deadline = inner.config.request_timeout;
    let fetch = |offset| inner.api.paid_invoices_page(key, offset, deadline);
    walk_paid(fetch, after, MAX_CATCH_UP_RECORDS).await
}

/// [`paid_after`] over pages from `fetch` (newest change first, from an offset), reading at most
/// `max_records`.
async fn walk_paid<Fetched>(
    mut fetch: impl FnMut(u64) -> Fetched,
    after: Option<Position>,
    max_records: u64,
) -> Result<(Vec<PaymentRecord>, Option<Position>), WalletError>
where
    Fetched: std::future::Future<Output = Result<(Vec<PaymentRecord>, Option<u64>), WalletError>>,
{
    let mut found = Vec::new();
    let mut newest = None;
    let mut offset = 0u64;
    'pages: loop {
        let (page, total) = fetch(offset).await?;
        for record in &page {
            let position = position(record)?;
            newest = newest.max(Some(position));
            match after {
                None => break 'pages,
                Some(after) if position <= after => break 'pages,
                Some(_) if record.is_paid_invoice() => found.push(record.clone()),
                Some(_) => {}
            }
        }
        offset += page.len() as u64;
        // A missing total is no reason to stop early: only a short page ends the list.
        if page.len() < PAGE || total.is_some_and(|total| offset >= total) {
            break;
        }
        // A cursor this far behind stays so however often the stream reconnects: a request
        // error, which the supervisor does not retry.
        if offset >= max_records {
            return Err(WalletError::invalid(
                "cursor",
                format!(
                    "LNbits lists more than {max_records} paid invoices after the cursor; \
                     resume from a newer one"
                ),
            ));
        }
    }
    found.sort_by_key(Position::of);
    Ok((found, newest))
}

/// The hash of a settled incoming payment a websocket message announces, if it is one.
fn hint(text: &str) -> Option<PaymentHash> {
    let message: Value = serde_json::from_str(text).ok()?;
    let payment = message.get("payment")?;
    let incoming = payment.get("amount")?.as_i64()? > 0;
    let settled = payment.get("status")?.as_str()? == "success";
    let top_up = payment.get("memo").and_then(Value::as_str) == Some(TOP_UP_MEMO);
    if incoming && settled && !top_up {
        PaymentHash::from_hex(payment.get("payment_hash")?.as_str()?).ok()
    } else {
        None
    }
}

impl Listener {
    async fn next(mut self) -> Option<(Result<PaidInvoice, WalletError>, Self)> {
        if self.ended {
            return None;
        }
        if let Some(paid) = self.backlog.pop_front() {
            return Some((Ok(paid), self));
        }
        match self.listen().await {
            Ok(paid) => Some((Ok(paid), self)),
            Err(err) => {
                self.ended = true;
                Some((Err(err), self))
            }
        }
    }

    /// Waits for the next confirmed paid invoice; `Err` when the connection is lost.
    async fn listen(&mut self) -> Result<PaidInvoice, WalletError> {
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        loop {
            let silence = tokio::time::sleep_until(self.last_frame + SILENCE_LIMIT);
            tokio::select! {
                frame = self.socket.next() => {
                    let text = match frame {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => {
                            return Err(WalletError::unavailable("LNbits closed the websocket"));
                        }
                        Some(Ok(_control_or_binary)) => {
                            self.last_frame = Instant::now();
                            continue;
                        }
                        Some(Err(err)) => {
                            return Err(WalletError::unavailable("the LNbits websocket failed").caused_by(Cause::new(err)));
                        }
                    };
                    self.last_frame = Instant::now();
                    let Some(hash) = hint(text.as_str()) else { continue };
                    if self.seen.contains(&hash) {
                        continue;
                    }
                    if let Some(paid) = self.confirm(&hash).await? {
                        return Ok(paid);
                    }
                }
                () = silence => {
                    return Err(WalletError::unavailable(format!(
                        "the LNbits websocket was silent for {} s", SILENCE_LIMIT.as_secs()
                    )));
                }
                () = tokio::time::sleep_until(self.next_recheck) => {
                    self.next_recheck = Instant::now() + RECHECK_EVERY;
                    self.recheck().await?;
                    if let Some(paid) = self.backlog.pop_front() {
                        return Ok(paid);
                    }
                }
                _ = ping.tick() => {
                    self.socket
                        .send(Message::Ping(Vec::new().into()))
                        .await
                        .map_err(|err| WalletError::unavailable("the LNbits websocket failed").caused_by(Cause::new(err)))?;
                }
            }
        }
    }

    /// Asks LNbits to re-check pending invoices with its node, and queues what became paid.
    async fn recheck(&mut self) -> Result<(), WalletError> {
        let key = self.inner.config.read_key();
        self.inner
            .api
            .recheck_pending_invoices(key, self.inner.config.request_timeout)
            .await?;
        let window = self
            .newest
            .map(|newest| Position::at(newest.micros.saturating_sub(RECHECK_WINDOW_MICROS)));
        // At or after the stream's start, so nothing paid before it is read.
        let after = window.max(self.start).unwrap_or(Position::at(0));
        let (records, _) = paid_after(&self.inner, Some(after)).await?;
        for record in &records {
            let position = position(record)?;
            let paid = paid_invoice(record)?;
            if self.seen.contains(&position.hash) {
                continue;
            }
            tracing::info!(
                payment_hash = %position.hash,
                "a paid invoice LNbits had not announced, found by re-checking pending invoices"
            );
            self.remember(position.hash);
            self.newest = self.newest.max(Some(position));
            self.backlog.push_back(paid);
        }
        Ok(())
    }

    /// Checks a hint over REST: the invoice must be this wallet's, settled, and new.
    async fn confirm(&mut self, hash: &PaymentHash) -> Result<Option<PaidInvoice>, WalletError> {
        let records = self.inner.records(hash, Side::Incoming).await?;
        let Some(record) = records.iter().find(|record| record.is_paid_invoice()) else {
            return Ok(None);
        };
        let position = position(record)?;
        self.remember(*hash);
        if self.start.is_some_and(|start| position <= start) {
            return Ok(None);
        }
        self.newest = self.newest.max(Some(position));
        paid_invoice(record).map(Some)
    }

    fn remember(&mut self, hash: PaymentHash) {
        if self.seen.insert(hash) {
            self.seen_order.push_back(hash);
            if self.seen_order.len() > SEEN_CAPACITY
                && let Some(oldest) = self.seen_order.pop_front()
            {
                self.seen.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_names_the_field() {
        let position = Position {
            micros: 1_795_926_309_829_568,
            hash: PaymentHash::from_bytes([7; 32]),
        };
        assert_eq!(Position::parse(&position.cursor()), Ok(position));
        for garbage in [
            "",
            "12",
            "lnbits:x:00",
            "lnd:1:00",
            &format!("lnbits:1:{}", "zz".repeat(32)),
        ] {
            let err = Position::parse(&StreamCursor::new(garbage)).unwrap_err();
            assert_eq!(err.field(), Some("cursor"), "{garbage}");
        }
    }

    #[test]
    fn positions_order_by_time_then_hash() {
        let early = Position {
            micros: 1,
            hash: PaymentHash::from_bytes([9; 32]),
        };
        let late = Position {
            micros: 2,
            hash: PaymentHash::from_bytes([1; 32]),
        };
        assert!(early < late);
    }

    #[test]
    fn only_settled_incoming_payments_are_hints() {
        let hash = "7f".repeat(32);
        let paid = format!(
            r#"{{"wallet_balance": 1, "payment": {{"payment_hash": "{hash}", "amount": 1000, "status": "success", "memo": "x"}}}}"#
        );
        assert_eq!(hint(&paid), Some(PaymentHash::from_hex(&hash).unwrap()));
        let outgoing = paid.replace("\"amount\": 1000", "\"amount\": -1000");
        assert_eq!(hint(&outgoing), None);
        let top_up = paid.replace("\"memo\": \"x\"", "\"memo\": \"Admin credit\"");
        assert_eq!(hint(&top_up), None);
        let pending = paid.replace("success", "pending");
        assert_eq!(hint(&pending), None);
        for injected in [
            "hello",
            "",
            "{}",
            "[1,2]",
            r#"{"payment": "x"}"#,
            r#"{"pending": false, "status": "success"}"#,
        ] {
            assert_eq!(hint(injected), None, "{injected}");
        }
    }

    /// The `n`th newest paid invoice: later records have smaller `n`.
    fn nth_newest_paid(n: u64) -> PaymentRecord {
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&n.to_be_bytes());
        serde_json::from_value(serde_json::json!({
            "payment_hash": PaymentHash::from_bytes(hash).to_hex(),
            "amount": 1_000,
            "status": "success",
            "updated_at": format!("2026-11-29T04:25:09.{:06}+00:00", 999_999 - n),
        }))
        .unwrap()
    }

    type Page = std::future::Ready<Result<(Vec<PaymentRecord>, Option<u64>), WalletError>>;

    /// Pages of paid invoices, newest first, `count` in all (or without end), never saying
    /// how many there are.
    fn pages_without_total(count: Option<u64>) -> impl FnMut(u64) -> Page {
        move |offset| {
            let end = count.map_or(offset + PAGE as u64, |count| {
                count.min(offset + PAGE as u64)
            });
            std::future::ready(Ok(((offset..end).map(nth_newest_paid).collect(), None)))
        }
    }

    #[tokio::test]
    async fn a_catch_up_reads_on_when_lnbits_gives_no_total_until_a_short_page() {
        let cursor = Position::of(&nth_newest_paid(250)).unwrap();
        let (found, newest) = walk_paid(pages_without_total(Some(1_000)), Some(cursor), 100_000)
            .await
            .unwrap();
        assert_eq!(
            found.len(),
            250,
            "every invoice newer than the cursor, across 3 pages"
        );
        assert_eq!(
            found.first().and_then(PaymentRecord::hash),
            nth_newest_paid(249).hash()
        );
        assert_eq!(newest, Position::of(&nth_newest_paid(0)));
    }

    #[tokio::test]
    async fn a_catch_up_that_never_ends_is_an_error_after_its_bound() {
        let long_ago = Position::at(0);
        let walked = walk_paid(pages_without_total(None), Some(long_ago), 500).await;
        let err = walked.unwrap_err();
        assert!(
            err.to_string().contains("more than 500 paid invoices"),
            "{err}"
        );
    }
}
