use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::StreamExt;

use super::*;
use crate::{
    Features, InvoiceRequest, InvoiceResponse, InvoiceStatus, PayError, PayInvoiceRequest,
    PaymentResponse, PaymentStatus, StatusResponse,
};

/// What one call of `paid_invoices_stream` does.
enum Connect {
    Refuse,
    RefuseWith(WalletError),
    Deliver(Vec<u8>, End),
}

enum End {
    Drop,
    Hang,
}

/// A wallet whose stream follows a script, recording every connect.
#[derive(Debug, Default)]
struct ScriptedWallet {
    script: Mutex<VecDeque<Connect>>,
    connects: Mutex<Vec<(Instant, Option<StreamCursor>)>>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connect")
    }
}

/// Where [`ScriptedWallet`]'s node stood when a stream asked for "now".
const START: u64 = 77;

fn paid(id: u8) -> PaidInvoice {
    PaidInvoice {
        payment_hash: PaymentHash::from_bytes([id; 32]),
        amount_received_msat: u64::from(id) * 1000,
        paid_at: 0,
        cursor: StreamCursor::from_index(u64::from(id)),
    }
}

impl ScriptedWallet {
    fn new(script: Vec<Connect>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(script.into()),
            connects: Mutex::default(),
        })
    }

    fn connects(&self) -> Vec<(Instant, Option<StreamCursor>)> {
        self.connects.lock().unwrap().clone()
    }
}

#[async_trait]
impl Wallet for ScriptedWallet {
    fn features(&self) -> Features {
        Features::NONE
    }
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        unreachable!()
    }
    async fn create_invoice(&self, _: InvoiceRequest) -> Result<InvoiceResponse, WalletError> {
        unreachable!()
    }
    async fn pay_invoice(&self, _: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        unreachable!()
    }
    async fn get_invoice_status(&self, _: &PaymentHash) -> Result<InvoiceStatus, WalletError> {
        unreachable!()
    }
    async fn get_payment_status(&self, _: &PaymentHash) -> Result<PaymentStatus, WalletError> {
        unreachable!()
    }
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        Ok(StreamCursor::from_index(START))
    }
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        self.connects
            .lock()
            .unwrap()
            .push((Instant::now(), resume_from));
        let next = self.script.lock().unwrap().pop_front();
        match next {
            None | Some(Connect::Refuse) => Err(WalletError::unavailable("refused")),
            Some(Connect::RefuseWith(error)) => Err(error),
            Some(Connect::Deliver(ids, end)) => {
                let items = futures::stream::iter(ids.into_iter().map(|id| Ok(paid(id))));
                Ok(match end {
                    End::Drop => items
                        .chain(futures::stream::once(async {
                            Err(WalletError::unavailable("connection reset"))
                        }))
                        .boxed(),
                    End::Hang => items.chain(futures::stream::pending()).boxed(),
                })
            }
        }
    }
}

fn config() -> SupervisorConfig {
    SupervisorConfig {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        healthy_after: Duration::from_secs(10),
        max_consecutive_failures: None,
        dedupe_capacity: 16,
    }
}

async fn take(stream: &mut SupervisedStream, count: usize) -> Vec<u8> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let item = tokio::time::timeout(Duration::from_secs(600), stream.next())
            .await
            .expect("the stream stalled")
            .expect("the stream ended")
            .expect("the stream gave up");
        ids.push(item.payment_hash.as_bytes()[0]);
    }
    ids
}

#[tokio::test(start_paused = true)]
async fn it_resumes_from_the_last_delivered_cursor_after_a_disconnect() {
    let wallet = ScriptedWallet::new(vec![
        Connect::Deliver(vec![1, 2], End::Drop),
        Connect::Deliver(vec![3], End::Hang),
    ]);
    let mut stream = SupervisedStream::new(wallet.clone(), None, config());
    assert_eq!(take(&mut stream, 3).await, [1, 2, 3]);
    let cursors: Vec<_> = wallet.connects().into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        cursors,
        [
            Some(StreamCursor::from_index(START)),
            Some(StreamCursor::from_index(2))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_started_without_a_cursor_resumes_from_its_start_before_the_first_item() {
    let wallet = ScriptedWallet::new(vec![
        Connect::Deliver(vec![], End::Drop),
        Connect::Refuse,
        Connect::Deliver(vec![5], End::Hang),
    ]);
    let mut stream = SupervisedStream::new(wallet.clone(), None, config());
    assert_eq!(take(&mut stream, 1).await, [5]);
    let cursors: Vec<_> = wallet.connects().into_iter().map(|(_, c)| c).collect();
    let start = Some(StreamCursor::from_index(START));
    assert_eq!(cursors, [start.clone(), start.clone(), start]);
}

#[tokio::test(start_paused = true)]
async fn it_starts_from_the_callers_cursor() {
    let wallet = ScriptedWallet::new(vec![Connect::Deliver(vec![9], End::Hang)]);
    let mut stream =
        SupervisedStream::new(wallet.clone(), Some(StreamCursor::from_index(8)), config());
    assert_eq!(take(&mut stream, 1).await, [9]);
    assert_eq!(wallet.connects()[0].1, Some(StreamCursor::from_index(8)));
}

#[tokio::test(start_paused = true)]
async fn duplicates_across_and_within_connections_are_delivered_once() {
    let wallet = ScriptedWallet::new(vec![
        Connect::Deliver(vec![1, 1, 2], End::Drop),
        Connect::Deliver(vec![2, 1, 3], End::Hang),
    ]);
    let mut stream = SupervisedStream::new(wallet, None, config());
    assert_eq!(take(&mut stream, 3).await, [1, 2, 3]);
    let nothing_more = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
    assert!(nothing_more.is_err(), "unexpected extra item");
}

#[tokio::test(start_paused = true)]
async fn failed_connects_back_off_exponentially_up_to_the_cap() {
    let mut script: Vec<_> = (0..6).map(|_| Connect::Refuse).collect();
    script.push(Connect::Deliver(vec![1], End::Hang));
    let wallet = ScriptedWallet::new(script);
    let start = Instant::now();
    let mut stream = SupervisedStream::new(wallet.clone(), None, config());
    assert_eq!(take(&mut stream, 1).await, [1]);
    let gaps: Vec<u128> = wallet
        .connects()
        .windows(2)
        .map(|pair| (pair[1].0 - pair[0].0).as_millis())
        .collect();
    assert_eq!(gaps, [100, 200, 400, 800, 1000, 1000]);
    assert_eq!(wallet.connects()[0].0, start);
}

#[tokio::test(start_paused = true)]
async fn a_healthy_stream_that_ends_reconnects_after_the_floor_delay() {
    let wallet = ScriptedWallet::new(vec![
        Connect::Refuse,
        Connect::Refuse,
        Connect::Deliver(vec![1], End::Drop),
        Connect::Deliver(vec![2], End::Hang),
    ]);
    let mut stream = SupervisedStream::new(wallet.clone(), None, config());
    assert_eq!(take(&mut stream, 2).await, [1, 2]);
    let connects = wallet.connects();
    let last_gap = connects[3].0 - connects[2].0;
    assert_eq!(last_gap, Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_keeps_dying_without_delivering_is_not_retried_in_a_tight_loop() {
    let script: Vec<_> = (0..5)
        .map(|_| Connect::Deliver(vec![], End::Drop))
        .collect();
    let wallet = ScriptedWallet::new(script);
    let mut config = config();
    config.max_consecutive_failures = Some(5);
    let mut stream = SupervisedStream::new(wallet.clone(), None, config);
    let last = stream.next().await;
    assert!(
        matches!(last, Some(Err(WalletError::Unavailable { .. }))),
        "{last:?}"
    );
    let connects = wallet.connects();
    let total = connects[4].0 - connects[0].0;
    assert_eq!(total, Duration::from_millis(100 + 200 + 400 + 800));
}

#[tokio::test(start_paused = true)]
async fn it_gives_up_after_the_configured_failures_and_then_ends() {
    let wallet = ScriptedWallet::new(vec![]);
    let mut config = config();
    config.max_consecutive_failures = Some(3);
    let mut stream = SupervisedStream::new(wallet.clone(), None, config);
    let health = stream.health();
    assert!(matches!(stream.next().await, Some(Err(_))));
    assert!(stream.next().await.is_none());
    assert_eq!(wallet.connects().len(), 3);
    assert!(matches!(&*health.borrow(), StreamHealth::Stopped { .. }));
}

#[tokio::test(start_paused = true)]
async fn health_reports_connected_and_reconnecting() {
    let wallet = ScriptedWallet::new(vec![Connect::Deliver(vec![1], End::Hang)]);
    let mut stream = SupervisedStream::new(wallet, None, config());
    let health = stream.health();
    assert_eq!(*health.borrow(), StreamHealth::Connecting);
    take(&mut stream, 1).await;
    assert_eq!(*health.borrow(), StreamHealth::Connected);

    let wallet = ScriptedWallet::new(vec![Connect::Refuse, Connect::Deliver(vec![1], End::Hang)]);
    let mut stream = SupervisedStream::new(wallet, None, config());
    let mut health = stream.health();
    let poll = tokio::spawn(async move { take(&mut stream, 1).await });
    let reconnecting = health
        .wait_for(|state| matches!(state, StreamHealth::Reconnecting { .. }))
        .await
        .unwrap()
        .clone();
    assert_eq!(
        reconnecting,
        StreamHealth::Reconnecting {
            consecutive_failures: 1,
            retry_in: Duration::from_millis(100),
            last_error: WalletError::unavailable("refused"),
        }
    );
    assert_eq!(poll.await.unwrap(), [1]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_cancels_the_backoff_wait() {
    let wallet = ScriptedWallet::new(vec![]);
    let mut stream = SupervisedStream::new(wallet.clone(), None, config());
    let waited = tokio::time::timeout(Duration::from_millis(150), stream.next()).await;
    assert!(waited.is_err());
    let connects_before_drop = wallet.connects().len();
    drop(stream);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(wallet.connects().len(), connects_before_drop);
}

#[test]
fn the_dedupe_window_is_bounded() {
    let mut recent = RecentHashes::new(2);
    assert!(recent.insert(PaymentHash::from_bytes([1; 32])));
    assert!(recent.insert(PaymentHash::from_bytes([2; 32])));
    assert!(!recent.insert(PaymentHash::from_bytes([2; 32])));
    assert!(recent.insert(PaymentHash::from_bytes([3; 32])));
    assert_eq!(recent.set.len(), 2);
    assert!(recent.insert(PaymentHash::from_bytes([1; 32])));
}

#[tokio::test(start_paused = true)]
async fn an_error_no_retry_can_fix_stops_the_stream_at_once() {
    let bad_cursor = WalletError::invalid("cursor", "ahead of the node");
    let wallet = ScriptedWallet::new(vec![Connect::RefuseWith(bad_cursor.clone())]);
    let mut stream = SupervisedStream::new(wallet.clone(), Some(StreamCursor::new("9")), config());
    assert_eq!(stream.next().await, Some(Err(bad_cursor)));
    assert_eq!(stream.next().await, None);
    assert_eq!(wallet.connects().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn refused_credentials_or_a_missing_stream_stop_it_at_once_instead_of_retrying_forever() {
    for refusal in [
        WalletError::Unauthorized("the key matches no wallet".into()),
        WalletError::NotFound("no websocket at this address".into()),
    ] {
        let wallet = ScriptedWallet::new(vec![
            Connect::RefuseWith(refusal.clone()),
            Connect::Deliver(vec![5], End::Hang),
        ]);
        let mut stream = SupervisedStream::new(wallet.clone(), None, config());
        let health = stream.health();
        assert_eq!(stream.next().await, Some(Err(refusal.clone())));
        assert_eq!(stream.next().await, None);
        assert_eq!(wallet.connects().len(), 1);
        assert_eq!(
            *health.borrow(),
            StreamHealth::Stopped {
                last_error: refusal
            }
        );
    }
}
