//! [`FakeWallet`]: the [`Wallet`] trait on a fake node.

use std::fmt;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use wallet_core::bolt11::{Bolt11, CheckedPayment, Currency};
use wallet_core::pay::{
    Attempt, AttemptState, Dispatched, PaymentDriver, Payments, payment_status,
};
use wallet_core::{
    ChannelInfo, Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    NodeInfo, PaidInvoice, PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash,
    PaymentResponse, PaymentStatus, PeerInfo, Preimage, StatusResponse, StreamCursor, Wallet,
    WalletError, async_trait,
};

use crate::control::FakeControl;
use crate::node::{FakeNode, NewInvoice};
use crate::snapshot::{FakeInvoiceState, FakePaymentState, InvoiceSnapshot, PaymentSnapshot};

/// A wallet on a node of a [`crate::FakeNetwork`]: LNbits' `FakeWallet`, but with real
/// payments between nodes, every invoice and payment state, hold invoices and fault controls.
///
/// It supports every [`wallet_core::WalletFeature`]. A lone wallet can pay its own invoices
/// (without fees), as in LNbits.
#[derive(Clone)]
pub struct FakeWallet {
    node: FakeNode,
    payments: Arc<Payments>,
}

impl FakeWallet {
    /// A wallet on `node`.
    pub fn new(node: FakeNode) -> Self {
        Self {
            node,
            payments: Arc::new(Payments::new()),
        }
    }

    /// The node behind the wallet.
    pub fn node(&self) -> &FakeNode {
        &self.node
    }

    /// The node's fault controls.
    pub fn control(&self) -> FakeControl {
        self.node.control()
    }

    /// How this wallet's payments reach the node, for code that runs the payment protocol
    /// ([`Payments::pay`]) itself: a test of the protocol, or a deliberately broken wallet built
    /// around it (the chaos campaign's `no-prelookup` mutant).
    pub fn payment_driver(&self) -> impl PaymentDriver + '_ {
        Driver { node: &self.node }
    }
}

impl fmt::Debug for FakeWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeWallet")
            .field("node", &self.node)
            .finish()
    }
}

/// The node's attempts at a payment, as the payment protocol reads them.
pub(crate) fn attempts(payment: Option<PaymentSnapshot>) -> Vec<Attempt> {
    let Some(payment) = payment else {
        return Vec::new();
    };
    payment
        .attempts
        .iter()
        .zip(1..)
        .map(|(attempt, order)| Attempt {
            payment_hash: Some(payment.payment_hash),
            state: match &attempt.state {
                FakePaymentState::InFlight => AttemptState::InFlight,
                FakePaymentState::Succeeded { preimage, fee_msat } => AttemptState::Succeeded {
                    preimage: Some(*preimage),
                    fee_msat: *fee_msat,
                },
                FakePaymentState::Failed { reason } => AttemptState::Failed {
                    reason: reason.clone(),
                },
            },
            order,
        })
        .collect()
}

fn invoice_status(invoice: &InvoiceSnapshot) -> Result<InvoiceStatus, WalletError> {
    Ok(match invoice.state {
        FakeInvoiceState::Open => InvoiceStatus::Pending,
        FakeInvoiceState::Accepted { amount_msat } => InvoiceStatus::Held {
            amount_received_msat: amount_msat,
        },
        FakeInvoiceState::Settled {
            amount_received_msat,
            paid_at,
            ..
        } => {
            let preimage = invoice
                .preimage
                .ok_or_else(|| WalletError::backend(None, "settled invoice without a preimage"))?;
            InvoiceStatus::checked_paid(
                &invoice.payment_hash,
                preimage,
                amount_received_msat,
                paid_at,
            )?
        }
        FakeInvoiceState::Canceled => InvoiceStatus::Cancelled,
        FakeInvoiceState::Expired => InvoiceStatus::Expired,
    })
}

pub(crate) fn paid_invoice(invoice: InvoiceSnapshot) -> Result<PaidInvoice, WalletError> {
    match invoice.state {
        FakeInvoiceState::Settled {
            amount_received_msat,
            settle_index,
            paid_at,
        } => Ok(PaidInvoice {
            payment_hash: invoice.payment_hash,
            amount_received_msat,
            paid_at,
            cursor: StreamCursor::from_index(settle_index),
        }),
        _ => Err(WalletError::backend(
            None,
            "stream yielded an unsettled invoice",
        )),
    }
}

fn new_invoice(request: &InvoiceRequest) -> NewInvoice {
    NewInvoice {
        amount_msat: request.amount_msat,
        memo: request.memo.clone().unwrap_or_default(),
        description_hash: request.effective_description_hash(),
        expiry: request.expiry,
        preimage: None,
        hold_payment_hash: None,
        // With its node id in the invoice, the invoice `lightning-invoice` checked as it signed
        // it needs no second check to be handed out (see `issued`).
        payee_field: true,
    }
}

/// The response for an invoice this node just signed, checked against `request` like every
/// backend's. `lightning-invoice` checked its signature as it signed it, against the node id
/// in its `n` field, so nothing is decoded or verified twice.
fn issued(
    request: &InvoiceRequest,
    snapshot: InvoiceSnapshot,
    signed: lightning_invoice::Bolt11Invoice,
) -> Result<InvoiceResponse, WalletError> {
    let invoice = Bolt11::from_invoice(signed)?;
    request.check_issued("the fake node", &invoice, Some(snapshot.payment_hash))?;
    Ok(InvoiceResponse {
        checking_id: invoice.payment_hash(),
        expires_at: invoice.expires_at(),
        // The same invoice, as the node encoded it already.
        payment_request: snapshot.bolt11,
    })
}

/// How the payment protocol reaches the node: in process, with the node's answer and lookup
/// faults applied as a daemon in front of it would.
struct Driver<'a> {
    node: &'a FakeNode,
}

#[async_trait]
impl PaymentDriver for Driver<'_> {
    fn features(&self) -> Features {
        Features::all()
    }

    async fn network(&self, _deadline: Duration) -> Option<Currency> {
        Some(self.node.currency().clone())
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        _deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        Ok(attempts(self.node.lookup_payment(payment_hash).await?))
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        let invoice = &payment.invoice;
        if let Some(fault) = self.node.take_answer_fault() {
            self.node.pay_after(
                invoice.clone(),
                payment.amount_msat,
                request.max_fee_msat,
                fault.dispatch_after,
            );
            return Dispatched::Unanswered(format!("the answer was spoiled: {:?}", fault.kind));
        }
        // The node refuses before dispatch or not at all, so its errors mean nothing was sent.
        let outcome = match self
            .node
            .pay(invoice, payment.amount_msat, request.max_fee_msat)
        {
            Ok(outcome) => outcome,
            Err(err) => return Dispatched::NotSent(err.into()),
        };
        let hash = invoice.payment_hash();
        let mut latest = outcome.payment().clone();
        if !latest.state.is_final() {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.node.wait_for_payment(&hash, wait).await {
                Ok(Some(payment)) => latest = payment,
                Ok(None) => {}
                Err(err) => return Dispatched::Unanswered(err.to_string()),
            }
        }
        answered(latest)
    }
}

/// The node's answer to a dispatch: the payment as it stands, read by the protocol's rule.
pub(crate) fn answered(payment: PaymentSnapshot) -> Dispatched {
    let hash = payment.payment_hash;
    Dispatched::Answered(payment_status(&hash, &attempts(Some(payment))))
}

#[async_trait]
impl Wallet for FakeWallet {
    fn features(&self) -> Features {
        Features::all()
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "fake"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        Ok(StatusResponse {
            balance_msat: self.node.balance_msat()?,
        })
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake", amount_msat = ?request.amount_msat), ret(level = "info"), err(Display))]
    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.validate()?;
        let (snapshot, signed) = self.node.create_signed_invoice(new_invoice(&request))?;
        issued(&request, snapshot, signed)
    }

    #[tracing::instrument(
        level = "info",
        skip_all,
        fields(backend = "fake"),
        ret(level = "info"),
        err(Display)
    )]
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.payments
            .pay(&Driver { node: &self.node }, request)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        match self.node.lookup_invoice(checking_id).await? {
            // Contract rule 3: a record about another hash says nothing about this one.
            Some(invoice) if invoice.payment_hash == *checking_id => invoice_status(&invoice),
            Some(_) | None => Ok(InvoiceStatus::Unknown),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake", payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let payment = self.node.lookup_payment(checking_id).await?;
        Ok(payment_status(checking_id, &attempts(payment)))
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(backend = "fake"),
        ret(level = "debug"),
        err(Display)
    )]
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        Ok(StreamCursor::from_index(self.node.settled_count()?))
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake", resume_from = ?resume_from), err(Display))]
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        let after = resume_from
            .as_ref()
            .map(StreamCursor::to_index)
            .transpose()?;
        let stream = self.node.paid_invoices(after)?;
        Ok(stream
            .map(|item| item.map_err(WalletError::from).and_then(paid_invoice))
            .boxed())
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake", payment_hash = %request.payment_hash), ret(level = "info"), err(Display))]
    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        request.invoice.validate()?;
        let mut new = new_invoice(&request.invoice);
        new.hold_payment_hash = Some(request.payment_hash);
        let (snapshot, signed) = self.node.create_signed_invoice(new)?;
        issued(&request.invoice, snapshot, signed)
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake", payment_hash = %preimage.payment_hash()), err(Display))]
    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        Ok(self.node.settle_hold_invoice(preimage)?)
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake", payment_hash = %payment_hash), err(Display))]
    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        Ok(self.node.cancel_invoice(payment_hash)?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake"), err(Display))]
    async fn node_info(&self) -> Result<NodeInfo, WalletError> {
        let balance_msat = self.node.balance_msat()?;
        Ok(NodeInfo {
            pubkey: self.node.pubkey_hex(),
            alias: self.node.alias().to_owned(),
            network: bitcoin::Network::from(self.node.currency().clone())
                .to_core_arg()
                .to_owned(),
            block_height: self.node.network().config().block_height,
            num_peers: 1,
            num_active_channels: 1,
            channel_balance_msat: balance_msat,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake"), err(Display))]
    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, WalletError> {
        let local_balance_msat = self.node.balance_msat()?;
        let remote_balance_msat = self.node.network().config().hub_liquidity_msat;
        Ok(vec![ChannelInfo {
            id: format!("{}x1x0", self.node.network().config().block_height),
            peer_pubkey: self.node.hub_pubkey_hex(),
            capacity_msat: local_balance_msat.saturating_add(remote_balance_msat),
            local_balance_msat,
            remote_balance_msat,
            active: true,
        }])
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake"), err(Display))]
    async fn list_peers(&self) -> Result<Vec<PeerInfo>, WalletError> {
        self.node.balance_msat()?;
        Ok(vec![PeerInfo {
            pubkey: self.node.hub_pubkey_hex(),
            address: None,
            connected: true,
        }])
    }
}
