//! `cargo xtask bench`: how fast and how lean the backends are, side by side in one run.
//!
//! * **BOLT11 floor**: building, signing and encoding an invoice with `lightning-invoice` and a
//!   reused secp256k1 context: the least any wallet can spend on `create_invoice`.
//! * **FakeWallet `create_invoice`**: target within 1.5x of the floor.
//! * **Paid-event latency**: from a settlement to the item reaching `paid_invoices_stream`, and
//!   through the `SupervisedStream`; target well under a millisecond.
//! * **Memory**: live heap bytes per open invoice, and what a long-running supervised stream
//!   keeps per event beyond the node's own ledger (flat once its de-duplication window is full).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bitcoin::hashes::{Hash as _, sha256};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use futures::StreamExt;
use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use wallet_core::bolt11::Bolt11;
use wallet_core::{
    InvoiceRequest, PaidInvoiceStream, SupervisedStream, SupervisorConfig, Wallet, WalletError,
};
use wallet_fake::{FakeNetwork, FakeNode, FakeWallet, NetworkConfig, NewInvoice, NodeConfig};

mod heap;

#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

const INVOICES: u32 = 5_000;
const EVENTS: usize = 2_000;
const MEMORY_INVOICES: usize = 50_000;
const STREAM_EVENTS: usize = 20_000;

fn main() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(run()).map_err(|err| err.to_string())
}

async fn run() -> Result<(), WalletError> {
    println!("benchmark                                   result");
    println!("------------------------------------------  -----------------------------");
    let floor = bolt11_floor(INVOICES);
    row(
        "BOLT11 build+sign+encode (floor)",
        format!("{:.1} us/invoice", micros(floor)),
    );
    let fake = fake_create_invoice(INVOICES).await?;
    let ratio = fake.as_secs_f64() / floor.as_secs_f64();
    row(
        "FakeWallet create_invoice",
        format!(
            "{:.1} us/invoice = {ratio:.2}x floor ({})",
            micros(fake),
            verdict(ratio <= 1.5, "target <= 1.5x")
        ),
    );

    let (raw, supervised) = event_latency(EVENTS).await?;
    for (name, latencies) in [
        ("paid event latency, backend stream", raw),
        ("paid event latency, supervised", supervised),
    ] {
        let median = percentile(&latencies, 50);
        let p99 = percentile(&latencies, 99);
        row(
            name,
            format!(
                "median {:.1} us, p99 {:.1} us ({})",
                micros(median),
                micros(p99),
                verdict(p99 < Duration::from_millis(1), "target < 1 ms")
            ),
        );
    }

    let per_invoice = memory_per_open_invoice(MEMORY_INVOICES)?;
    row(
        &format!("heap per open invoice ({MEMORY_INVOICES})"),
        format!("{per_invoice:.0} bytes"),
    );
    let (filling, full) = stream_memory(STREAM_EVENTS).await?;
    row(
        &format!("supervised stream, {STREAM_EVENTS} events"),
        format!(
            "{filling:+.0} B/event while its window fills, {full:+.0} B/event after ({})",
            verdict(full.abs() < 16.0, "flat")
        ),
    );
    Ok(())
}

fn row(name: &str, result: String) {
    println!("{name:<42}  {result}");
}

fn verdict(met: bool, target: &str) -> String {
    if met {
        format!("ok: {target}")
    } else {
        format!("MISSED: {target}")
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let index = (sorted.len().saturating_sub(1) * percent) / 100;
    sorted.get(index).copied().unwrap_or_default()
}

/// Mean time to build, sign and encode one invoice, the way any wallet must.
fn bolt11_floor(count: u32) -> Duration {
    let secp = Secp256k1::new();
    let Ok(key) = SecretKey::from_slice(&[7; 32]) else {
        return Duration::ZERO;
    };
    let started = Instant::now();
    let mut total_len = 0;
    for index in 0..count {
        let hash = sha256::Hash::hash(&index.to_le_bytes());
        let invoice = InvoiceBuilder::new(Currency::Regtest)
            .description("bench".into())
            .payment_hash(hash)
            .payment_secret(PaymentSecret([index as u8; 32]))
            .timestamp(SystemTime::now())
            .min_final_cltv_expiry_delta(18)
            .amount_milli_satoshis(1_000)
            .build_signed(|message| secp.sign_ecdsa_recoverable(message, &key));
        if let Ok(invoice) = invoice {
            total_len += invoice.to_string().len();
        }
    }
    std::hint::black_box(total_len);
    started.elapsed() / count
}

async fn fake_create_invoice(count: u32) -> Result<Duration, WalletError> {
    let network = FakeNetwork::new();
    let wallet = FakeWallet::new(network.add_node(NodeConfig::new("bench"))?);
    let started = Instant::now();
    for _ in 0..count {
        std::hint::black_box(
            wallet
                .create_invoice(InvoiceRequest::new(1_000).memo("bench"))
                .await?,
        );
    }
    Ok(started.elapsed() / count)
}

/// Settles `count` invoices one by one and measures how long each takes to come out of the
/// stream, for the backend's own stream and for the supervised one.
async fn event_latency(count: usize) -> Result<(Vec<Duration>, Vec<Duration>), WalletError> {
    let network = FakeNetwork::with_config(NetworkConfig::default());
    let payer = network.add_node(NodeConfig::new("payer").balance_msat(u64::MAX / 4))?;
    let payee = network.add_node(NodeConfig::new("payee"))?;
    let wallet: Arc<dyn Wallet> = Arc::new(FakeWallet::new(payee.clone()));

    let stream = wallet.paid_invoices_stream(None).await?;
    let raw = measure(&payer, &payee, stream, count).await?;
    let supervised = SupervisedStream::new(wallet, None, SupervisorConfig::default()).boxed();
    let supervised = measure(&payer, &payee, supervised, count).await?;
    Ok((raw, supervised))
}

async fn measure<S>(
    payer: &FakeNode,
    payee: &FakeNode,
    mut stream: S,
    count: usize,
) -> Result<Vec<Duration>, WalletError>
where
    S: futures::Stream<Item = Result<wallet_core::PaidInvoice, WalletError>> + Unpin,
{
    // Connect (a supervised stream connects on its first poll) before paying.
    let _ = tokio::time::timeout(Duration::from_millis(10), stream.next()).await;
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let invoice = payee
            .create_invoice(NewInvoice {
                amount_msat: Some(1_000),
                ..NewInvoice::default()
            })
            .map_err(WalletError::from)?;
        let bolt11 = Bolt11::parse(&invoice.bolt11)?;
        payer
            .pay(&bolt11, 1_000, 10_000)
            .map_err(WalletError::from)?;
        let settled = Instant::now();
        match stream.next().await {
            Some(Ok(_)) => latencies.push(settled.elapsed()),
            other => return Err(WalletError::backend(None, format!("stream gave {other:?}"))),
        }
    }
    latencies.sort();
    Ok(latencies)
}

fn memory_per_open_invoice(count: usize) -> Result<f64, WalletError> {
    let network = FakeNetwork::new();
    let node = network.add_node(NodeConfig::new("memory"))?;
    let before = heap::live_bytes();
    for _ in 0..count {
        node.create_invoice(NewInvoice {
            amount_msat: Some(1_000),
            memo: "an open invoice".into(),
            ..NewInvoice::default()
        })
        .map_err(WalletError::from)?;
    }
    Ok(heap::live_bytes().saturating_sub(before) as f64 / count as f64)
}

/// Settles `events` invoices with a supervised stream reading them, twice: the first run fills
/// the de-duplication window, the second shows what the stream keeps per event once it is full.
/// The node's own ledger (invoices it stores) is measured without a stream and subtracted.
async fn stream_memory(events: usize) -> Result<(f64, f64), WalletError> {
    const WINDOW: usize = 1_000;
    let ledger = settle_many(events, None).await?;
    let config = SupervisorConfig {
        dedupe_capacity: WINDOW,
        ..SupervisorConfig::default()
    };
    let with_stream = settle_many(events, Some(config)).await?;
    let per_event = |(first, second): (usize, usize), half: usize| {
        (first as f64 / half as f64, second as f64 / half as f64)
    };
    let half = events / 2;
    let (ledger_first, ledger_second) = per_event(ledger, half);
    let (stream_first, stream_second) = per_event(with_stream, half);
    Ok((stream_first - ledger_first, stream_second - ledger_second))
}

/// Heap growth over the first and second half of `events` settlements, optionally read through
/// a supervised stream.
async fn settle_many(
    events: usize,
    stream: Option<SupervisorConfig>,
) -> Result<(usize, usize), WalletError> {
    let network = FakeNetwork::new();
    let payer = network.add_node(NodeConfig::new("payer").balance_msat(u64::MAX / 4))?;
    let payee = network.add_node(NodeConfig::new("payee"))?;
    let wallet: Arc<dyn Wallet> = Arc::new(FakeWallet::new(payee.clone()));
    let mut stream: Option<PaidInvoiceStream> =
        stream.map(|config| SupervisedStream::new(wallet, None, config).boxed());
    if let Some(stream) = stream.as_mut() {
        let _ = tokio::time::timeout(Duration::from_millis(10), stream.next()).await;
    }
    let half = events / 2;
    let start = heap::live_bytes();
    let mut middle = start;
    for index in 0..events {
        if index == half {
            middle = heap::live_bytes();
        }
        let invoice = payee
            .create_invoice(NewInvoice {
                amount_msat: Some(1_000),
                ..NewInvoice::default()
            })
            .map_err(WalletError::from)?;
        payer
            .pay(&Bolt11::parse(&invoice.bolt11)?, 1_000, 10_000)
            .map_err(WalletError::from)?;
        if let Some(stream) = stream.as_mut()
            && !matches!(stream.next().await, Some(Ok(_)))
        {
            return Err(WalletError::backend(None, "the stream stopped"));
        }
    }
    let end = heap::live_bytes();
    Ok((middle.saturating_sub(start), end.saturating_sub(middle)))
}
