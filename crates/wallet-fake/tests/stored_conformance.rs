//! The conformance suite against `StoredFakeWallet`: both nodes in a network stored in a
//! directory of its own, every call a locked read and write of the state file.
//!
//! Its one fault is its own: another process holding the directory's lock makes it
//! unreachable. The node faults (failed, stalled, spoiled payments, restarts, lookup faults)
//! live in one process's memory and are not stored, so those behaviours are reported
//! unsupported here; `FakeWallet`'s suite, which runs the same calls in memory, covers them.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wallet_conformance::{FaultHooks, Harness, HarnessError, SpoiledAnswer, TestBed};
use wallet_core::{PaymentHash, async_trait};
use wallet_fake::{FakeNetworkDir, NodeConfig};

/// How long a call waits for the lock before it reports the directory unreachable.
const LOCK_WAIT: Duration = Duration::from_millis(500);

struct StoredFaults {
    lock_file: PathBuf,
    held: Mutex<Option<File>>,
}

impl StoredFaults {
    fn not_stored() -> HarnessError {
        HarnessError::Unsupported(
            "node faults live in one process's memory; a stored network has none (FakeWallet's \
             suite covers them)"
                .into(),
        )
    }
}

#[async_trait]
impl FaultHooks for StoredFaults {
    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        let failed = |err: std::io::Error| HarnessError::Failed(err.to_string());
        let file = File::options()
            .write(true)
            .open(&self.lock_file)
            .map_err(failed)?;
        file.lock().map_err(failed)?;
        *self
            .held
            .lock()
            .map_err(|_| HarnessError::Failed("poisoned".into()))? = Some(file);
        Ok(())
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.held
            .lock()
            .map_err(|_| HarnessError::Failed("poisoned".into()))?
            .take();
        Ok(())
    }

    async fn restart_backend(&self) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn spoil_next_payment_answer(
        &self,
        _: SpoiledAnswer,
        _: Duration,
    ) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn misdirect_lookups(&self, _: Option<PaymentHash>) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn delay_lookups(&self, _: Duration) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        Err(Self::not_stored())
    }

    async fn dispatched_attempts(&self, _: &PaymentHash) -> Result<usize, HarnessError> {
        Err(HarnessError::Unsupported(
            "attempts are read through the wallet only; balances are checked instead".into(),
        ))
    }
}

struct StoredHarness;

#[async_trait]
impl Harness for StoredHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let failed = |err: &dyn std::fmt::Display| HarnessError::Failed(err.to_string());
        let dir = tempfile::tempdir().map_err(|err| failed(&err))?;
        let store = FakeNetworkDir::new(dir.path()).lock_wait(LOCK_WAIT);
        let node = NodeConfig::new("under-test")
            .random_secret()
            .map_err(|err| failed(&err))?;
        let secret = node.secret.expose().clone();
        let nodes = [
            ("under-test".to_owned(), node),
            ("counterparty".to_owned(), NodeConfig::new("counterparty")),
        ];
        store
            .create_if_missing(&nodes)
            .await
            .map_err(|err| failed(&err))?;
        Ok(TestBed::new(
            Arc::new(store.wallet("under-test")),
            Arc::new(store.wallet("counterparty")),
        )
        .secret(secret)
        .faults(Arc::new(StoredFaults {
            lock_file: store.lock_file(),
            held: Mutex::new(None),
        }))
        .keep_alive(dir))
    }
}

wallet_conformance::suite!(StoredHarness);
