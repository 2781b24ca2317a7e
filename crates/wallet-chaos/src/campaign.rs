//! One seeded campaign on the fake network: a payee issues invoices, two wallet instances on one
//! payer node (as two processes would be) pay them, alone, concurrently or again, while faults
//! are set on the nodes; after every payment and at the end the oracle compares what the wallets
//! said with the ledger (the fake network's own records, never a `Wallet` call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use wallet_core::supervisor::{SupervisedStream, SupervisorConfig};
use wallet_core::{
    FailureReason, InvoiceRequest, PayError, PayInvoiceRequest, PaymentHash, PaymentResponse,
    PaymentStatus, Wallet,
};
use wallet_fake::{
    FakeInvoiceState, FakeNetwork, FakeNode, FakePaymentState, FakeWallet, NodeConfig, Release,
};

use crate::mutant::{LostAnswerFailed, Mutant};
use crate::oracle::{Invariant, Violations};
use crate::rng::Rng;

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Payments to make (retries and duplicates of one invoice count once).
    pub payments: u64,
    /// The seed of the schedule.
    pub seed: u64,
    /// The chance, in percent, that a payment meets a fault.
    pub fault_percent: u64,
    /// The chance, in percent, that a payment is paid by several tasks at once.
    pub duplicate_percent: u64,
    /// The chance, in percent, that a payment is a retry of an earlier one.
    pub retry_percent: u64,
    /// A deliberately broken wallet to run against, which the campaign must catch.
    pub mutant: Option<Mutant>,
}

impl Config {
    /// `payments` payments from `seed`, with the default rates.
    pub fn new(payments: u64, seed: u64) -> Self {
        Self {
            payments,
            seed,
            fault_percent: 35,
            duplicate_percent: 15,
            retry_percent: 15,
            mutant: None,
        }
    }
}

/// What a campaign did and found.
#[derive(Debug, Default)]
pub struct Report {
    /// Payments made (`pay_invoice` calls).
    pub payments: u64,
    /// Faults set.
    pub faults: u64,
    /// Every broken invariant, with the step and what was seen.
    pub violations: Violations,
    /// What each step did, by step, for a violation's trace.
    pub trace: Vec<(u64, String)>,
}

/// Each payment's budget: the fake node answers within it unless a fault stalls it.
const PAY_TIMEOUT: Duration = Duration::from_secs(5);
/// A call past its budget by more than this broke its deadline.
const DEADLINE_SLACK: Duration = Duration::from_secs(2);
/// How long the stream may take to deliver what the ledger shows paid, after quiescence.
const DELIVERY_BOUND: Duration = Duration::from_secs(10);
const MAX_FEE_MSAT: u64 = 10_000;

/// The faults a payment can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The payment goes ahead; its answer never reaches the wallet.
    LostAnswer,
    /// The payment stays in flight until a later step settles or fails it.
    Stall,
    /// The node fails the payment for good.
    Fail,
    /// The first HTLC fails at a hop; the node retries and pays.
    RouteFailureThenSuccess,
    /// Settlement takes longer than usual (within the budget).
    SlowSettlement,
    /// The payer node is unreachable for this payment.
    Offline,
    /// The payee node restarts: its streams drop.
    PayeeRestart,
}

const FAULTS: [Fault; 7] = [
    Fault::LostAnswer,
    Fault::Stall,
    Fault::Fail,
    Fault::RouteFailureThenSuccess,
    Fault::SlowSettlement,
    Fault::Offline,
    Fault::PayeeRestart,
];

struct Issued {
    hash: PaymentHash,
    bolt11: String,
    /// `None` for an amountless invoice: the payer names the amount.
    pay_amount_msat: Option<u64>,
}

/// The world of one campaign.
struct World {
    payer: FakeNode,
    payee: FakeNode,
    /// Two instances on the payer node: two processes sharing one node.
    payers: [Arc<dyn Wallet>; 2],
    payee_wallet: Arc<dyn Wallet>,
    delivered: Arc<Mutex<Vec<PaymentHash>>>,
    stalled: Vec<PaymentHash>,
}

/// Runs the campaign on a current-thread runtime with paused time, so that a seed replays the
/// same schedule.
pub fn run(config: &Config) -> Result<Report, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(campaign(config))
}

async fn campaign(config: &Config) -> Result<Report, String> {
    let network = FakeNetwork::new();
    let payer = network
        .add_node(NodeConfig::new("chaos-payer").balance_msat(u64::MAX / 4))
        .map_err(|err| err.to_string())?;
    let payee = network
        .add_node(NodeConfig::new("chaos-payee"))
        .map_err(|err| err.to_string())?;
    let instance = |node: &FakeNode| -> Arc<dyn Wallet> {
        let wallet = FakeWallet::new(node.clone());
        match config.mutant {
            Some(Mutant::LostAnswerFailed) => Arc::new(LostAnswerFailed(wallet)),
            None => Arc::new(wallet),
        }
    };
    let payee_wallet: Arc<dyn Wallet> = Arc::new(FakeWallet::new(payee.clone()));
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let collector = tokio::spawn(collect(Arc::clone(&payee_wallet), Arc::clone(&delivered)));
    // Let the stream pin its start before anything is paid.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut world = World {
        payers: [instance(&payer), instance(&payer)],
        payer,
        payee,
        payee_wallet,
        delivered,
        stalled: Vec::new(),
    };
    let mut rng = Rng::new(config.seed);
    let mut report = Report::default();
    let mut issued: Vec<Issued> = Vec::new();
    for step in 0..config.payments {
        let retry = !issued.is_empty() && rng.chance(config.retry_percent);
        let index = if retry {
            usize::try_from(rng.below(issued.len() as u64)).map_err(|err| err.to_string())?
        } else {
            issued.push(issue(&world, &mut rng).await?);
            issued.len() - 1
        };
        let target = &issued[index];
        let fault = rng
            .chance(config.fault_percent)
            .then(|| FAULTS[usize::try_from(rng.below(FAULTS.len() as u64)).unwrap_or(0)]);
        if fault.is_some() {
            report.faults += 1;
        }
        let copies = if rng.chance(config.duplicate_percent) {
            2 + rng.below(2)
        } else {
            1
        };
        report.trace.push((
            step,
            format!(
                "pay {} {}x{copies}{}",
                short(&target.hash),
                if retry { "again " } else { "" },
                fault.map_or(String::new(), |fault| format!(" with {fault:?}"))
            ),
        ));
        pay_and_check(
            &mut world,
            target,
            fault,
            copies,
            &mut rng,
            step,
            &mut report,
        )
        .await;
        report.payments += copies;
        // Some stalled payments end at a later step: late settlements and late failures.
        if !world.stalled.is_empty() && rng.chance(30) {
            let at = usize::try_from(rng.below(world.stalled.len() as u64)).unwrap_or(0);
            let hash = world.stalled.swap_remove(at);
            let release = if rng.chance(70) {
                Release::Succeed
            } else {
                Release::Fail(FailureReason::NoRoute)
            };
            report
                .trace
                .push((step, format!("release {} {release:?}", short(&hash))));
            world.payer.control().release_payment(&hash, release);
        }
        check_ledger(&world, step, &mut report);
    }
    quiesce(&mut world).await;
    check_end(&world, config.payments, &mut report).await;
    collector.abort();
    Ok(report)
}

/// Collects what a supervised stream of `wallet` delivers.
async fn collect(wallet: Arc<dyn Wallet>, delivered: Arc<Mutex<Vec<PaymentHash>>>) {
    let config = SupervisorConfig {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        ..SupervisorConfig::default()
    };
    let mut stream = SupervisedStream::new(wallet, None, config);
    while let Some(item) = stream.next().await {
        if let Ok(paid) = item {
            delivered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(paid.payment_hash);
        }
    }
}

async fn issue(world: &World, rng: &mut Rng) -> Result<Issued, String> {
    let amount_msat = 1_000 + rng.below(50_000);
    let amountless = rng.chance(20);
    let request = if amountless {
        InvoiceRequest::amountless()
    } else {
        InvoiceRequest::new(amount_msat)
    };
    let created = world
        .payee_wallet
        .create_invoice(request.memo("chaos"))
        .await
        .map_err(|err| format!("the payee cannot issue an invoice: {err}"))?;
    Ok(Issued {
        hash: created.checking_id,
        bolt11: created.payment_request,
        pay_amount_msat: amountless.then_some(amount_msat),
    })
}

fn short(hash: &PaymentHash) -> String {
    hash.to_hex().chars().take(8).collect()
}

/// Every attempt the ledger holds for `hash` on the payer node; `None` while the node is
/// offline (its records cannot be read then, and it can send nothing).
fn attempts(payer: &FakeNode, hash: &PaymentHash) -> Option<Vec<FakePaymentState>> {
    let payments = payer.payments().ok()?;
    Some(
        payments
            .into_iter()
            .filter(|payment| payment.payment_hash == *hash)
            .flat_map(|payment| payment.attempts.into_iter().map(|attempt| attempt.state))
            .collect(),
    )
}

async fn pay_and_check(
    world: &mut World,
    target: &Issued,
    fault: Option<Fault>,
    copies: u64,
    rng: &mut Rng,
    step: u64,
    report: &mut Report,
) {
    let control = world.payer.control();
    let before = attempts(&world.payer, &target.hash).map_or(0, |attempts| attempts.len());
    match fault {
        Some(Fault::LostAnswer) => control.lose_next_payment_answer(),
        Some(Fault::Stall) => {
            control.stall_next_payment();
            world.stalled.push(target.hash);
        }
        Some(Fault::Fail) => control.fail_next_payment(FailureReason::NoRoute),
        Some(Fault::RouteFailureThenSuccess) => control.fail_next_attempts_temporarily(1),
        Some(Fault::SlowSettlement) => control.delay_next_payment(Duration::from_secs(2)),
        Some(Fault::Offline) => control.set_offline(true),
        Some(Fault::PayeeRestart) => world.payee.control().restart(),
        None => {}
    }
    let mut calls = Vec::new();
    for copy in 0..copies {
        let which = usize::try_from((rng.next_u64() ^ copy) % 2).unwrap_or(0);
        let wallet = Arc::clone(&world.payers[which]);
        let mut request =
            PayInvoiceRequest::new(target.bolt11.clone(), MAX_FEE_MSAT).timeout(PAY_TIMEOUT);
        if let Some(amount) = target.pay_amount_msat {
            request = request.amount_msat(amount);
        }
        let payer = world.payer.clone();
        let hash = target.hash;
        calls.push(tokio::spawn(async move {
            let answer =
                tokio::time::timeout(PAY_TIMEOUT + DEADLINE_SLACK, wallet.pay_invoice(request))
                    .await;
            // The ledger as the answer came: in the same poll, so nothing ran in between (a
            // concurrent copy may pay after a failure was rightly reported).
            (answer, attempts(&payer, &hash))
        }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await);
    }
    if fault == Some(Fault::Offline) {
        control.set_offline(false);
    }
    // Faults not consumed (the payment never reached the node) must not hit a later payment.
    control.clear_next_failure();
    let now = attempts(&world.payer, &target.hash).unwrap_or_default();
    for answer in answers {
        let (answer, ledger) = match answer {
            // Unreadable when the answer came: the node was offline and sent nothing since.
            Ok((Ok(answer), ledger)) => (answer, ledger.unwrap_or_else(|| now.clone())),
            Ok((Err(_), _)) => {
                report.violations.add(
                    Invariant::DeadlineKept,
                    step,
                    format!(
                        "pay_invoice of {} outlived its deadline",
                        short(&target.hash)
                    ),
                );
                continue;
            }
            Err(join) => {
                report.violations.add(
                    Invariant::DeadlineKept,
                    step,
                    format!("pay_invoice of {} panicked: {join}", short(&target.hash)),
                );
                continue;
            }
        };
        check_answer(&target.hash, &answer, &ledger, before, copies, step, report);
    }
}

fn check_answer(
    hash: &PaymentHash,
    answer: &Result<PaymentResponse, PayError>,
    ledger: &[FakePaymentState],
    attempts_before: usize,
    copies: u64,
    step: u64,
    report: &mut Report,
) {
    let moving = ledger
        .iter()
        .any(|state| !matches!(state, FakePaymentState::Failed { .. }));
    match answer {
        Ok(PaymentResponse {
            status: PaymentStatus::Failed { reason },
            ..
        }) if moving => report.violations.add(
            Invariant::FailedOnlyWhenFailed,
            step,
            format!(
                "{} reported failed ({reason:?}) while the ledger shows {ledger:?}",
                short(hash)
            ),
        ),
        Ok(PaymentResponse {
            status: PaymentStatus::Succeeded { preimage, .. },
            ..
        }) if !hash.is_paid_by(preimage) => report.violations.add(
            Invariant::SucceededWithProof,
            step,
            format!(
                "{} reported succeeded with a preimage of another hash",
                short(hash)
            ),
        ),
        // Only a lone call can be held to "nothing sent": a concurrent copy may have sent.
        Err(error) if copies == 1 && ledger.len() > attempts_before => report.violations.add(
            Invariant::ErrOnlyWhenNothingSent,
            step,
            format!(
                "{} was an error ({error}) but the ledger shows a new attempt: {ledger:?}",
                short(hash)
            ),
        ),
        _ => {}
    }
}

/// After every step: no hash paid twice.
fn check_ledger(world: &World, step: u64, report: &mut Report) {
    let mut succeeded: HashMap<PaymentHash, usize> = HashMap::new();
    for payment in world.payer.payments().unwrap_or_default() {
        let count = payment
            .attempts
            .iter()
            .filter(|attempt| matches!(attempt.state, FakePaymentState::Succeeded { .. }))
            .count();
        *succeeded.entry(payment.payment_hash).or_default() += count;
    }
    for (hash, count) in succeeded {
        if count > 1 {
            report.violations.add(
                Invariant::PaidOnce,
                step,
                format!("{} was paid {count} times", short(&hash)),
            );
        }
    }
}

/// Ends every stalled payment and lets in-flight ones finish.
async fn quiesce(world: &mut World) {
    for hash in world.stalled.drain(..) {
        world
            .payer
            .control()
            .release_payment(&hash, Release::Succeed);
    }
    tokio::time::sleep(PAY_TIMEOUT).await;
}

async fn check_end(world: &World, steps: u64, report: &mut Report) {
    let paid: Vec<PaymentHash> = world
        .payee
        .invoices()
        .unwrap_or_default()
        .into_iter()
        .filter(|invoice| matches!(invoice.state, FakeInvoiceState::Settled { .. }))
        .map(|invoice| invoice.payment_hash)
        .collect();
    // The stream has a bound to deliver everything the ledger shows paid.
    let deadline = tokio::time::Instant::now() + DELIVERY_BOUND;
    while tokio::time::Instant::now() < deadline {
        let delivered = world
            .delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if paid.iter().all(|hash| delivered.contains(hash)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = world
        .delivered
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for hash in &paid {
        let times = delivered.iter().filter(|seen| *seen == hash).count();
        if times != 1 {
            report.violations.add(
                Invariant::DeliveredOnce,
                steps,
                format!("{} paid, delivered {times} times", short(hash)),
            );
        }
    }
    for hash in &delivered {
        if !paid.contains(hash) {
            report.violations.add(
                Invariant::DeliveredOnce,
                steps,
                format!("{} delivered but not paid", short(hash)),
            );
        }
    }
    check_ledger(world, steps, report);
    let ledger = world.payer.balance_msat().unwrap_or_default();
    for (which, wallet) in world.payers.iter().enumerate() {
        match wallet.status().await {
            Ok(status) if status.balance_msat == ledger => {}
            other => report.violations.add(
                Invariant::BalanceMatches,
                steps,
                format!("payer instance {which} reports {other:?}, the ledger {ledger} msat"),
            ),
        }
    }
}
