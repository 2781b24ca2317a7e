//! A payment through a metered fake wallet, with a recorder that prints every update. An app
//! installs its exporter's recorder instead (Prometheus, StatsD, ...), once, at startup.
//!
//! `cargo run -p wallet-metrics --example print_metrics`

use std::sync::Arc;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use wallet_core::{InvoiceRequest, PayInvoiceRequest, Wallet, WalletError};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};
use wallet_metrics::MeteredWallet;

/// Prints `name{labels} <update>` for every update of one metric.
struct Printed(String);

impl CounterFn for Printed {
    fn increment(&self, value: u64) {
        println!("{} += {value}", self.0);
    }
    fn absolute(&self, value: u64) {
        println!("{} = {value}", self.0);
    }
}

impl GaugeFn for Printed {
    fn increment(&self, value: f64) {
        println!("{} += {value}", self.0);
    }
    fn decrement(&self, value: f64) {
        println!("{} -= {value}", self.0);
    }
    fn set(&self, value: f64) {
        println!("{} = {value}", self.0);
    }
}

impl HistogramFn for Printed {
    fn record(&self, value: f64) {
        println!("{} <- {value:.6}", self.0);
    }
}

struct PrintingRecorder;

fn printed(key: &Key) -> Arc<Printed> {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}=\"{}\"", label.key(), label.value()))
        .collect();
    Arc::new(Printed(format!("{}{{{}}}", key.name(), labels.join(","))))
}

impl Recorder for PrintingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(printed(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(printed(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(printed(key))
    }
}

#[tokio::main]
async fn main() -> Result<(), WalletError> {
    if metrics::set_global_recorder(PrintingRecorder).is_err() {
        return Err(WalletError::InvalidState(
            "a metrics recorder is installed already".into(),
        ));
    }
    let network = FakeNetwork::new();
    let shop = MeteredWallet::new(
        FakeWallet::new(network.add_node(NodeConfig::new("shop"))?),
        "fake",
    );
    let customer: Arc<dyn Wallet> = Arc::new(MeteredWallet::new(
        FakeWallet::new(network.add_node(NodeConfig::new("customer"))?),
        "fake",
    ));
    let invoice = shop.create_invoice(InvoiceRequest::new(21_000)).await?;
    let paid = customer
        .pay_invoice(PayInvoiceRequest::new(invoice.payment_request, 10_000))
        .await
        .map_err(|err| err.reason().clone())?;
    println!("payment: {:?}", paid.status);
    Ok(())
}
