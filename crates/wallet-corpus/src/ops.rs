//! The wallet calls a case makes, the same for every backend.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use wallet_core::{
    HoldInvoiceRequest, InvoiceRequest, PayInvoiceRequest, PaymentHash, PaymentStatus, Preimage,
    Wallet, describe_chain,
};

use crate::case::Observed;

/// How long a stream case listens for a first item.
const STREAM_WINDOW: Duration = Duration::from_secs(3);
/// The timeout each payment is given.
pub(crate) const PAY_TIMEOUT: Duration = Duration::from_secs(3);

/// A call of the `Wallet` trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Status,
    CreateInvoice,
    InvoiceStatus,
    Pay,
    PaymentStatus,
    Cursor,
    Stream,
    HoldInvoice,
    SettleHold,
    CancelHold,
    NodeInfo,
    ListPeers,
    ListChannels,
}

/// What the calls are about: made before any answer is scripted.
#[derive(Clone, Debug)]
pub(crate) struct Targets {
    /// The hash of the invoice whose status is asked, and its preimage (for well-formed answers
    /// claiming it paid, so that what a spoiled answer breaks is the spoiled field).
    pub(crate) own_invoice: PaymentHash,
    pub(crate) own_preimage: Preimage,
    /// A hold invoice of another node of the network, for the wallet to pay (held, so a payment
    /// that goes ahead stays pending), and its preimage.
    pub(crate) payable: String,
    pub(crate) payable_hash: PaymentHash,
    pub(crate) payable_preimage: Preimage,
    /// The preimage of a hold invoice nobody paid: a secret until settled.
    pub(crate) hold_preimage: Preimage,
}

impl Targets {
    /// Targets around a hold invoice `payee` issues.
    pub(crate) async fn new(payee: &dyn Wallet) -> Result<Self, String> {
        let own_preimage = random_preimage()?;
        let payable_preimage = random_preimage()?;
        let payable = payee
            .create_hold_invoice(HoldInvoiceRequest {
                payment_hash: payable_preimage.payment_hash(),
                invoice: InvoiceRequest::new(10_000),
            })
            .await
            .map_err(|err| err.to_string())?;
        Ok(Self {
            own_invoice: own_preimage.payment_hash(),
            own_preimage,
            payable: payable.payment_request,
            payable_hash: payable.checking_id,
            payable_preimage,
            hold_preimage: random_preimage()?,
        })
    }

    /// Targets for `op` on `wallet`: a new node of `network` issues the invoice to pay, and for
    /// the settle and cancel calls `wallet` first issues the hold invoice they are about.
    pub(crate) async fn prepare(
        network: &wallet_fake::FakeNetwork,
        wallet: &dyn Wallet,
        op: Op,
    ) -> Result<Self, String> {
        let payee = wallet_fake::FakeWallet::new(
            network
                .add_node(wallet_fake::NodeConfig::new("payee"))
                .map_err(|err| err.to_string())?,
        );
        let targets = Self::new(&payee).await?;
        if matches!(op, Op::SettleHold | Op::CancelHold) {
            wallet
                .create_hold_invoice(targets.hold_request())
                .await
                .map_err(|err| err.to_string())?;
        }
        Ok(targets)
    }

    /// The hold invoice the hold calls are about.
    pub(crate) fn hold_request(&self) -> HoldInvoiceRequest {
        HoldInvoiceRequest {
            payment_hash: self.hold_preimage.payment_hash(),
            invoice: InvoiceRequest::new(21_000).memo("corpus hold"),
        }
    }

    /// The secrets no output may show.
    pub(crate) fn secrets(&self) -> Vec<String> {
        vec![self.hold_preimage.to_hex()]
    }

    /// A payer's node may know the payable preimage once paid; no output may invent it either.
    pub(crate) fn payable_preimage_hex(&self) -> String {
        self.payable_preimage.to_hex()
    }
}

fn error(err: &(dyn std::error::Error + 'static)) -> Observed {
    Observed::Error {
        text: describe_chain(err),
        not_sent: false,
    }
}

/// A value as an app would show it: its strings as they are (Debug would escape control
/// characters), then its Debug form.
fn shown<T: std::fmt::Debug + serde::Serialize>(
    result: Result<T, wallet_core::WalletError>,
) -> Observed {
    match result {
        Ok(value) => {
            let mut strings = Vec::new();
            if let Ok(json) = serde_json::to_value(&value) {
                collect_strings(&json, &mut strings);
            }
            Observed::Value(format!("{} {value:?}", strings.join(" ")))
        }
        Err(err) => error(&err),
    }
}

fn collect_strings(value: &serde_json::Value, strings: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => strings.push(text.clone()),
        serde_json::Value::Array(items) => {
            items.iter().for_each(|item| collect_strings(item, strings));
        }
        serde_json::Value::Object(fields) => {
            fields
                .values()
                .for_each(|field| collect_strings(field, strings));
        }
        _ => {}
    }
}

/// A payment's state, a success checked against the payable invoice's hash.
fn payment(status: PaymentStatus, targets: &Targets) -> Observed {
    match &status {
        PaymentStatus::Succeeded { preimage, .. }
            if preimage.payment_hash() != targets.payable_hash =>
        {
            Observed::ForgedSuccess(status)
        }
        _ => Observed::Payment(status),
    }
}

/// Runs `op` on `wallet`.
pub(crate) async fn run(wallet: Arc<dyn Wallet>, op: Op, targets: &Targets) -> Observed {
    match op {
        Op::Status => shown(wallet.status().await),
        Op::CreateInvoice => shown(
            wallet
                .create_invoice(InvoiceRequest::new(21_000).memo("corpus"))
                .await,
        ),
        Op::InvoiceStatus => match wallet.get_invoice_status(&targets.own_invoice).await {
            Ok(status) => Observed::Invoice(status),
            Err(err) => error(&err),
        },
        Op::Pay => {
            let request =
                PayInvoiceRequest::new(targets.payable.clone(), 10_000).timeout(PAY_TIMEOUT);
            match wallet.pay_invoice(request).await {
                Ok(response) => payment(response.status, targets),
                Err(err) => Observed::Error {
                    text: describe_chain(&err),
                    not_sent: true,
                },
            }
        }
        Op::PaymentStatus => match wallet.get_payment_status(&targets.payable_hash).await {
            Ok(status) => payment(status, targets),
            Err(err) => error(&err),
        },
        Op::Cursor => shown(wallet.paid_invoices_cursor().await),
        Op::Stream => match wallet.paid_invoices_stream(None).await {
            Err(err) => error(&err),
            Ok(mut stream) => match tokio::time::timeout(STREAM_WINDOW, stream.next()).await {
                Err(_) | Ok(None) => Observed::Quiet,
                Ok(Some(Ok(paid))) => Observed::Value(format!("{paid:?}")),
                Ok(Some(Err(err))) => error(&err),
            },
        },
        Op::HoldInvoice => shown(wallet.create_hold_invoice(targets.hold_request()).await),
        Op::SettleHold => shown(wallet.settle_hold_invoice(&targets.hold_preimage).await),
        Op::CancelHold => shown(
            wallet
                .cancel_hold_invoice(&targets.hold_preimage.payment_hash())
                .await,
        ),
        Op::NodeInfo => shown(wallet.node_info().await),
        Op::ListPeers => shown(wallet.list_peers().await),
        Op::ListChannels => shown(wallet.list_channels().await),
    }
}

/// A random preimage.
pub(crate) fn random_preimage() -> Result<Preimage, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| err.to_string())?;
    Ok(Preimage::from_bytes(bytes))
}
