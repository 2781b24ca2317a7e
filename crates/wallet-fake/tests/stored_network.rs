//! A fake network stored in a directory: what one handle does, a handle opened later (as by
//! another process) sees; the lock keeps concurrent handles from losing updates; the files are
//! private; a file it cannot read is an error naming it, never replaced.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use wallet_core::{
    FailureReason, HoldInvoiceRequest, InvoiceRequest, InvoiceStatus, PayInvoiceRequest,
    PaymentStatus, Preimage, StreamCursor, Wallet, WalletError,
};
use wallet_fake::{FakeNetworkDir, NodeConfig, StoredFakeWallet};

const FEE_LIMIT_MSAT: u64 = 50_000;

async fn new_network(dir: &Path) -> FakeNetworkDir {
    let store = FakeNetworkDir::new(dir);
    let nodes = [
        (
            "alice".to_owned(),
            NodeConfig::new("alice").random_secret().unwrap(),
        ),
        (
            "bob".to_owned(),
            NodeConfig::new("bob").random_secret().unwrap(),
        ),
    ];
    assert!(store.create_if_missing(&nodes).await.unwrap().made);
    store
}

/// A wallet on `node` through a handle of its own, as another process would open it.
fn open(dir: &Path, node: &str) -> StoredFakeWallet {
    FakeNetworkDir::new(dir).wallet(node)
}

async fn pay(payer: &StoredFakeWallet, bolt11: &str) -> PaymentStatus {
    payer
        .pay_invoice(
            PayInvoiceRequest::new(bolt11, FEE_LIMIT_MSAT).timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_handle_does_a_later_handle_sees_in_every_state() {
    let dir = tempfile::tempdir().unwrap();
    new_network(dir.path()).await;
    let (alice, bob) = (open(dir.path(), "alice"), open(dir.path(), "bob"));
    let alice_start = alice.status().await.unwrap().balance_msat;
    let bob_start = bob.status().await.unwrap().balance_msat;

    let paid = alice
        .create_invoice(InvoiceRequest::new(21_000).memo("tea"))
        .await
        .unwrap();
    let PaymentStatus::Succeeded { fee_msat, .. } = pay(&bob, &paid.payment_request).await else {
        panic!("the payment did not succeed");
    };
    let too_big = alice
        .create_invoice(InvoiceRequest::new(bob_start * 2))
        .await
        .unwrap();
    let refused = pay(&bob, &too_big.payment_request).await;
    assert!(
        matches!(
            refused,
            PaymentStatus::Failed {
                reason: FailureReason::NoRoute | FailureReason::InsufficientBalance
            }
        ),
        "{refused:?}"
    );
    let cancelled = Preimage::from_bytes([7; 32]);
    alice
        .create_hold_invoice(HoldInvoiceRequest {
            payment_hash: cancelled.payment_hash(),
            invoice: InvoiceRequest::new(1_000),
        })
        .await
        .unwrap();
    alice
        .cancel_hold_invoice(&cancelled.payment_hash())
        .await
        .unwrap();
    let unpaid = alice
        .create_invoice(InvoiceRequest::new(5_000))
        .await
        .unwrap();

    // Every handle below is new: all it knows comes from the directory.
    let alice = open(dir.path(), "alice");
    let bob = open(dir.path(), "bob");
    assert!(matches!(
        alice.get_invoice_status(&paid.checking_id).await.unwrap(),
        InvoiceStatus::Paid {
            amount_received_msat: 21_000,
            ..
        }
    ));
    assert_eq!(
        alice
            .get_invoice_status(&cancelled.payment_hash())
            .await
            .unwrap(),
        InvoiceStatus::Cancelled
    );
    assert_eq!(
        alice.get_invoice_status(&unpaid.checking_id).await.unwrap(),
        InvoiceStatus::Pending
    );
    assert!(matches!(
        bob.get_payment_status(&paid.checking_id).await.unwrap(),
        PaymentStatus::Succeeded { .. }
    ));
    assert!(matches!(
        bob.get_payment_status(&too_big.checking_id).await.unwrap(),
        PaymentStatus::Failed { .. }
    ));
    assert_eq!(
        alice.status().await.unwrap().balance_msat,
        alice_start + 21_000
    );
    assert_eq!(
        bob.status().await.unwrap().balance_msat,
        bob_start - 21_000 - fee_msat
    );
    // Paying again is answered from the record: nothing moves twice.
    assert!(matches!(
        pay(&bob, &paid.payment_request).await,
        PaymentStatus::Succeeded { .. }
    ));
    assert_eq!(
        bob.status().await.unwrap().balance_msat,
        bob_start - 21_000 - fee_msat
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_waiting_on_a_hold_invoice_leaves_the_directory_to_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    new_network(dir.path()).await;
    let preimage = Preimage::from_bytes([9; 32]);
    let hold = open(dir.path(), "alice")
        .create_hold_invoice(HoldInvoiceRequest {
            payment_hash: preimage.payment_hash(),
            invoice: InvoiceRequest::new(30_000),
        })
        .await
        .unwrap();
    let bob = open(dir.path(), "bob");
    let payment = tokio::spawn(async move { pay(&bob, &hold.payment_request).await });

    // The owner, through its own handle, sees the payment held and settles it while the payer
    // is still waiting: the payer's wait holds no lock.
    let alice = open(dir.path(), "alice");
    let mut held = false;
    for _ in 0..100 {
        if let InvoiceStatus::Held { .. } = alice
            .get_invoice_status(&preimage.payment_hash())
            .await
            .unwrap()
        {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(held, "the payment never reached the hold invoice");
    alice.settle_hold_invoice(&preimage).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), payment)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(status, PaymentStatus::Succeeded { preimage: paid, .. } if paid == preimage),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paid_stream_delivers_payments_made_through_other_handles_once_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    new_network(dir.path()).await;
    let alice = open(dir.path(), "alice");
    let mut stream = alice.paid_invoices_stream(None).await.unwrap();
    let mut hashes = Vec::new();
    for amount_msat in [1_000, 2_000] {
        let invoice = open(dir.path(), "alice")
            .create_invoice(InvoiceRequest::new(amount_msat))
            .await
            .unwrap();
        assert!(matches!(
            pay(&open(dir.path(), "bob"), &invoice.payment_request).await,
            PaymentStatus::Succeeded { .. }
        ));
        hashes.push(invoice.checking_id);
    }
    for (position, hash) in hashes.iter().enumerate() {
        let paid = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the stream delivered nothing")
            .unwrap()
            .unwrap();
        assert_eq!(paid.payment_hash, *hash);
        assert_eq!(paid.cursor, StreamCursor::from_index(position as u64 + 1));
    }
    let nothing_more = tokio::time::timeout(Duration::from_millis(600), stream.next()).await;
    assert!(nothing_more.is_err(), "delivered more than was paid");

    let mut resumed = open(dir.path(), "alice")
        .paid_invoices_stream(Some(StreamCursor::from_index(1)))
        .await
        .unwrap();
    let paid = tokio::time::timeout(Duration::from_secs(5), resumed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(paid.payment_hash, hashes[1]);
    let ahead = alice
        .paid_invoices_stream(Some(StreamCursor::from_index(3)))
        .await;
    assert!(matches!(
        ahead,
        Err(WalletError::InvalidRequest {
            field: "cursor",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_handles_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    new_network(dir.path()).await;
    let start = open(dir.path(), "alice")
        .status()
        .await
        .unwrap()
        .balance_msat;
    let mut tasks = Vec::new();
    for amount_msat in 1..=12u64 {
        let dir = dir.path().to_owned();
        tasks.push(tokio::spawn(async move {
            let invoice = open(&dir, "alice")
                .create_invoice(InvoiceRequest::new(amount_msat * 1_000))
                .await
                .unwrap();
            let status = pay(&open(&dir, "bob"), &invoice.payment_request).await;
            assert!(
                matches!(status, PaymentStatus::Succeeded { .. }),
                "{status:?}"
            );
            invoice.checking_id
        }));
    }
    let mut hashes = Vec::new();
    for task in tasks {
        hashes.push(task.await.unwrap());
    }
    let alice = open(dir.path(), "alice");
    for hash in &hashes {
        assert!(matches!(
            alice.get_invoice_status(hash).await.unwrap(),
            InvoiceStatus::Paid { .. }
        ));
    }
    let received: u64 = (1..=12u64).map(|amount| amount * 1_000).sum();
    assert_eq!(alice.status().await.unwrap().balance_msat, start + received);
}

#[tokio::test]
async fn a_call_waits_for_the_lock_and_gives_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_network(dir.path()).await;
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(store.lock_file())
        .unwrap();
    lock.lock().unwrap();

    let impatient = FakeNetworkDir::new(dir.path())
        .lock_wait(Duration::from_millis(300))
        .wallet("alice");
    let started = std::time::Instant::now();
    let err = impatient.status().await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(matches!(err, WalletError::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&store.lock_file().display().to_string()) && text.contains("another process"),
        "{text}"
    );

    let patient = FakeNetworkDir::new(dir.path())
        .lock_wait(Duration::from_secs(10))
        .wallet("alice");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        lock.unlock().unwrap();
    });
    let started = std::time::Instant::now();
    patient.status().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    release.join().unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_directory_and_its_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;

    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data").join("lnwallet");
    let store = new_network(&dir).await;
    open(&dir, "alice")
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&store.state_file()), 0o600);
    assert_eq!(mode(&store.lock_file()), 0o600);
    // Only the two files: no temporary file is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}

#[tokio::test]
async fn a_state_file_it_cannot_read_is_an_error_naming_it_and_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_network(dir.path()).await;
    let good = std::fs::read_to_string(store.state_file()).unwrap();
    let gap_in_settle_order = {
        let invoice = open(dir.path(), "alice")
            .create_invoice(InvoiceRequest::new(1_000))
            .await
            .unwrap();
        pay(&open(dir.path(), "bob"), &invoice.payment_request).await;
        std::fs::read_to_string(store.state_file())
            .unwrap()
            .replace("\"settle_index\": 1", "\"settle_index\": 2")
    };
    let cases = [
        ("{ not json", "is not a fake network this version can read"),
        (
            r#"{"format": 2, "nodes": []}"#,
            "was written by a newer version (format 2",
        ),
        (
            r#"{"format": 0, "nodes": []}"#,
            "format 0 was never written",
        ),
        (&gap_in_settle_order, "settle index 2 where 1 was due"),
    ];
    for (text, says) in cases {
        std::fs::write(store.state_file(), text).unwrap();
        let err = open(dir.path(), "alice")
            .status()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains(&store.state_file().display().to_string()),
            "{err}"
        );
        let nodes = [("alice".to_owned(), NodeConfig::new("alice"))];
        let err = store
            .create_if_missing(&nodes)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
        assert_eq!(std::fs::read_to_string(store.state_file()).unwrap(), text);
    }
    std::fs::write(store.state_file(), &good).unwrap();
    open(dir.path(), "alice").status().await.unwrap();
}

#[tokio::test]
async fn reads_leave_the_file_alone_and_an_unknown_node_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_network(dir.path()).await;
    let before = std::fs::read(store.state_file()).unwrap();
    let modified = std::fs::metadata(store.state_file())
        .unwrap()
        .modified()
        .unwrap();
    let alice = open(dir.path(), "alice");
    alice.status().await.unwrap();
    alice.paid_invoices_cursor().await.unwrap();
    assert_eq!(std::fs::read(store.state_file()).unwrap(), before);
    assert_eq!(
        std::fs::metadata(store.state_file())
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    let again = store
        .create_if_missing(&[("carol".to_owned(), NodeConfig::new("carol"))])
        .await
        .unwrap();
    assert!(!again.made);
    assert_eq!(again.node_names, ["alice", "bob"]);
    assert_eq!(std::fs::read(store.state_file()).unwrap(), before);
    let err = open(dir.path(), "carol")
        .status()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no node called \"carol\"") && err.contains("alice, bob"),
        "{err}"
    );
}

#[tokio::test]
async fn a_payment_whose_state_cannot_be_written_was_not_sent_and_moved_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_network(dir.path()).await;
    let (alice, bob) = (open(dir.path(), "alice"), open(dir.path(), "bob"));
    let invoice = alice
        .create_invoice(InvoiceRequest::new(5_000))
        .await
        .unwrap();
    let before = std::fs::read(store.state_file()).unwrap();
    let bob_before = bob.status().await.unwrap().balance_msat;
    // The replacement file cannot be made (a directory holds its name): the write fails before
    // the rename, as a full disk would.
    let blocker = dir.path().join("fake-network.json.new");
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("keep"), b"").unwrap();
    let err = bob
        .pay_invoice(PayInvoiceRequest::new(
            &invoice.payment_request,
            FEE_LIMIT_MSAT,
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("fake-network.json.new"), "{err}");
    assert_eq!(std::fs::read(store.state_file()).unwrap(), before);
    std::fs::remove_dir_all(&blocker).unwrap();
    assert_eq!(bob.status().await.unwrap().balance_msat, bob_before);
    assert_eq!(
        bob.get_payment_status(&invoice.checking_id).await.unwrap(),
        PaymentStatus::Unknown
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_state_file_others_could_read_is_made_private_on_first_read() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let store = new_network(dir.path()).await;
    std::fs::set_permissions(store.state_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    open(dir.path(), "alice").status().await.unwrap();
    let mode = std::fs::metadata(store.state_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn a_stream_ends_with_an_error_when_its_network_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_network(dir.path()).await;
    let alice = open(dir.path(), "alice");
    let invoice = alice
        .create_invoice(InvoiceRequest::new(1_000))
        .await
        .unwrap();
    pay(&open(dir.path(), "bob"), &invoice.payment_request).await;
    let mut stream = alice
        .paid_invoices_stream(Some(StreamCursor::from_index(1)))
        .await
        .unwrap();
    std::fs::rename(store.state_file(), dir.path().join("old.json")).unwrap();
    new_network(dir.path()).await;
    let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap();
    let err = item.unwrap_err().to_string();
    assert!(
        err.contains("was replaced while the stream was open"),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_others_can_write_to_is_refused() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let nodes = [("alice".to_owned(), NodeConfig::new("alice"))];
    let err = FakeNetworkDir::new(dir.path())
        .create_if_missing(&nodes)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("can be written by other users"), "{err}");
    assert!(!dir.path().join("fake-network.json").exists());
}
