//! The paid-invoice stream over `SubscribeInvoices`, resuming from lnd's `settle_index`.
//!
//! lnd sends adds (OPEN) and settles (SETTLED); its backlog can repeat a settlement. Only
//! SETTLED invoices past the cursor are delivered, each once per connection. When the stream
//! breaks or lnd ends it, the stream yields an error and ends, for the supervisor to reconnect.

use futures::StreamExt;
use lnd_grpc::lnrpc::{self, invoice::InvoiceState};
use tonic::Streaming;
use wallet_core::{PaidInvoice, PaidInvoiceStream, PaymentHash, StreamCursor, WalletError};

struct Subscription {
    stream: Streaming<lnrpc::Invoice>,
    last_settle_index: u64,
    ended: bool,
}

fn paid(invoice: &lnrpc::Invoice) -> Option<PaidInvoice> {
    Some(PaidInvoice {
        payment_hash: PaymentHash::from_slice(&invoice.r_hash).ok()?,
        amount_received_msat: u64::try_from(invoice.amt_paid_msat).ok()?,
        paid_at: u64::try_from(invoice.settle_date).unwrap_or(0),
        cursor: StreamCursor::from_index(invoice.settle_index),
    })
}

pub(crate) fn paid_invoices(
    stream: Streaming<lnrpc::Invoice>,
    after_settle_index: u64,
) -> PaidInvoiceStream {
    let subscription = Subscription {
        stream,
        last_settle_index: after_settle_index,
        ended: false,
    };
    futures::stream::unfold(subscription, |mut subscription| async move {
        if subscription.ended {
            return None;
        }
        loop {
            let failure = match subscription.stream.message().await {
                Ok(Some(invoice)) => {
                    let settled = invoice.state() == InvoiceState::Settled;
                    if settled
                        && invoice.settle_index > subscription.last_settle_index
                        && let Some(item) = paid(&invoice)
                    {
                        subscription.last_settle_index = invoice.settle_index;
                        return Some((Ok(item), subscription));
                    }
                    continue;
                }
                Ok(None) => WalletError::Unavailable("lnd ended the invoice subscription".into()),
                Err(status) => crate::client::lnd_error(crate::client::classify(status)),
            };
            subscription.ended = true;
            let failure = match failure {
                WalletError::Unavailable(message) => WalletError::Unavailable(message),
                other => {
                    WalletError::Unavailable(format!("the invoice subscription failed: {other}"))
                }
            };
            return Some((Err(failure), subscription));
        }
    })
    .boxed()
}
