//! `lnwallet demo`: the whole flow on two in-memory nodes.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use wallet_core::{
    InvoiceRequest, PayInvoiceRequest, PaymentStatus, StreamHealth, SupervisedStream,
    SupervisorConfig, Wallet, WalletError,
};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

use crate::output::{self, Format};

const AMOUNT_MSAT: u64 = 21_000_000;
const FEE_LIMIT_MSAT: u64 = 100_000;

/// Runs the demo, printing each step.
pub(crate) async fn run(format: Format) -> Result<(), WalletError> {
    let network = FakeNetwork::new();
    let config = network.config().clone();
    let alice = Arc::new(FakeWallet::new(network.add_node(NodeConfig::new("alice"))?));
    let bob = Arc::new(FakeWallet::new(network.add_node(NodeConfig::new("bob"))?));
    format.say(&format!(
        "demo: two FakeWallet nodes on an in-memory network (routing fee {} msat + {} ppm)",
        config.routing_fee_base_msat, config.routing_fee_ppm
    ));
    let alice_before = alice.status().await?.balance_msat;
    let bob_before = bob.status().await?.balance_msat;
    format.say(&format!(
        "alice balance {alice_before} msat\nbob   balance {bob_before} msat"
    ));

    let wallet: Arc<dyn Wallet> = bob.clone();
    let mut stream = SupervisedStream::new(wallet, None, SupervisorConfig::default());
    let mut health = stream.health();
    let invoice = bob
        .create_invoice(InvoiceRequest::new(AMOUNT_MSAT).memo("lnwallet demo"))
        .await?;
    format.say(&format!(
        "bob created an invoice for {AMOUNT_MSAT} msat: {}",
        invoice.payment_request
    ));

    // The stream listens while it is polled: poll it from a task, and pay once it is connected.
    let listener =
        tokio::spawn(
            async move { tokio::time::timeout(Duration::from_secs(10), stream.next()).await },
        );
    let connected = health.wait_for(|state| *state == StreamHealth::Connected);
    if tokio::time::timeout(Duration::from_secs(10), connected)
        .await
        .is_err()
    {
        return Err(WalletError::unavailable("bob's stream did not connect"));
    }
    let payment = alice
        .pay_invoice(PayInvoiceRequest::new(
            invoice.payment_request.clone(),
            FEE_LIMIT_MSAT,
        ))
        .await
        .map_err(|err| err.into_reason())?;
    format.say(&format!(
        "alice paid it: {}",
        output::payment_status(&payment.status)
    ));
    let PaymentStatus::Succeeded { fee_msat, .. } = payment.status else {
        return Err(WalletError::backend(
            None,
            "the demo payment did not succeed",
        ));
    };

    let streamed = match listener.await {
        Ok(Ok(Some(Ok(paid)))) => paid,
        _ => return Err(WalletError::backend(None, "bob's stream delivered nothing")),
    };
    format.say(&format!("bob's stream: {}", output::paid(&streamed)));
    let invoice_status = bob.get_invoice_status(&invoice.checking_id).await?;
    format.say(&format!(
        "bob's invoice: {}",
        output::invoice_status(&invoice_status)
    ));

    let alice_after = alice.status().await?.balance_msat;
    let bob_after = bob.status().await?.balance_msat;
    let alice_change = i128::from(alice_after) - i128::from(alice_before);
    let bob_change = i128::from(bob_after) - i128::from(bob_before);
    let summary = json!({
        "invoice": invoice,
        "payment": payment,
        "streamed": streamed,
        "invoice_status": invoice_status,
        "alice": { "before_msat": alice_before, "after_msat": alice_after },
        "bob": { "before_msat": bob_before, "after_msat": bob_after },
    });
    format.print(&summary, || {
        format!(
            "alice balance {alice_after} msat ({alice_change:+} msat: {AMOUNT_MSAT} paid + {fee_msat} fee)\n\
             bob   balance {bob_after} msat ({bob_change:+} msat)"
        )
    });
    Ok(())
}
