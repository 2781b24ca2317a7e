//! What a backend crate provides to run the suite: a [`Harness`] that sets up a [`TestBed`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use wallet_core::{PaymentHash, Wallet, WalletFeature, async_trait};

/// Sets up what each behaviour runs against. Called once per behaviour, so a harness can give
/// every test fresh wallets (and must, where behaviours check exact balances).
#[async_trait]
pub trait Harness: Send + Sync + 'static {
    /// Creates a fresh test bed, or says why it cannot (a server that is not running, with how
    /// to start it).
    async fn setup(&self) -> Result<TestBed, HarnessError>;
}

/// Why a harness could not do something.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HarnessError {
    /// The harness did not implement this hook. Behaviours needing it fail: implement the hook.
    #[error("the harness does not provide `{0}`; implement it to run this behaviour")]
    NotProvided(&'static str),
    /// The backend cannot do this at all (e.g. a server whose funding source has no stuck
    /// payments). Behaviours needing it are reported as unsupported, with this reason.
    #[error("{0}")]
    Unsupported(String),
    /// Setting up failed; the message says how to fix it (e.g. how to start the server).
    #[error("{0}")]
    Failed(String),
}

/// How the wallet under test behaves when it pays its own invoice: the suite checks that the
/// documented behaviour is what happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfPayment {
    /// It pays itself (LNbits, Core Lightning, the fake network).
    Succeeds,
    /// It refuses before dispatch or fails (lnd: "self-payments not allowed").
    Refused,
}

/// Timeouts the suite uses against this backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long to wait for an event (a stream item, a state change).
    pub event: Duration,
    /// The `timeout` given to payments expected to finish.
    pub pay: Duration,
    /// The `timeout` given to payments expected to stay pending (hold invoices, stalls).
    pub short_pay: Duration,
    /// The longest a whole behaviour may take.
    pub behaviour: Duration,
    /// How long a paid-invoice stream must stay open with nothing to say: longer than any
    /// per-call deadline of the backend (lnd's `LND_GRPC_TIMEOUT`) and its long-polls.
    pub quiet: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            event: Duration::from_secs(10),
            pay: Duration::from_secs(20),
            short_pay: Duration::from_secs(2),
            behaviour: Duration::from_secs(90),
            quiet: Duration::from_secs(12),
        }
    }
}

/// Everything one behaviour runs against.
#[derive(Clone)]
pub struct TestBed {
    /// The wallet under test. The harness funds it, so that it can pay a few thousand sats.
    pub wallet: Arc<dyn Wallet>,
    /// A wallet on the same network that pays the wallet's invoices and issues invoices for it
    /// to pay. It should support amountless payments and hold invoices where the network can.
    pub counterparty: Arc<dyn Wallet>,
    /// A wallet on the same backend with wrong credentials, if the backend has credentials.
    pub with_bad_credentials: Option<Arc<dyn Wallet>>,
    /// Fault injection.
    pub faults: Arc<dyn FaultHooks>,
    /// Credentials of the wallet under test, which must never appear in its output.
    pub secrets: Vec<String>,
    /// What a self-payment does on this backend.
    pub self_payment: SelfPayment,
    /// Whether balances change by exactly amount + fee (no other activity on the wallet).
    pub exact_balances: bool,
    /// Timeouts.
    pub timing: Timing,
    /// Whether the wallet's hold invoices report [`wallet_core::InvoiceStatus::Held`] while a
    /// payment waits at them. A backend that cannot see it (LNbits has no held state) reports
    /// `Pending` instead; the hold behaviours then check that, and that it never says `Paid`
    /// before the settle.
    pub held_state_visible: bool,
    /// Why the backend lacks a feature, where the harness knows (shown with the behaviours that
    /// are unsupported for want of it).
    pub feature_reasons: Vec<(WalletFeature, String)>,
    /// What must live as long as the bed (a simulator's directory, a proxy).
    kept: Vec<Arc<dyn std::any::Any + Send + Sync>>,
}

impl TestBed {
    /// A test bed with no fault hooks, no secrets, exact balances, self-payments that succeed
    /// and default timing. Adjust with the setters.
    pub fn new(wallet: Arc<dyn Wallet>, counterparty: Arc<dyn Wallet>) -> Self {
        Self {
            wallet,
            counterparty,
            with_bad_credentials: None,
            faults: Arc::new(NoFaults),
            secrets: Vec::new(),
            self_payment: SelfPayment::Succeeds,
            exact_balances: true,
            timing: Timing::default(),
            held_state_visible: true,
            feature_reasons: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Keeps `resource` alive as long as the bed (e.g. a temporary directory a simulator
    /// serves from); it is dropped with the last clone of the bed.
    pub fn keep_alive(mut self, resource: impl std::any::Any + Send + Sync) -> Self {
        self.kept.push(Arc::new(resource));
        self
    }

    /// Sets the fault hooks.
    pub fn faults(mut self, faults: Arc<dyn FaultHooks>) -> Self {
        self.faults = faults;
        self
    }

    /// Adds a secret that must never be shown.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Sets a wallet with wrong credentials.
    pub fn with_bad_credentials(mut self, wallet: Arc<dyn Wallet>) -> Self {
        self.with_bad_credentials = Some(wallet);
        self
    }

    /// Sets the self-payment behaviour.
    pub fn self_payment(mut self, behaviour: SelfPayment) -> Self {
        self.self_payment = behaviour;
        self
    }

    /// Says balances may move for other reasons than the suite's payments.
    pub fn inexact_balances(mut self) -> Self {
        self.exact_balances = false;
        self
    }

    /// Says the wallet's hold invoices stay `Pending` while a payment is held (see
    /// [`TestBed::held_state_visible`]).
    pub fn held_state_not_visible(mut self) -> Self {
        self.held_state_visible = false;
        self
    }

    /// Says why the backend lacks `feature` (e.g. a limit of the server it talks to), for the
    /// reports of the behaviours it makes unsupported.
    pub fn unsupported_because(
        mut self,
        feature: WalletFeature,
        reason: impl Into<String>,
    ) -> Self {
        self.feature_reasons.push((feature, reason.into()));
        self
    }

    /// `what` (why a behaviour is unsupported for want of `feature`), with the harness's reason
    /// for lacking it, if it gave one.
    pub fn unsupported_reason(&self, feature: WalletFeature, what: &str) -> String {
        match self
            .feature_reasons
            .iter()
            .find(|(lacking, _)| *lacking == feature)
        {
            Some((_, reason)) => format!("{what}: {reason}"),
            None => what.to_owned(),
        }
    }

    /// Sets the timeouts.
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }
}

impl fmt::Debug for TestBed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestBed")
            .field("wallet", &self.wallet)
            .field("counterparty", &self.counterparty)
            .field("secrets", &self.secrets.len())
            .field("self_payment", &self.self_payment)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

/// Ways to make the backend under test misbehave, and to observe what it did. Every hook
/// defaults to [`HarnessError::NotProvided`], which fails the behaviours that need it.
#[async_trait]
pub trait FaultHooks: Send + Sync {
    /// Restarts the backend (node or server): open streams end, state survives. Returns once it
    /// serves again.
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("restart_backend"))
    }

    /// Makes the backend unreachable for the wallet under test.
    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("take_backend_offline"))
    }

    /// Makes it reachable again.
    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("bring_backend_online"))
    }

    /// The next payment the wallet under test sends is dispatched but stays in flight until
    /// [`FaultHooks::release_stalled_payments`].
    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("stall_next_payment"))
    }

    /// Lets stalled payments succeed.
    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("release_stalled_payments"))
    }

    /// The next payment the wallet under test sends reaches the node and goes its way, but the
    /// wallet never gets the node's answer: the connection drops (see [`crate::FaultProxy`]).
    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("lose_next_payment_answer"))
    }

    /// The answer to the next payment the wallet under test sends goes wrong as `answer` says,
    /// and the node starts the payment only `dispatch_after` after the request arrived (a route
    /// search, a queued request): until then a lookup of the hash shows nothing new.
    async fn spoil_next_payment_answer(
        &self,
        answer: SpoiledAnswer,
        dispatch_after: Duration,
    ) -> Result<(), HarnessError> {
        let _ = (answer, dispatch_after);
        Err(HarnessError::NotProvided("spoil_next_payment_answer"))
    }

    /// From now on the backend answers every lookup of a payment or invoice with the records of
    /// `to` instead of the hash asked for (a buggy plugin, a hostile proxy); `None` ends that.
    async fn misdirect_lookups(&self, to: Option<PaymentHash>) -> Result<(), HarnessError> {
        let _ = to;
        Err(HarnessError::NotProvided("misdirect_lookups"))
    }

    /// From now on the backend answers every lookup of a payment or invoice only after `delay`;
    /// [`Duration::ZERO`] ends that.
    async fn delay_lookups(&self, delay: Duration) -> Result<(), HarnessError> {
        let _ = delay;
        Err(HarnessError::NotProvided("delay_lookups"))
    }

    /// The next payment the wallet under test sends fails at the node (a terminal failure).
    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        Err(HarnessError::NotProvided("fail_next_payment"))
    }

    /// How many payment attempts the backend dispatched for `payment_hash`, as the node itself
    /// records them (lnd's HTLC attempts, Core Lightning's `listsendpays` entries). The
    /// never-pay-twice behaviours check it is one. [`HarnessError::Unsupported`] makes them rely
    /// on balances alone.
    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let _ = payment_hash;
        Err(HarnessError::NotProvided("dispatched_attempts"))
    }
}

/// How the answer to a payment goes wrong (see [`FaultHooks::spoil_next_payment_answer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpoiledAnswer {
    /// The connection drops before the answer arrives.
    Lost,
    /// The answer is empty: `{}`, an empty message, an empty body.
    Empty,
    /// The answer cannot be read: a wrong shape, garbage, an error nobody documented.
    Junk,
}

/// Fault hooks that provide nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFaults;

impl FaultHooks for NoFaults {}
