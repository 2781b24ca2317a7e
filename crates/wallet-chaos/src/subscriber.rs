//! The payee's paid-invoice subscriber, as an app runs one: it pins and persists a cursor before
//! anything can be paid, reads a [`SupervisedStream`] from it, and persists each item's cursor as
//! it handles the item. A restart of the subscriber (a new process) resumes from what it
//! persisted, so what it sees is exactly once per session and at least once across sessions.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tokio::task::JoinHandle;
use wallet_core::supervisor::{SupervisedStream, SupervisorConfig};
use wallet_core::{PaymentHash, StreamCursor, Wallet};

/// What every session of the subscriber handled, and the cursor it persisted.
#[derive(Debug, Default)]
struct Persisted {
    /// `(session, payment hash)` for each item handled.
    handled: Vec<(u32, PaymentHash)>,
    cursor: Option<StreamCursor>,
}

/// A subscriber that can be restarted.
pub(crate) struct Subscriber {
    wallet: Arc<dyn Wallet>,
    persisted: Arc<Mutex<Persisted>>,
    session: u32,
    task: JoinHandle<()>,
    /// Reads with the supervisor's de-duplication taken out (the `no-dedupe` mutant).
    without_dedupe: bool,
}

/// How many times the first cursor is asked for before the campaign gives up.
const CURSOR_ATTEMPTS: u32 = 50;

impl Subscriber {
    /// Pins the stream's start (`paid_invoices_cursor`, retried while the node is not ready)
    /// and starts the first session from it.
    pub(crate) async fn start(
        wallet: Arc<dyn Wallet>,
        without_dedupe: bool,
    ) -> Result<Self, String> {
        let mut last_error = String::new();
        for _ in 0..CURSOR_ATTEMPTS {
            match wallet.paid_invoices_cursor().await {
                Ok(cursor) => {
                    let persisted = Arc::new(Mutex::new(Persisted {
                        handled: Vec::new(),
                        cursor: Some(cursor),
                    }));
                    let task = spawn(&wallet, &persisted, 0, without_dedupe);
                    return Ok(Self {
                        wallet,
                        persisted,
                        session: 0,
                        task,
                        without_dedupe,
                    });
                }
                Err(err) => last_error = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "the payee's wallet gives no stream cursor: {last_error}"
        ))
    }

    /// Ends this session and starts the next from the persisted cursor.
    pub(crate) fn restart(&mut self) {
        self.task.abort();
        self.session += 1;
        self.task = spawn(
            &self.wallet,
            &self.persisted,
            self.session,
            self.without_dedupe,
        );
    }

    /// Every `(session, payment hash)` handled so far.
    pub(crate) fn handled(&self) -> Vec<(u32, PaymentHash)> {
        lock(&self.persisted).handled.clone()
    }

    /// Ends the subscriber.
    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

fn lock(persisted: &Mutex<Persisted>) -> std::sync::MutexGuard<'_, Persisted> {
    persisted.lock().unwrap_or_else(PoisonError::into_inner)
}

fn spawn(
    wallet: &Arc<dyn Wallet>,
    persisted: &Arc<Mutex<Persisted>>,
    session: u32,
    without_dedupe: bool,
) -> JoinHandle<()> {
    let wallet = Arc::clone(wallet);
    let persisted = Arc::clone(persisted);
    let resume_from = lock(&persisted).cursor.clone();
    if without_dedupe {
        return tokio::spawn(crate::mutant::read_without_dedupe(
            wallet,
            resume_from,
            move |hash| lock(&persisted).handled.push((session, hash)),
        ));
    }
    tokio::spawn(async move {
        let config = SupervisorConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..SupervisorConfig::default()
        };
        let mut stream = SupervisedStream::new(wallet, resume_from, config);
        while let Some(item) = stream.next().await {
            if let Ok(paid) = item {
                // Handled and persisted in one step, as an app's database transaction would.
                let mut persisted = lock(&persisted);
                persisted.handled.push((session, paid.payment_hash));
                persisted.cursor = Some(paid.cursor);
            }
        }
    })
}
