//! The [`Wallet`] trait: one async interface to every Lightning funding source.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    ChannelInfo, Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    NodeInfo, PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse,
    PaymentStatus, PeerInfo, Preimage, StreamCursor, WalletError, WalletFeature,
};

/// The wallet's balance (LNbits' `StatusResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// Spendable balance, in millisatoshis.
    pub balance_msat: u64,
}

/// A Lightning funding source: LNbits' `Wallet` base class, with the money-safety rules made
/// part of the contract.
///
/// Every implementation keeps the rules of [`crate::contract`], which the `wallet-conformance`
/// suite checks. In short:
///
/// 1. **Failed means failed.** [`PaymentStatus::Failed`] only when the node said so for good.
///    Timeouts, transport and parse errors, unknown native states and "not found right after
///    dispatch" are [`PaymentStatus::Pending`] (or `Unknown` for a status query).
/// 2. **`Err` means nothing was sent.** See [`PayError`].
/// 3. **Never pay twice.** `pay_invoice` is idempotent per payment hash, also under concurrent
///    calls and after an invoice expired: the node is asked about the hash first, and a payment
///    in flight or paid is reported instead of sent again. Only evidence about a new dispatch
///    can make it `Failed`. [`crate::pay::Payments`] implements this for every backend.
/// 4. **One id.** The `checking_id` of invoices and payments is the payment hash.
/// 5. **Unknown is not failed.** A hash the node never saw is `Unknown`. Preimages are checked
///    against the payment hash before they are reported.
/// 6. **Bounded calls.** Every remote call has a deadline; [`PayInvoiceRequest::timeout`] bounds
///    the whole of `pay_invoice`, which returns `Pending` when it passes.
/// 7. **No missed notification.** See [`Wallet::paid_invoices_stream`].
/// 8. **Features are data.** Every call outside [`Wallet::features`] returns
///    [`WalletError::Unsupported`].
///
/// Rules 9 to 13 (millisatoshis, secrets, bad input, untrusted nodes, the contract in the
/// repository) are in [`crate::contract`].
///
/// Callers moving money should write down that a payment was attempted before calling
/// `pay_invoice`, and after any `Pending` result call [`Wallet::get_payment_status`] until it is
/// final before refunding anyone.
#[async_trait]
pub trait Wallet: Send + Sync + fmt::Debug {
    /// The optional features this backend supports.
    fn features(&self) -> Features;

    /// The spendable balance. An unreachable backend is an error, never a zero balance.
    async fn status(&self) -> Result<StatusResponse, WalletError>;

    /// Creates an invoice. The request is validated first; unsupported options (an amountless
    /// invoice, a bare description hash) give [`WalletError::Unsupported`].
    async fn create_invoice(&self, request: InvoiceRequest)
    -> Result<InvoiceResponse, WalletError>;

    /// Pays an invoice, waiting at most `request.timeout` for a final state.
    ///
    /// Returns `Ok` with [`PaymentStatus::Succeeded`], [`PaymentStatus::Failed`] (the node said
    /// so), or [`PaymentStatus::Pending`] (still in flight, or the outcome is not known). Returns
    /// `Err` only when no payment was sent.
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError>;

    /// The state of an invoice this wallet created.
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError>;

    /// The state of a payment this wallet made. A transport error is an `Err`, never `Failed`.
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError>;

    /// Invoices as they are paid, at least once each, in settle order.
    ///
    /// With `resume_from: None` the stream starts with the next payment and replays nothing
    /// (the same as resuming from [`Wallet::paid_invoices_cursor`] read at the call).
    /// With a cursor from an earlier item, it first delivers every invoice paid after that
    /// item, then continues live. On connection loss the stream yields an `Err` and ends: it
    /// never hangs silently and never retries by itself. Call it again, or use
    /// [`crate::supervisor::SupervisedStream`], which reconnects with backoff, resumes from the
    /// last cursor and drops duplicates.
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError>;

    /// The cursor of "now": a stream resumed from it delivers every invoice paid after this
    /// call, and none paid before.
    ///
    /// [`crate::supervisor::SupervisedStream`] reads it before its first subscription when it is
    /// given no cursor, and resumes every reconnect from it until the first item arrives, so
    /// that an outage before the first payment misses nothing (contract rule 7). Apps that
    /// persist cursors can store it too, before they show their first invoice.
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError>;

    /// Creates a hold invoice for a payment hash whose preimage only the caller knows. A payment
    /// to it is [`InvoiceStatus::Held`] until settled or cancelled.
    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        let _ = request;
        Err(WalletError::Unsupported(WalletFeature::HoldInvoice))
    }

    /// Settles a held invoice with its preimage. Settling an invoice that is not held yet is a
    /// [`WalletError::InvalidState`] error.
    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        let _ = preimage;
        Err(WalletError::Unsupported(WalletFeature::HoldInvoice))
    }

    /// Cancels a hold invoice, returning any held payment to its sender.
    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        let _ = payment_hash;
        Err(WalletError::Unsupported(WalletFeature::HoldInvoice))
    }

    /// What the node says about itself.
    async fn node_info(&self) -> Result<NodeInfo, WalletError> {
        Err(WalletError::Unsupported(WalletFeature::NodeManager))
    }

    /// The node's channels.
    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, WalletError> {
        Err(WalletError::Unsupported(WalletFeature::NodeManager))
    }

    /// The node's peers.
    async fn list_peers(&self) -> Result<Vec<PeerInfo>, WalletError> {
        Err(WalletError::Unsupported(WalletFeature::NodeManager))
    }
}
