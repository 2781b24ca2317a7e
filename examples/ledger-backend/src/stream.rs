//! The paid-invoice stream: long polls of `GET /v1/paid` from a settle index.
//!
//! Each poll asks for the invoices settled after the last one delivered, and the ledger holds it
//! open until one is settled or [`LONG_POLL`] passes; an empty answer is a quiet ledger, not a
//! lost connection, so the stream polls again (contract rule 7). Every answer names the run of
//! the ledger that gave it: an answer from another run means the ledger restarted between two
//! polls, which ends the stream with an error as a broken poll does. Reconnecting, backing off
//! and dropping duplicates are [`wallet_core::SupervisedStream`]'s.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use wallet_core::{PaidInvoice, PaidInvoiceStream, WalletError};

use crate::client::Api;
use crate::error::{CallFailure, ledger_error};
use crate::mapping::{self, PaidPage};

/// How long the ledger holds a poll with nothing to say. Longer than a call's deadline would be
/// fine too: the request's own deadline is this plus the call timeout.
const LONG_POLL: Duration = Duration::from_secs(20);

/// The stream of invoices settled after `after`. The first page is read before this returns, without
/// waiting: a cursor the ledger refuses or a ledger that cannot be reached is this call's error,
/// and the page names the run of the ledger every later page must come from.
pub(crate) async fn paid_after(
    api: Api,
    timeout: Duration,
    after: u64,
) -> Result<PaidInvoiceStream, WalletError> {
    let first = poll(&api, after, None, Duration::ZERO, timeout)
        .await
        .map_err(ledger_error)?;
    let mut polling = Polling {
        api,
        timeout,
        after,
        boot: first.boot.clone(),
        backlog: VecDeque::new(),
        ended: false,
    };
    polling.take(&first)?;
    Ok(futures::stream::unfold(polling, Polling::next).boxed())
}

/// One poll. `boot`, the run the stream started on, makes a restarted ledger answer at once
/// instead of holding the poll.
async fn poll(
    api: &Api,
    after: u64,
    boot: Option<&str>,
    wait: Duration,
    timeout: Duration,
) -> Result<PaidPage, CallFailure> {
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    // The ledger's own run name: letters, digits and '-' (a query is no place for anything else).
    let boot = boot
        .filter(|boot| boot.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(|boot| format!("&boot={boot}"))
        .unwrap_or_default();
    // Sent once: a poll lost to a broken connection ends the stream rather than being hidden by
    // a retry (the supervisor's reconnect resumes from the cursor).
    api.once(
        "a paid-invoice poll",
        Method::GET,
        &format!("/v1/paid?after={after}&wait_ms={wait_ms}{boot}"),
        None,
        wait.saturating_add(timeout),
    )
    .await
}

struct Polling {
    api: Api,
    timeout: Duration,
    /// The settle index of the last invoice taken.
    after: u64,
    /// The run of the ledger the stream started on.
    boot: String,
    /// Invoices taken and not yet delivered, in settle order.
    backlog: VecDeque<PaidInvoice>,
    ended: bool,
}

impl Polling {
    /// Takes the page's invoices settled after the last one taken, all or none: an invoice that
    /// cannot be read ends the stream rather than being skipped, so nothing is missed silently.
    fn take(&mut self, page: &PaidPage) -> Result<(), WalletError> {
        let mut after = self.after;
        let mut taken = Vec::new();
        // In settle order whatever order the ledger sent: taking 5 before 3 would move the
        // cursor past 3 and lose it.
        let mut records: Vec<_> = page.paid.iter().collect();
        records.sort_by_key(|record| record.settle_index);
        for record in records {
            if record.settle_index <= after {
                // Delivered already: at least once, never backwards.
                continue;
            }
            taken.push(mapping::paid_invoice(record)?);
            after = record.settle_index;
        }
        self.after = after;
        self.backlog.extend(taken);
        Ok(())
    }

    async fn next(mut self) -> Option<(Result<PaidInvoice, WalletError>, Self)> {
        loop {
            if let Some(paid) = self.backlog.pop_front() {
                return Some((Ok(paid), self));
            }
            if self.ended {
                return None;
            }
            let page = poll(
                &self.api,
                self.after,
                Some(&self.boot),
                LONG_POLL,
                self.timeout,
            )
            .await;
            let taken = match page {
                Ok(page) if page.boot != self.boot => Err(WalletError::unavailable(
                    "the ledger restarted since the stream started",
                )),
                Ok(page) => self.take(&page),
                Err(failure) => Err(ledger_error(failure)),
            };
            if let Err(err) = taken {
                self.ended = true;
                return Some((Err(err.ending_stream("the paid-invoice poll")), self));
            }
        }
    }
}
