//! Deliberately broken wallets the campaign must catch: proof that its oracle can fail.

use std::str::FromStr;

use wallet_core::{
    Features, InvoiceRequest, InvoiceResponse, InvoiceStatus, PaidInvoiceStream, PayError,
    PayInvoiceRequest, PaymentHash, PaymentResponse, PaymentStatus, StatusResponse, StreamCursor,
    Wallet, WalletError, async_trait,
};
use wallet_fake::FakeWallet;

/// A broken wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    /// A payment whose answer was lost (`Pending`) is reported `Failed`.
    LostAnswerFailed,
}

impl FromStr for Mutant {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "lost-answer-failed" => Ok(Self::LostAnswerFailed),
            other => Err(format!(
                "unknown mutant {other:?}: the campaign has lost-answer-failed"
            )),
        }
    }
}

/// [`Mutant::LostAnswerFailed`]: the fake wallet, with every `Pending` payment answer reported
/// as failed, as a backend that took a lost answer for a refusal would.
#[derive(Debug)]
pub struct LostAnswerFailed(pub FakeWallet);

#[async_trait]
impl Wallet for LostAnswerFailed {
    fn features(&self) -> Features {
        self.0.features()
    }

    async fn status(&self) -> Result<StatusResponse, WalletError> {
        self.0.status().await
    }

    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.0.create_invoice(request).await
    }

    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        let mut answer = self.0.pay_invoice(request).await?;
        if answer.status == PaymentStatus::Pending {
            answer.status = PaymentStatus::Failed {
                reason: wallet_core::FailureReason::Other("the answer was lost".into()),
            };
        }
        Ok(answer)
    }

    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        self.0.get_invoice_status(checking_id).await
    }

    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        self.0.get_payment_status(checking_id).await
    }

    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        self.0.paid_invoices_stream(resume_from).await
    }

    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        self.0.paid_invoices_cursor().await
    }
}
