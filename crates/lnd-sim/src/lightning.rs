//! `lnrpc.Lightning`: node info, balances, invoices and their subscription, payments, channels
//! and peers, with lnd's validation rules and messages.

use std::time::Duration;

use futures::StreamExt;
use lnd_grpc::lnrpc::lightning_server::Lightning;
use lnd_grpc::lnrpc::{self, Invoice};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};
use wallet_core::amount::msat_to_sat_floor;
use wallet_core::bolt11::{Bolt11, Bolt11Description};
use wallet_core::{DescriptionHash, PaymentHash, Preimage};
use wallet_fake::{FakeInvoiceState, InvoiceSnapshot, NewInvoice};

use crate::convert;
use crate::daemon::{Daemon, status};
use crate::serve::with_first_message;

/// lnd's longest memo.
const MAX_MEMO_BYTES: usize = 1024;
/// lnd's longest invoice expiry: one year.
const MAX_EXPIRY_SECS: i64 = 31_536_000;
/// lnd's expiry for invoices that give none.
const DEFAULT_EXPIRY_SECS: u64 = 86_400;
/// Clamps to protobuf's signed fields.
const fn to_i64(value: u64) -> i64 {
    if value > i64::MAX as u64 {
        i64::MAX
    } else {
        value as i64
    }
}

/// The fields `AddInvoice` and `AddHoldInvoice` share, checked as lnd checks them.
pub(crate) struct InvoiceFields {
    pub(crate) memo: String,
    pub(crate) value: i64,
    pub(crate) value_msat: i64,
    pub(crate) description_hash: Vec<u8>,
    pub(crate) expiry: i64,
}

impl InvoiceFields {
    /// The new invoice these fields ask for, or lnd's error.
    pub(crate) fn checked(self) -> Result<NewInvoice, Status> {
        if self.value != 0 && self.value_msat != 0 {
            return Err(Status::unknown(
                "sat and msat arguments are mutually exclusive",
            ));
        }
        if self.value < 0 || self.value_msat < 0 {
            return Err(Status::unknown("invoice amount must not be negative"));
        }
        let amount_msat = if self.value_msat != 0 {
            self.value_msat as u64
        } else {
            (self.value as u64).saturating_mul(1_000)
        };
        if self.memo.len() > MAX_MEMO_BYTES {
            return Err(Status::unknown(format!(
                "memo too large: {} bytes (maxsize={MAX_MEMO_BYTES})",
                self.memo.len()
            )));
        }
        let description_hash = match self.description_hash.len() {
            0 => None,
            32 => Some(DescriptionHash::from_bytes(
                self.description_hash.try_into().unwrap_or([0; 32]),
            )),
            other => {
                return Err(Status::unknown(format!(
                    "description hash is {other} bytes, must be 32"
                )));
            }
        };
        if self.expiry > MAX_EXPIRY_SECS {
            return Err(Status::unknown(format!(
                "expiry of {} seconds greater than max expiry of {MAX_EXPIRY_SECS} seconds",
                self.expiry
            )));
        }
        let expiry = match self.expiry {
            ..=0 => DEFAULT_EXPIRY_SECS,
            seconds => seconds as u64,
        };
        Ok(NewInvoice {
            amount_msat: (amount_msat > 0).then_some(amount_msat),
            memo: self.memo,
            description_hash,
            expiry: Some(Duration::from_secs(expiry)),
            preimage: None,
            hold_payment_hash: None,
            // lnd leaves its node id out of invoices: payers recover it from the signature.
            payee_field: false,
        })
    }
}

fn hash_of(bytes: &[u8], message: impl FnOnce(usize) -> String) -> Result<PaymentHash, Status> {
    PaymentHash::from_slice(bytes).map_err(|_| Status::unknown(message(bytes.len())))
}

impl Daemon {
    fn lookup(&self, hash: &PaymentHash) -> Result<InvoiceSnapshot, Status> {
        let invoices = self.node.invoices().map_err(status)?;
        if invoices.is_empty() {
            return Err(Status::not_found("there are no existing invoices"));
        }
        invoices
            .into_iter()
            .find(|invoice| invoice.payment_hash == *hash)
            .ok_or_else(|| Status::not_found("unable to locate invoice"))
    }
}

/// An invoice as a live "add" event: as it was when created.
fn as_added(snapshot: &InvoiceSnapshot) -> Invoice {
    let mut added = convert::invoice(&InvoiceSnapshot {
        state: FakeInvoiceState::Open,
        ..snapshot.clone()
    });
    if snapshot.is_hold {
        added.r_preimage.clear();
    }
    added
}

#[tonic::async_trait]
impl Lightning for Daemon {
    async fn get_info(
        &self,
        _: Request<lnrpc::GetInfoRequest>,
    ) -> Result<Response<lnrpc::GetInfoResponse>, Status> {
        let block_height = self.node.network().config().block_height;
        Ok(Response::new(lnrpc::GetInfoResponse {
            identity_pubkey: self.pubkey(),
            alias: self.node.alias().to_owned(),
            num_active_channels: 1,
            num_peers: 1,
            block_height,
            block_hash: format!("{:064x}", block_height),
            synced_to_chain: true,
            uris: vec![format!("{}@127.0.0.1:9735", self.pubkey())],
            best_header_timestamp: to_i64(wallet_core::time::unix_now()),
            version: "0.21.2-beta commit=lnd-sim".into(),
            chains: vec![lnrpc::Chain {
                chain: "bitcoin".into(),
                network: self.network.clone(),
            }],
            color: "#3399ff".into(),
            synced_to_graph: true,
            commit_hash: "lnd-sim".into(),
            wallet_synced: true,
            ..lnrpc::GetInfoResponse::default()
        }))
    }

    async fn wallet_balance(
        &self,
        _: Request<lnrpc::WalletBalanceRequest>,
    ) -> Result<Response<lnrpc::WalletBalanceResponse>, Status> {
        // The fake network has no chain: nothing on-chain.
        Ok(Response::new(lnrpc::WalletBalanceResponse::default()))
    }

    async fn channel_balance(
        &self,
        _: Request<lnrpc::ChannelBalanceRequest>,
    ) -> Result<Response<lnrpc::ChannelBalanceResponse>, Status> {
        let local_msat = self.node.balance_msat().map_err(status)?;
        let remote_msat = self.node.network().config().hub_liquidity_msat;
        let amount = |msat: u64| lnrpc::Amount {
            sat: msat_to_sat_floor(msat),
            msat,
        };
        Ok(Response::new(lnrpc::ChannelBalanceResponse {
            balance: to_i64(msat_to_sat_floor(local_msat)),
            local_balance: Some(amount(local_msat)),
            remote_balance: Some(amount(remote_msat)),
            unsettled_local_balance: Some(amount(0)),
            unsettled_remote_balance: Some(amount(0)),
            pending_open_local_balance: Some(amount(0)),
            pending_open_remote_balance: Some(amount(0)),
            ..lnrpc::ChannelBalanceResponse::default()
        }))
    }

    async fn add_invoice(
        &self,
        request: Request<Invoice>,
    ) -> Result<Response<lnrpc::AddInvoiceResponse>, Status> {
        let invoice = request.into_inner();
        let preimage = match invoice.r_preimage.len() {
            0 => None,
            32 => Some(
                Preimage::from_slice(&invoice.r_preimage)
                    .map_err(|err| Status::unknown(err.to_string()))?,
            ),
            other => {
                return Err(Status::unknown(format!(
                    "invalid preimage length of {other}, want 32"
                )));
            }
        };
        let mut new = InvoiceFields {
            memo: invoice.memo,
            value: invoice.value,
            value_msat: invoice.value_msat,
            description_hash: invoice.description_hash,
            expiry: invoice.expiry,
        }
        .checked()?;
        new.preimage = preimage;
        let created = self.node.create_invoice(new).map_err(status)?;
        Ok(Response::new(lnrpc::AddInvoiceResponse {
            r_hash: created.payment_hash.as_bytes().to_vec(),
            payment_request: created.bolt11,
            add_index: created.add_index,
            payment_addr: created.payment_secret.to_vec(),
        }))
    }

    async fn lookup_invoice(
        &self,
        request: Request<lnrpc::PaymentHash>,
    ) -> Result<Response<Invoice>, Status> {
        let request = request.into_inner();
        let bytes = if request.r_hash_str.is_empty() {
            request.r_hash
        } else {
            wallet_core::hex::decode(&request.r_hash_str)
                .map_err(|err| Status::unknown(format!("encoding/hex: {err}")))?
        };
        let hash = hash_of(&bytes, |length| {
            format!("payment hash must be exactly 32 bytes, is instead {length}")
        })?;
        let faults = self.node.lookup_faults().map_err(status)?;
        faults.wait().await;
        let hash = faults.answered_hash(&hash);
        Ok(Response::new(convert::invoice(&self.lookup(&hash)?)))
    }

    async fn list_invoices(
        &self,
        request: Request<lnrpc::ListInvoiceRequest>,
    ) -> Result<Response<lnrpc::ListInvoiceResponse>, Status> {
        let request = request.into_inner();
        let limit = match request.num_max_invoices {
            0 => 1_000,
            limit => usize::try_from(limit).unwrap_or(usize::MAX),
        };
        let mut invoices: Vec<_> = self
            .node
            .invoices()
            .map_err(status)?
            .into_iter()
            .filter(|invoice| {
                !request.pending_only
                    || matches!(
                        invoice.state,
                        FakeInvoiceState::Open | FakeInvoiceState::Accepted { .. }
                    )
            })
            .collect();
        let selected: Vec<_> = if request.reversed {
            let end = if request.index_offset == 0 {
                u64::MAX
            } else {
                request.index_offset
            };
            invoices.retain(|invoice| invoice.add_index < end);
            let skip = invoices.len().saturating_sub(limit);
            invoices.split_off(skip)
        } else {
            invoices
                .into_iter()
                .filter(|invoice| invoice.add_index > request.index_offset)
                .take(limit)
                .collect()
        };
        Ok(Response::new(lnrpc::ListInvoiceResponse {
            first_index_offset: selected.first().map_or(0, |invoice| invoice.add_index),
            last_index_offset: selected.last().map_or(0, |invoice| invoice.add_index),
            invoices: selected.iter().map(convert::invoice).collect(),
        }))
    }

    async fn subscribe_invoices(
        &self,
        request: Request<lnrpc::InvoiceSubscription>,
    ) -> Result<Response<BoxStream<Invoice>>, Status> {
        let request = request.into_inner();
        let mut changes = self.node.changes();
        changes.borrow_and_update();
        let invoices = self.node.invoices().map_err(status)?;
        // The backlog: adds after `add_index`, then settles after `settle_index`, each by its
        // current state; only OPEN and SETTLED ones are sent. An index of 0 means no backlog.
        let mut backlog = Vec::new();
        if request.add_index > 0 {
            backlog.extend(
                invoices
                    .iter()
                    .filter(|invoice| invoice.add_index > request.add_index)
                    .filter(|invoice| {
                        matches!(
                            invoice.state,
                            FakeInvoiceState::Open | FakeInvoiceState::Settled { .. }
                        )
                    })
                    .map(convert::invoice),
            );
        }
        if request.settle_index > 0 {
            let mut settled: Vec<_> = invoices
                .iter()
                .filter_map(|invoice| match invoice.state {
                    FakeInvoiceState::Settled { settle_index, .. }
                        if settle_index > request.settle_index =>
                    {
                        Some((settle_index, convert::invoice(invoice)))
                    }
                    _ => None,
                })
                .collect();
            settled.sort_by_key(|(index, _)| *index);
            backlog.extend(settled.into_iter().map(|(_, invoice)| invoice));
        }
        let last_add = invoices
            .iter()
            .map(|invoice| invoice.add_index)
            .max()
            .unwrap_or(0);
        let last_settle = self.node.settled_count().map_err(status)?;
        let live = futures::stream::unfold(
            (
                self.clone(),
                changes,
                last_add,
                last_settle,
                Vec::<Invoice>::new(),
            ),
            |(daemon, mut changes, mut last_add, mut last_settle, mut ready)| async move {
                loop {
                    if !ready.is_empty() {
                        let next = ready.remove(0);
                        return Some((Ok(next), (daemon, changes, last_add, last_settle, ready)));
                    }
                    changes.changed().await.ok()?;
                    changes.borrow_and_update();
                    let Ok(invoices) = daemon.node.invoices() else {
                        return Some((
                            Err(Status::unavailable("the server is shutting down")),
                            (daemon, changes, last_add, last_settle, ready),
                        ));
                    };
                    let added_after = last_add;
                    for invoice in invoices
                        .iter()
                        .filter(|invoice| invoice.add_index > added_after)
                    {
                        ready.push(as_added(invoice));
                        last_add = invoice.add_index;
                    }
                    let mut settled: Vec<_> = invoices
                        .iter()
                        .filter_map(|invoice| match invoice.state {
                            FakeInvoiceState::Settled { settle_index, .. }
                                if settle_index > last_settle =>
                            {
                                Some((settle_index, invoice))
                            }
                            _ => None,
                        })
                        .collect();
                    settled.sort_by_key(|(index, _)| *index);
                    for (index, invoice) in settled {
                        ready.push(convert::invoice(invoice));
                        last_settle = index;
                    }
                }
            },
        );
        let stream = futures::stream::iter(backlog.into_iter().map(Ok)).chain(live);
        with_first_message(stream.boxed()).await
    }

    async fn decode_pay_req(
        &self,
        request: Request<lnrpc::PayReqString>,
    ) -> Result<Response<lnrpc::PayReq>, Status> {
        let invoice = Bolt11::parse(&request.into_inner().pay_req)
            .map_err(|err| Status::unknown(err.to_string()))?;
        let (description, description_hash) = match invoice.description() {
            Bolt11Description::Memo(memo) => (memo, String::new()),
            Bolt11Description::Hash(hash) => (String::new(), hash.to_hex()),
        };
        let amount_msat = invoice.amount_msat().unwrap_or(0);
        Ok(Response::new(lnrpc::PayReq {
            destination: convert::node_hex(&invoice.payee()),
            payment_hash: invoice.payment_hash().to_hex(),
            num_satoshis: to_i64(msat_to_sat_floor(amount_msat)),
            timestamp: to_i64(invoice.created_at()),
            expiry: to_i64(invoice.expiry().as_secs()),
            description,
            description_hash,
            cltv_expiry: 18,
            payment_addr: invoice.payment_secret().to_vec(),
            num_msat: to_i64(amount_msat),
            ..lnrpc::PayReq::default()
        }))
    }

    async fn list_payments(
        &self,
        request: Request<lnrpc::ListPaymentsRequest>,
    ) -> Result<Response<lnrpc::ListPaymentsResponse>, Status> {
        let request = request.into_inner();
        let hub = self.hub();
        let mut payments: Vec<_> = self
            .node
            .payments()
            .map_err(status)?
            .into_iter()
            .filter(|payment| {
                request.include_incomplete
                    || matches!(
                        payment.state,
                        wallet_fake::FakePaymentState::Succeeded { .. }
                    )
            })
            .filter(|payment| payment.payment_index > request.index_offset)
            .collect();
        let total = payments.len() as u64;
        if request.max_payments > 0 {
            payments.truncate(usize::try_from(request.max_payments).unwrap_or(usize::MAX));
        }
        Ok(Response::new(lnrpc::ListPaymentsResponse {
            first_index_offset: payments.first().map_or(0, |payment| payment.payment_index),
            last_index_offset: payments.last().map_or(0, |payment| payment.payment_index),
            total_num_payments: if request.count_total_payments {
                total
            } else {
                0
            },
            payments: payments
                .iter()
                .map(|payment| convert::payment(payment, &hub, &convert::node_hex(&payment.payee)))
                .collect(),
        }))
    }

    async fn list_channels(
        &self,
        _: Request<lnrpc::ListChannelsRequest>,
    ) -> Result<Response<lnrpc::ListChannelsResponse>, Status> {
        let local_msat = self.node.balance_msat().map_err(status)?;
        let config = self.node.network().config();
        let local = msat_to_sat_floor(local_msat);
        let remote = msat_to_sat_floor(config.hub_liquidity_msat);
        Ok(Response::new(lnrpc::ListChannelsResponse {
            channels: vec![lnrpc::Channel {
                active: true,
                remote_pubkey: self.hub(),
                channel_point: format!("{}:0", &self.pubkey()[2..66]),
                chan_id: (u64::from(config.block_height) << 40) | (1 << 16),
                capacity: to_i64(local.saturating_add(remote)),
                local_balance: to_i64(local),
                remote_balance: to_i64(remote),
                initiator: true,
                chan_status_flags: "ChanStatusDefault".into(),
                ..lnrpc::Channel::default()
            }],
        }))
    }

    async fn list_peers(
        &self,
        _: Request<lnrpc::ListPeersRequest>,
    ) -> Result<Response<lnrpc::ListPeersResponse>, Status> {
        self.node.balance_msat().map_err(status)?;
        Ok(Response::new(lnrpc::ListPeersResponse {
            peers: vec![lnrpc::Peer {
                pub_key: self.hub(),
                address: "127.0.0.1:9735".into(),
                sync_type: lnrpc::peer::SyncType::ActiveSync as i32,
                ..lnrpc::Peer::default()
            }],
        }))
    }
}
