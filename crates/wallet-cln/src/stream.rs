//! The paid-invoice stream over `waitanyinvoice`, on a connection of its own, resuming from
//! `pay_index`.
//!
//! Without a cursor it starts after the highest `pay_index` lightningd has (never from 0, which
//! would replay history). It long-polls with a finite timeout, so the loop regains control and a
//! dead connection shows; 904 only means the timeout passed. Any other error ends the stream
//! with that error, for the supervisor to reconnect on a fresh socket.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use wallet_core::untrusted::MAX_LISTED_RECORDS;
use wallet_core::{PaidInvoice, PaidInvoiceStream, PaymentHash, StreamCursor, WalletError};

use crate::mapping::{msat, seconds};
use crate::rpc::{CallFailure, Connection, Rpc, cln_error};

/// How long one `waitanyinvoice` waits before lightningd answers 904.
const LONG_POLL_SECS: u64 = 10;
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

struct Poller {
    client: Connection,
    last_pay_index: u64,
    ended: bool,
}

fn paid(invoice: &Value) -> Option<PaidInvoice> {
    Some(PaidInvoice {
        payment_hash: PaymentHash::from_hex(invoice.get("payment_hash")?.as_str()?).ok()?,
        amount_received_msat: invoice.get("amount_received_msat").and_then(msat)?,
        paid_at: invoice.get("paid_at").and_then(seconds)?,
        cursor: StreamCursor::from_index(invoice.get("pay_index")?.as_u64()?),
    })
}

pub(crate) async fn paid_invoices(
    rpc: &Rpc,
    after: u64,
    connect_deadline: Duration,
) -> Result<PaidInvoiceStream, WalletError> {
    let client = rpc.connect(connect_deadline).await.map_err(cln_error)?;
    let poller = Poller {
        client,
        last_pay_index: after,
        ended: false,
    };
    Ok(futures::stream::unfold(poller, |mut poller| async move {
        if poller.ended {
            return None;
        }
        // lightningd answers with a paid invoice or after the long-poll; a node that keeps
        // answering at once with invoices that are not paid would make this loop spin.
        let mut unpaid_answers = 0u32;
        loop {
            let params = json!({"lastpay_index": poller.last_pay_index, "timeout": LONG_POLL_SECS});
            let deadline = Duration::from_secs(LONG_POLL_SECS + 15);
            match Rpc::call_on(&mut poller.client, "waitanyinvoice", &params, deadline).await {
                Ok(invoice) => {
                    let pay_index = invoice.get("pay_index").and_then(Value::as_u64);
                    // Expired invoices carry no pay_index; they are not payments. A status that
                    // does not read may be a payment: an error, never skipped (rule 7).
                    let status = invoice.get("status").and_then(Value::as_str);
                    if !matches!(status, Some("paid" | "expired" | "unpaid")) {
                        poller.ended = true;
                        let error = WalletError::backend(
                            None,
                            "waitanyinvoice answered an invoice whose status is unreadable",
                        );
                        return Some((Err(error), poller));
                    }
                    if status != Some("paid") {
                        unpaid_answers += 1;
                        if unpaid_answers < MAX_UNPAID_ANSWERS {
                            continue;
                        }
                        poller.ended = true;
                        let error = WalletError::backend(
                            None,
                            "waitanyinvoice keeps answering with invoices that are not paid",
                        );
                        return Some((Err(error), poller));
                    }
                    match (paid(&invoice), pay_index) {
                        (Some(item), Some(index)) if index > poller.last_pay_index => {
                            poller.last_pay_index = index;
                            return Some((Ok(item), poller));
                        }
                        _ => {
                            poller.ended = true;
                            let error = WalletError::backend(
                                None,
                                "waitanyinvoice answered an unreadable invoice",
                            );
                            return Some((Err(error), poller));
                        }
                    }
                }
                Err(CallFailure::Node(error)) if error.code == 904 => continue,
                Err(failure) => {
                    poller.ended = true;
                    let error = cln_error(failure).ending_stream("waitanyinvoice");
                    return Some((Err(error), poller));
                }
            }
        }
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
