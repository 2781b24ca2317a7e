//! `invoicesrpc.Invoices`: hold invoices, settle and cancel, the single-invoice subscription
//! (the only one that shows ACCEPTED), and `LookupInvoiceV2`.

use futures::StreamExt;
use lnd_grpc::invoicesrpc::invoices_server::Invoices;
use lnd_grpc::invoicesrpc::lookup_invoice_msg::InvoiceRef;
use lnd_grpc::invoicesrpc::{
    AddHoldInvoiceRequest, AddHoldInvoiceResp, CancelInvoiceMsg, CancelInvoiceResp,
    LookupInvoiceMsg, SettleInvoiceMsg, SettleInvoiceResp, SubscribeSingleInvoiceRequest,
};
use lnd_grpc::lnrpc::Invoice;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};
use wallet_core::{PaymentHash, Preimage};
use wallet_fake::{FakeInvoiceState, FakeNodeError};

use crate::convert;
use crate::daemon::{Daemon, status};
use crate::lightning::InvoiceFields;
use crate::serve::with_first_message;

fn settle_or_cancel_status(err: FakeNodeError) -> Status {
    match err {
        // lnd reports a missing invoice here as a plain error, not NotFound.
        FakeNodeError::InvoiceNotFound => Status::unknown("unable to locate invoice"),
        other => status(other),
    }
}

#[tonic::async_trait]
impl Invoices for Daemon {
    async fn subscribe_single_invoice(
        &self,
        request: Request<SubscribeSingleInvoiceRequest>,
    ) -> Result<Response<BoxStream<Invoice>>, Status> {
        let bytes = request.into_inner().r_hash;
        let hash = PaymentHash::from_slice(&bytes).map_err(|_| {
            Status::unknown(format!("invalid hash length of {}, want 32", bytes.len()))
        })?;
        let mut changes = self.node.changes();
        changes.borrow_and_update();
        let daemon = self.clone();
        // Every state change, starting with the current one if the invoice exists; the stream
        // closes after SETTLED or CANCELED.
        let stream = futures::stream::unfold(
            (daemon, changes, None::<Invoice>, false),
            move |(daemon, mut changes, mut last, done)| async move {
                if done {
                    return None;
                }
                loop {
                    match daemon.node.invoice(&hash) {
                        Ok(Some(invoice)) => {
                            let message = convert::invoice(&invoice);
                            if last.as_ref().is_none_or(|last| last.state != message.state) {
                                let finished = matches!(
                                    invoice.state,
                                    FakeInvoiceState::Settled { .. }
                                        | FakeInvoiceState::Canceled
                                        | FakeInvoiceState::Expired
                                );
                                last = Some(message.clone());
                                return Some((Ok(message), (daemon, changes, last, finished)));
                            }
                        }
                        Ok(None) => {}
                        Err(err) => return Some((Err(status(err)), (daemon, changes, last, true))),
                    }
                    changes.changed().await.ok()?;
                    changes.borrow_and_update();
                }
            },
        );
        with_first_message(stream.boxed()).await
    }

    async fn cancel_invoice(
        &self,
        request: Request<CancelInvoiceMsg>,
    ) -> Result<Response<CancelInvoiceResp>, Status> {
        let bytes = request.into_inner().payment_hash;
        let hash = PaymentHash::from_slice(&bytes).map_err(|_| {
            Status::unknown(format!("invalid hash length of {}, want 32", bytes.len()))
        })?;
        self.node
            .cancel_invoice(&hash)
            .map_err(settle_or_cancel_status)?;
        Ok(Response::new(CancelInvoiceResp {}))
    }

    async fn add_hold_invoice(
        &self,
        request: Request<AddHoldInvoiceRequest>,
    ) -> Result<Response<AddHoldInvoiceResp>, Status> {
        let request = request.into_inner();
        let hash = PaymentHash::from_slice(&request.hash).map_err(|_| {
            Status::unknown(format!(
                "invalid hash length of {}, want 32",
                request.hash.len()
            ))
        })?;
        let mut new = InvoiceFields {
            memo: request.memo,
            value: request.value,
            value_msat: request.value_msat,
            description_hash: request.description_hash,
            expiry: request.expiry,
        }
        .checked()?;
        new.hold_payment_hash = Some(hash);
        let created = self.node.create_invoice(new).map_err(status)?;
        Ok(Response::new(AddHoldInvoiceResp {
            payment_request: created.bolt11,
            add_index: created.add_index,
            payment_addr: created.payment_secret.to_vec(),
        }))
    }

    async fn settle_invoice(
        &self,
        request: Request<SettleInvoiceMsg>,
    ) -> Result<Response<SettleInvoiceResp>, Status> {
        let bytes = request.into_inner().preimage;
        let preimage = Preimage::from_slice(&bytes).map_err(|_| {
            Status::unknown(format!(
                "invalid preimage length of {}, want 32",
                bytes.len()
            ))
        })?;
        self.node
            .settle_hold_invoice(&preimage)
            .map_err(settle_or_cancel_status)?;
        Ok(Response::new(SettleInvoiceResp {}))
    }

    async fn lookup_invoice_v2(
        &self,
        request: Request<LookupInvoiceMsg>,
    ) -> Result<Response<Invoice>, Status> {
        let bytes = match request.into_inner().invoice_ref {
            Some(InvoiceRef::PaymentHash(bytes)) => bytes,
            Some(_) => {
                return Err(Status::unimplemented(
                    "only lookups by payment hash are simulated",
                ));
            }
            None => return Err(Status::invalid_argument("invoice ref must be set")),
        };
        let hash = PaymentHash::from_slice(&bytes).map_err(|_| {
            Status::invalid_argument(format!(
                "unable to parse pay hash: invalid hash length of {}, want 32",
                bytes.len()
            ))
        })?;
        match self.node.invoice(&hash).map_err(status)? {
            Some(invoice) => Ok(Response::new(convert::invoice(&invoice))),
            None => Err(Status::not_found("unable to locate invoice")),
        }
    }
}
