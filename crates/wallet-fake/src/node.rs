//! One node of a fake network: the node-level API that [`crate::FakeWallet`] and the daemon
//! simulators build on.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use futures::stream::BoxStream;
use lightning_invoice::{Bolt11Invoice, Currency};
use tokio::sync::watch;
use wallet_core::bolt11::Bolt11;
use wallet_core::{DescriptionHash, PaymentHash, Preimage, hex};

use crate::FakeNodeError;
use crate::control::FakeControl;
use crate::faults::{AnswerFault, LookupFaults};
use crate::keys::{InvoiceTerms, NodeKeys, random_bytes};
use crate::network::FakeNetwork;
use crate::snapshot::{InvoiceSnapshot, NodeId, PaymentSnapshot, SendOutcome};
use crate::state::{FollowUp, InvoiceRecord};

/// A node of a [`FakeNetwork`]. Clones are handles to the same node.
#[derive(Clone)]
pub struct FakeNode {
    pub(crate) network: FakeNetwork,
    pub(crate) id: NodeId,
    keys: Arc<NodeKeys>,
    alias: String,
    currency: Currency,
    default_expiry: Duration,
}

/// What a new invoice should say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewInvoice {
    /// The amount, or `None` for an amountless invoice.
    pub amount_msat: Option<u64>,
    /// The memo; the BOLT11 description unless a description hash is given.
    pub memo: String,
    /// A description hash to commit to instead of the memo.
    pub description_hash: Option<DescriptionHash>,
    /// The expiry; `None` uses the node's default.
    pub expiry: Option<Duration>,
    /// A preimage chosen by the caller; `None` makes a random one.
    pub preimage: Option<Preimage>,
    /// Makes a hold invoice for this hash: the node never learns the preimage until settled.
    pub hold_payment_hash: Option<PaymentHash>,
    /// Writes the node id into the invoice (BOLT11's `n` field). lnd and Core Lightning leave
    /// it out, and payers recover it from the signature; with it, the signature is checked
    /// against it instead.
    pub payee_field: bool,
}

fn unix_now() -> (SystemTime, u64) {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    (now, secs)
}

impl FakeNode {
    pub(crate) fn new(
        network: FakeNetwork,
        id: NodeId,
        keys: Arc<NodeKeys>,
        alias: String,
        currency: Currency,
        default_expiry: Duration,
    ) -> Self {
        Self {
            network,
            id,
            keys,
            alias,
            currency,
            default_expiry,
        }
    }

    /// The node id (compressed public key).
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node id in hex.
    pub fn pubkey_hex(&self) -> String {
        hex::encode(&self.id)
    }

    /// The routing hub's node id in hex: every node's only peer.
    pub fn hub_pubkey_hex(&self) -> String {
        hex::encode(&self.network.shared.hub_id)
    }

    /// The alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The network its invoices are for.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The network this node belongs to.
    pub fn network(&self) -> &FakeNetwork {
        &self.network
    }

    /// The fault controls of this node.
    pub fn control(&self) -> FakeControl {
        FakeControl::new(self.clone())
    }

    /// The spendable balance, in millisatoshis.
    pub fn balance_msat(&self) -> Result<u64, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.balance_msat)
    }

    /// Creates and signs an invoice.
    pub fn create_invoice(&self, new: NewInvoice) -> Result<InvoiceSnapshot, FakeNodeError> {
        self.create_signed_invoice(new)
            .map(|(snapshot, _)| snapshot)
    }

    /// Creates and signs an invoice, and gives the signed invoice as `lightning-invoice` made
    /// it, signature checked.
    pub fn create_signed_invoice(
        &self,
        new: NewInvoice,
    ) -> Result<(InvoiceSnapshot, Bolt11Invoice), FakeNodeError> {
        let (payment_hash, preimage) = match (new.hold_payment_hash, new.preimage) {
            (Some(_), Some(_)) => {
                return Err(FakeNodeError::Invalid {
                    field: "preimage",
                    reason: "a hold invoice has no preimage".into(),
                });
            }
            (Some(hash), None) => (hash, None),
            (None, Some(preimage)) => (preimage.payment_hash(), Some(preimage)),
            (None, None) => {
                let preimage = Preimage::from_bytes(random_bytes().map_err(invalid_random)?);
                (preimage.payment_hash(), Some(preimage))
            }
        };
        let payment_secret = random_bytes().map_err(invalid_random)?;
        let expiry = new.expiry.unwrap_or(self.default_expiry);
        let (now, created_at) = unix_now();
        let invoice = self
            .keys
            .sign_invoice(&InvoiceTerms {
                currency: self.currency.clone(),
                payment_hash,
                payment_secret,
                amount_msat: new.amount_msat,
                memo: &new.memo,
                description_hash: new.description_hash,
                expiry,
                created_at: now,
                payee_field: new.payee_field,
            })
            .map_err(|err| FakeNodeError::Invalid {
                field: err.field().unwrap_or("invoice"),
                reason: err.to_string(),
            })?;
        let record = InvoiceRecord::new(
            invoice.to_string(),
            new.amount_msat,
            new.memo,
            new.description_hash,
            payment_secret,
            preimage,
            created_at,
            expiry.as_secs(),
        );
        let mut state = self.network.shared.lock();
        let node = state.node_mut(&self.id)?;
        node.check_online()?;
        let snapshot = node.add_invoice(payment_hash, record, created_at)?;
        Ok((snapshot, invoice))
    }

    /// The invoice with `payment_hash`, if this node made one.
    pub fn invoice(
        &self,
        payment_hash: &PaymentHash,
    ) -> Result<Option<InvoiceSnapshot>, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.invoice(payment_hash, unix_now().1))
    }

    /// Every invoice, in creation order.
    pub fn invoices(&self) -> Result<Vec<InvoiceSnapshot>, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.invoices(unix_now().1))
    }

    /// How many invoices have been settled: the highest settle index.
    pub fn settled_count(&self) -> Result<u64, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.settled_count())
    }

    /// Pays `invoice`, sending `amount_msat` and at most `max_fee_msat` in fees. Idempotent per
    /// payment hash: an in-flight or succeeded payment is reported as
    /// [`SendOutcome::AlreadyExists`]; only a failed one is attempted again.
    pub fn pay(
        &self,
        invoice: &Bolt11,
        amount_msat: u64,
        max_fee_msat: u64,
    ) -> Result<SendOutcome, FakeNodeError> {
        let now = unix_now().1;
        let (outcome, follow_up) = {
            let mut state = self.network.shared.lock();
            state.send(
                &self.network.shared.config,
                &self.id,
                invoice,
                amount_msat,
                max_fee_msat,
                now,
            )?
        };
        if let FollowUp::SettleAfter(delay) = follow_up {
            self.settle_later(invoice.payment_hash(), delay);
        }
        Ok(outcome)
    }

    fn settle_later(&self, payment_hash: PaymentHash, delay: Duration) {
        let node = self.clone();
        let settle = move || {
            let mut state = node.network.shared.lock();
            // The payment may have been released by hand meanwhile; then there is nothing to do.
            let _ = state.release(&node.id, &payment_hash, None, unix_now().1);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(delay).await;
                    settle();
                });
            }
            Err(_) => settle(),
        }
    }

    /// The payment of `payment_hash`, if this node made one.
    pub fn payment(
        &self,
        payment_hash: &PaymentHash,
    ) -> Result<Option<PaymentSnapshot>, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.payment(payment_hash))
    }

    /// Every payment, in the order first attempted.
    pub fn payments(&self) -> Result<Vec<PaymentSnapshot>, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.payments())
    }

    /// Pays `invoice` as a node that retries temporary failures does: while
    /// [`FakeControl::fail_next_attempts_temporarily`] has attempts to fail, each is recorded as
    /// a failed attempt of this payment and retried after `pause`; then the payment is sent as
    /// [`FakeNode::pay`] sends it. If `retry_for` runs out first, the node gives up:
    /// [`TemporaryFailures::GaveUp`] with the attempts that failed (the payment's record is
    /// failed). Nothing is attempted when a payment of the hash is in flight or paid.
    pub async fn pay_retrying_temporary_failures(
        &self,
        invoice: &Bolt11,
        amount_msat: u64,
        max_fee_msat: u64,
        retry_for: Duration,
        pause: Duration,
    ) -> Result<TemporaryFailures, FakeNodeError> {
        let started = tokio::time::Instant::now();
        let mut failed = 0u32;
        while self.take_temporary_failure() {
            let control = self.control();
            control.fail_next_payment(wallet_core::FailureReason::Other(
                "temporary_channel_failure at a hop".into(),
            ));
            match self.pay(invoice, amount_msat, max_fee_msat) {
                Ok(SendOutcome::Dispatched(_)) => failed = failed.saturating_add(1),
                // Nothing was attempted (a payment of the hash exists): the fault is not spent.
                outcome @ (Ok(SendOutcome::AlreadyExists(_)) | Err(_)) => {
                    control.clear_next_failure();
                    control.fail_next_attempts_temporarily(1);
                    return outcome.map(TemporaryFailures::Sent);
                }
            }
            if started.elapsed() + pause >= retry_for {
                return Ok(TemporaryFailures::GaveUp { failed });
            }
            tokio::time::sleep(pause).await;
        }
        self.pay(invoice, amount_msat, max_fee_msat)
            .map(TemporaryFailures::Sent)
    }

    fn take_temporary_failure(&self) -> bool {
        let mut state = self.network.shared.lock();
        match state.node_mut(&self.id) {
            Ok(node) if node.temporary_failures > 0 => {
                node.temporary_failures -= 1;
                true
            }
            _ => false,
        }
    }

    /// Takes the fault set for the answer to the next payment, if any (see
    /// [`FakeControl::spoil_next_payment_answer`]). A server of this node calls it when a payment
    /// request arrives, and then spoils its answer and dispatches with [`FakeNode::pay_after`].
    pub fn take_answer_fault(&self) -> Option<AnswerFault> {
        let mut state = self.network.shared.lock();
        state.node_mut(&self.id).ok()?.answer_faults.pop_front()
    }

    /// Pays `invoice` as [`FakeNode::pay`] does, `delay` from now, in a task of the current
    /// runtime (at once when there is none); the outcome goes into the node's records only.
    pub fn pay_after(&self, invoice: Bolt11, amount_msat: u64, max_fee_msat: u64, delay: Duration) {
        let node = self.clone();
        let pay = move || {
            // The outcome is recorded by the node; a refusal leaves no record, as on a real node.
            let _ = node.pay(&invoice, amount_msat, max_fee_msat);
        };
        if delay.is_zero() {
            pay();
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(delay).await;
                    pay();
                });
            }
            Err(_) => pay(),
        }
    }

    /// How this node's lookups misbehave now (see [`FakeControl::misdirect_lookups`] and
    /// [`FakeControl::delay_lookups`]).
    pub fn lookup_faults(&self) -> Result<LookupFaults, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.lookup_faults)
    }

    /// The payment of `payment_hash` as a client's lookup sees it: after the lookup delay, and
    /// possibly the record of another hash (see [`LookupFaults`]).
    pub async fn lookup_payment(
        &self,
        payment_hash: &PaymentHash,
    ) -> Result<Option<PaymentSnapshot>, FakeNodeError> {
        self.looked_up(payment_hash, Self::payment).await
    }

    /// The invoice of `payment_hash` as a client's lookup sees it: after the lookup delay, and
    /// possibly the record of another hash (see [`LookupFaults`]).
    pub async fn lookup_invoice(
        &self,
        payment_hash: &PaymentHash,
    ) -> Result<Option<InvoiceSnapshot>, FakeNodeError> {
        self.looked_up(payment_hash, Self::invoice).await
    }

    /// `read` of `payment_hash` with the lookup faults applied.
    async fn looked_up<T>(
        &self,
        payment_hash: &PaymentHash,
        read: fn(&Self, &PaymentHash) -> Result<T, FakeNodeError>,
    ) -> Result<T, FakeNodeError> {
        let faults = self.lookup_faults()?;
        faults.wait().await;
        read(self, &faults.answered_hash(payment_hash))
    }

    /// Waits until the payment of `payment_hash` is final or `timeout` passes, and returns it as
    /// it is then. Like a payment stream from a real node, the wait ends early with
    /// [`FakeNodeError::Disconnected`] when the connection is cut (a restart) or the node goes
    /// offline; the payment itself carries on.
    pub async fn wait_for_payment(
        &self,
        payment_hash: &PaymentHash,
        timeout: Duration,
    ) -> Result<Option<PaymentSnapshot>, FakeNodeError> {
        // A day is longer than any caller waits; it keeps a huge timeout from overflowing.
        let deadline = tokio::time::Instant::now() + timeout.min(Duration::from_secs(86_400));
        let mut changes = self.changes();
        let generation = self.connection_generation()?;
        loop {
            changes.borrow_and_update();
            if self.connection_generation()? != generation {
                return Err(FakeNodeError::Disconnected(self.alias.clone()));
            }
            let payment = self.payment(payment_hash)?;
            if payment
                .as_ref()
                .is_none_or(|payment| payment.state.is_final())
            {
                return Ok(payment);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return Ok(payment),
            }
        }
    }

    fn connection_generation(&self) -> Result<u64, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        Ok(node.connection_generation)
    }

    /// Settles a held hold invoice with its preimage.
    pub fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), FakeNodeError> {
        let now = unix_now().1;
        self.network
            .shared
            .lock()
            .settle_hold(&self.id, *preimage, now)
    }

    /// Cancels an invoice, failing any payment locked in to it.
    pub fn cancel_invoice(&self, payment_hash: &PaymentHash) -> Result<(), FakeNodeError> {
        self.network
            .shared
            .lock()
            .cancel_invoice(&self.id, payment_hash)
    }

    /// A receiver that changes whenever this node's invoices, payments or connection change.
    pub fn changes(&self) -> watch::Receiver<u64> {
        let state = self.network.shared.lock();
        match state.node(&self.id) {
            Ok(node) => node.changed.subscribe(),
            // Unreachable for a handle made by the network; a closed receiver ends waits.
            Err(_) => watch::channel(0).1,
        }
    }

    /// The invoices settled after `after_settle_index`, in settle order.
    pub(crate) fn settled_after(
        &self,
        after_settle_index: u64,
    ) -> Result<Vec<InvoiceSnapshot>, FakeNodeError> {
        let state = self.network.shared.lock();
        let node = state.node(&self.id)?;
        node.check_online()?;
        let now = unix_now().1;
        Ok(
            (after_settle_index.saturating_add(1)..=node.settled_count())
                .filter_map(|settle_index| node.settled_at(settle_index, now))
                .collect(),
        )
    }

    /// Settled invoices in settle order, starting after `after_settle_index` (or with the next
    /// settlement when `None`). The stream ends with [`FakeNodeError::Disconnected`] when the
    /// node's streams are cut or it goes offline.
    pub fn paid_invoices(
        &self,
        after_settle_index: Option<u64>,
    ) -> Result<BoxStream<'static, Result<InvoiceSnapshot, FakeNodeError>>, FakeNodeError> {
        let (next_index, generation, changes) = {
            let state = self.network.shared.lock();
            let node = state.node(&self.id)?;
            node.check_online()?;
            let settled = node.settled_count();
            let after = after_settle_index.unwrap_or(settled);
            if after > settled {
                return Err(FakeNodeError::Invalid {
                    field: "cursor",
                    reason: format!("{after} is ahead of this node, which settled {settled}"),
                });
            }
            let next = after + 1;
            (next, node.connection_generation, node.changed.subscribe())
        };
        let cursor = PaidCursor {
            node: self.clone(),
            next_index,
            generation,
            changes,
            ended: false,
        };
        Ok(futures::stream::unfold(cursor, PaidCursor::next).boxed())
    }
}

struct PaidCursor {
    node: FakeNode,
    next_index: u64,
    generation: u64,
    changes: watch::Receiver<u64>,
    ended: bool,
}

impl PaidCursor {
    async fn next(mut self) -> Option<(Result<InvoiceSnapshot, FakeNodeError>, Self)> {
        if self.ended {
            return None;
        }
        loop {
            self.changes.borrow_and_update();
            let step = {
                let state = self.node.network.shared.lock();
                match state.node(&self.node.id) {
                    Err(err) => Err(err),
                    Ok(node) if node.offline || node.connection_generation != self.generation => {
                        Err(FakeNodeError::Disconnected(node.alias.clone()))
                    }
                    Ok(node) => Ok(node.settled_at(self.next_index, unix_now().1)),
                }
            };
            match step {
                Ok(Some(invoice)) => {
                    self.next_index += 1;
                    return Some((Ok(invoice), self));
                }
                Ok(None) => {
                    if self.changes.changed().await.is_err() {
                        self.ended = true;
                        let alias = self.node.alias.clone();
                        return Some((Err(FakeNodeError::Disconnected(alias)), self));
                    }
                }
                Err(err) => {
                    self.ended = true;
                    return Some((Err(err), self));
                }
            }
        }
    }
}

fn invalid_random(err: wallet_core::WalletError) -> FakeNodeError {
    FakeNodeError::Invalid {
        field: "randomness",
        reason: err.to_string(),
    }
}

/// How [`FakeNode::pay_retrying_temporary_failures`] ended.
#[derive(Clone, Debug)]
pub enum TemporaryFailures {
    /// The payment was sent (or one of the hash exists), as [`FakeNode::pay`] says.
    Sent(SendOutcome),
    /// The retry budget ran out after `failed` attempts failed temporarily.
    GaveUp {
        /// The attempts that failed.
        failed: u32,
    },
}

impl fmt::Debug for FakeNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeNode")
            .field("alias", &self.alias)
            .field("pubkey", &self.pubkey_hex())
            .field("currency", &self.currency)
            .finish_non_exhaustive()
    }
}
