//! The payment protocol: one implementation of [`Wallet::pay_invoice`](crate::Wallet::pay_invoice)
//! that every backend runs, so that the money rules of the [contract](crate::contract) hold the
//! same way on every node.
//!
//! A backend supplies a [`PaymentDriver`]: how to ask its node about a payment hash, how to
//! dispatch a payment, and how to read the node's answers. [`Payments::pay`] does the rest, in
//! this order:
//!
//! 1. check the request and decode the invoice (nothing is known about a garbage invoice, so
//!    refusing it is safe);
//! 2. take the per-hash lock, so that two calls in this process never race to dispatch;
//! 3. ask the node about the hash: an attempt in flight or paid is reported as it is, even for an
//!    invoice that has expired since (rule 3); a node that cannot be asked in time leaves the
//!    payment `Pending`, since an earlier call's attempt may be in flight unseen (rule 2);
//! 4. only when the node has nothing, or only failed attempts, apply the local refusals (expiry,
//!    network, amount rules, the backend's own checks);
//! 5. dispatch, and classify the answer against what the node said *before* the dispatch: only
//!    evidence about this dispatch (a newer attempt, more attempts than before) can make the
//!    payment `Failed`, and "the node has no record" after a dispatch is `Pending` (rules 1
//!    and 2).
//!
//! [`PayInvoiceRequest::timeout`] bounds the whole call, lookups included (rule 6).

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::bolt11::{Bolt11, CheckedPayment, Currency, check_payable};
use crate::pay_lock::PaymentLocks;
use crate::{
    FailureReason, Features, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse,
    PaymentStatus, Preimage, WalletError, WalletFeature,
};

/// One attempt to pay a hash, as the node records it (an lnd payment, a `listpays` entry, an
/// LNbits payment record, a fake node's attempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The hash the node says the record is about; `None` when it sent none or one that cannot be
    /// read. Records about another hash than the one asked for are ignored (rule 3).
    pub payment_hash: Option<PaymentHash>,
    /// Where the attempt stands.
    pub state: AttemptState,
    /// The attempt's place in the node's own order (a creation index, a creation or update
    /// time): larger is newer. Only compared with other values from the same node.
    pub order: u64,
}

/// Where one attempt stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptState {
    /// In flight, or in a state this crate does not know: never guessed to be failed.
    InFlight,
    /// Completed, with the preimage the node reported (`None` when missing or unreadable, which
    /// proves nothing).
    Succeeded {
        /// The preimage, to be checked against the hash.
        preimage: Option<Preimage>,
        /// Routing fees paid, in millisatoshis.
        fee_msat: u64,
    },
    /// Failed for good, as the node said.
    Failed {
        /// Why.
        reason: FailureReason,
    },
}

/// The state of a payment from every attempt the node records for it: the one attempt rule.
///
/// Records about another hash are ignored. A success with a preimage of the hash wins (a
/// preimage proves itself, even on a record whose hash could not be read); a success without
/// one proves nothing and is `Pending`, as is any attempt in flight and any record of this query
/// whose hash cannot be read; only when every attempt failed is the payment `Failed` (with the
/// newest attempt's reason); with no attempt it is `Unknown` (rule 5).
pub fn payment_status(payment_hash: &PaymentHash, attempts: &[Attempt]) -> PaymentStatus {
    let mine: Vec<&Attempt> = about(payment_hash, attempts).collect();
    if mine.len() < attempts.len() {
        tracing::warn!(
            asked = %payment_hash,
            ignored = attempts.len() - mine.len(),
            "ignoring payment records the node returned for another hash"
        );
    }
    let mut unproven = false;
    for attempt in &mine {
        match &attempt.state {
            AttemptState::Succeeded {
                preimage: Some(preimage),
                fee_msat,
            } if payment_hash.is_paid_by(preimage) => {
                return PaymentStatus::Succeeded {
                    preimage: *preimage,
                    fee_msat: *fee_msat,
                };
            }
            _ if attempt.payment_hash.is_none() => unproven = true,
            AttemptState::Succeeded { .. } | AttemptState::InFlight => unproven = true,
            AttemptState::Failed { .. } => {}
        }
    }
    if unproven {
        return PaymentStatus::Pending;
    }
    match mine.iter().max_by_key(|attempt| attempt.order) {
        Some(Attempt {
            state: AttemptState::Failed { reason },
            ..
        }) => PaymentStatus::Failed {
            reason: reason.clone(),
        },
        Some(_) => PaymentStatus::Pending,
        None => PaymentStatus::Unknown,
    }
}

/// The records of this query that may be about `payment_hash`: its own, and those whose hash
/// cannot be read (which prove nothing either way).
fn about<'a>(
    payment_hash: &'a PaymentHash,
    attempts: &'a [Attempt],
) -> impl Iterator<Item = &'a Attempt> + 'a {
    attempts.iter().filter(move |attempt| {
        attempt
            .payment_hash
            .as_ref()
            .is_none_or(|hash| hash == payment_hash)
    })
}

/// What the node's records say about which attempts exist: compared before and after a
/// dispatch to tell whether anything recorded after it is about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Evidence {
    count: usize,
    newest: Option<u64>,
}

impl Evidence {
    fn of(payment_hash: &PaymentHash, attempts: &[Attempt]) -> Self {
        about(payment_hash, attempts).fold(Self::default(), |evidence, attempt| Self {
            count: evidence.count + 1,
            newest: evidence.newest.max(Some(attempt.order)),
        })
    }

    /// Whether these records show an attempt that `before` did not.
    fn is_newer_than(&self, before: &Self) -> bool {
        self.count > before.count || self.newest > before.newest
    }
}

/// How a dispatch ended, as the backend reads its node's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatched {
    /// Nothing can have left: no connection was made, or the node refused the request with an
    /// answer documented to come before any payment exists (an expired invoice, a bad parameter,
    /// a refused credential).
    NotSent(WalletError),
    /// The node's answer about this dispatch and nothing else: an update on the stream the
    /// dispatch opened, a result carrying the preimage.
    Answered(PaymentStatus),
    /// The node finished handling the request with an error that does not say whether an
    /// attempt was made (a failure code that may follow a partial dispatch, a record that may be
    /// an earlier attempt's). The node's records decide: with no new attempt, nothing was sent.
    Declined(WalletError),
    /// No answer that can be trusted: the connection dropped, the answer was empty or unreadable.
    /// The node may still act on the request, so only a new attempt in its records can make the
    /// payment anything but `Pending`.
    Unanswered(String),
}

/// What a backend does for [`Payments::pay`]: ask its node about a hash, and dispatch.
///
/// Implementations never take the payment lock, never apply the local refusals and never decide
/// between `Pending` and `Failed` on an unclear answer themselves: the protocol does.
#[async_trait]
pub trait PaymentDriver: Send + Sync {
    /// What the backend supports; an amount for an amountless invoice is refused unless this
    /// contains [`WalletFeature::AmountlessPayment`].
    fn features(&self) -> Features;

    /// The network the node is on, to refuse invoices of another one before dispatch; `None`
    /// when it cannot tell within `deadline` (the node's own check then applies).
    async fn network(&self, deadline: Duration) -> Option<Currency> {
        let _ = deadline;
        None
    }

    /// Every attempt the node records for `payment_hash`, within `deadline`. An error means the
    /// node could not be asked; the protocol concludes nothing from it.
    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError>;

    /// Refusals of this backend's own, made before dispatch when the node has nothing in flight
    /// or paid for the hash (LNbits' fee reserve above the caller's limit, say).
    async fn check(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Duration,
    ) -> Result<(), WalletError> {
        let _ = (payment, request, deadline);
        Ok(())
    }

    /// Sends the payment and waits for its outcome until `deadline`. Returning early with what
    /// is known (an in-flight update) is fine; the protocol returns `Pending` at the deadline
    /// anyway.
    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched;
}

/// The payment protocol's state for one wallet: the per-hash locks that keep two calls in this
/// process from dispatching the same hash at once.
#[derive(Debug, Default)]
pub struct Payments {
    locks: PaymentLocks,
}

/// Whether a failed lookup means this wallet cannot work as configured, rather than that the node
/// could not answer now.
fn is_configuration(err: &WalletError) -> bool {
    matches!(
        err,
        WalletError::Unauthorized(_)
            | WalletError::InvalidRequest { .. }
            | WalletError::Unsupported(_)
    )
}

fn not_sent(reason: WalletError) -> PayError {
    PayError::not_sent(reason)
}

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

impl Payments {
    /// No payment in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pays `request` through `driver`, following the protocol described in this module's
    /// documentation. `Err` only when nothing was sent; `Pending` whenever money may be moving
    /// and the outcome is not known by `request.timeout`.
    pub async fn pay<D>(
        &self,
        driver: &D,
        request: PayInvoiceRequest,
    ) -> Result<PaymentResponse, PayError>
    where
        D: PaymentDriver + ?Sized,
    {
        request.validate().map_err(not_sent)?;
        let invoice = Bolt11::parse(&request.bolt11).map_err(not_sent)?;
        let payment_hash = invoice.payment_hash();
        let deadline = Instant::now() + request.timeout;
        let respond = |status| {
            Ok(PaymentResponse {
                checking_id: payment_hash,
                status,
            })
        };

        let Ok(_one_at_a_time) =
            tokio::time::timeout_at(deadline, self.locks.lock(&payment_hash)).await
        else {
            // Another call is paying this hash right now and did not finish in our time.
            tracing::info!(%payment_hash, "another call is paying this hash: Pending");
            return respond(PaymentStatus::Pending);
        };

        // Rule 3: the node is asked about the hash before any local refusal.
        let before =
            match tokio::time::timeout_at(deadline, driver.attempts(&payment_hash, left(deadline)))
                .await
            {
                Ok(Ok(attempts)) => attempts,
                // Rule 2: an earlier call may have an attempt in flight that nobody can see now, so
                // a node that cannot answer (unreachable, slow, starting up, an unreadable answer) is
                // `Pending`, not "nothing was sent". Only a configuration no wait can fix (refused
                // credentials, a wrong setting) is an error: nothing can be paid this way.
                Ok(Err(err)) if is_configuration(&err) => return Err(not_sent(err)),
                Ok(Err(err)) => {
                    tracing::warn!(
                        %payment_hash,
                        error = %crate::describe_chain(&err),
                        "cannot ask the node about the payment: Pending"
                    );
                    return respond(PaymentStatus::Pending);
                }
                Err(_) => {
                    tracing::warn!(
                        %payment_hash,
                        "the node did not say in time whether it has the payment: Pending"
                    );
                    return respond(PaymentStatus::Pending);
                }
            };
        let earlier = payment_status(&payment_hash, &before);
        if matches!(
            earlier,
            PaymentStatus::Succeeded { .. } | PaymentStatus::Pending
        ) {
            tracing::info!(%payment_hash, status = ?earlier, "the node has this payment already");
            return respond(earlier);
        }
        if earlier.is_failed() {
            tracing::info!(%payment_hash, "the node holds failed attempts from before; retrying");
        }

        let network = tokio::time::timeout_at(deadline, driver.network(left(deadline)))
            .await
            .ok()
            .flatten();
        let checked = check_payable(&request, invoice, network.as_ref())?;
        if checked.amount_supplied && !driver.features().contains(WalletFeature::AmountlessPayment)
        {
            return Err(not_sent(WalletError::Unsupported(
                WalletFeature::AmountlessPayment,
            )));
        }
        match tokio::time::timeout_at(deadline, driver.check(&checked, &request, left(deadline)))
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(not_sent(err)),
            Err(_) => {
                return Err(not_sent(WalletError::unavailable(
                    "the node's checks before paying did not finish within the payment's \
                     timeout; nothing was sent",
                )));
            }
        }

        let dispatched = match tokio::time::timeout_at(
            deadline,
            driver.dispatch(&checked, &request, deadline),
        )
        .await
        {
            Ok(dispatched) => dispatched,
            Err(_) => {
                tracing::info!(%payment_hash, "no final state by the payment's timeout: Pending");
                return respond(PaymentStatus::Pending);
            }
        };
        let before = Evidence::of(&payment_hash, &before);
        let status = match dispatched {
            Dispatched::NotSent(reason) => {
                tracing::info!(
                    %payment_hash,
                    reason = %crate::describe_chain(&reason),
                    "refused before dispatch"
                );
                return Err(not_sent(reason));
            }
            Dispatched::Answered(PaymentStatus::Unknown) => PaymentStatus::Pending,
            Dispatched::Answered(failed @ PaymentStatus::Failed { .. }) => {
                confirm_failure(driver, &payment_hash, failed, deadline).await
            }
            Dispatched::Answered(status) => status,
            Dispatched::Declined(reason) => {
                match newer_attempts(driver, &payment_hash, before, deadline).await {
                    Recorded::New(status) => status,
                    Recorded::Nothing => {
                        tracing::info!(
                            %payment_hash,
                            reason = %crate::describe_chain(&reason),
                            "declined with no new attempt"
                        );
                        return Err(not_sent(reason));
                    }
                    Recorded::Unreadable => PaymentStatus::Pending,
                }
            }
            Dispatched::Unanswered(reason) => {
                tracing::warn!(%payment_hash, %reason, "no answer after dispatch");
                match newer_attempts(driver, &payment_hash, before, deadline).await {
                    Recorded::New(PaymentStatus::Unknown) => PaymentStatus::Pending,
                    Recorded::New(status) => status,
                    Recorded::Nothing | Recorded::Unreadable => PaymentStatus::Pending,
                }
            }
        };
        respond(status)
    }
}

/// Rule 1 for a failure the node answered about this dispatch: it is the hash's status only while
/// the node shows nothing else paid or in flight. Another process (a second instance on the same
/// node) may have dispatched the hash after this attempt failed and before the failure reached
/// this call; reporting `Failed` then would say an invoice is unpaid that is paid. A node that
/// cannot be asked in time leaves it `Pending`.
async fn confirm_failure<D>(
    driver: &D,
    payment_hash: &PaymentHash,
    failed: PaymentStatus,
    deadline: Instant,
) -> PaymentStatus
where
    D: PaymentDriver + ?Sized,
{
    let after = if left(deadline).is_zero() {
        None
    } else {
        tokio::time::timeout_at(deadline, driver.attempts(payment_hash, left(deadline)))
            .await
            .ok()
            .and_then(Result::ok)
    };
    let Some(after) = after else {
        tracing::warn!(
            %payment_hash,
            "the node answered a failure but cannot be asked whether another attempt paid: Pending"
        );
        return PaymentStatus::Pending;
    };
    match payment_status(payment_hash, &after) {
        status @ (PaymentStatus::Succeeded { .. } | PaymentStatus::Pending) => {
            tracing::warn!(
                %payment_hash,
                "this attempt failed, but the node has the hash paid or in flight (another \
                 process's attempt): reporting that"
            );
            status
        }
        PaymentStatus::Failed { .. } | PaymentStatus::Unknown => failed,
    }
}

/// What the node records after a dispatch, compared with before it.
enum Recorded {
    /// A payment paid or in flight, or a failed attempt newer than any before: its state now.
    New(PaymentStatus),
    /// Nothing new (only what was there before, if anything).
    Nothing,
    /// The node could not be asked in time.
    Unreadable,
}

async fn newer_attempts<D>(
    driver: &D,
    payment_hash: &PaymentHash,
    before: Evidence,
    deadline: Instant,
) -> Recorded
where
    D: PaymentDriver + ?Sized,
{
    if left(deadline).is_zero() {
        return Recorded::Unreadable;
    }
    let after = match tokio::time::timeout_at(
        deadline,
        driver.attempts(payment_hash, left(deadline)),
    )
    .await
    {
        Ok(Ok(after)) => after,
        Ok(Err(_)) | Err(_) => return Recorded::Unreadable,
    };
    match payment_status(payment_hash, &after) {
        // Paid or in flight now, whichever attempt it is: money moved or may be moving. (A node
        // may update one record in place without anything that orders it as newer.)
        status @ (PaymentStatus::Succeeded { .. } | PaymentStatus::Pending) => {
            Recorded::New(status)
        }
        // A failure counts only if it is about an attempt that was not there before.
        status @ PaymentStatus::Failed { .. }
            if Evidence::of(payment_hash, &after).is_newer_than(&before) =>
        {
            Recorded::New(status)
        }
        PaymentStatus::Failed { .. } | PaymentStatus::Unknown => Recorded::Nothing,
    }
}

#[cfg(test)]
mod tests;
