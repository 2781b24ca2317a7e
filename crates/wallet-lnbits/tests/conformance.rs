//! The conformance suite against a real LNbits server (from PyPI, FakeWallet funding source):
//! each behaviour gets a fresh funded wallet under test, reached through a `FaultProxy`, and a
//! fresh funded wallet on the same server as the counterparty.
//!
//! Run with `cargo xtask conformance --backend lnbits`, which installs and starts the server,
//! runs these tests one at a time (some restart the server) and stops it afterwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lnbits_testserver::TestServer;
use wallet_conformance::{
    FaultHooks, FaultProxy, Harness, HarnessError, SpoiledAnswer, TestBed, Timing,
};
use wallet_core::{PaymentHash, async_trait};
use wallet_lnbits::{LnbitsConfig, LnbitsWallet};

const FUND_SATS: u64 = 1_000_000;

struct LnbitsHarness;

struct LnbitsFaults {
    server: TestServer,
    proxy: FaultProxy,
}

fn failed(err: impl std::fmt::Display) -> HarnessError {
    HarnessError::Failed(err.to_string())
}

/// The request that pays, and the one every payment and invoice lookup makes.
const PAY_REQUEST: &[u8] = b"POST /api/v1/payments ";
const LOOKUP_REQUEST: &[u8] = b"GET /api/v1/payments/paginated?";

const NO_STALLS: &str = "LNbits' FakeWallet funding source settles payments between its wallets \
                         at once and cannot fail them on request: no payment can be held in flight \
                         or failed at the node";

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
        Err(HarnessError::Unsupported(NO_STALLS.into()))
    }

    async fn release_stalled_payments(&self) -> Result<(), HarnessError> {
        Err(HarnessError::Unsupported(NO_STALLS.into()))
    }

    async fn fail_next_payment(&self) -> Result<(), HarnessError> {
        Err(HarnessError::Unsupported(NO_STALLS.into()))
    }

    async fn dispatched_attempts(
        &self,
        _payment_hash: &PaymentHash,
    ) -> Result<usize, HarnessError> {
        Err(HarnessError::Unsupported(
            "LNbits keeps one record per payment hash, so a second dispatch leaves nothing to \
             count; the suite checks balances instead"
                .into(),
        ))
    }
}

fn lnbits_wallet(
    endpoint: &str,
    keys: &lnbits_testserver::WalletKeys,
) -> Result<LnbitsWallet, HarnessError> {
    LnbitsConfig::new(
        endpoint,
        Some(keys.admin_key.clone()),
        Some(keys.invoice_key.clone()),
    )
    .and_then(LnbitsWallet::new)
    .map_err(failed)
}

#[async_trait]
impl Harness for LnbitsHarness {
    async fn setup(&self) -> Result<TestBed, HarnessError> {
        let server = TestServer::from_env().map_err(HarnessError::Failed)?;
        let endpoint = server.endpoint().map_err(failed)?;
        let upstream: SocketAddr = endpoint
            .trim_start_matches("http://")
            .parse()
            .map_err(|err| failed(format!("endpoint {endpoint}: {err}")))?;
        let under_test = server
            .new_wallet("under-test", FUND_SATS)
            .await
            .map_err(failed)?;
        let peer = server
            .new_wallet("counterparty", FUND_SATS)
            .await
            .map_err(failed)?;
        let proxy = FaultProxy::start(upstream).await.map_err(failed)?;
        let proxied = format!("http://{}", proxy.address());
        let wallet = lnbits_wallet(&proxied, &under_test)?;
        let counterparty = lnbits_wallet(&endpoint, &peer)?;
        let impostor = lnbits_testserver::WalletKeys {
            id: String::new(),
            admin_key: "0123456789abcdef0123456789abcdef".into(),
            invoice_key: "fedcba9876543210fedcba9876543210".into(),
        };
        let timing = Timing {
            event: Duration::from_secs(15),
            behaviour: Duration::from_secs(180),
            ..Timing::default()
        };
        Ok(TestBed::new(Arc::new(wallet), Arc::new(counterparty))
            .with_bad_credentials(Arc::new(lnbits_wallet(&endpoint, &impostor)?))
            .secret(under_test.admin_key)
            .secret(under_test.invoice_key)
            .faults(Arc::new(LnbitsFaults { server, proxy }))
            .timing(timing))
    }
}

wallet_conformance::suite!(
    LnbitsHarness,
    ignore = "needs a real LNbits server: run `cargo xtask conformance --backend lnbits`"
);
