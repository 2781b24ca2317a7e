//! Serialises concurrent payments of the same invoice within one process.
//!
//! The payment protocol ([`crate::pay`]) asks the node for an earlier payment of a hash before
//! dispatching; two calls racing through that check could both dispatch. Holding a
//! [`PaymentLocks`] guard across check and dispatch closes the race.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::OwnedMutexGuard;

use crate::PaymentHash;

/// Entries kept before dead ones are swept; keeps memory flat under many distinct hashes.
const SWEEP_THRESHOLD: usize = 1024;

/// One async lock per payment hash, created on demand and freed when unused.
#[derive(Debug, Default)]
pub(crate) struct PaymentLocks {
    locks: Mutex<HashMap<PaymentHash, Weak<tokio::sync::Mutex<()>>>>,
}

/// Held while a payment of one hash is checked and dispatched.
#[derive(Debug)]
pub(crate) struct PaymentLockGuard {
    _guard: OwnedMutexGuard<()>,
}

impl PaymentLocks {
    /// Waits until no other caller holds the lock for `payment_hash`, then holds it.
    pub(crate) async fn lock(&self, payment_hash: &PaymentHash) -> PaymentLockGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            if locks.len() >= SWEEP_THRESHOLD {
                locks.retain(|_, lock| lock.strong_count() > 0);
            }
            match locks.get(payment_hash).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(*payment_hash, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        PaymentLockGuard {
            _guard: lock.lock_owned().await,
        }
    }

    /// How many hashes have a lock entry (live or not yet swept).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_second_payment_of_the_same_hash_waits_for_the_first() {
        let locks = Arc::new(PaymentLocks::default());
        let hash = PaymentHash::from_bytes([1; 32]);
        let first = locks.lock(&hash).await;
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _second = locks.lock(&hash).await;
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished());
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn different_hashes_do_not_block_each_other() {
        let locks = PaymentLocks::default();
        let _a = locks.lock(&PaymentHash::from_bytes([1; 32])).await;
        let _b = locks.lock(&PaymentHash::from_bytes([2; 32])).await;
    }

    #[tokio::test]
    async fn unused_locks_are_swept() {
        let locks = PaymentLocks::default();
        for byte in 0..=255u8 {
            for second in 0..5u8 {
                let mut bytes = [byte; 32];
                bytes[1] = second;
                let _guard = locks.lock(&PaymentHash::from_bytes(bytes)).await;
            }
        }
        assert!(locks.len() <= SWEEP_THRESHOLD, "{}", locks.len());
    }
}
