//! Invoices, hashes and waits the behaviours share.

use std::future::Future;
use std::time::{Duration, SystemTime};

use bitcoin::hashes::{Hash as _, sha256};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use futures::StreamExt;
use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use wallet_core::bolt11::Bolt11;
use wallet_core::{
    InvoiceRequest, InvoiceResponse, PaidInvoice, PaidInvoiceStream, PayInvoiceRequest,
    PaymentHash, Preimage, Wallet, WalletError,
};

use crate::verdict::{Context, Stop, fail};

/// 32 random bytes.
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    // The OS random source does not fail on supported platforms; a zero fallback would only
    // make the hash collide, which the behaviours would then report.
    let _ = getrandom::fill(&mut bytes);
    bytes
}

/// A random payment hash nobody has an invoice for.
pub fn random_payment_hash() -> PaymentHash {
    PaymentHash::from_bytes(random_bytes())
}

/// A random preimage.
pub fn random_preimage() -> Preimage {
    Preimage::from_bytes(random_bytes())
}

/// What a foreign invoice should look like.
#[derive(Clone, Debug)]
pub struct ForeignInvoice {
    /// Its network.
    pub currency: Currency,
    /// Its amount; `None` for amountless.
    pub amount_msat: Option<u64>,
    /// How far in the past it was created.
    pub age: Duration,
    /// Its expiry.
    pub expiry: Duration,
}

impl ForeignInvoice {
    /// A fresh 10-sat invoice of `currency`, valid for an hour.
    pub fn new(currency: Currency) -> Self {
        Self {
            currency,
            amount_msat: Some(10_000),
            age: Duration::ZERO,
            expiry: Duration::from_secs(3600),
        }
    }

    /// Signs it with a random key: a valid invoice of a node no network knows, with a secret no
    /// node expects (fedimint's unpayable-invoice fixture).
    pub fn sign(&self) -> Result<String, Stop> {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&random_bytes()).context("make a random key")?;
        let created_at = SystemTime::now()
            .checked_sub(self.age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let builder = InvoiceBuilder::new(self.currency.clone())
            .description("wallet-conformance unpayable fixture".into())
            .payment_hash(sha256::Hash::from_byte_array(random_bytes()))
            .payment_secret(PaymentSecret([0x42; 32]))
            .timestamp(created_at)
            .min_final_cltv_expiry_delta(18)
            .expiry_time(self.expiry);
        let builder = match self.amount_msat {
            Some(amount) => builder.amount_milli_satoshis(amount),
            None => builder,
        };
        builder
            .build_signed(|message| secp.sign_ecdsa_recoverable(message, &key))
            .map(|invoice| invoice.to_string())
            .map_err(|err| fail(format!("sign a fixture invoice: {err:?}")))
    }
}

/// The network `wallet` issues invoices for, learned from an invoice it creates.
pub async fn currency_of(wallet: &dyn Wallet, deadline: Duration) -> Result<Currency, Stop> {
    let invoice = bounded(
        deadline,
        "create_invoice",
        wallet.create_invoice(InvoiceRequest::new(1_000)),
    )
    .await?
    .context("create_invoice")?;
    Ok(decode(&invoice)?.currency())
}

/// Another network than `currency`.
pub fn other_currency(currency: &Currency) -> Currency {
    match currency {
        Currency::Regtest => Currency::Bitcoin,
        _ => Currency::Regtest,
    }
}

/// Decodes an invoice the backend made.
pub fn decode(invoice: &InvoiceResponse) -> Result<Bolt11, Stop> {
    Bolt11::parse(&invoice.payment_request).context("decode the backend's invoice")
}

/// Runs `call`, failing if it takes longer than `deadline`.
pub async fn bounded<T>(
    deadline: Duration,
    what: &str,
    call: impl Future<Output = T>,
) -> Result<T, Stop> {
    tokio::time::timeout(deadline, call).await.map_err(|_| {
        fail(format!(
            "{what} did not return within {} s",
            deadline.as_secs_f32()
        ))
    })
}

/// Polls `check` every 50 ms until it returns `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> Result<T, Stop>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= until {
            return Err(fail(format!(
                "{what} did not happen within {} s",
                deadline.as_secs_f32()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next item of a paid-invoice stream, failing on a timeout, an error or the end.
pub async fn next_paid(
    stream: &mut PaidInvoiceStream,
    deadline: Duration,
) -> Result<PaidInvoice, Stop> {
    match tokio::time::timeout(deadline, stream.next()).await {
        Err(_) => Err(fail(format!(
            "no paid invoice on the stream within {} s",
            deadline.as_secs_f32()
        ))),
        Ok(None) => Err(fail("the stream ended")),
        Ok(Some(Err(err))) => Err(fail(format!("the stream failed: {err}"))),
        Ok(Some(Ok(paid))) => Ok(paid),
    }
}

/// Creates an invoice for `amount_msat` at `wallet`.
pub async fn invoice(
    wallet: &dyn Wallet,
    amount_msat: u64,
    deadline: Duration,
) -> Result<InvoiceResponse, Stop> {
    bounded(
        deadline,
        "create_invoice",
        wallet.create_invoice(InvoiceRequest::new(amount_msat).memo("wallet-conformance")),
    )
    .await?
    .context("create_invoice")
}

/// Has `payer` pay `invoice` and checks that it succeeded.
pub async fn pay_successfully(
    payer: &dyn Wallet,
    invoice: &InvoiceResponse,
    pay_timeout: Duration,
) -> Result<(), Stop> {
    let request =
        PayInvoiceRequest::new(invoice.payment_request.clone(), 100_000).timeout(pay_timeout);
    let response = bounded(
        pay_timeout + Duration::from_secs(5),
        "pay_invoice",
        payer.pay_invoice(request),
    )
    .await?
    .context("pay_invoice")?;
    if response.status.is_succeeded() {
        Ok(())
    } else {
        Err(fail(format!(
            "expected the payment to succeed, got {:?}",
            response.status
        )))
    }
}

/// Whether `err` is an `InvalidRequest` naming `field`.
pub fn names_field(err: &WalletError, field: &str) -> bool {
    err.field() == Some(field)
}

/// The wallet's balance.
pub async fn balance(wallet: &dyn Wallet, deadline: Duration) -> Result<u64, Stop> {
    Ok(bounded(deadline, "status", wallet.status())
        .await?
        .context("status")?
        .balance_msat)
}

/// The status of an invoice.
pub async fn invoice_status(
    wallet: &dyn Wallet,
    hash: &PaymentHash,
    deadline: Duration,
) -> Result<wallet_core::InvoiceStatus, Stop> {
    bounded(
        deadline,
        "get_invoice_status",
        wallet.get_invoice_status(hash),
    )
    .await?
    .context("get_invoice_status")
}

/// The status of a payment.
pub async fn payment_status(
    wallet: &dyn Wallet,
    hash: &PaymentHash,
    deadline: Duration,
) -> Result<wallet_core::PaymentStatus, Stop> {
    bounded(
        deadline,
        "get_payment_status",
        wallet.get_payment_status(hash),
    )
    .await?
    .context("get_payment_status")
}

/// Waits until `wallet`'s balance is `expected`, failing with the last value seen.
pub async fn balance_becomes(
    wallet: &dyn Wallet,
    expected: u64,
    deadline: Duration,
) -> Result<(), Stop> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let now = wallet.status().await.map(|status| status.balance_msat);
        if now.as_ref().ok() == Some(&expected) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= until {
            return Err(fail(format!(
                "balance is {now:?} msat, expected {expected} msat"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `wallet` reports the invoice paid, and returns that status.
pub async fn invoice_paid(
    wallet: &dyn Wallet,
    hash: &PaymentHash,
    deadline: Duration,
) -> Result<wallet_core::InvoiceStatus, Stop> {
    eventually(deadline, "the invoice to be paid", || async {
        wallet
            .get_invoice_status(hash)
            .await
            .ok()
            .filter(wallet_core::InvoiceStatus::is_paid)
    })
    .await
}

/// Waits until `wallet` reports a payment status for which `reached` holds, and returns it.
pub async fn payment_reaches(
    wallet: &dyn Wallet,
    hash: &PaymentHash,
    deadline: Duration,
    reached: fn(&wallet_core::PaymentStatus) -> bool,
) -> Result<wallet_core::PaymentStatus, Stop> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let last = wallet.get_payment_status(hash).await;
        if let Ok(status) = &last
            && reached(status)
        {
            return Ok(status.clone());
        }
        if tokio::time::Instant::now() >= until {
            return Err(fail(format!(
                "the payment did not reach the expected state within {} s; last: {last:?}",
                deadline.as_secs_f32()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh directory under the system's temporary directory, removed (with its contents) when
/// dropped: for simulators and servers a harness starts.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `<tmp>/<name>-<process id>-<counter>`.
    pub fn new(name: &str) -> std::io::Result<Self> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        // Private whatever the umask: what tests keep here (sockets, keys, a network's state)
        // is refused in a directory others can write to.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path)?;
        Ok(Self(path))
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Has every wallet of `wallets` (named, for the messages) pay an invoice of 3 000 msat from every
/// other, checking each payment succeeded and the payee sees its invoice paid: a network of
/// mixed implementations that all interoperate.
pub async fn every_wallet_pays_every_other(
    wallets: &[(&str, &dyn Wallet)],
    timing: crate::Timing,
) -> Result<(), Stop> {
    for (payer_name, payer) in wallets {
        for (payee_name, payee) in wallets {
            if payer_name == payee_name {
                continue;
            }
            let route = format!("{payer_name} pays {payee_name}");
            let in_route = |stop: Stop| match stop {
                Stop::Failed(message) => Stop::Failed(format!("{route}: {message}")),
                unsupported => unsupported,
            };
            let created = invoice(*payee, 3_000, timing.event)
                .await
                .map_err(in_route)?;
            pay_successfully(*payer, &created, timing.pay)
                .await
                .map_err(in_route)?;
            invoice_paid(*payee, &created.checking_id, timing.event)
                .await
                .map_err(in_route)?;
        }
    }
    Ok(())
}
