//! Reads a count per line on stdin, creates that many BOLT11 invoices with cdk-fake-wallet's
//! `MintPayment::create_incoming_payment_request`, and answers with the nanoseconds it took.
//! `cargo xtask bench` alternates these rounds with its own, so noise hits both alike.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::time::Instant;

use cdk_common::amount::Amount;
use cdk_common::common::FeeReserve;
use cdk_common::nuts::CurrencyUnit;
use cdk_common::payment::{Bolt11IncomingPaymentOptions, IncomingPaymentOptions, MintPayment};
use cdk_fake_wallet::FakeWallet;

/// cdk's fake backend "pays" every invoice after this many seconds, from a task it spawns per
/// invoice; far past the run, so those tasks only wait, as they would in a mint.
const PAYMENT_DELAY_SECS: u64 = 86_400;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let wallet = FakeWallet::new(
        FeeReserve {
            min_fee_reserve: 1.into(),
            percent_fee_reserve: 0.01,
        },
        HashMap::new(),
        HashSet::new(),
        PAYMENT_DELAY_SECS,
        CurrencyUnit::Msat,
    );
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.map_err(|err| err.to_string())?;
        let count: u64 = line.trim().parse().map_err(|err| format!("{line:?}: {err}"))?;
        let started = Instant::now();
        for _ in 0..count {
            let options = IncomingPaymentOptions::Bolt11(Bolt11IncomingPaymentOptions {
                description: Some("bench".to_owned()),
                amount: Amount::new(1_000, CurrencyUnit::Msat),
                unix_expiry: None,
            });
            let response = wallet
                .create_incoming_payment_request(options)
                .await
                .map_err(|err| err.to_string())?;
            std::hint::black_box(response);
        }
        writeln!(stdout, "{}", started.elapsed().as_nanos())
            .and_then(|()| stdout.flush())
            .map_err(|err| err.to_string())?;
    }
    Ok(())
}
