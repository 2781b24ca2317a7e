//! One campaign on the fake network: a payee issues invoices (some amountless, some hold
//! invoices), two wallet instances on one payer node (as two processes would be) pay them, alone,
//! concurrently or again, while faults are set on the nodes; after every step and at the end the
//! oracle compares what the wallets said with the ledger (the fake network's own records, never
//! a `Wallet` call).
//!
//! It runs on a current-thread runtime with paused time: a schedule replays the same way, and a
//! ledger read in the same poll as an answer sees the ledger as the answer came.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use wallet_core::{
    FailureReason, HoldInvoiceRequest, InvoiceRequest, InvoiceStatus, PayError, PayInvoiceRequest,
    PaymentHash, PaymentResponse, PaymentStatus, Preimage, Wallet, sha256,
};
use wallet_fake::{FakeInvoiceState, FakeNode, FakePaymentState, Release};

use crate::beds::{Backend, Server};
use crate::mutant::{Mutant, Mutated};
use crate::oracle::{Invariant, Violations};
use crate::plan::{Fault, Rates, Step, Target};
use crate::subscriber::Subscriber;

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Whose wallets are tested.
    pub backend: Backend,
    /// Payment steps to make (a step paid by several calls at once counts once here).
    pub payments: u64,
    /// The seed of the schedule.
    pub seed: u64,
    /// How often each kind of step and fault comes.
    pub rates: Rates,
    /// A deliberately broken wallet to run against, which the campaign must catch.
    pub mutant: Option<Mutant>,
    /// Prints a progress line to stderr every tenth of the schedule.
    pub progress: bool,
}

impl Config {
    /// `payments` payments from `seed`, with the default rates.
    pub fn new(payments: u64, seed: u64) -> Self {
        Self {
            backend: Backend::Fake,
            payments,
            seed,
            rates: Rates::default(),
            mutant: None,
            progress: false,
        }
    }
}

/// What a campaign did and found.
#[derive(Debug, Default)]
pub struct Report {
    /// `pay_invoice` calls made.
    pub payments: u64,
    /// Faults set.
    pub faults: u64,
    /// Every broken invariant, with the step and what was seen.
    pub violations: Violations,
    /// What was left unchecked, and why: printed with the counts, never silent.
    pub unchecked: Vec<String>,
    /// What the output should say about how the run went (capped restarts, say).
    pub notes: Vec<String>,
}

/// The deadline of every call but a payment.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// A call past its budget by more than this broke its deadline.
const DEADLINE_SLACK: Duration = Duration::from_secs(2);
/// How long the stream may take to deliver what the ledger shows paid, after quiescence.
const DELIVERY_BOUND: Duration = Duration::from_secs(10);
const MAX_FEE_MSAT: u64 = 10_000;
/// The expiry of short-lived invoices; [`Step::Pass`] waits a second longer.
const SHORT_EXPIRY: Duration = Duration::from_secs(2);

struct Issued {
    hash: PaymentHash,
    bolt11: String,
    /// What the payer names: `Some` for an amountless invoice.
    pay_amount_msat: Option<u64>,
    /// What paying it moves: the invoice's amount, or what the payer names.
    amount_msat: u64,
}

/// The world of one campaign.
struct World {
    payer: FakeNode,
    payee: FakeNode,
    payer_server: Server,
    payee_server: Server,
    /// Each payment's budget: the node answers within it unless a fault stalls it.
    pay_timeout: Duration,
    /// Whether invoices may be short-lived: expiry follows the wall clock, which a paused
    /// runtime (the fake backend's) does not move, so there they would expire or not by how fast
    /// the machine runs and a seed would no longer replay exactly.
    expiry_in_real_time: bool,
    /// Two instances on the payer node: two processes sharing one node.
    payers: [Arc<dyn Wallet>; 2],
    payee_wallet: Arc<dyn Wallet>,
    subscriber: Subscriber,
    issued: Vec<Issued>,
    stalled: Vec<PaymentHash>,
    open_holds: Vec<Preimage>,
    holds_made: u64,
    report: Report,
}

/// Runs the schedule `config` makes.
pub fn run(config: &Config) -> Result<Report, String> {
    let steps = crate::plan::make(config.payments, config.seed, &config.rates);
    execute(&steps, config)
}

/// Runs `steps` on a fresh network. One thread runs the wallets, the simulators and the fake
/// network, so a ledger read in the poll an answer came in sees the ledger as it came; the fake
/// backend's time is paused as well, so its runs replay exactly.
pub fn execute(steps: &[Step], config: &Config) -> Result<Report, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(config.backend == Backend::Fake)
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(campaign(steps, config))
}

async fn campaign(steps: &[Step], config: &Config) -> Result<Report, String> {
    let crate::beds::Pair {
        payer,
        payer_server,
        payee,
        payee_server,
    } = crate::beds::pair(config.backend, 1_000_000_000_000).await?;
    let instance = || -> Result<Arc<dyn Wallet>, String> {
        let wallet = payer_server.wallet(CALL_TIMEOUT)?;
        Ok(match config.mutant {
            Some(Mutant::LostAnswerFailed) => Arc::new(Mutated::lost_answer_failed(wallet)),
            Some(Mutant::NoPrelookup) => {
                let fake = payer_server.fake_wallet().ok_or_else(|| {
                    "the no-prelookup mutant is built on the fake backend's driver: run it with \
                     --backend fake"
                        .to_owned()
                })?;
                Arc::new(Mutated::no_prelookup(fake))
            }
            Some(Mutant::NoDedupe) | None => wallet,
        })
    };
    let payers = [instance()?, instance()?];
    let payee_wallet = payee_server.wallet(CALL_TIMEOUT)?;
    let subscriber = Subscriber::start(
        Arc::clone(&payee_wallet),
        config.mutant == Some(Mutant::NoDedupe),
    )
    .await?;
    let mut world = World {
        payers,
        payer,
        payee,
        payer_server,
        payee_server,
        pay_timeout: config.backend.pay_timeout(),
        expiry_in_real_time: config.backend != Backend::Fake,
        payee_wallet,
        subscriber,
        issued: Vec::new(),
        stalled: Vec::new(),
        open_holds: Vec::new(),
        holds_made: config.seed.wrapping_mul(1_000_003),
        report: Report::default(),
    };
    let tenth = (steps.len() / 10).max(1);
    for (at, step) in steps.iter().enumerate() {
        if config.progress && at > 0 && at % tenth == 0 {
            eprintln!(
                "chaos: step {at}/{}: {} payments, {} faults, {} violations so far",
                steps.len(),
                world.report.payments,
                world.report.faults,
                world.report.violations.len()
            );
        }
        let at = at as u64;
        // The payment a payment or release step was about, for the paid-once check.
        let step_payment = match step {
            Step::Pay {
                target,
                fault,
                instances,
            } => {
                let Some(index) = world.target(target).await? else {
                    continue;
                };
                pay_and_check(&mut world, index, *fault, instances, at).await?;
                Some(world.issued[index].hash)
            }
            Step::Release { pick, succeed } => {
                let hash = take(&mut world.stalled, *pick);
                if let Some(hash) = &hash {
                    let release = if *succeed {
                        Release::Succeed
                    } else {
                        Release::Fail(FailureReason::NoRoute)
                    };
                    world.payer.control().release_payment(hash, release);
                }
                hash
            }
            Step::Lookup { pick, instance } => {
                lookup_and_check(&mut world, *pick, *instance, at).await;
                None
            }
            Step::Pass => {
                tokio::time::sleep(SHORT_EXPIRY + Duration::from_secs(1)).await;
                None
            }
            Step::SubscriberRestart => {
                world.subscriber.restart();
                None
            }
            Step::ResolveHold { pick, settle } => {
                if let Some(preimage) = take(&mut world.open_holds, *pick) {
                    // Refused when nothing is held yet (settle) or after the end: not the
                    // payer's business, and the ledger says what happened.
                    let _ = if *settle {
                        world.payee_wallet.settle_hold_invoice(&preimage).await
                    } else {
                        world
                            .payee_wallet
                            .cancel_hold_invoice(&preimage.payment_hash())
                            .await
                    };
                }
                None
            }
        };
        if at.is_multiple_of(FULL_SWEEP_STEPS) {
            check_paid_once(&world.payer, &world.issued_hashes(), at, &mut world.report);
        } else if let Some(hash) = step_payment {
            check_paid_once(&world.payer, &[hash], at, &mut world.report);
        }
    }
    quiesce(&mut world, steps.len() as u64).await;
    check_end(&mut world, steps.len() as u64).await;
    world.subscriber.stop();
    Ok(world.report)
}

/// Removes and returns the entry at `pick` modulo the length.
fn take<T>(from: &mut Vec<T>, pick: u64) -> Option<T> {
    if from.is_empty() {
        return None;
    }
    let at = usize::try_from(pick % from.len() as u64).ok()?;
    Some(from.swap_remove(at))
}

impl World {
    /// The hash of every invoice issued so far.
    fn issued_hashes(&self) -> Vec<PaymentHash> {
        self.issued.iter().map(|issued| issued.hash).collect()
    }

    /// The position of the invoice `target` names, issuing it if new; `None` when there is
    /// none to pay again.
    async fn target(&mut self, target: &Target) -> Result<Option<usize>, String> {
        match target {
            Target::Again { pick } => {
                if self.issued.is_empty() {
                    return Ok(None);
                }
                Ok(usize::try_from(pick % self.issued.len() as u64).ok())
            }
            Target::New {
                amount_msat,
                amountless,
                hold,
                short_expiry,
            } => {
                // A payer that cannot pay amountless invoices (LNbits) gets one with an amount.
                let amountless = *amountless
                    && self.payers[0]
                        .features()
                        .contains(wallet_core::WalletFeature::AmountlessPayment);
                let mut request = if amountless {
                    InvoiceRequest::amountless()
                } else {
                    InvoiceRequest::new(*amount_msat)
                }
                .memo("chaos");
                if *short_expiry && self.expiry_in_real_time {
                    request = request.expiry(SHORT_EXPIRY);
                }
                let created = if *hold {
                    self.holds_made = self.holds_made.wrapping_add(1);
                    let preimage = Preimage::from_bytes(sha256(&self.holds_made.to_be_bytes()));
                    self.open_holds.push(preimage);
                    self.payee_wallet
                        .create_hold_invoice(HoldInvoiceRequest {
                            payment_hash: preimage.payment_hash(),
                            invoice: request,
                        })
                        .await
                } else {
                    self.payee_wallet.create_invoice(request).await
                }
                .map_err(|err| format!("the payee cannot issue an invoice: {err}"))?;
                self.issued.push(Issued {
                    hash: created.checking_id,
                    bolt11: created.payment_request,
                    pay_amount_msat: amountless.then_some(*amount_msat),
                    amount_msat: *amount_msat,
                });
                Ok(Some(self.issued.len() - 1))
            }
        }
    }
}

fn short(hash: &PaymentHash) -> String {
    hash.to_hex().chars().take(8).collect()
}

/// Every attempt the ledger holds for `hash` on the payer node; `None` while the node is
/// offline (its records cannot be read then, and it sends nothing).
fn attempts(payer: &FakeNode, hash: &PaymentHash) -> Option<Vec<FakePaymentState>> {
    let payment = payer.payment(hash).ok()?;
    Some(
        payment
            .into_iter()
            .flat_map(|payment| payment.attempts.into_iter().map(|attempt| attempt.state))
            .collect(),
    )
}

async fn pay_and_check(
    world: &mut World,
    index: usize,
    fault: Option<Fault>,
    instances: &[usize],
    at: u64,
) -> Result<(), String> {
    let (hash, bolt11, pay_amount_msat) = {
        let issued = &world.issued[index];
        (issued.hash, issued.bolt11.clone(), issued.pay_amount_msat)
    };
    let control = world.payer.control();
    let before = attempts(&world.payer, &hash).map_or(0, |attempts| attempts.len());
    if fault.is_some() {
        world.report.faults += 1;
    }
    match fault {
        Some(Fault::LostAnswer) => control.lose_next_payment_answer(),
        Some(Fault::Stall) => {
            control.stall_next_payment();
            world.stalled.push(hash);
        }
        Some(Fault::Fail) => control.fail_next_payment(FailureReason::NoRoute),
        Some(Fault::RouteFailureThenSuccess) => control.fail_next_attempts_temporarily(1),
        Some(Fault::SlowSettlement) => control.delay_next_payment(Duration::from_secs(2)),
        Some(Fault::Offline) => world.payer_server.reachable(false).await?,
        Some(Fault::PayeeRestart) => world.payee_server.restart().await?,
        Some(Fault::SlowLookups) => {
            control.delay_lookups(world.pay_timeout + Duration::from_secs(1));
        }
        Some(Fault::PayerRestart | Fault::ConnectionKill) | None => {}
    }
    let mut calls = Vec::new();
    for instance in instances {
        let wallet = Arc::clone(&world.payers[instance % 2]);
        let mut request =
            PayInvoiceRequest::new(bolt11.clone(), MAX_FEE_MSAT).timeout(world.pay_timeout);
        if let Some(amount) = pay_amount_msat {
            request = request.amount_msat(amount);
        }
        let payer = world.payer.clone();
        let deadline = world.pay_timeout + DEADLINE_SLACK;
        calls.push(tokio::spawn(async move {
            let answer = tokio::time::timeout(deadline, wallet.pay_invoice(request)).await;
            // The ledger as the answer came: read in the same poll, so nothing ran in between
            // (a concurrent copy may pay after a failure was rightly reported).
            (answer, attempts(&payer, &hash))
        }));
    }
    world.report.payments += instances.len() as u64;
    if matches!(fault, Some(Fault::PayerRestart | Fault::ConnectionKill)) {
        // Let the calls reach the node first: the fault comes while they are under way.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if fault == Some(Fault::PayerRestart) {
            world.payer_server.restart().await?;
        } else {
            world.payer_server.kill_connections();
        }
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await);
    }
    if fault == Some(Fault::Offline) {
        world.payer_server.reachable(true).await?;
    }
    if fault == Some(Fault::SlowLookups) {
        control.delay_lookups(Duration::ZERO);
    }
    // A fault no payment consumed (none reached the node) must not hit a later payment.
    control.clear_next_failure();
    let now = attempts(&world.payer, &hash).unwrap_or_default();
    for answer in answers {
        let report = &mut world.report;
        match answer {
            // Unreadable when the answer came: the node was offline and sent nothing since.
            Ok((Ok(answer), ledger)) => check_answer(
                &hash,
                &answer,
                &ledger.unwrap_or_else(|| now.clone()),
                before,
                instances.len(),
                at,
                report,
            ),
            Ok((Err(_), _)) => report.violations.add(
                Invariant::DeadlineKept,
                at,
                format!("pay_invoice of {} outlived its deadline", short(&hash)),
            ),
            Err(join) => report.violations.add(
                Invariant::DeadlineKept,
                at,
                format!("pay_invoice of {} panicked: {join}", short(&hash)),
            ),
        }
    }
    Ok(())
}

/// Whether the ledger shows money moving or moved: any attempt not failed.
fn moving(ledger: &[FakePaymentState]) -> bool {
    ledger
        .iter()
        .any(|state| !matches!(state, FakePaymentState::Failed { .. }))
}

fn check_status(
    hash: &PaymentHash,
    status: &PaymentStatus,
    ledger: &[FakePaymentState],
    at: u64,
    report: &mut Report,
) {
    match status {
        PaymentStatus::Failed { reason } if moving(ledger) => report.violations.add(
            Invariant::FailedOnlyWhenFailed,
            at,
            format!(
                "{} reported failed ({reason:?}) while the ledger shows {ledger:?}",
                short(hash)
            ),
        ),
        PaymentStatus::Succeeded { preimage, .. } if !hash.is_paid_by(preimage) => {
            report.violations.add(
                Invariant::SucceededWithProof,
                at,
                format!(
                    "{} reported succeeded with another hash's preimage",
                    short(hash)
                ),
            );
        }
        _ => {}
    }
}

fn check_answer(
    hash: &PaymentHash,
    answer: &Result<PaymentResponse, PayError>,
    ledger: &[FakePaymentState],
    attempts_before: usize,
    copies: usize,
    at: u64,
    report: &mut Report,
) {
    match answer {
        Ok(response) => check_status(hash, &response.status, ledger, at, report),
        // Only a lone call can be held to "nothing sent": a concurrent copy may have sent. An
        // error tells the caller the invoice stands unpaid, so it is wrong after a new attempt
        // and also while an earlier one is paid or in flight (contract rule 3: expired or not).
        Err(error) if copies == 1 && (ledger.len() > attempts_before || moving(ledger)) => {
            report.violations.add(
                Invariant::ErrOnlyWhenNothingSent,
                at,
                format!(
                    "{} was an error ({error}) but the ledger shows {}: {ledger:?}",
                    short(hash),
                    if ledger.len() > attempts_before {
                        "a new attempt"
                    } else {
                        "it paid or in flight"
                    }
                ),
            );
        }
        Err(_) => {}
    }
}

/// Asks payer `instance` about the payment of `hash` and holds the answer to the ledger.
async fn ask_and_check_payment(world: &mut World, hash: &PaymentHash, instance: usize, at: u64) {
    if let Ok(status) = world.payers[instance % 2].get_payment_status(hash).await {
        let ledger = attempts(&world.payer, hash).unwrap_or_default();
        check_status(hash, &status, &ledger, at, &mut world.report);
    }
}

/// A status lookup at a random moment, held to the same rules as a payment's answer; and the
/// payee's view of the invoice, held to the payee's ledger.
async fn lookup_and_check(world: &mut World, pick: u64, instance: usize, at: u64) {
    if world.issued.is_empty() {
        return;
    }
    let index = usize::try_from(pick % world.issued.len() as u64).unwrap_or(0);
    let hash = world.issued[index].hash;
    ask_and_check_payment(world, &hash, instance, at).await;
    if let Ok(InvoiceStatus::Paid { preimage, .. }) =
        world.payee_wallet.get_invoice_status(&hash).await
    {
        let settled = world
            .payee
            .invoice(&hash)
            .ok()
            .flatten()
            .is_some_and(|invoice| matches!(invoice.state, FakeInvoiceState::Settled { .. }));
        if !settled || !hash.is_paid_by(&preimage) {
            world.report.violations.add(
                Invariant::SucceededWithProof,
                at,
                format!(
                    "{} reported paid by the payee's wallet, not by its ledger",
                    short(&hash)
                ),
            );
        }
    }
}

/// Steps between two reads of every payment of the campaign for [`check_paid_once`]; in
/// between, only a payment or release step's own payment is read (reading every payment after
/// every step makes a long campaign quadratic).
const FULL_SWEEP_STEPS: u64 = 100;

/// No hash of `hashes` paid twice, across both instances. Only this campaign's hashes: the
/// LNbits bed's funding node carries the payments of earlier campaigns in the same process.
fn check_paid_once(payer: &FakeNode, hashes: &[PaymentHash], at: u64, report: &mut Report) {
    let payments: Vec<_> = hashes
        .iter()
        .filter_map(|hash| payer.payment(hash).ok().flatten())
        .collect();
    let mut succeeded: HashMap<PaymentHash, usize> = HashMap::new();
    for payment in payments {
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
                at,
                format!("{} was paid {count} times", short(&hash)),
            );
        }
    }
}

/// Ends every stalled payment, settles every open hold invoice, lets in-flight payments end and
/// asks about each payment once more (violations count at step `at`, the end).
async fn quiesce(world: &mut World, at: u64) {
    for hash in world.stalled.drain(..) {
        world
            .payer
            .control()
            .release_payment(&hash, Release::Succeed);
    }
    for preimage in world.open_holds.drain(..) {
        let _ = world.payee_wallet.settle_hold_invoice(&preimage).await;
    }
    tokio::time::sleep(world.pay_timeout).await;
    // As an app settles its books: every payment is asked about once more (LNbits updates a
    // payment its node finished only when asked), and each answer is held to the ledger.
    for hash in world.issued_hashes() {
        ask_and_check_payment(world, &hash, 0, at).await;
    }
}

async fn check_end(world: &mut World, at: u64) {
    let paid: Vec<PaymentHash> = world
        .payee
        .invoices()
        .unwrap_or_default()
        .into_iter()
        .filter(|invoice| matches!(invoice.state, FakeInvoiceState::Settled { .. }))
        .map(|invoice| invoice.payment_hash)
        .collect();
    // The subscriber has a bound to handle everything the ledger shows paid.
    let deadline = tokio::time::Instant::now() + DELIVERY_BOUND;
    while tokio::time::Instant::now() < deadline && {
        let handled = world.subscriber.handled();
        !paid
            .iter()
            .all(|hash| handled.iter().any(|(_, seen)| seen == hash))
    } {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let handled = world.subscriber.handled();
    let hashes = world.issued_hashes();
    let report = &mut world.report;
    for hash in &paid {
        let sessions: Vec<u32> = handled
            .iter()
            .filter(|(_, seen)| seen == hash)
            .map(|(session, _)| *session)
            .collect();
        let mut once_each = sessions.clone();
        once_each.dedup();
        // Exactly once per session (across node restarts), at least once across the
        // subscriber's own restarts.
        if sessions.is_empty() || once_each.len() != sessions.len() {
            report.violations.add(
                Invariant::DeliveredOnce,
                at,
                format!(
                    "{} paid, delivered {} times (in sessions {sessions:?})",
                    short(hash),
                    sessions.len()
                ),
            );
        }
    }
    for (session, hash) in &handled {
        if !paid.contains(hash) {
            report.violations.add(
                Invariant::DeliveredOnce,
                at,
                format!("{} delivered (session {session}) but not paid", short(hash)),
            );
        }
    }
    check_paid_once(&world.payer, &hashes, at, report);
    if let Some(restarts) = world.payer_server.lnbits_restarts() {
        report.notes.push(format!(
            "{restarts} LNbits restarts (at most {} per run; later payer restarts restart lnd-sim \
             under LNbits)",
            crate::beds::MAX_LNBITS_RESTARTS
        ));
    }
    let issued: Vec<(PaymentHash, u64)> = world
        .issued
        .iter()
        .map(|issued| (issued.hash, issued.amount_msat))
        .collect();
    let (lowest, highest) = match world.payer_server.ledger_balance(&issued) {
        Ok(bounds) => bounds,
        Err(err) => {
            world
                .report
                .unchecked
                .push(format!("balances: the ledger is unreadable: {err}"));
            return;
        }
    };
    for (which, wallet) in world.payers.iter().enumerate() {
        match wallet.status().await {
            Ok(status) if (lowest..=highest).contains(&status.balance_msat) => {}
            other => world.report.violations.add(
                Invariant::BalanceMatches,
                at,
                format!(
                    "payer instance {which} reports {other:?}, the ledger {}",
                    if lowest == highest {
                        format!("{lowest} msat")
                    } else {
                        format!("{lowest}..={highest} msat")
                    }
                ),
            ),
        }
    }
}
