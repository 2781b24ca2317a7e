//! The paid-invoice stream over `waitanyinvoice`, on a connection of its own, resuming from
//! `pay_index`; with hold invoices on, also over the hold plugin's `listholdinvoices`, read
//! between shorter long polls (its invoices are not in lightningd's table, so `waitanyinvoice`
//! never reports them). The cursor covers both ([`Position`]).
//!
//! Without a cursor it starts after the highest `pay_index` lightningd has (never from 0, which
//! would replay history). It long-polls with a finite timeout, so the loop regains control and a
//! dead connection shows; 904 only means the timeout passed. Any other error ends the stream
//! with that error, for the supervisor to reconnect on a fresh socket.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use wallet_core::untrusted::MAX_LISTED_RECORDS;
use wallet_core::{
    InvoiceStatus, PaidInvoice, PaidInvoiceStream, PaymentHash, StreamCursor, WalletError,
};

use crate::mapping::{msat, seconds};
use crate::position::{HoldEntry, HoldMark, HoldState, Position};
use crate::rpc::{CallFailure, Connection, Rpc, cln_error};

/// How long one `waitanyinvoice` waits before lightningd answers 904.
const LONG_POLL_SECS: u64 = 10;
/// The same with hold invoices on: how often the hold plugin's list is read.
const HOLD_POLL_SECS: u64 = 1;
/// Invoices read per `listinvoices` page while looking for the highest `pay_index`.
const PAGE: u64 = 1_000;
/// Answers about unpaid invoices in a row after which `waitanyinvoice` is taken to misbehave.
const MAX_UNPAID_ANSWERS: u32 = 100;

/// The highest `pay_index` lightningd has given out (0 when nothing was paid).
pub(crate) async fn highest_pay_index(rpc: &Rpc, deadline: Duration) -> Result<u64, WalletError> {
    highest_pay_index_within(rpc, deadline, MAX_LISTED_RECORDS).await
}

/// [`highest_pay_index`], reading at most `max_listed` invoices.
async fn highest_pay_index_within(
    rpc: &Rpc,
    deadline: Duration,
    max_listed: u64,
) -> Result<u64, WalletError> {
    let mut highest = 0;
    let mut start = 0;
    let mut listed: u64 = 0;
    loop {
        let page = rpc
            .call(
                "listinvoices",
                json!({"index": "created", "start": start, "limit": PAGE}),
                deadline,
            )
            .await
            .map_err(cln_error)?;
        // Without its list, 0 would replay every invoice ever paid.
        let invoices = crate::wallet::list(&page, "invoices")?;
        // An unpaid invoice has no pay_index; one that is there must read, and every invoice
        // has a created_index: a cursor from a record that did not read would replay history
        // or skip it (contract rule 12).
        let mut last_created = None;
        for invoice in invoices {
            let unreadable = |field: &str| {
                WalletError::backend(
                    None,
                    format!("listinvoices: an invoice's {field} is unreadable"),
                )
            };
            if let Some(pay_index) = invoice.get("pay_index") {
                // u64::MAX leaves no index for the next payment: a stream after it would wait
                // forever.
                let pay_index = pay_index
                    .as_u64()
                    .filter(|index| *index < u64::MAX)
                    .ok_or_else(|| unreadable("pay_index"))?;
                highest = highest.max(pay_index);
            } else if invoice.get("status").and_then(Value::as_str) == Some("paid") {
                return Err(unreadable("pay_index"));
            }
            let created = invoice
                .get("created_index")
                .and_then(Value::as_u64)
                .ok_or_else(|| unreadable("created_index"))?;
            last_created = last_created.max(Some(created));
        }
        listed = listed.saturating_add(invoices.len() as u64);
        match last_created {
            Some(_) if listed >= max_listed && invoices.len() as u64 >= PAGE => {
                return Err(WalletError::backend(
                    None,
                    format!("listinvoices lists more than {max_listed} invoices; not reading on"),
                ));
            }
            Some(last) if invoices.len() as u64 >= PAGE => {
                // The next page starts after this one; an index that does not move forward (or
                // cannot) would page forever.
                start = last
                    .checked_add(1)
                    .filter(|next| *next > start)
                    .ok_or_else(|| {
                        WalletError::backend(
                            None,
                            format!("listinvoices paged back to created_index {last}"),
                        )
                    })?;
            }
            _ => return Ok(highest),
        }
    }
}

/// What `listholdinvoices` answered, as the stream reads it.
pub(crate) struct HoldListing {
    /// Every hold invoice, for [`HoldMark`].
    pub(crate) holds: Vec<HoldEntry>,
    /// The paid ones not passed on yet, by id, oldest first.
    pub(crate) new: Vec<(u64, PaidInvoice)>,
}

fn unreadable_hold(field: &str) -> WalletError {
    WalletError::backend(
        None,
        format!("listholdinvoices: a hold invoice's {field} is unreadable"),
    )
}

/// Every hold invoice `listholdinvoices` answered, by id and state, with its entry.
pub(crate) fn hold_entries(answer: &Value) -> Result<Vec<(HoldEntry, &Value)>, WalletError> {
    let listed = crate::wallet::list(answer, "holdinvoices")?;
    if listed.len() as u64 > MAX_LISTED_RECORDS {
        return Err(WalletError::backend(
            None,
            format!("listholdinvoices lists more than {MAX_LISTED_RECORDS} invoices"),
        ));
    }
    let mut entries = Vec::with_capacity(listed.len());
    for hold in listed {
        // Without its id a paid hold invoice could be passed on twice or never (rule 7).
        let id = hold
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| unreadable_hold("id"))?;
        let state = match hold.get("state").and_then(Value::as_str) {
            Some("paid") => HoldState::Paid,
            Some("cancelled") => HoldState::Cancelled,
            // The plugin never cancels an unpaid invoice at its expiry: one long expired can no
            // longer be paid, and would otherwise keep the cursor's list growing for good.
            Some("unpaid") if expired_long_ago(hold) => HoldState::Cancelled,
            // Unknown states may still end paid: never taken as final.
            _ => HoldState::Open,
        };
        entries.push((HoldEntry { id, state }, hold));
    }
    Ok(entries)
}

/// Reads `listholdinvoices`' answer against `mark`: every hold, and the paid ones to pass on.
pub(crate) fn read_holds(answer: &Value, mark: &HoldMark) -> Result<HoldListing, WalletError> {
    let entries = hold_entries(answer)?;
    let mut new = Vec::new();
    for (HoldEntry { id, state }, hold) in &entries {
        let id = *id;
        if *state == HoldState::Paid && mark.is_new(id) {
            let payment_hash = hold
                .get("payment_hash")
                .and_then(Value::as_str)
                .and_then(|hex| PaymentHash::from_hex(hex).ok())
                .ok_or_else(|| unreadable_hold("payment_hash"))?;
            let InvoiceStatus::Paid {
                amount_received_msat,
                paid_at,
                ..
            } = crate::mapping::hold_status(&payment_hash, hold)?
            else {
                return Err(unreadable_hold("state"));
            };
            let paid = PaidInvoice {
                payment_hash,
                amount_received_msat,
                paid_at,
                cursor: StreamCursor::new(""),
            };
            new.push((id, paid));
        }
    }
    new.sort_by_key(|(id, _)| *id);
    let holds = entries.into_iter().map(|(entry, _)| entry).collect();
    Ok(HoldListing { holds, new })
}

/// How long after its expiry an unpaid hold invoice counts as never to be paid: a payment that
/// set out before the expiry has long arrived or failed by then.
const EXPIRED_HOLD_GRACE_SECS: u64 = 24 * 3_600;

/// Whether the hold invoice's BOLT11 (`invoice`) expired more than the grace ago; `false` when it
/// does not read (then it stays open: never final on a guess).
fn expired_long_ago(hold: &Value) -> bool {
    hold.get("invoice")
        .and_then(Value::as_str)
        .and_then(|bolt11| wallet_core::bolt11::Bolt11::parse(bolt11).ok())
        .is_some_and(|invoice| {
            invoice.expires_at().saturating_add(EXPIRED_HOLD_GRACE_SECS)
                < wallet_core::time::unix_now()
        })
}

struct Poller {
    client: Connection,
    position: Position,
    /// Whether the hold plugin's invoices are followed too.
    holds_on: bool,
    /// The last listing of hold invoices, and the paid ones from it still to pass on.
    holds: Vec<HoldEntry>,
    found_holds: VecDeque<(u64, PaidInvoice)>,
    ended: bool,
}

impl Poller {
    fn end(&mut self, error: WalletError) -> Result<PaidInvoice, WalletError> {
        self.ended = true;
        Err(error)
    }

    /// The next hold invoice to pass on, reading the plugin's list when none is waiting.
    async fn next_hold(&mut self) -> Result<Option<PaidInvoice>, WalletError> {
        if self.found_holds.is_empty() {
            let mark = self.position.holds.get_or_insert_with(HoldMark::default);
            let deadline = Duration::from_secs(LONG_POLL_SECS + 15);
            let answer = Rpc::call_on(&mut self.client, "listholdinvoices", &json!({}), deadline)
                .await
                .map_err(cln_error)?;
            let listing = read_holds(&answer, mark)?;
            self.holds = listing.holds;
            self.found_holds = listing.new.into();
        }
        let Some((id, mut paid)) = self.found_holds.pop_front() else {
            return Ok(None);
        };
        let mark = self.position.holds.get_or_insert_with(HoldMark::default);
        mark.pass(id, &self.holds)?;
        paid.cursor = self.position.cursor();
        Ok(Some(paid))
    }

    /// The next paid invoice: a hold invoice found paid, or lightningd's next one.
    async fn next(&mut self) -> Result<PaidInvoice, WalletError> {
        // lightningd answers with a paid invoice or after the long-poll; a node that keeps
        // answering at once with invoices that are not paid would make this loop spin.
        let mut unpaid_answers = 0u32;
        loop {
            if self.holds_on {
                match self.next_hold().await {
                    Ok(Some(paid)) => return Ok(paid),
                    Ok(None) => {}
                    Err(error) => return self.end(error.ending_stream("listholdinvoices")),
                }
            }
            // With holds on, the long poll is short: the plugin's list is read between polls.
            let wait = if self.holds_on {
                HOLD_POLL_SECS
            } else {
                LONG_POLL_SECS
            };
            let params = json!({"lastpay_index": self.position.pay_index, "timeout": wait});
            let deadline = Duration::from_secs(wait + 15);
            let invoice =
                match Rpc::call_on(&mut self.client, "waitanyinvoice", &params, deadline).await {
                    Ok(invoice) => invoice,
                    Err(CallFailure::Node(error)) if error.code == 904 => continue,
                    Err(failure) => {
                        return self.end(cln_error(failure).ending_stream("waitanyinvoice"));
                    }
                };
            let pay_index = invoice.get("pay_index").and_then(Value::as_u64);
            // Expired invoices carry no pay_index; they are not payments. A status that does not
            // read may be a payment: an error, never skipped (rule 7).
            let status = invoice.get("status").and_then(Value::as_str);
            if !matches!(status, Some("paid" | "expired" | "unpaid")) {
                return self.end(WalletError::backend(
                    None,
                    "waitanyinvoice answered an invoice whose status is unreadable",
                ));
            }
            if status != Some("paid") {
                unpaid_answers += 1;
                if unpaid_answers < MAX_UNPAID_ANSWERS {
                    continue;
                }
                return self.end(WalletError::backend(
                    None,
                    "waitanyinvoice keeps answering with invoices that are not paid",
                ));
            }
            match (paid(&invoice), pay_index) {
                (Some(mut item), Some(index)) if index > self.position.pay_index => {
                    self.position.pay_index = index;
                    item.cursor = self.position.cursor();
                    return Ok(item);
                }
                _ => {
                    return self.end(WalletError::backend(
                        None,
                        "waitanyinvoice answered an unreadable invoice",
                    ));
                }
            }
        }
    }
}

fn paid(invoice: &Value) -> Option<PaidInvoice> {
    Some(PaidInvoice {
        payment_hash: PaymentHash::from_hex(invoice.get("payment_hash")?.as_str()?).ok()?,
        amount_received_msat: invoice.get("amount_received_msat").and_then(msat)?,
        paid_at: invoice.get("paid_at").and_then(seconds)?,
        cursor: StreamCursor::new(""),
    })
}

/// The paid invoices after `position`: lightningd's, and the hold plugin's when `holds_on` (a
/// cursor made with holds off then starts the holds from the first: passed on again rather than
/// missed).
pub(crate) async fn paid_invoices(
    rpc: &Rpc,
    position: Position,
    holds_on: bool,
    connect_deadline: Duration,
) -> Result<PaidInvoiceStream, WalletError> {
    let client = rpc.connect(connect_deadline).await.map_err(cln_error)?;
    let poller = Poller {
        client,
        position,
        holds_on,
        holds: Vec::new(),
        found_holds: VecDeque::new(),
        ended: false,
    };
    Ok(futures::stream::unfold(poller, |mut poller| async move {
        if poller.ended {
            return None;
        }
        let item = poller.next().await;
        Some((item, poller))
    })
    .boxed())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wallet_conformance::fixtures::TempDir;
    use wallet_fake::{FakeNetwork, NodeConfig};

    use super::*;

    fn full_page(first_created_index: u64) -> Value {
        let invoices: Vec<Value> = (first_created_index..first_created_index + PAGE)
            .map(|index| json!({"created_index": index, "status": "unpaid"}))
            .collect();
        json!({ "invoices": invoices })
    }

    fn hold(id: u64, state: &str, age_secs: u64) -> Value {
        let mut invoice = wallet_conformance::fixtures::ForeignInvoice::new(
            wallet_core::bolt11::Currency::Regtest,
        );
        invoice.age = Duration::from_secs(age_secs);
        invoice.expiry = Duration::from_secs(3_600);
        json!({"id": id, "state": state, "invoice": invoice.sign().unwrap(), "htlcs": []})
    }

    #[test]
    fn an_unpaid_hold_a_day_past_its_expiry_no_longer_holds_the_cursor_back() {
        let listed = json!({"holdinvoices": [
            hold(1, "unpaid", 3 * 24 * 3_600),
            hold(2, "unpaid", 60),
            hold(3, "accepted", 3 * 24 * 3_600),
        ]});
        let listing = read_holds(&listed, &HoldMark::default()).unwrap();
        let states: Vec<HoldState> = listing.holds.iter().map(|hold| hold.state).collect();
        assert_eq!(
            states,
            [HoldState::Cancelled, HoldState::Open, HoldState::Open],
            "only the long-expired unpaid one is final; an accepted one waits for its owner"
        );
    }

    #[tokio::test]
    async fn a_node_that_lists_pages_forever_is_an_error_after_the_bound() {
        let network = FakeNetwork::new();
        let node = network.add_node(NodeConfig::new("pager")).unwrap();
        let dir = TempDir::new("wallet-cln-pager").unwrap();
        let simulator = cln_sim::ClnSimulator::start(node, dir.path())
            .await
            .unwrap();
        for page in 0..4 {
            simulator.answer_next_with("listinvoices", full_page(1 + page * PAGE));
        }
        let rpc = Rpc {
            socket: simulator.socket_path().to_owned(),
            max_reply_bytes: wallet_core::untrusted::DEFAULT_MAX_REPLY_BYTES,
        };
        let walked = highest_pay_index_within(&rpc, Duration::from_secs(5), 3 * PAGE).await;
        let err = walked.unwrap_err();
        assert!(err.to_string().contains("more than 3000 invoices"), "{err}");
        // Within the bound, the node's own (short) list ends the walk.
        let highest = highest_pay_index_within(&rpc, Duration::from_secs(5), 3 * PAGE).await;
        assert_eq!(highest.unwrap(), 0);
    }
}
