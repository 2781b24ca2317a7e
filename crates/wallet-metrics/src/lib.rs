#![doc = include_str!("../README.md")]

use std::fmt;
use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;
use metrics::{counter, gauge, histogram};
use wallet_core::{
    ChannelInfo, Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    NodeInfo, PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse,
    PaymentStatus, PeerInfo, Preimage, StatusResponse, StreamCursor, Wallet, WalletError,
};

/// A [`Wallet`] whose every call is counted and timed through the `metrics` facade; everything
/// else is the wrapped wallet's.
pub struct MeteredWallet<W> {
    inner: W,
    backend: &'static str,
}

impl<W> MeteredWallet<W> {
    /// `inner`, reported under the label `backend` (`"lnd"`, `"cln"`, ...).
    pub fn new(inner: W, backend: &'static str) -> Self {
        Self { inner, backend }
    }

    /// The wrapped wallet.
    pub fn inner(&self) -> &W {
        &self.inner
    }
}

impl<W: fmt::Debug> fmt::Debug for MeteredWallet<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredWallet")
            .field("inner", &self.inner)
            .field("backend", &self.backend)
            .finish()
    }
}

/// The `outcome` label of an error.
fn error_outcome(err: &WalletError) -> &'static str {
    match err {
        WalletError::InvalidRequest { .. } => "error_invalid_request",
        WalletError::Unsupported(_) => "error_unsupported",
        WalletError::InvalidState(_) => "error_invalid_state",
        WalletError::NotFound(_) => "error_not_found",
        WalletError::Unauthorized(_) => "error_unauthorized",
        WalletError::Unavailable { .. } => "error_unavailable",
        WalletError::Backend { .. } => "error_backend",
        _ => "error",
    }
}

fn payment_outcome(status: &PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Succeeded { .. } => "succeeded",
        PaymentStatus::Pending => "pending",
        PaymentStatus::Failed { .. } => "failed",
        PaymentStatus::Unknown => "unknown",
    }
}

fn invoice_outcome(status: &InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Pending => "pending",
        InvoiceStatus::Held { .. } => "held",
        InvoiceStatus::Paid { .. } => "paid",
        InvoiceStatus::Expired => "expired",
        InvoiceStatus::Cancelled => "cancelled",
        InvoiceStatus::Unknown => "unknown",
    }
}

impl<W> MeteredWallet<W> {
    /// Runs `call`, then counts and times it under `operation` and the outcome `outcome` names.
    async fn metered<T, E>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, E>>,
        outcome: impl FnOnce(&Result<T, E>) -> &'static str,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = call.await;
        let seconds = started.elapsed().as_secs_f64();
        let outcome = outcome(&result);
        let labels = [
            ("backend", self.backend),
            ("operation", operation),
            ("outcome", outcome),
        ];
        counter!("wallet_calls_total", &labels).increment(1);
        histogram!("wallet_call_duration_seconds", &labels).record(seconds);
        result
    }
}

fn ok_or_kind<T>(result: &Result<T, WalletError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(err) => error_outcome(err),
    }
}

/// Keeps [`MeteredWallet`]'s stream gauge right however the stream ends (dropped included).
struct OpenStream {
    backend: &'static str,
}

impl OpenStream {
    fn new(backend: &'static str) -> Self {
        gauge!("wallet_streams_open", "backend" => backend).increment(1.0);
        Self { backend }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        gauge!("wallet_streams_open", "backend" => self.backend).decrement(1.0);
    }
}

#[async_trait]
impl<W: Wallet> Wallet for MeteredWallet<W> {
    fn features(&self) -> Features {
        self.inner.features()
    }

    async fn status(&self) -> Result<StatusResponse, WalletError> {
        self.metered("status", self.inner.status(), ok_or_kind)
            .await
    }

    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.metered(
            "create_invoice",
            self.inner.create_invoice(request),
            ok_or_kind,
        )
        .await
    }

    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.metered(
            "pay_invoice",
            self.inner.pay_invoice(request),
            |result| match result {
                Ok(response) => payment_outcome(&response.status),
                Err(err) => error_outcome(err.reason()),
            },
        )
        .await
    }

    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        self.metered(
            "get_invoice_status",
            self.inner.get_invoice_status(checking_id),
            |result| match result {
                Ok(status) => invoice_outcome(status),
                Err(err) => error_outcome(err),
            },
        )
        .await
    }

    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        self.metered(
            "get_payment_status",
            self.inner.get_payment_status(checking_id),
            |result| match result {
                Ok(status) => payment_outcome(status),
                Err(err) => error_outcome(err),
            },
        )
        .await
    }

    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        let backend = self.backend;
        let opened = self.inner.paid_invoices_stream(resume_from).await;
        counter!("wallet_stream_opens_total", "backend" => backend, "outcome" => ok_or_kind(&opened))
            .increment(1);
        let stream = opened?;
        let open = OpenStream::new(backend);
        Ok(stream
            .inspect(move |item| {
                let _keep_open_until_the_stream_is_dropped = &open;
                match item {
                    Ok(_) => counter!("wallet_stream_items_total", "backend" => backend),
                    Err(_) => counter!("wallet_stream_errors_total", "backend" => backend),
                }
                .increment(1);
            })
            .boxed())
    }

    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        self.metered(
            "paid_invoices_cursor",
            self.inner.paid_invoices_cursor(),
            ok_or_kind,
        )
        .await
    }

    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.metered(
            "create_hold_invoice",
            self.inner.create_hold_invoice(request),
            ok_or_kind,
        )
        .await
    }

    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        self.metered(
            "settle_hold_invoice",
            self.inner.settle_hold_invoice(preimage),
            ok_or_kind,
        )
        .await
    }

    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        self.metered(
            "cancel_hold_invoice",
            self.inner.cancel_hold_invoice(payment_hash),
            ok_or_kind,
        )
        .await
    }

    async fn node_info(&self) -> Result<NodeInfo, WalletError> {
        self.metered("node_info", self.inner.node_info(), ok_or_kind)
            .await
    }

    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, WalletError> {
        self.metered("list_channels", self.inner.list_channels(), ok_or_kind)
            .await
    }

    async fn list_peers(&self) -> Result<Vec<PeerInfo>, WalletError> {
        self.metered("list_peers", self.inner.list_peers(), ok_or_kind)
            .await
    }
}
