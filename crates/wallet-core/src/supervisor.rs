//! The stream supervisor: one reconnect loop for every backend's paid-invoice stream.
//!
//! Backends keep their streams simple: deliver what the node says, and end with an error when
//! the connection drops. [`SupervisedStream`] does the rest, once, for all of them:
//!
//! * reconnects with capped exponential backoff after failures, and with the floor delay after a
//!   healthy stream ends, so it neither spins nor gives up early;
//! * pins where it starts ([`Wallet::paid_invoices_cursor`]) when given no cursor, and resumes
//!   each new connection from the cursor of the last item it delivered (or that start), so
//!   nothing paid while disconnected is missed, before the first item or after;
//! * drops duplicates by payment hash (backlogs overlap, LNbits sends every event twice);
//! * reports its health on a [`tokio::sync::watch`] channel.
//!
//! Every wait is a plain future: dropping the stream cancels it at once.

use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::{PaidInvoice, PaidInvoiceStream, PaymentHash, StreamCursor, Wallet, WalletError};

/// How a [`SupervisedStream`] retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// The first retry delay, and the delay after a healthy stream ends.
    pub initial_backoff: Duration,
    /// The longest delay between attempts.
    pub max_backoff: Duration,
    /// A connection that lasted this long, or delivered an item, counts as healthy: the next
    /// failure starts the backoff over.
    pub healthy_after: Duration,
    /// Give up after this many failures in a row; `None` retries for as long as the stream is
    /// polled. Errors no retry can fix (an invalid cursor, an unsupported feature) give up at
    /// once.
    pub max_consecutive_failures: Option<u32>,
    /// How many recent payment hashes are remembered to drop duplicates.
    pub dedupe_capacity: usize,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            healthy_after: Duration::from_secs(30),
            max_consecutive_failures: None,
            dedupe_capacity: 100_000,
        }
    }
}

/// What the supervisor is doing now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamHealth {
    /// Opening a connection.
    Connecting,
    /// Connected and waiting for payments.
    Connected,
    /// Waiting before the next attempt.
    Reconnecting {
        /// Failures in a row so far (0 after a healthy stream ended).
        consecutive_failures: u32,
        /// How long until the next attempt.
        retry_in: Duration,
        /// What ended the last connection or attempt.
        last_error: WalletError,
    },
    /// Gave up after too many failures; the stream has ended.
    Stopped {
        /// The last failure.
        last_error: WalletError,
    },
}

/// A paid-invoice stream that survives disconnects.
///
/// Items are `Ok` paid invoices, at least once each and in settle order, without duplicates
/// among the last [`SupervisorConfig::dedupe_capacity`] hashes. The only `Err` item is the last
/// one, after [`SupervisorConfig::max_consecutive_failures`] failures in a row.
pub struct SupervisedStream {
    items: BoxStream<'static, Result<PaidInvoice, WalletError>>,
    health: watch::Receiver<StreamHealth>,
}

impl SupervisedStream {
    /// Supervises `wallet`'s paid-invoice stream, starting after `resume_from`, or, when `None`,
    /// after the cursor [`Wallet::paid_invoices_cursor`] gives when it first connects.
    pub fn new(
        wallet: Arc<dyn Wallet>,
        resume_from: Option<StreamCursor>,
        config: SupervisorConfig,
    ) -> Self {
        let (health_tx, health) = watch::channel(StreamHealth::Connecting);
        let state = Supervisor {
            wallet,
            cursor: resume_from,
            backoff: Backoff::new(config.initial_backoff, config.max_backoff),
            seen: RecentHashes::new(config.dedupe_capacity),
            config,
            connection: None,
            retry_delay: None,
            consecutive_failures: 0,
            health: health_tx,
            stopped: false,
        };
        let items = futures::stream::unfold(state, |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        })
        .boxed();
        Self { items, health }
    }

    /// A receiver of health changes.
    pub fn health(&self) -> watch::Receiver<StreamHealth> {
        self.health.clone()
    }
}

impl Stream for SupervisedStream {
    type Item = Result<PaidInvoice, WalletError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for SupervisedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisedStream")
            .field("health", &*self.health.borrow())
            .finish_non_exhaustive()
    }
}

struct Connection {
    stream: PaidInvoiceStream,
    opened_at: Instant,
    delivered: bool,
}

struct Supervisor {
    wallet: Arc<dyn Wallet>,
    cursor: Option<StreamCursor>,
    config: SupervisorConfig,
    backoff: Backoff,
    seen: RecentHashes,
    connection: Option<Connection>,
    retry_delay: Option<Duration>,
    consecutive_failures: u32,
    health: watch::Sender<StreamHealth>,
    stopped: bool,
}

impl Supervisor {
    async fn next_item(&mut self) -> Option<Result<PaidInvoice, WalletError>> {
        loop {
            if self.stopped {
                return None;
            }
            let Some(connection) = self.connection.as_mut() else {
                if let Err(give_up) = self.connect().await {
                    return Some(Err(give_up));
                }
                continue;
            };
            match connection.stream.next().await {
                Some(Ok(paid)) => {
                    connection.delivered = true;
                    if self.seen.insert(paid.payment_hash) {
                        self.cursor = Some(paid.cursor.clone());
                        return Some(Ok(paid));
                    }
                    tracing::debug!(
                        payment_hash = %paid.payment_hash,
                        "paid invoice delivered again after a reconnect: passed over"
                    );
                }
                Some(Err(error)) => {
                    if let Err(give_up) = self.connection_lost(error) {
                        return Some(Err(give_up));
                    }
                }
                None => {
                    let error = WalletError::unavailable("the paid-invoice stream ended");
                    if let Err(give_up) = self.connection_lost(error) {
                        return Some(Err(give_up));
                    }
                }
            }
        }
    }

    /// Waits out any pending delay and opens a connection. `Err` means give up.
    async fn connect(&mut self) -> Result<(), WalletError> {
        if let Some(delay) = self.retry_delay.take() {
            tokio::time::sleep(delay).await;
        }
        self.health.send_replace(StreamHealth::Connecting);
        if self.cursor.is_none() {
            // Contract rule 7: pin where the stream starts, so that a reconnect before the
            // first item resumes from here instead of from a later "now".
            match self.wallet.paid_invoices_cursor().await {
                Ok(start) => {
                    tracing::debug!(cursor = %start, "paid-invoice stream pinned its start");
                    self.cursor = Some(start);
                }
                Err(error) => return self.failed(error),
            }
        }
        match self.wallet.paid_invoices_stream(self.cursor.clone()).await {
            Ok(stream) => {
                match &self.cursor {
                    Some(cursor) => {
                        tracing::info!(%cursor, "paid-invoice stream connected, resumed from cursor");
                    }
                    None => tracing::info!("paid-invoice stream connected"),
                }
                self.connection = Some(Connection {
                    stream,
                    opened_at: Instant::now(),
                    delivered: false,
                });
                self.health.send_replace(StreamHealth::Connected);
                Ok(())
            }
            Err(error) => self.failed(error),
        }
    }

    fn connection_lost(&mut self, error: WalletError) -> Result<(), WalletError> {
        let healthy = self.connection.take().is_some_and(|connection| {
            connection.delivered || connection.opened_at.elapsed() >= self.config.healthy_after
        });
        if healthy && !error.is_permanent() {
            self.consecutive_failures = 0;
            self.schedule_retry(self.backoff.initial(), error);
            Ok(())
        } else {
            self.failed(error)
        }
    }

    fn failed(&mut self, error: WalletError) -> Result<(), WalletError> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        // A bad cursor, a missing feature, refused credentials or a stream that is not where the
        // settings say stay so however long we wait.
        if error.is_permanent()
            || self
                .config
                .max_consecutive_failures
                .is_some_and(|limit| self.consecutive_failures >= limit)
        {
            self.stopped = true;
            tracing::error!(
                consecutive_failures = self.consecutive_failures,
                permanent = error.is_permanent(),
                error = %crate::describe_chain(&error),
                "paid-invoice stream gave up"
            );
            self.health.send_replace(StreamHealth::Stopped {
                last_error: error.clone(),
            });
            return Err(error);
        }
        let delay = self.backoff.delay(self.consecutive_failures - 1);
        self.schedule_retry(delay, error);
        Ok(())
    }

    fn schedule_retry(&mut self, delay: Duration, last_error: WalletError) {
        tracing::warn!(
            reconnect = self.consecutive_failures.saturating_add(1),
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %crate::describe_chain(&last_error),
            "paid-invoice stream lost; reconnecting"
        );
        self.retry_delay = Some(delay);
        self.health.send_replace(StreamHealth::Reconnecting {
            consecutive_failures: self.consecutive_failures,
            retry_in: delay,
            last_error,
        });
    }
}

/// The last `capacity` payment hashes seen, for de-duplication in constant memory.
struct RecentHashes {
    set: HashSet<PaymentHash>,
    order: VecDeque<PaymentHash>,
    capacity: usize,
}

impl RecentHashes {
    fn new(capacity: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `hash`; `false` if it was already there.
    fn insert(&mut self, hash: PaymentHash) -> bool {
        if !self.set.insert(hash) {
            return false;
        }
        self.order.push_back(hash);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }
}

#[cfg(test)]
mod tests;
