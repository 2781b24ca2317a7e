//! How the payment protocol of `wallet-core` reaches lightningd: `listpays` for the attempts of a
//! hash, `xpay` to dispatch, and xpay's answers sorted by what they prove.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use wallet_core::bolt11::{CheckedPayment, Currency};
use wallet_core::pay::{Attempt, Dispatched, PaymentDriver};
use wallet_core::{
    Features, PayInvoiceRequest, PaymentHash, PaymentStatus, Preimage, Wallet, WalletError,
    async_trait,
};

use crate::CoreLightningWallet;
use crate::mapping;
use crate::rpc::{NodeError, cln_error};

pub(crate) struct Driver<'a> {
    pub(crate) wallet: &'a CoreLightningWallet,
}

/// What an `xpay` error proves, after Core Lightning's `jsonrpc_errors.h`.
///
/// Refusals before anything is sent (bad parameters, an expired invoice, no xpay at all) are
/// not sent. xpay's failure codes end the call, but parts may still be in flight, or none may
/// have been sent: `listpays` decides. Anything else (200 in progress, 219 already paid, -1, a
/// code nobody documents) leaves the answer to `listpays` too, and is `Pending` until it shows
/// an attempt.
pub(crate) fn xpay_refusal(error: NodeError) -> Dispatched {
    let said = || WalletError::backend(Some(i64::from(error.code)), error.said());
    match error.code {
        207 => Dispatched::NotSent(WalletError::invalid(
            "bolt11",
            format!("lightningd says it expired: {}", error.said()),
        )),
        -32602 => Dispatched::NotSent(said()),
        -32601 => Dispatched::NotSent(WalletError::backend(
            Some(-32601),
            format!(
                "lightningd has no xpay command (Core Lightning before 24.11, or the xpay plugin \
                 is disabled): {}",
                error.said()
            ),
        )),
        201 | 203 | 205 | 206 | 209 | 210 => Dispatched::Declined(said()),
        code => Dispatched::Unanswered(format!("xpay answered {code}: {}", error.said())),
    }
}

/// What an `xpay` result proves: a preimage of the hash is a success; anything else (`{}`, a
/// wrong shape, a preimage of another hash) proves nothing.
pub(crate) fn xpay_result(payment_hash: &PaymentHash, paid: &Value) -> Dispatched {
    let preimage = paid
        .get("payment_preimage")
        .and_then(Value::as_str)
        .and_then(|hex| Preimage::from_hex(hex).ok())
        .filter(|preimage| payment_hash.is_paid_by(preimage));
    match preimage {
        Some(preimage) => match crate::mapping::fee_msat(paid) {
            Some(fee_msat) => Dispatched::Answered(PaymentStatus::Succeeded { preimage, fee_msat }),
            // Paid, but the fee cannot be read: the records tell (never a fee of zero).
            None => {
                Dispatched::Unanswered("xpay answered a preimage without a readable fee".into())
            }
        },
        None => Dispatched::Unanswered("xpay answered without a preimage of this payment".into()),
    }
}

#[async_trait]
impl PaymentDriver for Driver<'_> {
    fn features(&self) -> Features {
        self.wallet.features()
    }

    async fn network(&self, deadline: Duration) -> Option<Currency> {
        self.wallet.network(deadline).await
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        self.wallet
            .attempts(payment_hash, deadline)
            .await
            .map_err(cln_error)
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        // xpay retries failed routes for `retry_for`; a fifth of the timeout stays for reading
        // what it did.
        let retry_for = (request.timeout.as_secs() * 4 / 5).max(1);
        let mut params = json!({
            "invstring": request.bolt11.trim(),
            "maxfee": request.max_fee_msat,
            "retry_for": retry_for,
        });
        if payment.amount_supplied {
            params["amount_msat"] = json!(payment.amount_msat);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.wallet.inner.rpc.call("xpay", params, left).await {
            Ok(paid) => xpay_result(&payment.invoice.payment_hash(), &paid),
            Err(failure) => failure.into_dispatched(xpay_refusal),
        }
    }
}

/// `listpays` entries as attempts.
pub(crate) fn attempts(entries: &[Value]) -> Vec<Attempt> {
    entries.iter().map(mapping::attempt).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: i32) -> NodeError {
        NodeError {
            code,
            message: "m".into(),
        }
    }

    #[test]
    fn xpay_codes_are_sorted_by_what_they_prove() {
        assert!(matches!(
            xpay_refusal(error(207)),
            Dispatched::NotSent(WalletError::InvalidRequest {
                field: "bolt11",
                ..
            })
        ));
        for not_sent in [-32602, -32601] {
            assert!(matches!(
                xpay_refusal(error(not_sent)),
                Dispatched::NotSent(_)
            ));
        }
        for listpays_decides in [201, 203, 205, 206, 209, 210] {
            assert!(
                matches!(
                    xpay_refusal(error(listpays_decides)),
                    Dispatched::Declined(_)
                ),
                "{listpays_decides}"
            );
        }
        for unclear in [-1, 200, 204, 211, 219] {
            assert!(
                matches!(xpay_refusal(error(unclear)), Dispatched::Unanswered(_)),
                "{unclear}"
            );
        }
    }

    #[test]
    fn only_a_preimage_of_the_hash_makes_an_xpay_result_a_success() {
        let preimage = Preimage::from_bytes([4; 32]);
        let hash = preimage.payment_hash();
        let paid = json!({"payment_preimage": preimage.to_hex(), "amount_msat": 1000, "amount_sent_msat": 1002});
        assert_eq!(
            xpay_result(&hash, &paid),
            Dispatched::Answered(PaymentStatus::Succeeded {
                preimage,
                fee_msat: 2
            })
        );
        for unproven in [
            json!({}),
            json!("\u{1}garbage"),
            json!({"payment_preimage": "00".repeat(32)}),
        ] {
            assert!(
                matches!(xpay_result(&hash, &unproven), Dispatched::Unanswered(_)),
                "{unproven}"
            );
        }
    }
}
