//! How the payment protocol of `wallet-core` reaches lnd: `TrackPaymentV2` for the attempts of a
//! hash, `SendPaymentV2` to dispatch, and lnd's answers sorted by what they prove.

use std::time::Duration;

use lnd_grpc::lnrpc;
use lnd_grpc::routerrpc::SendPaymentRequest;
use tokio::time::Instant;
use tonic::{Code, Status, Streaming};
use wallet_core::bolt11::{CheckedPayment, Currency};
use wallet_core::pay::{Attempt, Dispatched, PaymentDriver, payment_status};
use wallet_core::untrusted::server_text;
use wallet_core::{Features, PayInvoiceRequest, PaymentHash, WalletError, async_trait};

use crate::LndWallet;
use crate::client::{classify, is_auth_error, lnd_error, node_error};
use crate::mapping;
use crate::wallet::to_i64;

/// lnd's refusals before it creates a payment record (its pre-flight checks in `SendPaymentV2`),
/// all with code Unknown. lnd-sim answers with the same texts.
const PRE_FLIGHT_REFUSALS: &[&str] = &[
    "cannot appear together",
    "amount must be specified when paying a zero amount invoice",
    "amount must not be specified when paying a non-zero amount invoice",
    "amount must not be negative",
    "invoice expired",
    "self-payments not allowed",
    "mutually exclusive",
    "invoice not for current active network",
    "a payment request is required",
];

pub(crate) struct Driver<'a> {
    pub(crate) wallet: &'a LndWallet,
}

/// What a refusal of `SendPaymentV2` proves. Only lnd's documented pre-flight texts come before
/// any payment exists; an error lnd does not document may follow a payment it started.
pub(crate) fn refused(status: Status) -> Dispatched {
    if is_auth_error(&status) {
        return Dispatched::NotSent(node_error(&status));
    }
    match status.code() {
        Code::Unimplemented => Dispatched::NotSent(node_error(&status)),
        // The payment exists (in flight, or paid by another process since we asked): its record
        // decides.
        Code::AlreadyExists => Dispatched::Unanswered(format!(
            "lnd has a payment of this hash: {}",
            server_text(status.message())
        )),
        Code::Unknown | Code::InvalidArgument
            if PRE_FLIGHT_REFUSALS
                .iter()
                .any(|text| status.message().contains(text)) =>
        {
            Dispatched::Declined(WalletError::backend(
                Some(status.code() as i64),
                format!("lnd refused the payment: {}", server_text(status.message())),
            ))
        }
        _ => Dispatched::Unanswered(format!(
            "lnd answered the payment with an error it does not document before dispatch: {}",
            server_text(status.message())
        )),
    }
}

/// Reads the updates of the payment this dispatch started until a final one; anything else
/// (the stream ending or breaking first) leaves the answer to the node's records.
async fn final_update(
    stream: &mut Streaming<lnrpc::Payment>,
    payment_hash: &PaymentHash,
) -> Dispatched {
    loop {
        match stream.message().await {
            Ok(Some(update)) => {
                let attempt = mapping::attempt(&update);
                if attempt.payment_hash != Some(*payment_hash) {
                    continue;
                }
                let status = payment_status(payment_hash, &[attempt]);
                if status.is_final() {
                    return Dispatched::Answered(status);
                }
            }
            Ok(None) => {
                return Dispatched::Unanswered(
                    "the payment's update stream ended before a final state".into(),
                );
            }
            Err(status) => {
                return Dispatched::Unanswered(format!(
                    "the payment's update stream broke: {}",
                    server_text(status.message())
                ));
            }
        }
    }
}

#[async_trait]
impl PaymentDriver for Driver<'_> {
    fn features(&self) -> Features {
        Features::all()
    }

    async fn network(&self, deadline: Duration) -> Option<Currency> {
        self.wallet.network(deadline).await
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        let deadline = deadline.min(self.wallet.timeout());
        let payment = self
            .wallet
            .track(payment_hash, deadline)
            .await
            .map_err(lnd_error)?;
        Ok(payment.iter().map(mapping::attempt).collect())
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        let send = SendPaymentRequest {
            payment_request: request.bolt11.trim().to_owned(),
            amt_msat: if payment.amount_supplied {
                to_i64(payment.amount_msat)
            } else {
                0
            },
            fee_limit_msat: to_i64(request.max_fee_msat),
            timeout_seconds: i32::try_from(request.timeout.as_secs().max(1)).unwrap_or(i32::MAX),
            no_inflight_updates: false,
            allow_self_payment: false,
            ..SendPaymentRequest::default()
        };
        let mut router = self.wallet.clients().router.clone();
        // The protocol stops waiting at `deadline`; the wait here needs no bound of its own.
        let _ = deadline;
        match router.send_payment_v2(send).await {
            Ok(stream) => {
                final_update(&mut stream.into_inner(), &payment.invoice.payment_hash()).await
            }
            Err(status) => classify(status).into_dispatched(refused),
        }
    }
}

#[cfg(test)]
mod tests {
    use wallet_core::PaymentStatus;

    use super::*;

    #[test]
    fn only_documented_pre_flight_texts_are_refusals() {
        assert!(matches!(
            refused(Status::unknown("invoice expired. Valid until 2026-11-30")),
            Dispatched::Declined(_)
        ));
        assert!(matches!(
            refused(Status::unknown("self-payments not allowed")),
            Dispatched::Declined(_)
        ));
        for unclear in [
            Status::unknown("\u{1}garbage"),
            Status::internal("failed to decode"),
            Status::unavailable("the server is shutting down"),
            Status::already_exists("payment is in transition"),
        ] {
            assert!(
                matches!(refused(unclear.clone()), Dispatched::Unanswered(_)),
                "{unclear:?}"
            );
        }
        assert!(matches!(
            refused(Status::unknown("verification failed: signature mismatch")),
            Dispatched::NotSent(WalletError::Unauthorized(_))
        ));
    }

    #[test]
    fn a_status_without_a_final_update_is_not_failed() {
        let empty = lnrpc::Payment::default();
        assert_eq!(mapping::attempt(&empty).payment_hash, None);
        let hash = PaymentHash::from_bytes([1; 32]);
        // A record of this lookup whose hash cannot be read proves nothing: pending.
        assert_eq!(
            payment_status(&hash, &[mapping::attempt(&empty)]),
            PaymentStatus::Pending
        );
    }
}
