//! What a `MeteredWallet` reports, read back through a recorder of the test's own.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use wallet_core::{InvoiceRequest, PayInvoiceRequest, PaymentHash, Wallet};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};
use wallet_metrics::MeteredWallet;

/// Every metric by `name{label=value,...}`: a counter's total, a gauge's value, a histogram's
/// number of records.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<BTreeMap<String, f64>>>);

struct Cell {
    key: String,
    seen: Seen,
}

impl Cell {
    fn add(&self, value: f64) {
        *self
            .seen
            .0
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += value;
    }
}

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.add(value as f64);
    }
    fn absolute(&self, value: u64) {
        self.seen
            .0
            .lock()
            .unwrap()
            .insert(self.key.clone(), value as f64);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.add(value);
    }
    fn decrement(&self, value: f64) {
        self.add(-value);
    }
    fn set(&self, value: f64) {
        self.seen.0.lock().unwrap().insert(self.key.clone(), value);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _: f64) {
        self.add(1.0);
    }
}

impl Seen {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        Arc::new(Cell {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            seen: self.clone(),
        })
    }

    fn get(&self, key: &str) -> f64 {
        self.0.lock().unwrap().get(key).copied().unwrap_or(0.0)
    }
}

impl Recorder for Seen {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

#[tokio::test]
async fn calls_payments_errors_and_streams_are_counted_by_operation_and_outcome() {
    let seen = Seen::default();
    metrics::set_global_recorder(seen.clone()).unwrap();
    let network = FakeNetwork::new();
    let payer = MeteredWallet::new(
        FakeWallet::new(network.add_node(NodeConfig::new("payer")).unwrap()),
        "fake",
    );
    let payee = MeteredWallet::new(
        FakeWallet::new(network.add_node(NodeConfig::new("payee")).unwrap()),
        "fake",
    );
    let mut stream = payee.paid_invoices_stream(None).await.unwrap();
    assert_eq!(seen.get("wallet_streams_open{backend=fake}"), 1.0);

    let invoice = payee
        .create_invoice(InvoiceRequest::new(5_000))
        .await
        .unwrap();
    payer
        .pay_invoice(PayInvoiceRequest::new(
            invoice.payment_request.clone(),
            10_000,
        ))
        .await
        .unwrap();
    payee
        .get_invoice_status(&invoice.checking_id)
        .await
        .unwrap();
    payer
        .get_payment_status(&PaymentHash::from_bytes([1; 32]))
        .await
        .unwrap();
    // Refused before anything is sent: an error outcome.
    let refused = payer
        .pay_invoice(PayInvoiceRequest::new("lnbc1garbage", 10_000))
        .await;
    assert!(refused.is_err());
    let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(matches!(item, Some(Ok(_))));

    let calls = |operation: &str, outcome: &str| {
        seen.get(&format!(
            "wallet_calls_total{{backend=fake,operation={operation},outcome={outcome}}}"
        ))
    };
    assert_eq!(calls("create_invoice", "ok"), 1.0);
    assert_eq!(calls("pay_invoice", "succeeded"), 1.0);
    assert_eq!(calls("pay_invoice", "error_invalid_request"), 1.0);
    assert_eq!(calls("get_invoice_status", "paid"), 1.0);
    assert_eq!(calls("get_payment_status", "unknown"), 1.0);
    assert_eq!(
        seen.get(
            "wallet_call_duration_seconds{backend=fake,operation=pay_invoice,outcome=succeeded}"
        ),
        1.0,
        "one latency recorded"
    );
    assert_eq!(
        seen.get("wallet_stream_opens_total{backend=fake,outcome=ok}"),
        1.0
    );
    assert_eq!(seen.get("wallet_stream_items_total{backend=fake}"), 1.0);

    // A node restart ends the stream with an error; dropping it closes it.
    payee.inner().control().restart();
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(matches!(ended, Some(Err(_))), "{ended:?}");
    assert_eq!(seen.get("wallet_stream_errors_total{backend=fake}"), 1.0);
    drop(stream);
    assert_eq!(seen.get("wallet_streams_open{backend=fake}"), 0.0);
}
