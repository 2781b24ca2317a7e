//! The fake network's state and its transitions. Everything here runs under one lock and never
//! awaits; signing and waiting happen outside.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use lightning_invoice::Currency;
use tokio::sync::watch;
use wallet_core::bolt11::Bolt11;
use wallet_core::{DescriptionHash, FailureReason, PaymentHash, Preimage};

use crate::FakeNodeError;
use crate::config::NetworkConfig;
use crate::faults::{AnswerFault, LookupFaults};
use crate::snapshot::{
    AttemptSnapshot, FakeInvoiceState, FakePaymentState, InvoiceSnapshot, NodeId, PaymentSnapshot,
    SendOutcome,
};

/// A fault that changes what the next payment of a node does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PaymentFault {
    /// Fail at once with this reason; nothing moves.
    Fail(FailureReason),
    /// Stay in flight until released.
    Stall,
    /// Succeed after this long.
    SucceedAfter(Duration),
}

/// What the caller must do after a dispatch, outside the lock.
pub(crate) enum FollowUp {
    Nothing,
    SettleAfter(Duration),
}

#[derive(Default)]
pub(crate) struct NetworkState {
    pub(crate) nodes: HashMap<NodeId, NodeState>,
}

pub(crate) struct NodeState {
    pub(crate) alias: String,
    pub(crate) currency: Currency,
    pub(crate) balance_msat: u64,
    pub(crate) invoices: HashMap<PaymentHash, InvoiceRecord>,
    pub(crate) invoice_order: Vec<PaymentHash>,
    pub(crate) settled: Vec<PaymentHash>,
    pub(crate) payments: HashMap<PaymentHash, PaymentRecord>,
    pub(crate) payment_order: Vec<PaymentHash>,
    pub(crate) faults: VecDeque<PaymentFault>,
    /// Attempts still to fail at a hop with a temporary failure, before a node retries.
    pub(crate) temporary_failures: u32,
    pub(crate) offline: bool,
    pub(crate) answer_faults: VecDeque<AnswerFault>,
    pub(crate) lookup_faults: LookupFaults,
    pub(crate) connection_generation: u64,
    pub(crate) changed: watch::Sender<u64>,
}

pub(crate) struct InvoiceRecord {
    pub(crate) bolt11: String,
    pub(crate) amount_msat: Option<u64>,
    pub(crate) memo: String,
    pub(crate) description_hash: Option<DescriptionHash>,
    pub(crate) payment_secret: [u8; 32],
    pub(crate) preimage: Option<Preimage>,
    pub(crate) is_hold: bool,
    pub(crate) created_at: u64,
    pub(crate) expiry_secs: u64,
    pub(crate) add_index: u64,
    pub(crate) htlc: Option<Htlc>,
    pub(crate) settlement: Option<Settlement>,
    pub(crate) canceled: bool,
}

impl InvoiceRecord {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        bolt11: String,
        amount_msat: Option<u64>,
        memo: String,
        description_hash: Option<DescriptionHash>,
        payment_secret: [u8; 32],
        preimage: Option<Preimage>,
        created_at: u64,
        expiry_secs: u64,
    ) -> Self {
        Self {
            bolt11,
            amount_msat,
            memo,
            description_hash,
            payment_secret,
            is_hold: preimage.is_none(),
            preimage,
            created_at,
            expiry_secs,
            add_index: 0,
            htlc: None,
            settlement: None,
            canceled: false,
        }
    }

    fn state(&self, now: u64) -> FakeInvoiceState {
        if let Some(settlement) = &self.settlement {
            FakeInvoiceState::Settled {
                amount_received_msat: settlement.amount_msat,
                settle_index: settlement.settle_index,
                paid_at: settlement.paid_at,
            }
        } else if self.canceled {
            FakeInvoiceState::Canceled
        } else if let Some(htlc) = self.htlc.as_ref().filter(|_| self.is_hold) {
            FakeInvoiceState::Accepted {
                amount_msat: htlc.amount_msat,
            }
        } else if self.htlc.is_none() && now >= self.created_at.saturating_add(self.expiry_secs) {
            FakeInvoiceState::Expired
        } else {
            FakeInvoiceState::Open
        }
    }

    fn snapshot(&self, payment_hash: PaymentHash, now: u64) -> InvoiceSnapshot {
        InvoiceSnapshot {
            payment_hash,
            bolt11: self.bolt11.clone(),
            amount_msat: self.amount_msat,
            memo: self.memo.clone(),
            description_hash: self.description_hash,
            payment_secret: self.payment_secret,
            preimage: if self.is_hold && self.settlement.is_none() {
                None
            } else {
                self.preimage
            },
            is_hold: self.is_hold,
            created_at: self.created_at,
            expiry_secs: self.expiry_secs,
            add_index: self.add_index,
            state: self.state(now),
        }
    }
}

/// A payment locked in at the payee, not yet settled or failed.
#[derive(Clone, Copy)]
pub(crate) struct Htlc {
    pub(crate) payer: NodeId,
    pub(crate) amount_msat: u64,
    pub(crate) fee_msat: u64,
}

pub(crate) struct Settlement {
    pub(crate) amount_msat: u64,
    pub(crate) settle_index: u64,
    pub(crate) paid_at: u64,
}

pub(crate) struct PaymentRecord {
    pub(crate) bolt11: String,
    pub(crate) payee: NodeId,
    pub(crate) amount_msat: u64,
    pub(crate) created_at: u64,
    pub(crate) payment_index: u64,
    pub(crate) attempts: Vec<AttemptSnapshot>,
}

impl PaymentRecord {
    fn state(&self) -> FakePaymentState {
        if let Some(success) = self
            .attempts
            .iter()
            .find(|attempt| matches!(attempt.state, FakePaymentState::Succeeded { .. }))
        {
            return success.state.clone();
        }
        if self
            .attempts
            .iter()
            .any(|attempt| attempt.state == FakePaymentState::InFlight)
        {
            return FakePaymentState::InFlight;
        }
        self.attempts
            .last()
            .map(|attempt| attempt.state.clone())
            .unwrap_or(FakePaymentState::InFlight)
    }

    fn snapshot(&self, payment_hash: PaymentHash) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_hash,
            bolt11: self.bolt11.clone(),
            payee: self.payee,
            amount_msat: self.amount_msat,
            created_at: self.created_at,
            payment_index: self.payment_index,
            attempts: self.attempts.clone(),
            state: self.state(),
        }
    }

    fn in_flight_attempt(&mut self) -> Option<&mut AttemptSnapshot> {
        self.attempts
            .iter_mut()
            .rev()
            .find(|attempt| attempt.state == FakePaymentState::InFlight)
    }
}

impl NodeState {
    pub(crate) fn new(alias: String, currency: Currency, balance_msat: u64) -> Self {
        Self {
            alias,
            currency,
            balance_msat,
            invoices: HashMap::new(),
            invoice_order: Vec::new(),
            settled: Vec::new(),
            payments: HashMap::new(),
            payment_order: Vec::new(),
            faults: VecDeque::new(),
            temporary_failures: 0,
            offline: false,
            answer_faults: VecDeque::new(),
            lookup_faults: LookupFaults::default(),
            connection_generation: 0,
            changed: watch::Sender::new(0),
        }
    }

    pub(crate) fn notify(&self) {
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    pub(crate) fn check_online(&self) -> Result<(), FakeNodeError> {
        if self.offline {
            Err(FakeNodeError::Offline(self.alias.clone()))
        } else {
            Ok(())
        }
    }

    pub(crate) fn add_invoice(
        &mut self,
        payment_hash: PaymentHash,
        mut record: InvoiceRecord,
        now: u64,
    ) -> Result<InvoiceSnapshot, FakeNodeError> {
        if self.invoices.contains_key(&payment_hash) {
            return Err(FakeNodeError::DuplicateInvoice);
        }
        self.invoice_order.push(payment_hash);
        record.add_index = self.invoice_order.len() as u64;
        let snapshot = record.snapshot(payment_hash, now);
        self.invoices.insert(payment_hash, record);
        self.notify();
        Ok(snapshot)
    }

    pub(crate) fn invoice(&self, payment_hash: &PaymentHash, now: u64) -> Option<InvoiceSnapshot> {
        self.invoices
            .get(payment_hash)
            .map(|record| record.snapshot(*payment_hash, now))
    }

    pub(crate) fn invoices(&self, now: u64) -> Vec<InvoiceSnapshot> {
        self.invoice_order
            .iter()
            .filter_map(|hash| self.invoice(hash, now))
            .collect()
    }

    pub(crate) fn settled_count(&self) -> u64 {
        self.settled.len() as u64
    }

    /// The invoice settled at `settle_index` (from 1).
    pub(crate) fn settled_at(&self, settle_index: u64, now: u64) -> Option<InvoiceSnapshot> {
        let position = usize::try_from(settle_index.checked_sub(1)?).ok()?;
        self.settled
            .get(position)
            .and_then(|hash| self.invoice(hash, now))
    }

    pub(crate) fn payment(&self, payment_hash: &PaymentHash) -> Option<PaymentSnapshot> {
        self.payments
            .get(payment_hash)
            .map(|record| record.snapshot(*payment_hash))
    }

    pub(crate) fn payments(&self) -> Vec<PaymentSnapshot> {
        self.payment_order
            .iter()
            .filter_map(|hash| self.payment(hash))
            .collect()
    }
}

impl NetworkState {
    pub(crate) fn node(&self, id: &NodeId) -> Result<&NodeState, FakeNodeError> {
        self.nodes
            .get(id)
            .ok_or_else(|| FakeNodeError::Offline("unknown node".into()))
    }

    pub(crate) fn node_mut(&mut self, id: &NodeId) -> Result<&mut NodeState, FakeNodeError> {
        self.nodes
            .get_mut(id)
            .ok_or_else(|| FakeNodeError::Offline("unknown node".into()))
    }

    /// Sends a payment from `payer`. Idempotent per hash: an in-flight or succeeded payment is
    /// reported, not repeated; only a failed one is attempted again.
    pub(crate) fn send(
        &mut self,
        config: &NetworkConfig,
        payer_id: &NodeId,
        invoice: &Bolt11,
        amount_msat: u64,
        max_fee_msat: u64,
        now: u64,
    ) -> Result<(SendOutcome, FollowUp), FakeNodeError> {
        let payment_hash = invoice.payment_hash();
        let payee_id = invoice.payee();
        let payer = self.node_mut(payer_id)?;
        payer.check_online()?;
        if let Some(existing) = payer.payment(&payment_hash)
            && !matches!(existing.state, FakePaymentState::Failed { .. })
        {
            return Ok((SendOutcome::AlreadyExists(existing), FollowUp::Nothing));
        }
        let fault = payer.faults.pop_front();
        let fee_msat = if payee_id == *payer_id {
            0
        } else {
            config.routing_fee_msat(amount_msat)
        };
        let payer_balance = payer.balance_msat;

        let refusal = match &fault {
            Some(PaymentFault::Fail(reason)) => Some(reason.clone()),
            _ => self.refusal(
                &payee_id,
                &payment_hash,
                invoice,
                amount_msat,
                fee_msat,
                max_fee_msat,
                payer_balance,
                now,
            ),
        };

        let payer = self.node_mut(payer_id)?;
        let attempt_state = match &refusal {
            Some(reason) => FakePaymentState::Failed {
                reason: reason.clone(),
            },
            None => FakePaymentState::InFlight,
        };
        let attempt = AttemptSnapshot {
            fee_msat,
            started_at: now,
            state: attempt_state,
        };
        match payer.payments.get_mut(&payment_hash) {
            Some(record) => record.attempts.push(attempt),
            None => {
                payer.payment_order.push(payment_hash);
                let record = PaymentRecord {
                    bolt11: invoice.to_string(),
                    payee: payee_id,
                    amount_msat,
                    created_at: now,
                    payment_index: payer.payment_order.len() as u64,
                    attempts: vec![attempt],
                };
                payer.payments.insert(payment_hash, record);
            }
        }
        let mut follow_up = FollowUp::Nothing;
        if refusal.is_none() {
            payer.balance_msat = payer
                .balance_msat
                .saturating_sub(amount_msat.saturating_add(fee_msat));
            let payee = self.node_mut(&payee_id)?;
            let Some(record) = payee.invoices.get_mut(&payment_hash) else {
                return Err(FakeNodeError::InvoiceNotFound);
            };
            record.htlc = Some(Htlc {
                payer: *payer_id,
                amount_msat,
                fee_msat,
            });
            let is_hold = record.is_hold;
            let preimage = record.preimage;
            payee.notify();
            match (is_hold, fault, preimage) {
                (true, _, _) | (false, Some(PaymentFault::Stall), _) => {}
                (false, Some(PaymentFault::SucceedAfter(delay)), _) => {
                    follow_up = FollowUp::SettleAfter(delay);
                }
                (false, _, Some(preimage)) => {
                    self.settle_htlc(&payee_id, &payment_hash, preimage, now)?;
                }
                (false, _, None) => {
                    self.fail_htlc(
                        &payee_id,
                        &payment_hash,
                        FailureReason::IncorrectPaymentDetails,
                    )?;
                }
            }
        }
        let payer = self.node_mut(payer_id)?;
        payer.notify();
        let snapshot = payer
            .payment(&payment_hash)
            .ok_or(FakeNodeError::InvoiceNotFound)?;
        Ok((SendOutcome::Dispatched(snapshot), follow_up))
    }

    /// Why a payment cannot be delivered, or `None` when it can.
    #[allow(clippy::too_many_arguments)]
    fn refusal(
        &self,
        payee_id: &NodeId,
        payment_hash: &PaymentHash,
        invoice: &Bolt11,
        amount_msat: u64,
        fee_msat: u64,
        max_fee_msat: u64,
        payer_balance_msat: u64,
        now: u64,
    ) -> Option<FailureReason> {
        let Some(payee) = self.nodes.get(payee_id).filter(|payee| !payee.offline) else {
            return Some(FailureReason::NoRoute);
        };
        if fee_msat > max_fee_msat {
            return Some(FailureReason::NoRoute);
        }
        if amount_msat.saturating_add(fee_msat) > payer_balance_msat {
            return Some(FailureReason::InsufficientBalance);
        }
        let Some(record) = payee.invoices.get(payment_hash) else {
            return Some(FailureReason::IncorrectPaymentDetails);
        };
        let payable = record.state(now) == FakeInvoiceState::Open
            && record.htlc.is_none()
            && record.payment_secret == invoice.payment_secret()
            && record.amount_msat.is_none_or(|asked| amount_msat >= asked);
        (!payable).then_some(FailureReason::IncorrectPaymentDetails)
    }

    /// Settles the payment locked in at `payee_id`'s invoice, paying the payee and telling the payer.
    pub(crate) fn settle_htlc(
        &mut self,
        payee_id: &NodeId,
        payment_hash: &PaymentHash,
        preimage: Preimage,
        now: u64,
    ) -> Result<(), FakeNodeError> {
        let payee = self.node_mut(payee_id)?;
        let Some(record) = payee.invoices.get_mut(payment_hash) else {
            return Err(FakeNodeError::InvoiceNotFound);
        };
        let Some(htlc) = record.htlc.take() else {
            return Err(FakeNodeError::InvoiceStillOpen);
        };
        record.preimage = Some(preimage);
        payee.settled.push(*payment_hash);
        let settle_index = payee.settled.len() as u64;
        if let Some(record) = payee.invoices.get_mut(payment_hash) {
            record.settlement = Some(Settlement {
                amount_msat: htlc.amount_msat,
                settle_index,
                paid_at: now,
            });
        }
        payee.balance_msat = payee.balance_msat.saturating_add(htlc.amount_msat);
        payee.notify();
        let payer = self.node_mut(&htlc.payer)?;
        if let Some(attempt) = payer
            .payments
            .get_mut(payment_hash)
            .and_then(PaymentRecord::in_flight_attempt)
        {
            attempt.state = FakePaymentState::Succeeded {
                preimage,
                fee_msat: htlc.fee_msat,
            };
        }
        payer.notify();
        Ok(())
    }

    /// Fails the payment locked in at `payee_id`'s invoice, refunding the payer.
    pub(crate) fn fail_htlc(
        &mut self,
        payee_id: &NodeId,
        payment_hash: &PaymentHash,
        reason: FailureReason,
    ) -> Result<(), FakeNodeError> {
        let payee = self.node_mut(payee_id)?;
        let Some(htlc) = payee
            .invoices
            .get_mut(payment_hash)
            .and_then(|record| record.htlc.take())
        else {
            return Ok(());
        };
        payee.notify();
        let payer = self.node_mut(&htlc.payer)?;
        payer.balance_msat = payer
            .balance_msat
            .saturating_add(htlc.amount_msat.saturating_add(htlc.fee_msat));
        if let Some(attempt) = payer
            .payments
            .get_mut(payment_hash)
            .and_then(PaymentRecord::in_flight_attempt)
        {
            attempt.state = FakePaymentState::Failed { reason };
        }
        payer.notify();
        Ok(())
    }

    /// Settles a held hold invoice of `node_id` (lnd's `SettleInvoice` rules).
    pub(crate) fn settle_hold(
        &mut self,
        node_id: &NodeId,
        preimage: Preimage,
        now: u64,
    ) -> Result<(), FakeNodeError> {
        let payment_hash = preimage.payment_hash();
        let node = self.node(node_id)?;
        node.check_online()?;
        let record = node
            .invoices
            .get(&payment_hash)
            .ok_or(FakeNodeError::InvoiceNotFound)?;
        match record.state(now) {
            FakeInvoiceState::Settled { .. } => Ok(()),
            FakeInvoiceState::Canceled | FakeInvoiceState::Expired => {
                Err(FakeNodeError::InvoiceAlreadyCanceled)
            }
            FakeInvoiceState::Open => Err(FakeNodeError::InvoiceStillOpen),
            FakeInvoiceState::Accepted { .. } => {
                self.settle_htlc(node_id, &payment_hash, preimage, now)
            }
        }
    }

    /// Cancels an invoice of `node_id`, failing any payment locked in (lnd's `CancelInvoice`).
    pub(crate) fn cancel_invoice(
        &mut self,
        node_id: &NodeId,
        payment_hash: &PaymentHash,
    ) -> Result<(), FakeNodeError> {
        let node = self.node(node_id)?;
        node.check_online()?;
        let record = node
            .invoices
            .get(payment_hash)
            .ok_or(FakeNodeError::InvoiceNotFound)?;
        if record.settlement.is_some() {
            return Err(FakeNodeError::InvoiceAlreadySettled);
        }
        // The payee fails the held HTLC as unknown (incorrect_or_unknown_payment_details):
        // lnd's payer reports FAILURE_REASON_INCORRECT_PAYMENT_DETAILS, not CANCELED, which
        // lnd keeps for a payment its own user cancelled.
        self.fail_htlc(
            node_id,
            payment_hash,
            FailureReason::IncorrectPaymentDetails,
        )?;
        let node = self.node_mut(node_id)?;
        if let Some(record) = node.invoices.get_mut(payment_hash) {
            record.canceled = true;
        }
        node.notify();
        Ok(())
    }

    /// Resolves a stalled payment of `payer_id`: settle it or fail it with `reason`.
    pub(crate) fn release(
        &mut self,
        payer_id: &NodeId,
        payment_hash: &PaymentHash,
        failure: Option<FailureReason>,
        now: u64,
    ) -> Result<bool, FakeNodeError> {
        let payer = self.node(payer_id)?;
        let Some(payment) = payer.payment(payment_hash) else {
            return Ok(false);
        };
        if payment.state != FakePaymentState::InFlight {
            return Ok(false);
        }
        let payee_id = payment.payee;
        match failure {
            Some(reason) => self.fail_htlc(&payee_id, payment_hash, reason)?,
            None => {
                let preimage = self
                    .node(&payee_id)?
                    .invoices
                    .get(payment_hash)
                    .and_then(|record| record.preimage);
                match preimage {
                    Some(preimage) => self.settle_htlc(&payee_id, payment_hash, preimage, now)?,
                    // A hold invoice: only its owner can settle it.
                    None => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    /// Hashes of `payer_id`'s payments still in flight.
    pub(crate) fn in_flight(&self, payer_id: &NodeId) -> Vec<PaymentHash> {
        self.nodes
            .get(payer_id)
            .map(|node| {
                node.payments()
                    .into_iter()
                    .filter(|payment| payment.state == FakePaymentState::InFlight)
                    .map(|payment| payment.payment_hash)
                    .collect()
            })
            .unwrap_or_default()
    }
}
