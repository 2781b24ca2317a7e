//! Deliberately broken wallets the campaign must catch: proof that its oracle can fail.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use wallet_core::bolt11::{CheckedPayment, Currency};
use wallet_core::pay::{Attempt, Dispatched, PaymentDriver, Payments};
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
    /// The paid-invoice supervisor without its de-duplication: each reconnect resumes from where
    /// the stream started and passes on whatever comes.
    NoDedupe,
    /// The payment protocol without its lookup before dispatch: the node is taken to have no
    /// attempt at the hash, so the local refusals and the dispatch run as if nothing were paid
    /// or in flight. Built on the fake backend's own driver (`FakeWallet::payment_driver`).
    NoPrelookup,
}

/// Every mutant, by its command-line name.
pub const MUTANTS: &[(&str, Mutant)] = &[
    ("lost-answer-failed", Mutant::LostAnswerFailed),
    ("no-dedupe", Mutant::NoDedupe),
    ("no-prelookup", Mutant::NoPrelookup),
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

/// How a [`Mutated`] wallet pays.
enum BrokenPay {
    /// [`Mutant::LostAnswerFailed`]: every `Pending` answer reported as failed, as a backend
    /// that took a lost answer for a refusal would.
    LostAnswerFailed,
    /// [`Mutant::NoPrelookup`]: the protocol run with the first lookup of each call answered
    /// "nothing".
    NoPrelookup {
        wallet: FakeWallet,
        payments: Payments,
    },
}

/// A wallet that pays the broken way and does everything else as the wallet it wraps.
pub struct Mutated {
    inner: Arc<dyn Wallet>,
    pay: BrokenPay,
}

impl fmt::Debug for Mutated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pay = match self.pay {
            BrokenPay::LostAnswerFailed => "lost-answer-failed",
            BrokenPay::NoPrelookup { .. } => "no-prelookup",
        };
        f.debug_struct("Mutated")
            .field("inner", &self.inner)
            .field("pay", &pay)
            .finish()
    }
}

impl Mutated {
    /// [`Mutant::LostAnswerFailed`] around `inner`.
    pub fn lost_answer_failed(inner: Arc<dyn Wallet>) -> Self {
        Self {
            inner,
            pay: BrokenPay::LostAnswerFailed,
        }
    }

    /// [`Mutant::NoPrelookup`] on `wallet`'s node, with its own payment locks (another process).
    pub fn no_prelookup(wallet: FakeWallet) -> Self {
        Self {
            inner: Arc::new(wallet.clone()),
            pay: BrokenPay::NoPrelookup {
                wallet,
                payments: Payments::new(),
            },
        }
    }
}

/// A driver whose first lookup finds nothing: the lookup before dispatch, skipped.
struct SkipFirstLookup<D> {
    inner: D,
    skipped: AtomicBool,
}

#[async_trait]
impl<D: PaymentDriver> PaymentDriver for SkipFirstLookup<D> {
    fn features(&self) -> Features {
        self.inner.features()
    }

    async fn network(&self, deadline: Duration) -> Option<Currency> {
        self.inner.network(deadline).await
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        if !self.skipped.swap(true, Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        self.inner.attempts(payment_hash, deadline).await
    }

    async fn check(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Duration,
    ) -> Result<(), WalletError> {
        self.inner.check(payment, request, deadline).await
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        self.inner.dispatch(payment, request, deadline).await
    }
}

#[async_trait]
impl Wallet for Mutated {
    fn features(&self) -> Features {
        self.inner.features()
    }

    async fn status(&self) -> Result<StatusResponse, WalletError> {
        self.inner.status().await
    }

    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.inner.create_invoice(request).await
    }

    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        match &self.pay {
            BrokenPay::LostAnswerFailed => {
                let mut answer = self.inner.pay_invoice(request).await?;
                if answer.status == PaymentStatus::Pending {
                    answer.status = PaymentStatus::Failed {
                        reason: wallet_core::FailureReason::Other("the answer was lost".into()),
                    };
                }
                Ok(answer)
            }
            BrokenPay::NoPrelookup { wallet, payments } => {
                let driver = SkipFirstLookup {
                    inner: wallet.payment_driver(),
                    skipped: AtomicBool::new(false),
                };
                payments.pay(&driver, request).await
            }
        }
    }

    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        self.inner.get_invoice_status(checking_id).await
    }

    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        self.inner.get_payment_status(checking_id).await
    }

    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        self.inner.paid_invoices_stream(resume_from).await
    }

    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        self.inner.paid_invoices_cursor().await
    }
}

/// [`Mutant::NoDedupe`]'s reader: reconnects from the cursor it started at, with no
/// de-duplication, for as long as it runs (the campaign aborts it), handing each item to
/// `handle`.
pub(crate) async fn read_without_dedupe(
    wallet: Arc<dyn Wallet>,
    start: Option<StreamCursor>,
    mut handle: impl FnMut(PaymentHash) + Send + 'static,
) {
    loop {
        if let Ok(mut stream) = wallet.paid_invoices_stream(start.clone()).await {
            while let Some(Ok(paid)) = stream.next().await {
                handle(paid.payment_hash);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
