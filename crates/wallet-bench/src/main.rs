//! `cargo xtask bench`: how fast and how lean the backends are, side by side in one run.
//!
//! * **Peers**: our FakeWallet's `create_invoice` against the BOLT11 signing floor
//!   (lightning-invoice build+sign+encode with a reused context), the Cashu Dev Kit's
//!   `cdk-fake-wallet` and LNbits' FakeWallet (Python), in rounds that alternate between them.
//! * **Scaling**: `create_invoice` per second on one core and on all; payments per second with
//!   latency percentiles for 1, 8 and 64 payments at once on the fake network and through the
//!   lnd and lightningd simulators.
//! * **Overhead over the bare transport**: `create_invoice`, `status`, `get_invoice_status` and a
//!   full payment through `LndWallet` and `CoreLightningWallet` against the same calls made
//!   directly on the simulators' gRPC and JSON-RPC, and what the BOLT11 check those make costs.
//! * **Paid-event latency**: from a settlement to the item reaching `paid_invoices_stream`, and
//!   through the `SupervisedStream`; the supervised stream's rate over 100,000 paid invoices.
//! * **Memory**: live heap bytes per open invoice, and what a long-running supervised stream
//!   keeps per event beyond the node's own ledger (flat once its de-duplication window is full).
//!
//! `--json` prints one JSON object per row; `--cdk-peer PATH` and `--lnbits-python PATH` name
//! the peers, `--lnbits` starts LNbits on lnd-sim for LnbitsWallet's overhead rows (`cargo
//! xtask bench` builds, installs and passes all three).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bitcoin::hashes::{Hash as _, sha256};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use futures::StreamExt;
use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use wallet_core::bolt11::Bolt11;
use wallet_core::{
    InvoiceRequest, PaidInvoiceStream, PayInvoiceRequest, SupervisedStream, SupervisorConfig,
    Wallet, WalletError,
};
use wallet_fake::{FakeNetwork, FakeNode, FakeWallet, NetworkConfig, NewInvoice, NodeConfig};

use crate::beds::{Bed, Kind};
use crate::peers::Peer;
use crate::rows::{Output, Row};

mod beds;
mod heap;
mod overhead;
mod peers;
mod rows;

#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

/// Invoices per round and rounds, for the peer comparison.
const ROUND_INVOICES: u32 = 400;
const ROUNDS: usize = 9;
/// LNbits' FakeWallet takes milliseconds per invoice: fewer per round keeps the run short.
const LNBITS_ROUND_INVOICES: u32 = 80;
const INVOICES_PER_CORE_TASK: u32 = 600;
const PAYMENTS: usize = 1_536;
/// Through a simulator each payment crosses a socket several times: fewer keep the run short.
const SIM_PAYMENTS: usize = 512;
const EVENTS: usize = 2_000;
const MEMORY_INVOICES: usize = 50_000;
const STREAM_EVENTS: usize = 20_000;
const STREAM_RATE_EVENTS: u64 = 100_000;

/// Which rows to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    /// The peer comparison alone: `cargo xtask bench` runs it pinned to one core, peers included,
    /// so that every contestant runs on the same core.
    Peers,
    /// Everything but the peer comparison.
    Others,
}

struct Args {
    output: Output,
    only: Only,
    /// Print no table header (a second part of one run).
    no_header: bool,
    /// Whether to start the LNbits test bed (LNbits on lnd-sim) for LnbitsWallet's rows.
    lnbits: bool,
    cdk_peer: Option<PathBuf>,
    lnbits_python: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        output: Output::Table,
        only: Only::All,
        no_header: false,
        lnbits: false,
        cdk_peer: None,
        lnbits_python: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--json" => args.output = Output::Json,
            "--lnbits" => args.lnbits = true,
            "--no-header" => args.no_header = true,
            "--only" => {
                args.only = match given.next().as_deref() {
                    Some("peers") => Only::Peers,
                    Some("others") => Only::Others,
                    other => return Err(format!("--only takes peers or others, not {other:?}")),
                }
            }
            "--cdk-peer" => args.cdk_peer = given.next().map(PathBuf::from),
            "--lnbits-python" => args.lnbits_python = given.next().map(PathBuf::from),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    if !args.no_header {
        args.output.header();
    }
    let print = |row: Row| args.output.print(&row);
    let current_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    if args.only != Only::Others {
        for row in current_thread.block_on(peer_rows(&args))? {
            print(row);
        }
    }
    if args.only == Only::Peers {
        return Ok(());
    }
    print(decode_row().map_err(|err| err.to_string())?);
    for row in core_rows()? {
        print(row);
    }
    for row in payer_rows()? {
        print(row);
    }
    let multi_thread = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    for kind in [Kind::Lnd, Kind::Cln] {
        let rows = multi_thread
            .block_on(overhead::rows(kind))
            .map_err(|err| format!("{} overhead: {err}", kind.name()))?;
        for row in rows {
            print(row);
        }
    }
    if args.lnbits {
        let rows = multi_thread
            .block_on(overhead::lnbits_rows())
            .map_err(|err| format!("LNbits overhead: {err}"))?;
        for row in rows {
            print(row);
        }
    }
    for row in current_thread
        .block_on(fake_rows())
        .map_err(|err| err.to_string())?
    {
        print(row);
    }
    Ok(())
}

/// Ours, the floor and the peers, round after round; each one's median time per invoice.
async fn peer_rows(args: &Args) -> Result<Vec<Row>, String> {
    let mut peers = Vec::new();
    if let Some(path) = &args.cdk_peer {
        peers.push((
            Peer::start("cdk-fake-wallet 0.18.3", path, &[])?,
            ROUND_INVOICES,
        ));
    }
    if let Some(python) = &args.lnbits_python {
        peers.push((
            Peer::start(
                "LNbits 1.6.2 FakeWallet",
                python,
                &["-c", peers::LNBITS_FAKE_WALLET],
            )?,
            LNBITS_ROUND_INVOICES,
        ));
    }
    let network = FakeNetwork::new();
    let wallet = FakeWallet::new(
        network
            .add_node(NodeConfig::new("bench"))
            .map_err(|err| err.to_string())?,
    );
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    let mut theirs = vec![Vec::new(); peers.len()];
    // One round of each first, untimed: caches, lazy statics, Python's imports.
    for round in 0..=ROUNDS {
        let ours_time = fake_create_invoice(&wallet, ROUND_INVOICES)
            .await
            .map_err(|err| err.to_string())?;
        let floor_time = bolt11_floor(ROUND_INVOICES);
        if round > 0 {
            ours.push(per_call(ours_time, ROUND_INVOICES));
            floor.push(per_call(floor_time, ROUND_INVOICES));
        }
        for ((peer, count), times) in peers.iter_mut().zip(&mut theirs) {
            let took = peer.round(*count)?;
            if round > 0 {
                times.push(per_call(took, *count));
            }
        }
    }
    let ours_us = median_us(&mut ours);
    let floor_us = median_us(&mut floor);
    let mut rows = vec![
        Row::versus(
            "fake create_invoice vs the BOLT11 floor",
            ours_us,
            "floor: lightning-invoice build+sign+encode",
            floor_us,
        )
        .target("ours <= 1.15x the floor", ours_us <= 1.15 * floor_us)
        .with("rounds", ROUNDS),
    ];
    for ((peer, _), mut times) in peers.iter().zip(theirs) {
        let peer_us = median_us(&mut times);
        let (target, factor) = if peer.name().starts_with("LNbits") {
            ("ours >= 20x faster", 20.0)
        } else {
            ("ours >= 1.5x faster", 1.5)
        };
        rows.push(
            Row::versus(
                format!("fake create_invoice vs {}", peer.name()),
                ours_us,
                peer.name(),
                peer_us,
            )
            .target(target, peer_us >= factor * ours_us)
            .with("rounds", ROUNDS),
        );
    }
    Ok(rows)
}

fn per_call(total: Duration, count: u32) -> Duration {
    total / count.max(1)
}

/// The median, in microseconds.
fn median_us(times: &mut [Duration]) -> f64 {
    times.sort();
    micros(percentile(times, 50))
}

/// What decoding a BOLT11 invoice and checking its signature costs (one recovery of the
/// signer's key): the check every backend makes on the invoice its node issued and on the
/// invoice it is asked to pay, and the bare transport rows do not.
fn decode_row() -> Result<Row, WalletError> {
    let network = FakeNetwork::new();
    let node = network.add_node(NodeConfig::new("decode"))?;
    let text = node
        .create_invoice(NewInvoice {
            amount_msat: Some(1_000),
            memo: "bench".into(),
            ..NewInvoice::default()
        })
        .map_err(WalletError::from)?
        .bolt11;
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..ROUND_INVOICES {
            std::hint::black_box(Bolt11::parse(&text)?);
        }
        times.push(per_call(started.elapsed(), ROUND_INVOICES));
    }
    Ok(Row::ours(
        "BOLT11 decode + signature check (Bolt11::parse)",
        Some(median_us(&mut times)),
    ))
}

/// `create_invoice` per second with every core busy, against one core.
fn core_rows() -> Result<Vec<Row>, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let one = invoices_per_second(1, cores)?;
    let all = invoices_per_second(cores, cores)?;
    let mut row = Row::versus(
        format!("fake create_invoice on {cores} cores vs 1"),
        1e6 / all,
        "1 core",
        1e6 / one,
    )
    .with("per_second_all_cores", all.round())
    .with("per_second_one_core", one.round());
    if cores > 1 {
        row = row.target("throughput grows with cores (> 1.3x)", all > 1.3 * one);
    }
    Ok(vec![row])
}

/// Invoices per second on `threads` runtime threads, from `tasks` tasks sharing one wallet.
fn invoices_per_second(threads: usize, tasks: usize) -> Result<f64, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        let network = FakeNetwork::new();
        let wallet = Arc::new(FakeWallet::new(
            network
                .add_node(NodeConfig::new("cores"))
                .map_err(|err| err.to_string())?,
        ));
        // Warm up the runtime's threads and the node.
        fake_create_invoice(&wallet, 50)
            .await
            .map_err(|err| err.to_string())?;
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks.max(2))
            .map(|_| {
                let wallet = wallet.clone();
                tokio::spawn(
                    async move { fake_create_invoice(&wallet, INVOICES_PER_CORE_TASK).await },
                )
            })
            .collect();
        for handle in handles {
            handle
                .await
                .map_err(|err| err.to_string())?
                .map_err(|err| err.to_string())?;
        }
        let made = f64::from(INVOICES_PER_CORE_TASK) * tasks.max(2) as f64;
        Ok(made / started.elapsed().as_secs_f64())
    })
}

/// Payments per second and latency percentiles with 1, 8 and 64 payments under way at once,
/// through one wallet, on the fake network and through each simulator.
fn payer_rows() -> Result<Vec<Row>, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    let mut rows = Vec::new();
    for kind in [Kind::Fake, Kind::Lnd, Kind::Cln] {
        let payments = if kind == Kind::Fake {
            PAYMENTS
        } else {
            SIM_PAYMENTS
        };
        for payers in [1usize, 8, 64] {
            let (per_second, mut latencies) = runtime
                .block_on(pay_concurrently(kind, payers, payments))
                .map_err(|err| format!("{} with {payers} payers: {err}", kind.name()))?;
            latencies.sort();
            let p50 = micros(percentile(&latencies, 50));
            rows.push(
                Row::ours(
                    format!("{} pay_invoice, {payers} at once", kind.name()),
                    Some(p50),
                )
                .with("per_second", per_second.round())
                .with("p50_us", p50.round())
                .with("p99_us", micros(percentile(&latencies, 99)).round()),
            );
        }
    }
    Ok(rows)
}

/// `payments` payments by `payers` tasks sharing one wallet: the rate, and each call's latency.
async fn pay_concurrently(
    kind: Kind,
    payers: usize,
    payments: usize,
) -> Result<(f64, Vec<Duration>), WalletError> {
    let bed = Bed::start(kind).await?;
    let each = payments / payers;
    let mut work = Vec::new();
    for _ in 0..payers {
        work.push(bed.invoices(each, 1_000)?);
    }
    let started = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .map(|invoices| {
            let wallet = bed.wallet.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(invoices.len());
                for bolt11 in invoices {
                    let sent = Instant::now();
                    let paid = wallet
                        .pay_invoice(PayInvoiceRequest::new(bolt11, 10_000))
                        .await
                        .map_err(|err| err.into_reason())?;
                    if !paid.status.is_succeeded() {
                        return Err(WalletError::backend(
                            None,
                            format!("a bench payment did not succeed: {:?}", paid.status),
                        ));
                    }
                    latencies.push(sent.elapsed());
                }
                Ok::<_, WalletError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(payments);
    for handle in handles {
        latencies.extend(
            handle
                .await
                .map_err(|err| WalletError::backend(None, err.to_string()))??,
        );
    }
    let per_second = latencies.len() as f64 / started.elapsed().as_secs_f64();
    bed.stop().await;
    Ok((per_second, latencies))
}

/// The fake network's own figures: paid-event latency and memory.
async fn fake_rows() -> Result<Vec<Row>, WalletError> {
    let mut rows = Vec::new();
    let (raw, supervised) = event_latency(EVENTS).await?;
    for (name, latencies) in [
        ("paid event latency, backend stream", raw),
        ("paid event latency, supervised", supervised),
    ] {
        let median = percentile(&latencies, 50);
        let p99 = percentile(&latencies, 99);
        rows.push(
            Row::ours(name, Some(micros(median)))
                .with("p99_us", micros(p99).round())
                .target("p99 < 1 ms", p99 < Duration::from_millis(1)),
        );
    }
    let per_invoice = memory_per_open_invoice(MEMORY_INVOICES)?;
    rows.push(
        Row::ours(format!("heap per open invoice ({MEMORY_INVOICES})"), None)
            .with("bytes", per_invoice.round()),
    );
    let (per_second, bytes_per_event) = stream_rate(STREAM_RATE_EVENTS).await?;
    rows.push(
        Row::ours(
            format!("supervised stream, {STREAM_RATE_EVENTS} paid invoices"),
            Some(1e6 / per_second),
        )
        .with("events_per_second", per_second.round())
        .with("heap_bytes_per_event", bytes_per_event.round())
        .with(
            "dedupe_capacity",
            SupervisorConfig::default().dedupe_capacity,
        ),
    );
    let (filling, full) = stream_memory(STREAM_EVENTS).await?;
    rows.push(
        Row::ours(
            format!("supervised stream memory, {STREAM_EVENTS} events"),
            None,
        )
        .with("bytes_per_event_filling", filling.round())
        .with("bytes_per_event_full", full.round())
        .target("flat once full (< 16 B/event)", full.abs() < 16.0),
    );
    Ok(rows)
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let index = (sorted.len().saturating_sub(1) * percent) / 100;
    sorted.get(index).copied().unwrap_or_default()
}

/// Time to build, sign and encode `count` invoices, the way any wallet must:
/// `lightning-invoice`'s `build_signed` signs and checks the signature; a reused context.
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
            // The fields every invoice of ours carries (lnd's do too): the floor is the least
            // any wallet spends on the same invoice.
            .expiry_time(Duration::from_secs(3600))
            .basic_mpp()
            .amount_milli_satoshis(1_000)
            .build_signed(|message| secp.sign_ecdsa_recoverable(message, &key));
        if let Ok(invoice) = invoice {
            total_len += invoice.to_string().len();
        }
    }
    std::hint::black_box(total_len);
    started.elapsed()
}

async fn fake_create_invoice(wallet: &FakeWallet, count: u32) -> Result<Duration, WalletError> {
    let started = Instant::now();
    for _ in 0..count {
        std::hint::black_box(
            wallet
                .create_invoice(InvoiceRequest::new(1_000).memo("bench"))
                .await?,
        );
    }
    Ok(started.elapsed())
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

/// Settles `events` invoices, then reads them all through a supervised stream from the start:
/// events per second, and the heap the stream holds per event at the end (its de-duplication
/// window is bounded, so this falls as events grow).
async fn stream_rate(events: u64) -> Result<(f64, f64), WalletError> {
    let network = FakeNetwork::new();
    let payer = network.add_node(NodeConfig::new("payer").balance_msat(u64::MAX / 4))?;
    let payee = network.add_node(NodeConfig::new("payee"))?;
    for _ in 0..events {
        let (_, signed) = payee
            .create_signed_invoice(NewInvoice {
                amount_msat: Some(1_000),
                payee_field: true,
                ..NewInvoice::default()
            })
            .map_err(WalletError::from)?;
        payer
            .pay(&Bolt11::from_invoice(signed)?, 1_000, 10_000)
            .map_err(WalletError::from)?;
    }
    let wallet: Arc<dyn Wallet> = Arc::new(FakeWallet::new(payee));
    let before = heap::live_bytes();
    let started = Instant::now();
    let mut stream = SupervisedStream::new(
        wallet,
        Some(wallet_core::StreamCursor::from_index(0)),
        SupervisorConfig::default(),
    );
    for _ in 0..events {
        match stream.next().await {
            Some(Ok(paid)) => drop(std::hint::black_box(paid)),
            other => return Err(WalletError::backend(None, format!("stream gave {other:?}"))),
        }
    }
    let per_second = events as f64 / started.elapsed().as_secs_f64();
    let held = heap::live_bytes().saturating_sub(before);
    drop(stream);
    Ok((per_second, held as f64 / events as f64))
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
