//! The conformance harness's pieces both LNbits test beds share: the wallet under test behind a
//! `FaultProxy`, and the fault hooks. On the FakeWallet-funded server the counterparty is another
//! wallet of the same server; on the lnd-funded bed it is a node of the funding node's network,
//! so every payment leaves LNbits through its `LndWallet`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lnbits_testserver::{LndFundedBed, TestServer, WalletKeys};
use wallet_conformance::{FaultHooks, FaultProxy, HarnessError, SpoiledAnswer, TestBed, Timing};
use wallet_core::{PaymentHash, Wallet, WalletFeature, async_trait};
use wallet_fake::{FakeWallet, NodeConfig, Release};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};

/// Sats each wallet of a behaviour starts with.
const FUND_SATS: u64 = 1_000_000;

/// The request that pays, and the one every payment and invoice lookup makes.
const PAY_REQUEST: &[u8] = b"POST /api/v1/payments ";
const LOOKUP_REQUEST: &[u8] = b"GET /api/v1/payments/paginated?";

const NO_STALLS: &str = "LNbits' FakeWallet funding source settles payments between its wallets \
                         at once and cannot fail them on request: no payment can be held in flight \
                         or failed at the node (the lnd-funded bed covers these)";

const NO_RETRY: &str = "LNbits 1.6.2 never sends a payment hash again once its funding source \
                        failed it (520 \"Payment is failed node, retrying is not possible.\"), so \
                        a failed payment cannot be retried through LNbits";

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

/// The funding node of the lnd-funded bed, if the server under test is that one.
type Funding = Option<&'static LndFundedBed>;

/// Restarts go to the LNbits server, outages and spoiled answers to the proxy in front of it,
/// and payment faults to the node funding it (where there is one).
struct LnbitsFaults {
    server: TestServer,
    proxy: FaultProxy,
    funding: Funding,
}

impl LnbitsFaults {
    fn funding(&self) -> Result<&'static LndFundedBed, HarnessError> {
        self.funding
            .ok_or_else(|| HarnessError::Unsupported(NO_STALLS.into()))
    }
}

#[async_trait]
impl FaultHooks for LnbitsFaults {
    async fn restart_backend(&self) -> Result<(), HarnessError> {
        self.server.restart().await.map_err(failed)
    }

    async fn take_backend_offline(&self) -> Result<(), HarnessError> {
        self.proxy.set_offline(true);
        Ok(())
    }

    async fn bring_backend_online(&self) -> Result<(), HarnessError> {
        self.proxy.set_offline(false);
        Ok(())
    }

    async fn lose_next_payment_answer(&self) -> Result<(), HarnessError> {
        self.proxy.lose_answer_to_next(PAY_REQUEST);
        Ok(())
    }

    async fn spoil_next_payment_answer(
        &self,
        answer: SpoiledAnswer,
        dispatch_after: Duration,
    ) -> Result<(), HarnessError> {
        self.proxy
            .spoil_answer_to_next(PAY_REQUEST, answer, dispatch_after);
        Ok(())
    }

    async fn misdirect_lookups(&self, to: Option<PaymentHash>) -> Result<(), HarnessError> {
        let to = to.map(|hash| hash.to_hex());
        self.proxy
            .rewrite_payment_hashes(LOOKUP_REQUEST, to.as_deref());
        Ok(())
    }

    async fn delay_lookups(&self, delay: Duration) -> Result<(), HarnessError> {
        self.proxy.delay_requests(LOOKUP_REQUEST, delay);
        Ok(())
    }

    async fn stall_next_payment(&self) -> Result<(), HarnessError> {
        self.funding()?
            .funding_node()
            .control()
            .stall_next_payment();
        Ok(())
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        self.funding()?
            .funding_node()
            .control()
            .release_all(Release::Succeed);
        Ok(())
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        // The only behaviours failing a payment on request retry it afterwards.
        self.funding()?;
        Err(HarnessError::Unsupported(NO_RETRY.into()))
    }

    async fn dispatched_attempts(&self, payment_hash: &PaymentHash) -> Result<usize, HarnessError> {
        let Some(funding) = self.funding else {
            return Err(HarnessError::Unsupported(
                "LNbits' FakeWallet keeps one record per payment hash, so a second dispatch \
                 leaves nothing to count; the suite checks balances instead"
                    .into(),
            ));
        };
        let payment = funding
            .funding_node()
            .payment(payment_hash)
            .map_err(failed)?;
        Ok(payment.map_or(0, |payment| payment.attempts.len()))
    }
}

fn lnbits_wallet(
    endpoint: &str,
    keys: &WalletKeys,
    hold: bool,
) -> Result<LnbitsWallet, HarnessError> {
    LnbitsConfig::new(
        endpoint,
        Some(keys.admin_key.clone()),
        Some(keys.invoice_key.clone()),
    )
    .map(|config| config.with_hold_invoices(hold))
    .and_then(LnbitsWallet::new)
    .map_err(failed)
}

/// A counterparty node on the funding node's network, new for each behaviour.
fn counterparty_node(funding: &LndFundedBed) -> Result<Arc<dyn Wallet>, HarnessError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let alias = format!("counterparty-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let node = funding
        .network()
        .add_node(NodeConfig::new(alias))
        .map_err(failed)?;
    Ok(Arc::new(FakeWallet::new(node)))
}

/// The test bed of one behaviour: a fresh funded wallet on `server` behind a proxy, and a
/// counterparty (another wallet of the server, or a node of `funding`'s network).
pub(crate) async fn test_bed(
    server: TestServer,
    funding: Funding,
) -> Result<TestBed, HarnessError> {
    let endpoint = server.endpoint().map_err(failed)?;
    let upstream: SocketAddr = endpoint
        .trim_start_matches("http://")
        .parse()
        .map_err(|err| failed(format!("endpoint {endpoint}: {err}")))?;
    let under_test = server
        .new_wallet("under-test", FUND_SATS)
        .await
        .map_err(failed)?;
    let hold = funding.is_some();
    let counterparty = match funding {
        Some(funding) => counterparty_node(funding)?,
        None => {
            let peer = server
                .new_wallet("counterparty", FUND_SATS)
                .await
                .map_err(failed)?;
            Arc::new(lnbits_wallet(&endpoint, &peer, hold)?)
        }
    };
    let proxy = FaultProxy::start(upstream).await.map_err(failed)?;
    let proxied = format!("http://{}", proxy.address());
    let wallet = lnbits_wallet(&proxied, &under_test, hold)?;
    let impostor = WalletKeys {
        id: String::new(),
        admin_key: "0123456789abcdef0123456789abcdef".into(),
        invoice_key: "fedcba9876543210fedcba9876543210".into(),
    };
    let timing = Timing {
        event: Duration::from_secs(15),
        behaviour: Duration::from_secs(180),
        ..Timing::default()
    };
    let bed = TestBed::new(Arc::new(wallet), counterparty)
        .with_bad_credentials(Arc::new(lnbits_wallet(&endpoint, &impostor, hold)?))
        .secret(under_test.admin_key)
        .secret(under_test.invoice_key)
        .faults(Arc::new(LnbitsFaults {
            server,
            proxy,
            funding,
        }))
        .timing(timing);
    let bed = bed
        .unsupported_because(
            WalletFeature::AmountlessInvoice,
            "LNbits 1.6.2 refuses to create them (\"Amountless invoices not supported.\")",
        )
        .unsupported_because(
            WalletFeature::AmountlessPayment,
            "LNbits 1.6.2 refuses to pay them (520 \"Amountless invoices not supported.\")",
        )
        .unsupported_because(
            WalletFeature::NodeManager,
            "LNbits' node API (/node/api/v1) takes an admin user's login, not a wallet key, and its \
             LndWallet has no node manager",
        );
    Ok(if hold {
        bed.held_state_not_visible()
    } else {
        bed.unsupported_because(
            WalletFeature::HoldInvoice,
            "LNbits' FakeWallet funding source has no hold invoices (\"Hold invoices are not \
             supported by the funding source.\")",
        )
    })
}
