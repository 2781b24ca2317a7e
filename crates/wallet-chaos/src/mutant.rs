//! Deliberately broken wallets the campaign must catch: proof that its oracle can fail.

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;

use wallet_core::{
    Features, InvoiceRequest, InvoiceResponse, InvoiceStatus, PaidInvoiceStream, PayError,
    PayInvoiceRequest, PaymentHash, PaymentResponse, PaymentStatus, StatusResponse, StreamCursor,
    Wallet, WalletError, async_trait,
};

/// A broken wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    /// A payment whose answer was lost (`Pending`) is reported `Failed`.
    LostAnswerFailed,
    /// The paid-invoice supervisor without its de-duplication: each reconnect resumes from where
    /// the stream started and passes on whatever comes.
    NoDedupe,
}

/// Every mutant, by its command-line name.
pub const MUTANTS: &[(&str, Mutant)] = &[
    ("lost-answer-failed", Mutant::LostAnswerFailed),
    ("no-dedupe", Mutant::NoDedupe),
];

impl FromStr for Mutant {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        MUTANTS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, mutant)| *mutant)
            .ok_or_else(|| {
                let names: Vec<&str> = MUTANTS.iter().map(|(known, _)| *known).collect();
                format!(
                    "unknown mutant {name:?}: the campaign has {}",
                    names.join(", ")
                )
            })
    }
}

/// [`Mutant::LostAnswerFailed`]: a wallet with every `Pending` payment answer reported as
/// failed, as a backend that took a lost answer for a refusal would.
#[derive(Debug)]
pub struct LostAnswerFailed(pub Arc<dyn Wallet>);

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

/// [`Mutant::NoDedupe`]'s collector: reconnects from the cursor it started at, with no
/// de-duplication, for as long as it runs (the campaign aborts it).
pub async fn collect_without_dedupe(
    wallet: Arc<dyn Wallet>,
    delivered: Arc<Mutex<Vec<PaymentHash>>>,
) {
    let start = loop {
        match wallet.paid_invoices_cursor().await {
            Ok(cursor) => break cursor,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    loop {
        if let Ok(mut stream) = wallet.paid_invoices_stream(Some(start.clone())).await {
            while let Some(Ok(paid)) = stream.next().await {
                delivered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(paid.payment_hash);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
