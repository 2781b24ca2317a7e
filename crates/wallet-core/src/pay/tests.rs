//! The protocol against a scripted node: each test is one way a real node answers.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::*;
use crate::test_invoices::TestInvoice;

const PREIMAGE: [u8; 32] = [7; 32];

fn hash() -> PaymentHash {
    Preimage::from_bytes(PREIMAGE).payment_hash()
}

/// A signed regtest invoice for [`hash`], created `age` ago, valid for `expiry`.
fn invoice(age: Duration, expiry: Duration, amount_msat: Option<u64>) -> String {
    let mut invoice = TestInvoice::new(*hash().as_bytes(), amount_msat);
    invoice.created = SystemTime::now() - age;
    invoice.expiry = expiry;
    invoice.sign().to_string()
}

fn fresh() -> PayInvoiceRequest {
    PayInvoiceRequest::new(
        invoice(Duration::ZERO, Duration::from_secs(3600), Some(5_000)),
        1_000,
    )
}

fn expired() -> PayInvoiceRequest {
    PayInvoiceRequest::new(
        invoice(
            Duration::from_secs(7200),
            Duration::from_secs(60),
            Some(5_000),
        ),
        1_000,
    )
}

fn attempt(state: AttemptState, order: u64) -> Attempt {
    Attempt {
        payment_hash: Some(hash()),
        state,
        order,
    }
}

fn failed(order: u64) -> Attempt {
    attempt(
        AttemptState::Failed {
            reason: FailureReason::NoRoute,
        },
        order,
    )
}

fn succeeded(order: u64) -> Attempt {
    attempt(
        AttemptState::Succeeded {
            preimage: Some(Preimage::from_bytes(PREIMAGE)),
            fee_msat: 3,
        },
        order,
    )
}

fn success() -> PaymentStatus {
    PaymentStatus::Succeeded {
        preimage: Preimage::from_bytes(PREIMAGE),
        fee_msat: 3,
    }
}

/// A node that answers lookups from a script (one answer per lookup, the last repeated) and
/// answers a dispatch with `outcome`.
struct Scripted {
    lookups: Mutex<Vec<Vec<Attempt>>>,
    lookup_delay: Duration,
    outcome: Dispatched,
    dispatches: Mutex<usize>,
    features: Features,
}

impl Scripted {
    fn new(lookups: Vec<Vec<Attempt>>, outcome: Dispatched) -> Self {
        Self {
            lookups: Mutex::new(lookups),
            lookup_delay: Duration::ZERO,
            outcome,
            dispatches: Mutex::new(0),
            features: Features::all(),
        }
    }

    fn dispatches(&self) -> usize {
        *self.dispatches.lock().unwrap()
    }
}

#[async_trait]
impl PaymentDriver for Scripted {
    fn features(&self) -> Features {
        self.features
    }

    async fn network(&self, _: Duration) -> Option<Currency> {
        Some(Currency::Regtest)
    }

    async fn attempts(&self, _: &PaymentHash, _: Duration) -> Result<Vec<Attempt>, WalletError> {
        tokio::time::sleep(self.lookup_delay).await;
        let mut lookups = self.lookups.lock().unwrap();
        Ok(if lookups.len() > 1 {
            lookups.remove(0)
        } else {
            lookups.first().cloned().unwrap_or_default()
        })
    }

    async fn dispatch(&self, _: &CheckedPayment, _: &PayInvoiceRequest, _: Instant) -> Dispatched {
        *self.dispatches.lock().unwrap() += 1;
        self.outcome.clone()
    }
}

async fn pay(node: &Scripted, request: PayInvoiceRequest) -> Result<PaymentStatus, PayError> {
    Payments::new()
        .pay(node, request)
        .await
        .map(|response| response.status)
}

#[tokio::test]
async fn an_attempt_in_flight_at_an_expired_invoice_is_pending_not_an_error() {
    let node = Scripted::new(
        vec![vec![attempt(AttemptState::InFlight, 1)]],
        Dispatched::Answered(success()),
    );
    assert_eq!(pay(&node, expired()).await, Ok(PaymentStatus::Pending));
    assert_eq!(node.dispatches(), 0);
}

#[tokio::test]
async fn a_paid_expired_invoice_reports_the_success_and_sends_nothing() {
    let node = Scripted::new(
        vec![vec![failed(1), succeeded(2)]],
        Dispatched::Answered(PaymentStatus::Pending),
    );
    assert_eq!(pay(&node, expired()).await, Ok(success()));
    assert_eq!(node.dispatches(), 0);
}

#[tokio::test]
async fn an_expired_invoice_the_node_never_saw_is_refused_before_dispatch() {
    let node = Scripted::new(vec![vec![]], Dispatched::Answered(success()));
    let err = pay(&node, expired()).await.unwrap_err();
    assert_eq!(err.reason().field(), Some("bolt11"));
    assert_eq!(node.dispatches(), 0);
}

#[tokio::test]
async fn a_lost_answer_after_an_earlier_failure_is_pending() {
    let node = Scripted::new(
        vec![vec![failed(1)], vec![failed(1)]],
        Dispatched::Unanswered("connection reset".into()),
    );
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
    assert_eq!(node.dispatches(), 1);
}

#[tokio::test]
async fn a_lost_answer_then_a_newer_failed_attempt_is_failed() {
    let node = Scripted::new(
        vec![vec![failed(1)], vec![failed(1), failed(2)]],
        Dispatched::Unanswered("connection reset".into()),
    );
    assert!(pay(&node, fresh()).await.unwrap().is_failed());
}

#[tokio::test]
async fn a_node_that_rewrites_its_only_attempt_shows_a_newer_one_by_its_order() {
    // lnd re-initialises a failed payment in place: one record, a newer creation time.
    let node = Scripted::new(
        vec![vec![failed(10)], vec![failed(20)]],
        Dispatched::Unanswered("stream ended".into()),
    );
    assert!(pay(&node, fresh()).await.unwrap().is_failed());
}

#[tokio::test]
async fn no_record_after_an_unanswered_dispatch_is_pending_not_unknown() {
    let node = Scripted::new(vec![vec![]], Dispatched::Unanswered("{}".into()));
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
}

#[tokio::test]
async fn a_declined_dispatch_with_no_new_attempt_sent_nothing() {
    let node = Scripted::new(
        vec![vec![failed(1)]],
        Dispatched::Declined(WalletError::backend(Some(205), "no route")),
    );
    let err = pay(&node, fresh()).await.unwrap_err();
    assert_eq!(err.reason(), &WalletError::backend(Some(205), "no route"));
}

#[tokio::test]
async fn a_declined_dispatch_with_a_new_attempt_in_flight_is_pending() {
    let node = Scripted::new(
        vec![vec![], vec![attempt(AttemptState::InFlight, 1)]],
        Dispatched::Declined(WalletError::backend(Some(205), "no route")),
    );
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
}

#[tokio::test]
async fn an_answer_about_this_dispatch_is_final() {
    let node = Scripted::new(
        vec![vec![failed(1)]],
        Dispatched::Answered(PaymentStatus::Failed {
            reason: FailureReason::NoRoute,
        }),
    );
    assert!(pay(&node, fresh()).await.unwrap().is_failed());
    let node = Scripted::new(vec![vec![]], Dispatched::Answered(PaymentStatus::Unknown));
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
}

#[tokio::test]
async fn records_about_another_hash_do_not_stop_or_fail_a_payment() {
    let mut other = succeeded(5);
    other.payment_hash = Some(PaymentHash::from_bytes([9; 32]));
    let node = Scripted::new(vec![vec![other]], Dispatched::Answered(success()));
    assert_eq!(pay(&node, fresh()).await, Ok(success()));
    assert_eq!(node.dispatches(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_lookup_cannot_stretch_the_call_past_its_timeout_and_is_pending() {
    let mut node = Scripted::new(vec![vec![]], Dispatched::Answered(success()));
    node.lookup_delay = Duration::from_secs(60);
    let started = Instant::now();
    let answer = pay(&node, fresh().timeout(Duration::from_secs(2))).await;
    // An earlier call's attempt may be in flight unseen: never "nothing was sent".
    assert_eq!(answer, Ok(PaymentStatus::Pending));
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(node.dispatches(), 0);
}

#[tokio::test]
async fn a_node_that_refuses_the_credentials_is_an_error() {
    struct Refusing;
    #[async_trait]
    impl PaymentDriver for Refusing {
        fn features(&self) -> Features {
            Features::all()
        }
        async fn attempts(
            &self,
            _: &PaymentHash,
            _: Duration,
        ) -> Result<Vec<Attempt>, WalletError> {
            Err(WalletError::Unauthorized("bad macaroon".into()))
        }
        async fn dispatch(
            &self,
            _: &CheckedPayment,
            _: &PayInvoiceRequest,
            _: Instant,
        ) -> Dispatched {
            Dispatched::Answered(success())
        }
    }
    let err = Payments::new().pay(&Refusing, fresh()).await.unwrap_err();
    assert_eq!(
        err.reason(),
        &WalletError::Unauthorized("bad macaroon".into())
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_waiting_for_another_payment_of_the_hash_is_pending_at_its_timeout() {
    let node = Scripted::new(vec![vec![]], Dispatched::Answered(success()));
    let payments = Payments::new();
    let _busy = payments.locks.lock(&hash()).await;
    let answer = payments
        .pay(&node, fresh().timeout(Duration::from_secs(1)))
        .await;
    assert_eq!(
        answer.map(|response| response.status),
        Ok(PaymentStatus::Pending)
    );
    assert_eq!(node.dispatches(), 0);
}

#[tokio::test]
async fn an_amount_for_an_amountless_invoice_needs_the_feature() {
    let mut node = Scripted::new(vec![vec![]], Dispatched::Answered(success()));
    node.features = Features::all().without(WalletFeature::AmountlessPayment);
    let request = PayInvoiceRequest::new(
        invoice(Duration::ZERO, Duration::from_secs(3600), None),
        1_000,
    )
    .amount_msat(5_000);
    let err = pay(&node, request).await.unwrap_err();
    assert_eq!(
        err.reason(),
        &WalletError::Unsupported(WalletFeature::AmountlessPayment)
    );
}

#[test]
fn the_attempt_rule_prefers_proven_success_then_in_flight_then_the_newest_failure() {
    assert_eq!(payment_status(&hash(), &[]), PaymentStatus::Unknown);
    assert_eq!(
        payment_status(&hash(), &[failed(1), succeeded(2)]),
        success()
    );
    assert_eq!(
        payment_status(&hash(), &[failed(1), attempt(AttemptState::InFlight, 2)]),
        PaymentStatus::Pending
    );
    let unproven = attempt(
        AttemptState::Succeeded {
            preimage: Some(Preimage::from_bytes([8; 32])),
            fee_msat: 0,
        },
        3,
    );
    assert_eq!(
        payment_status(&hash(), &[failed(1), unproven]),
        PaymentStatus::Pending
    );
    let newest = attempt(
        AttemptState::Failed {
            reason: FailureReason::Timeout,
        },
        9,
    );
    assert_eq!(
        payment_status(&hash(), &[newest, failed(1)]),
        PaymentStatus::Failed {
            reason: FailureReason::Timeout
        }
    );
    let mut elsewhere = failed(1);
    elsewhere.payment_hash = Some(PaymentHash::from_bytes([9; 32]));
    assert_eq!(
        payment_status(&hash(), &[elsewhere]),
        PaymentStatus::Unknown
    );
    let mut unreadable = failed(1);
    unreadable.payment_hash = None;
    assert_eq!(
        payment_status(&hash(), &[unreadable]),
        PaymentStatus::Pending
    );
    let mut proven = succeeded(1);
    proven.payment_hash = None;
    assert_eq!(payment_status(&hash(), &[proven]), success());
}

/// A node whose every lookup fails with `error`.
struct Failing(WalletError);

#[async_trait]
impl PaymentDriver for Failing {
    fn features(&self) -> Features {
        Features::all()
    }
    async fn attempts(&self, _: &PaymentHash, _: Duration) -> Result<Vec<Attempt>, WalletError> {
        Err(self.0.clone())
    }
    async fn dispatch(&self, _: &CheckedPayment, _: &PayInvoiceRequest, _: Instant) -> Dispatched {
        Dispatched::Answered(success())
    }
}

#[tokio::test]
async fn a_node_that_cannot_answer_the_lookup_leaves_the_payment_pending() {
    for error in [
        WalletError::backend(Some(2), "the RPC server is in the process of starting up"),
        WalletError::NotFound("wallet".into()),
        WalletError::unavailable("connection refused"),
    ] {
        let answer = Payments::new().pay(&Failing(error.clone()), fresh()).await;
        assert_eq!(
            answer.map(|response| response.status),
            Ok(PaymentStatus::Pending),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_declined_dispatch_whose_record_was_updated_in_place_to_in_flight_is_pending() {
    // One record per hash, rewritten without a newer order: the state change still counts.
    let node = Scripted::new(
        vec![vec![failed(5)], vec![attempt(AttemptState::InFlight, 5)]],
        Dispatched::Declined(WalletError::backend(Some(520), "failed")),
    );
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
}

#[tokio::test]
async fn a_record_of_this_lookup_whose_hash_cannot_be_read_is_pending_and_nothing_is_sent() {
    let mut unreadable = attempt(AttemptState::InFlight, 1);
    unreadable.payment_hash = None;
    let node = Scripted::new(vec![vec![unreadable]], Dispatched::Answered(success()));
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
    assert_eq!(node.dispatches(), 0);
}

#[tokio::test]
async fn an_answered_failure_gives_way_to_another_processs_attempt_that_paid_or_is_in_flight() {
    let our_attempt_failed = Dispatched::Answered(PaymentStatus::Failed {
        reason: FailureReason::NoRoute,
    });
    // Before: nothing. After: this call's failed attempt and another process's success.
    let node = Scripted::new(
        vec![vec![], vec![failed(1), succeeded(2)]],
        our_attempt_failed.clone(),
    );
    assert_eq!(pay(&node, fresh()).await, Ok(success()));
    let node = Scripted::new(
        vec![vec![], vec![failed(1), attempt(AttemptState::InFlight, 2)]],
        our_attempt_failed,
    );
    assert_eq!(pay(&node, fresh()).await, Ok(PaymentStatus::Pending));
}

/// A node that answers its first lookup (nothing), fails the dispatch, then cannot be asked.
struct GoneAfterFailing(Mutex<bool>);

#[async_trait]
impl PaymentDriver for GoneAfterFailing {
    fn features(&self) -> Features {
        Features::all()
    }
    async fn attempts(&self, _: &PaymentHash, _: Duration) -> Result<Vec<Attempt>, WalletError> {
        if *self.0.lock().unwrap() {
            return Err(WalletError::unavailable("connection refused"));
        }
        Ok(Vec::new())
    }
    async fn dispatch(&self, _: &CheckedPayment, _: &PayInvoiceRequest, _: Instant) -> Dispatched {
        *self.0.lock().unwrap() = true;
        Dispatched::Answered(PaymentStatus::Failed {
            reason: FailureReason::NoRoute,
        })
    }
}

#[tokio::test]
async fn an_answered_failure_that_cannot_be_checked_against_the_records_is_pending() {
    let answer = Payments::new()
        .pay(&GoneAfterFailing(Mutex::new(false)), fresh())
        .await;
    assert_eq!(
        answer.map(|response| response.status),
        Ok(PaymentStatus::Pending)
    );
}
