//! The paid-invoice stream over `SubscribeInvoices`, resuming from lnd's `settle_index`.
//!
//! lnd sends adds (OPEN) and settles (SETTLED); its backlog can repeat a settlement. Only
//! SETTLED invoices past the cursor are delivered, each once per connection. When the stream
//! breaks or lnd ends it, the stream yields an error and ends, for the supervisor to reconnect.
//!
//! lnd (grpc-go) sends a server stream's response headers only with its first message, so on a
//! quiet node `SubscribeInvoices` does not "answer" until an invoice changes. The subscription is
//! therefore sent from a task of its own when the stream is made, and awaited inside the stream
//! with no deadline: a dead peer shows through HTTP/2 keep-alive (see `client.rs`), never through
//! a quiet node timing out.
//!
//! Because the subscription is only known to be in place once lnd says something, a stream
//! always subscribes from a cursor: without one, from the highest `settle_index` at the time of
//! the call, so that a payment made right after the call is in the backlog if it beats the
//! subscription. lnd's `settle_index` 0 means "no backlog", so "after settle index 0" (nothing
//! settled yet) cannot be asked of `SubscribeInvoices`: the stream subscribes live first, catches
//! up with `ListInvoices`, and lists once more when lnd first answers the subscription (which
//! proves it in place), dropping what it already delivered. Until lnd answers, the subscription
//! may not be in place yet: an invoice settled between the catch-up and its arrival is in no
//! backlog and no live update, and a quiet node would never answer. So while it waits, the
//! stream lists again after [`QUIET_RELIST_FIRST`], then at doubling intervals up to
//! [`QUIET_RELIST_MAX`].

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use lnd_grpc::lnrpc::lightning_client::LightningClient;
use lnd_grpc::lnrpc::{self, invoice::InvoiceState};
use tonic::Streaming;
use wallet_core::amount::reported_msat;
use wallet_core::untrusted::{MAX_CATCH_UP_RECORDS, MAX_LISTED_RECORDS};
use wallet_core::{PaidInvoice, PaidInvoiceStream, PaymentHash, StreamCursor, WalletError};

use crate::client::{LndClients, Transport, classify, lnd_error};
use crate::mapping::reported_seconds;
use crate::wallet::call_repeatable;

/// Invoices read per `ListInvoices` page.
const PAGE: u64 = 1_000;

/// A settled invoice as a stream item. One that cannot be read ends the stream with an error:
/// skipping it would lose it for good once a later one moves the cursor past it (contract
/// rule 7).
fn paid(invoice: &lnrpc::Invoice) -> Result<PaidInvoice, WalletError> {
    let payment_hash = PaymentHash::from_slice(&invoice.r_hash).map_err(|_| {
        WalletError::backend(
            None,
            "lnd announced a settled invoice without a readable hash",
        )
    })?;
    Ok(PaidInvoice {
        payment_hash,
        amount_received_msat: reported_msat(invoice.amt_paid_msat, "an amount paid")?,
        paid_at: reported_seconds(invoice.settle_date, "a settle date")?,
        cursor: StreamCursor::from_index(invoice.settle_index),
    })
}

/// How far a walk through lnd's invoices may go: the bounds on a node that lists pages forever
/// or a cursor too far behind (contract rule 12).
#[derive(Clone, Copy, Debug)]
struct Bounds {
    listed: u64,
    kept: u64,
}

const BOUNDS: Bounds = Bounds {
    listed: MAX_LISTED_RECORDS,
    kept: MAX_CATCH_UP_RECORDS,
};

/// Every invoice lnd has, page by page, each page within `deadline`.
async fn for_each_invoice(
    client: &LightningClient<Transport>,
    deadline: Duration,
    visit: impl FnMut(&lnrpc::Invoice) -> Result<(), WalletError>,
) -> Result<(), WalletError> {
    let fetch = |offset| async move {
        let request = lnrpc::ListInvoiceRequest {
            index_offset: offset,
            num_max_invoices: PAGE,
            ..lnrpc::ListInvoiceRequest::default()
        };
        call_repeatable(deadline, "ListInvoices", client, |mut client| async move {
            client.list_invoices(request).await
        })
        .await
        .map_err(lnd_error)
    };
    walk_pages(fetch, BOUNDS.listed, visit).await
}

/// Pages through `fetch` (ListInvoices from an offset) until a short page, an offset that does
/// not move forward, or `max_listed` invoices.
async fn walk_pages<Fetched>(
    mut fetch: impl FnMut(u64) -> Fetched,
    max_listed: u64,
    mut visit: impl FnMut(&lnrpc::Invoice) -> Result<(), WalletError>,
) -> Result<(), WalletError>
where
    Fetched: std::future::Future<Output = Result<lnrpc::ListInvoiceResponse, WalletError>>,
{
    let mut offset = 0;
    let mut listed: u64 = 0;
    loop {
        let page = fetch(offset).await?;
        page.invoices.iter().try_for_each(&mut visit)?;
        // An offset that does not move would page forever.
        if (page.invoices.len() as u64) < PAGE || page.last_index_offset <= offset {
            return Ok(());
        }
        listed = listed.saturating_add(page.invoices.len() as u64);
        if listed >= max_listed {
            return Err(WalletError::backend(
                None,
                format!("lnd lists more than {max_listed} invoices; not reading on"),
            ));
        }
        offset = page.last_index_offset;
    }
}

/// A visitor keeping settled invoices above `after`, at most `max_kept` of them.
fn keep_settled_after(
    settled: &mut Vec<lnrpc::Invoice>,
    after: u64,
    max_kept: u64,
) -> impl FnMut(&lnrpc::Invoice) -> Result<(), WalletError> + '_ {
    move |invoice| {
        if invoice.state() != InvoiceState::Settled || invoice.settle_index <= after {
            return Ok(());
        }
        // A cursor this far behind stays so however often the stream reconnects: a request
        // error, which the supervisor does not retry.
        if settled.len() as u64 >= max_kept {
            return Err(WalletError::invalid(
                "cursor",
                format!(
                    "lnd has more than {max_kept} invoices settled after settle index {after}; \
                     resume from a newer cursor"
                ),
            ));
        }
        settled.push(invoice.clone());
        Ok(())
    }
}

/// The highest `settle_index` lnd has given out (0 when nothing was settled): the cursor of
/// "now". lnd has no call for it, so this reads every invoice once.
pub(crate) async fn highest_settle_index(
    client: &LightningClient<Transport>,
    deadline: Duration,
) -> Result<u64, WalletError> {
    let mut highest = 0;
    for_each_invoice(client, deadline, |invoice| {
        // u64::MAX leaves no index for the next settlement: a stream after it would wait
        // forever.
        if invoice.settle_index == u64::MAX {
            return Err(WalletError::backend(
                None,
                "lnd reported an invoice at the topmost settle_index",
            ));
        }
        highest = highest.max(invoice.settle_index);
        Ok(())
    })
    .await?;
    Ok(highest)
}

/// Sends the subscription now (in a task of its own, since lnd may not answer it for a long
/// time), returns once it is on a connection (or failed, or `deadline` passed: the stream then
/// reports what became of it), and delivers settlements after `after`.
pub(crate) async fn paid_invoices(
    clients: &LndClients,
    after: u64,
    deadline: Duration,
) -> PaidInvoiceStream {
    let client = clients.lightning.clone();
    let (mut subscribing, on_connection) = clients.announcing_lightning();
    let request = lnrpc::InvoiceSubscription {
        add_index: 0,
        settle_index: after,
    };
    let opening = tokio::spawn(async move {
        subscribing
            .subscribe_invoices(request)
            .await
            .map(tonic::Response::into_inner)
    });
    // A stream handed out before its request left would, should lnd restart meanwhile, subscribe
    // to the new lnd and never report the restart (see `announce.rs`).
    if tokio::time::timeout(deadline, on_connection).await.is_err() {
        tracing::debug!("the invoice subscription is not on a connection yet; not waiting on");
    }
    let subscription = Subscription {
        opening: Some(opening),
        stream: None,
        caught_up: VecDeque::new(),
        last_settle_index: after,
        relist: None,
    };
    let state = State::CatchingUp {
        subscription: Box::new(subscription),
        client: Box::new(client),
        deadline,
    };
    futures::stream::unfold(state, |state| async move {
        let mut subscription = match state {
            State::Ended => return None,
            State::Open(subscription) => subscription,
            State::CatchingUp {
                mut subscription,
                client,
                deadline,
            } => {
                if let Err(error) = subscription.catch_up(&client, deadline).await {
                    return Some((Err(error), State::Ended));
                }
                subscription
            }
        };
        match subscription.next().await {
            Ok(item) => Some((Ok(item), State::Open(subscription))),
            Err(error) => Some((Err(error), State::Ended)),
        }
    })
    .boxed()
}

enum State {
    CatchingUp {
        subscription: Box<Subscription>,
        client: Box<LightningClient<Transport>>,
        deadline: Duration,
    },
    Open(Box<Subscription>),
    Ended,
}

/// The first wait before a stream from settle index 0 lists again, while lnd has not answered
/// its subscription.
pub(crate) const QUIET_RELIST_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between those listings.
pub(crate) const QUIET_RELIST_MAX: Duration = Duration::from_secs(30);

struct Subscription {
    /// The `SubscribeInvoices` call, answered (headers) with lnd's first message only.
    opening: Option<tokio::task::JoinHandle<Result<Streaming<lnrpc::Invoice>, tonic::Status>>>,
    stream: Option<Streaming<lnrpc::Invoice>>,
    /// Settled invoices found by the catch-up, oldest first, delivered before live ones.
    caught_up: VecDeque<lnrpc::Invoice>,
    last_settle_index: u64,
    /// For a stream from 0: list again until lnd first answers the subscription, which proves it
    /// is in place, and once more then, so that nothing settled between the first listing and
    /// then is missed.
    relist: Option<Relist>,
}

struct Relist {
    client: Box<LightningClient<Transport>>,
    deadline: Duration,
    /// How long to wait for lnd's first answer before listing again.
    every: Duration,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(opening) = &self.opening {
            opening.abort();
        }
    }
}

/// Settled invoices with a `settle_index` above `after`, in settle order.
async fn settled_after(
    client: &LightningClient<Transport>,
    deadline: Duration,
    after: u64,
) -> Result<Vec<lnrpc::Invoice>, WalletError> {
    let mut settled = Vec::new();
    for_each_invoice(
        client,
        deadline,
        keep_settled_after(&mut settled, after, BOUNDS.kept),
    )
    .await?;
    settled.sort_by_key(|invoice| invoice.settle_index);
    Ok(settled)
}

fn ended(failure: WalletError) -> WalletError {
    failure.ending_stream("the invoice subscription")
}

impl Subscription {
    /// For a stream from settle index 0, which lnd cannot replay: every settled invoice, by
    /// `ListInvoices`, after the subscription was sent.
    async fn catch_up(
        &mut self,
        client: &LightningClient<Transport>,
        deadline: Duration,
    ) -> Result<(), WalletError> {
        if self.last_settle_index != 0 {
            return Ok(());
        }
        self.caught_up = settled_after(client, deadline, 0).await?.into();
        self.relist = Some(Relist {
            client: Box::new(client.clone()),
            deadline,
            every: QUIET_RELIST_FIRST,
        });
        Ok(())
    }

    /// For a stream from 0, lists what settled after the last delivered invoice into
    /// `caught_up`; `last` ends the listing once the subscription is known to be in place.
    async fn list_again(&mut self, last: bool) -> Result<(), WalletError> {
        let Some(relist) = self.relist.as_ref() else {
            return Ok(());
        };
        let after = self.last_settle_index;
        self.caught_up = settled_after(&relist.client, relist.deadline, after)
            .await?
            .into();
        if last {
            self.relist = None;
        }
        Ok(())
    }

    async fn message(&mut self) -> Result<lnrpc::Invoice, WalletError> {
        loop {
            if let Some(invoice) = self.caught_up.pop_front() {
                return Ok(invoice);
            }
            if self.opening.is_none() {
                break;
            }
            self.await_opening().await?;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(WalletError::unavailable("the invoice subscription ended"));
        };
        match stream.message().await {
            Ok(Some(invoice)) => Ok(invoice),
            Ok(None) => Err(WalletError::unavailable(
                "lnd ended the invoice subscription",
            )),
            Err(status) => Err(ended(lnd_error(classify(status)))),
        }
    }

    /// Waits for lnd's first answer to the subscription, listing again meanwhile (a stream from
    /// 0) each time the wait runs out; once it answers, lists a last time.
    async fn await_opening(&mut self) -> Result<(), WalletError> {
        let Some(opening) = self.opening.as_mut() else {
            return Ok(());
        };
        let opened = match self.relist.as_mut() {
            Some(relist) => match tokio::time::timeout(relist.every, opening).await {
                Ok(opened) => opened,
                Err(_) => {
                    relist.every = relist.every.saturating_mul(2).min(QUIET_RELIST_MAX);
                    tracing::debug!(
                        after = self.last_settle_index,
                        "lnd has not answered the invoice subscription yet: listing settlements"
                    );
                    return self.list_again(false).await;
                }
            },
            None => opening.await,
        };
        self.opening = None;
        match opened {
            Ok(Ok(stream)) => {
                self.stream = Some(stream);
                self.list_again(true).await
            }
            Ok(Err(status)) => Err(ended(lnd_error(classify(status)))),
            Err(_) => Err(WalletError::unavailable(
                "the invoice subscription task ended",
            )),
        }
    }

    async fn next(&mut self) -> Result<PaidInvoice, WalletError> {
        loop {
            let invoice = self.message().await?;
            let settled = invoice.state() == InvoiceState::Settled;
            if settled && invoice.settle_index > self.last_settle_index {
                let item = paid(&invoice)?;
                self.last_settle_index = invoice.settle_index;
                return Ok(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settled_invoice_that_cannot_be_read_is_an_error_not_skipped() {
        let good = lnrpc::Invoice {
            r_hash: vec![7; 32],
            amt_paid_msat: 5_000,
            settle_date: 1_700_000_000,
            settle_index: 3,
            ..lnrpc::Invoice::default()
        };
        assert_eq!(paid(&good).unwrap().amount_received_msat, 5_000);
        let broken: [fn(&mut lnrpc::Invoice); 3] = [
            |invoice| invoice.amt_paid_msat = -1,
            |invoice| invoice.settle_date = -1,
            |invoice| invoice.r_hash = vec![7; 31],
        ];
        for breaks in broken {
            let mut invoice = good.clone();
            breaks(&mut invoice);
            assert!(paid(&invoice).is_err(), "{invoice:?}");
        }
    }

    fn settled(settle_index: u64) -> lnrpc::Invoice {
        let mut invoice = lnrpc::Invoice {
            settle_index,
            ..lnrpc::Invoice::default()
        };
        invoice.set_state(InvoiceState::Settled);
        invoice
    }

    /// A node whose every page is full and moves forward: it would list forever.
    fn endless(offset: u64) -> std::future::Ready<Result<lnrpc::ListInvoiceResponse, WalletError>> {
        let first = offset + 1;
        std::future::ready(Ok(lnrpc::ListInvoiceResponse {
            invoices: (first..first + PAGE).map(settled).collect(),
            last_index_offset: offset + PAGE,
            first_index_offset: first,
        }))
    }

    #[tokio::test]
    async fn a_node_that_lists_pages_forever_is_an_error_after_the_bound() {
        let mut pages = 0;
        let walked = walk_pages(
            |offset| {
                pages += 1;
                endless(offset)
            },
            5 * PAGE,
            |_| Ok(()),
        )
        .await;
        assert!(walked.is_err(), "{walked:?}");
        assert_eq!(pages, 5);
    }

    #[tokio::test]
    async fn a_catch_up_keeps_at_most_its_bound_and_then_asks_for_a_newer_cursor() {
        let mut kept = Vec::new();
        let walked = walk_pages(
            endless,
            100 * PAGE,
            keep_settled_after(&mut kept, 10, 1_500),
        )
        .await;
        let err = walked.unwrap_err();
        assert!(err.to_string().contains("newer cursor"), "{err}");
        assert!(err.is_permanent(), "retrying cannot help: {err:?}");
        assert_eq!(kept.len(), 1_500);
        assert_eq!(
            kept[0].settle_index, 11,
            "only settlements after the cursor"
        );
        let mut few = Vec::new();
        let short = |_offset| {
            std::future::ready(Ok(lnrpc::ListInvoiceResponse {
                invoices: (1..=20).map(settled).collect(),
                last_index_offset: 20,
                first_index_offset: 1,
            }))
        };
        walk_pages(short, 100, keep_settled_after(&mut few, 10, 1_500))
            .await
            .unwrap();
        assert_eq!(few.len(), 10);
    }
}
