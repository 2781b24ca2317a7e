//! `routerrpc.Router`: `SendPaymentV2` and `TrackPaymentV2`, with lnd's pre-flight checks,
//! `AlreadyExists` answers, and stream updates (IN_FLIGHT first, then the final state, then the
//! stream closes).

use std::time::Duration;

use futures::StreamExt;
use lnd_grpc::lnrpc::Payment;
use lnd_grpc::routerrpc::router_server::Router;
use lnd_grpc::routerrpc::{SendPaymentRequest, TrackPaymentRequest};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};
use wallet_core::PaymentHash;
use wallet_core::bolt11::{Bolt11, Currency};
use wallet_fake::{
    AnswerFault, AnswerFaultKind, FakePaymentState, PaymentSnapshot, SendOutcome, TemporaryFailures,
};

use crate::convert;
use crate::daemon::{Daemon, status};
use crate::serve::with_first_message;

/// lnd's network name for an invoice's network.
pub(crate) fn network_name(currency: &Currency) -> &'static str {
    match currency {
        Currency::Bitcoin => "mainnet",
        Currency::BitcoinTestnet => "testnet",
        Currency::Regtest => "regtest",
        Currency::Simnet => "simnet",
        Currency::Signet => "signet",
    }
}

impl Daemon {
    fn message(&self, payment: &PaymentSnapshot) -> Payment {
        convert::payment(payment, &self.hub(), &convert::node_hex(&payment.payee))
    }

    /// The payment's updates from now on: its current state (unless `final_only`), then its final
    /// state; the stream closes after the final state.
    fn updates(&self, payment: PaymentSnapshot, final_only: bool) -> BoxStream<Payment> {
        let daemon = self.clone();
        let mut changes = self.node.changes();
        changes.borrow_and_update();
        let first = (!final_only || payment.state.is_final()).then(|| daemon.message(&payment));
        let done = payment.state.is_final();
        let hash = payment.payment_hash;
        let rest = futures::stream::unfold(
            (daemon, changes, done),
            move |(daemon, mut changes, done)| async move {
                if done {
                    return None;
                }
                loop {
                    changes.changed().await.ok()?;
                    changes.borrow_and_update();
                    match daemon.node.payment(&hash) {
                        Ok(Some(payment)) if payment.state.is_final() => {
                            let message = daemon.message(&payment);
                            return Some((Ok(message), (daemon, changes, true)));
                        }
                        Ok(_) => {}
                        Err(err) => return Some((Err(status(err)), (daemon, changes, true))),
                    }
                }
            },
        );
        futures::stream::iter(first.map(Ok)).chain(rest).boxed()
    }
}

impl Daemon {
    /// The answer to a payment whose answer a test spoils: the payment goes its way (late, if
    /// the fault says so) while the caller gets a dropped connection, an empty update, or an
    /// error nobody documented.
    fn spoiled(
        &self,
        fault: AnswerFault,
        invoice: Bolt11,
        amount_msat: u64,
        fee_limit_msat: u64,
    ) -> Result<BoxStream<Payment>, Status> {
        self.node
            .pay_after(invoice, amount_msat, fee_limit_msat, fault.dispatch_after);
        match fault.kind {
            AnswerFaultKind::Lost => {
                self.drop_connections();
                Ok(futures::stream::pending().boxed())
            }
            AnswerFaultKind::Empty => Ok(futures::stream::iter([Ok(Payment::default())]).boxed()),
            AnswerFaultKind::Junk => Err(Status::internal("\u{1}\u{7f}\u{fffd}#!~garbage~")),
        }
    }
}

/// A Unix time as Go prints a `time.Time` in UTC (`2026-11-30 08:57:22 +0000 UTC`), which lnd
/// puts in its messages and clients match on.
fn go_time(unix_secs: u64) -> String {
    let t = wallet_core::time::utc(unix_secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn checked_amount(invoice: &Bolt11, request: &SendPaymentRequest) -> Result<u64, Status> {
    if request.amt != 0 && request.amt_msat != 0 {
        return Err(Status::unknown("amt and amt_msat are mutually exclusive"));
    }
    if request.amt < 0 || request.amt_msat < 0 {
        return Err(Status::unknown("amount must not be negative"));
    }
    let given = if request.amt_msat != 0 {
        request.amt_msat as u64
    } else {
        (request.amt as u64).saturating_mul(1_000)
    };
    match (invoice.amount_msat(), given) {
        (Some(_), 1..) => Err(Status::unknown(
            "amount must not be specified when paying a non-zero amount invoice",
        )),
        (None, 0) => Err(Status::unknown(
            "amount must be specified when paying a zero amount invoice",
        )),
        (Some(amount), 0) => Ok(amount),
        (None, given) => Ok(given),
    }
}

/// How long lnd waits between attempts after a temporary failure (in the simulator).
const RETRY_PAUSE: Duration = Duration::from_millis(100);

#[tonic::async_trait]
impl Router for Daemon {
    async fn send_payment_v2(
        &self,
        request: Request<SendPaymentRequest>,
    ) -> Result<Response<BoxStream<Payment>>, Status> {
        let request = request.into_inner();
        if request.payment_request.is_empty() {
            return Err(Status::unknown(
                "a payment request is required: this node pays BOLT11 invoices only",
            ));
        }
        if !request.dest.is_empty() {
            return Err(Status::unknown(
                "dest and payment_request cannot appear together",
            ));
        }
        if !request.payment_hash.is_empty() {
            return Err(Status::unknown(
                "payment_hash and payment_request cannot appear together",
            ));
        }
        if request.final_cltv_delta != 0 {
            return Err(Status::unknown(
                "final_cltv_delta and payment_request cannot appear together",
            ));
        }
        if request.fee_limit_sat != 0 && request.fee_limit_msat != 0 {
            return Err(Status::unknown(
                "fee_limit_sat and fee_limit_msat are mutually exclusive",
            ));
        }
        let invoice = Bolt11::parse(&request.payment_request)
            .map_err(|err| Status::unknown(err.to_string()))?;
        if network_name(&invoice.currency()) != self.network {
            return Err(Status::unknown(format!(
                "invoice not for current active network '{}'",
                self.network
            )));
        }
        if invoice.is_expired() {
            return Err(Status::unknown(format!(
                "invoice expired. Valid until {}",
                go_time(invoice.expires_at())
            )));
        }
        let amount_msat = checked_amount(&invoice, &request)?;
        if invoice.payee() == self.node.id() && !request.allow_self_payment {
            return Err(Status::unknown("self-payments not allowed"));
        }
        // 0 allows only fee-free routes, as in lnd.
        let fee_limit_msat = match (request.fee_limit_msat, request.fee_limit_sat) {
            (0, sat) => sat.max(0) as u64 * 1_000,
            (msat, _) => msat.max(0) as u64,
        };
        if let Some(fault) = self.node.take_answer_fault() {
            let spoiled = self.spoiled(fault, invoice, amount_msat, fee_limit_msat)?;
            return with_first_message(spoiled).await;
        }
        // lnd retries attempts that fail at a hop for as long as `timeout_seconds` allows, each
        // a failed HTLC of the payment; past it the payment fails.
        let retry_for =
            Duration::from_secs(u64::try_from(request.timeout_seconds.max(1)).unwrap_or(1));
        let outcome = match self
            .node
            .pay_retrying_temporary_failures(
                &invoice,
                amount_msat,
                fee_limit_msat,
                retry_for,
                RETRY_PAUSE,
            )
            .await
            .map_err(status)?
        {
            TemporaryFailures::Sent(outcome) => outcome,
            TemporaryFailures::GaveUp { .. } => {
                let payment = self
                    .node
                    .payment(&invoice.payment_hash())
                    .map_err(status)?
                    .ok_or_else(|| Status::internal("the failed payment has no record"))?;
                return with_first_message(self.updates(payment, request.no_inflight_updates))
                    .await;
            }
        };
        let payment = match outcome {
            SendOutcome::AlreadyExists(existing) => {
                return Err(match existing.state {
                    FakePaymentState::Succeeded { .. } => {
                        Status::already_exists("invoice is already paid")
                    }
                    _ => Status::already_exists("payment is in transition"),
                });
            }
            SendOutcome::Dispatched(payment) => payment,
        };
        with_first_message(self.updates(payment, request.no_inflight_updates)).await
    }

    async fn track_payment_v2(
        &self,
        request: Request<TrackPaymentRequest>,
    ) -> Result<Response<BoxStream<Payment>>, Status> {
        let request = request.into_inner();
        let hash = PaymentHash::from_slice(&request.payment_hash).map_err(|_| {
            Status::unknown(format!(
                "invalid hash length of {}, want 32",
                request.payment_hash.len()
            ))
        })?;
        let payment = self
            .node
            .lookup_payment(&hash)
            .await
            .map_err(status)?
            .ok_or_else(|| Status::not_found("payment isn't initiated"))?;
        with_first_message(self.updates(payment, request.no_inflight_updates)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_go_prints_them_in_utc() {
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time(1_796_029_042), "2026-11-30 08:57:22 +0000 UTC");
        assert_eq!(go_time(951_782_400), "2000-02-29 00:00:00 +0000 UTC");
        assert_eq!(go_time(u64::MAX), "9999-12-31 23:59:59 +0000 UTC");
    }
}
