//! What each backend's client adds over its bare transport: our `Wallet` call against the same
//! RPC sequence made directly, on the same server, in alternating rounds. The bare side does no
//! checks at all (no BOLT11 decoding, no lock per payment hash, no answer validation): the
//! difference is what those cost, and they are never removed to close it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lnbits_testserver::LndFundedBed;
use lnd_grpc::lnrpc::{ChannelBalanceRequest, Invoice, PaymentHash as LndHash};
use lnd_grpc::routerrpc::{SendPaymentRequest, TrackPaymentRequest};
use serde_json::{Value, json};
use wallet_core::bolt11::Bolt11;
use wallet_core::{InvoiceRequest, PayInvoiceRequest, PaymentHash, Wallet, WalletError};
use wallet_fake::NodeConfig;
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};
use wallet_lnd::{LndClients, LndConfig};

use crate::beds::{Bed, Kind};
use crate::rows::Row;
use crate::{micros, percentile};

/// Operations per round and rounds, for each call.
const OPS: usize = 40;
const ROUNDS: usize = 5;
/// Ours may cost this much more than the bare calls.
const TARGET: f64 = 1.2;
const FEE_LIMIT_MSAT: u64 = 10_000;

fn error(err: impl std::fmt::Display) -> WalletError {
    WalletError::backend(None, err.to_string())
}

/// The bare side: the same calls with the transport alone.
enum Bare {
    Lnd(Box<LndClients>),
    Cln(std::path::PathBuf),
    Lnbits(LnbitsBare),
}

/// LNbits' REST API with reqwest alone.
struct LnbitsBare {
    client: reqwest::Client,
    endpoint: String,
    admin_key: String,
    invoice_key: String,
}

impl LnbitsBare {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> Result<Value, WalletError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.endpoint))
            .header("X-Api-Key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(error)?;
        if !response.status().is_success() {
            return Err(error(format!("LNbits answered {}", response.status())));
        }
        response.json().await.map_err(error)
    }

    /// The lookup LnbitsWallet makes: this wallet's records of a hash, pending ones re-checked.
    async fn records(&self, hash: &PaymentHash, sign: &str) -> Result<Value, WalletError> {
        let path = format!(
            "/api/v1/payments/paginated?payment_hash={}&{sign}=0&recheck_pending=true&limit=100",
            hash.to_hex()
        );
        self.call(reqwest::Method::GET, &path, &self.invoice_key, None)
            .await
    }
}

impl Bare {
    fn name(&self) -> &'static str {
        match self {
            Self::Lnd(_) => "bare tonic calls",
            Self::Cln(_) => "bare JSON-RPC calls",
            Self::Lnbits(_) => "bare reqwest calls",
        }
    }

    async fn cln(
        path: &std::path::Path,
        method: &str,
        params: Value,
    ) -> Result<Value, WalletError> {
        // A connection per call, as CoreLightningWallet makes.
        let mut rpc = cln_rpc::ClnRpc::new(path).await.map_err(error)?;
        rpc.call_raw(method, &params).await.map_err(error)
    }

    async fn create_invoice(&self, label: u64) -> Result<PaymentHash, WalletError> {
        match self {
            Self::Lnd(clients) => {
                let added = clients
                    .lightning
                    .clone()
                    .add_invoice(Invoice {
                        memo: "bench".into(),
                        value_msat: 1_000,
                        expiry: 3600,
                        ..Invoice::default()
                    })
                    .await
                    .map_err(error)?
                    .into_inner();
                PaymentHash::from_slice(&added.r_hash)
            }
            Self::Cln(path) => {
                let created = Self::cln(
                    path,
                    "invoice",
                    json!({"amount_msat": 1_000, "label": format!("bare-{label}"), "description": "bench", "expiry": 3600}),
                )
                .await?;
                PaymentHash::from_hex(created["payment_hash"].as_str().unwrap_or_default())
            }
            Self::Lnbits(lnbits) => {
                let created = lnbits
                    .call(
                        reqwest::Method::POST,
                        "/api/v1/payments",
                        &lnbits.invoice_key,
                        Some(json!({"out": false, "amount": 1, "unit": "sat", "memo": "bench"})),
                    )
                    .await?;
                PaymentHash::from_hex(created["payment_hash"].as_str().unwrap_or_default())
            }
        }
    }

    async fn status(&self) -> Result<(), WalletError> {
        match self {
            Self::Lnd(clients) => {
                clients
                    .lightning
                    .clone()
                    .channel_balance(ChannelBalanceRequest::default())
                    .await
                    .map_err(error)?;
            }
            Self::Cln(path) => {
                Self::cln(path, "listfunds", json!({})).await?;
            }
            Self::Lnbits(lnbits) => {
                lnbits
                    .call(
                        reqwest::Method::GET,
                        "/api/v1/wallet",
                        &lnbits.invoice_key,
                        None,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn invoice_status(&self, hash: &PaymentHash) -> Result<(), WalletError> {
        match self {
            Self::Lnd(clients) => {
                clients
                    .lightning
                    .clone()
                    .lookup_invoice(LndHash {
                        r_hash: hash.as_bytes().to_vec(),
                        ..LndHash::default()
                    })
                    .await
                    .map_err(error)?;
            }
            Self::Cln(path) => {
                Self::cln(path, "listinvoices", json!({"payment_hash": hash.to_hex()})).await?;
            }
            Self::Lnbits(lnbits) => {
                lnbits.records(hash, "amount[gt]").await?;
            }
        }
        Ok(())
    }

    /// A payment as the protocol makes it when all goes well: the lookup before, the dispatch,
    /// the answer.
    async fn pay(&self, bolt11: &str, hash: &PaymentHash) -> Result<(), WalletError> {
        match self {
            Self::Lnd(clients) => {
                let mut router = clients.router.clone();
                let track = router
                    .track_payment_v2(TrackPaymentRequest {
                        payment_hash: hash.as_bytes().to_vec(),
                        no_inflight_updates: false,
                    })
                    .await;
                if let Ok(mut updates) = track {
                    // A payment of the hash exists: read where it stands, as the lookup does.
                    updates.get_mut().message().await.map_err(error)?;
                }
                let mut updates = router
                    .send_payment_v2(SendPaymentRequest {
                        payment_request: bolt11.to_owned(),
                        fee_limit_msat: FEE_LIMIT_MSAT as i64,
                        timeout_seconds: 30,
                        ..SendPaymentRequest::default()
                    })
                    .await
                    .map_err(error)?
                    .into_inner();
                while let Some(update) = updates.message().await.map_err(error)? {
                    use lnd_grpc::lnrpc::payment::PaymentStatus;
                    match update.status() {
                        PaymentStatus::Succeeded => return Ok(()),
                        PaymentStatus::Failed => return Err(error("the bare payment failed")),
                        _ => {}
                    }
                }
                Err(error("the payment stream ended"))
            }
            Self::Cln(path) => {
                Self::cln(path, "listpays", json!({"payment_hash": hash.to_hex()})).await?;
                let paid = Self::cln(
                    path,
                    "xpay",
                    json!({"invstring": bolt11, "maxfee": FEE_LIMIT_MSAT, "retry_for": 24}),
                )
                .await?;
                if paid.get("payment_preimage").is_some() {
                    Ok(())
                } else {
                    Err(error("the bare payment has no preimage"))
                }
            }
            Self::Lnbits(lnbits) => {
                lnbits.records(hash, "amount[lt]").await?;
                lnbits
                    .call(
                        reqwest::Method::GET,
                        &format!("/api/v1/payments/fee-reserve?invoice={bolt11}"),
                        &lnbits.invoice_key,
                        None,
                    )
                    .await?;
                let paid = lnbits
                    .call(
                        reqwest::Method::POST,
                        "/api/v1/payments",
                        &lnbits.admin_key,
                        Some(json!({"out": true, "bolt11": bolt11})),
                    )
                    .await?;
                if paid["status"] == "success" {
                    Ok(())
                } else {
                    Err(error(format!("the bare payment ended {}", paid["status"])))
                }
            }
        }
    }
}

/// The rows for a simulator's backend: four calls, ours against bare.
pub(crate) async fn rows(kind: Kind) -> Result<Vec<Row>, WalletError> {
    let bed = Bed::start(kind).await?;
    let bare = match kind {
        Kind::Lnd => Bare::Lnd(Box::new(LndClients::new(&LndConfig::from_settings(
            &bed.settings().ok_or_else(|| error("no lnd settings"))?,
        )?)?)),
        Kind::Cln => Bare::Cln(bed.socket().ok_or_else(|| error("no socket"))?),
        Kind::Fake => return Ok(Vec::new()),
    };
    let rows = measure(kind.name(), bed.wallet.clone(), &bare, |count| {
        bed.invoices(count, 1_000)
    })
    .await;
    bed.stop().await;
    rows
}

/// The rows for LnbitsWallet, on a real LNbits funded by lnd-sim (the test bed, started here:
/// the LNbits venv must be installed, as `cargo xtask bench` makes sure).
pub(crate) async fn lnbits_rows() -> Result<Vec<Row>, WalletError> {
    let bed = LndFundedBed::shared_from_env().await.map_err(error)?;
    let keys = bed
        .server()
        .new_wallet("bench", 1_000_000)
        .await
        .map_err(error)?;
    let endpoint = bed.server().endpoint().map_err(error)?;
    let wallet = LnbitsWallet::new(LnbitsConfig::new(
        &endpoint,
        Some(keys.admin_key.clone()),
        Some(keys.invoice_key.clone()),
    )?)?;
    let payee = bed.network().add_node(NodeConfig::new("bench payee"))?;
    let bare = Bare::Lnbits(LnbitsBare {
        client: reqwest::Client::new(),
        endpoint,
        admin_key: keys.admin_key,
        invoice_key: keys.invoice_key,
    });
    measure("lnbits (on lnd-sim)", Arc::new(wallet), &bare, |count| {
        crate::beds::invoices_of(&payee, count, 1_000)
    })
    .await
}

/// Ours and bare, call by call, in alternating rounds.
async fn measure(
    backend: &str,
    wallet: Arc<dyn Wallet>,
    bare: &Bare,
    invoices: impl Fn(usize) -> Result<Vec<String>, WalletError>,
) -> Result<Vec<Row>, WalletError> {
    // Both sides connect and pay once before timing (lnd's GetInfo is asked once per wallet).
    let warm = invoices(2)?;
    wallet
        .pay_invoice(PayInvoiceRequest::new(warm[0].clone(), FEE_LIMIT_MSAT))
        .await
        .map_err(|err| err.into_reason())?;
    bare.pay(&warm[1], &Bolt11::parse(&warm[1])?.payment_hash())
        .await?;
    let known = wallet
        .create_invoice(InvoiceRequest::new(1_000).memo("bench"))
        .await?
        .checking_id;

    let mut times: [(Vec<Duration>, Vec<Duration>); 4] = Default::default();
    let mut label = 0u64;
    for _ in 0..ROUNDS {
        let batch = invoices(OPS * 2)?;
        let (for_ours, for_bare) = batch.split_at(OPS);
        let started = Instant::now();
        for _ in 0..OPS {
            wallet
                .create_invoice(InvoiceRequest::new(1_000).memo("bench"))
                .await?;
        }
        times[0].0.push(started.elapsed() / OPS as u32);
        let started = Instant::now();
        for _ in 0..OPS {
            label += 1;
            bare.create_invoice(label).await?;
        }
        times[0].1.push(started.elapsed() / OPS as u32);

        let started = Instant::now();
        for _ in 0..OPS {
            wallet.status().await?;
        }
        times[1].0.push(started.elapsed() / OPS as u32);
        let started = Instant::now();
        for _ in 0..OPS {
            bare.status().await?;
        }
        times[1].1.push(started.elapsed() / OPS as u32);

        let started = Instant::now();
        for _ in 0..OPS {
            wallet.get_invoice_status(&known).await?;
        }
        times[2].0.push(started.elapsed() / OPS as u32);
        let started = Instant::now();
        for _ in 0..OPS {
            bare.invoice_status(&known).await?;
        }
        times[2].1.push(started.elapsed() / OPS as u32);

        let started = Instant::now();
        for bolt11 in for_ours {
            let paid = wallet
                .pay_invoice(PayInvoiceRequest::new(bolt11.clone(), FEE_LIMIT_MSAT))
                .await
                .map_err(|err| err.into_reason())?;
            if !paid.status.is_succeeded() {
                return Err(error(format!("a bench payment ended {:?}", paid.status)));
            }
        }
        times[3].0.push(started.elapsed() / OPS as u32);
        // The bare side decodes nothing: its hashes are read before the clock starts.
        let hashes = for_bare
            .iter()
            .map(|bolt11| Bolt11::parse(bolt11).map(|invoice| invoice.payment_hash()))
            .collect::<Result<Vec<_>, _>>()?;
        let started = Instant::now();
        for (bolt11, hash) in for_bare.iter().zip(&hashes) {
            bare.pay(bolt11, hash).await?;
        }
        times[3].1.push(started.elapsed() / OPS as u32);
    }

    let names = [
        "create_invoice",
        "status",
        "get_invoice_status",
        "pay_invoice",
    ];
    Ok(names
        .iter()
        .zip(times.iter_mut())
        .map(|(name, (ours, theirs))| {
            ours.sort();
            theirs.sort();
            let ours_us = micros(percentile(ours, 50));
            let bare_us = micros(percentile(theirs, 50));
            Row::versus(
                format!("{backend} {name} vs bare transport"),
                ours_us,
                bare.name(),
                bare_us,
            )
            .target(
                format!("ours <= {TARGET}x bare"),
                ours_us <= TARGET * bare_us,
            )
            .with("rounds", ROUNDS)
        })
        .collect())
}
