//! [`StoredFakeWallet`]: the [`Wallet`] trait on a node of a stored network.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use wallet_core::bolt11::{CheckedPayment, Currency};
use wallet_core::pay::{Attempt, Dispatched, PaymentDriver, Payments};
use wallet_core::{
    ChannelInfo, Features, HoldInvoiceRequest, InvoiceRequest, InvoiceResponse, InvoiceStatus,
    NodeInfo, PaidInvoice, PaidInvoiceStream, PayError, PayInvoiceRequest, PaymentHash,
    PaymentResponse, PaymentStatus, PeerInfo, Preimage, StatusResponse, StreamCursor, Wallet,
    WalletError, async_trait,
};

use super::FakeNetworkDir;
use super::files::Access;
use crate::snapshot::NodeId;
use crate::wallet::{answered, attempts, paid_invoice};
use crate::{FakeNode, FakeWallet};

/// How often a payment in flight and the paid-invoice stream read the network again. Another
/// process changes it, so there is nothing to be woken by.
const POLL: Duration = Duration::from_millis(200);

/// A wallet on a node of a [`FakeNetworkDir`]: a [`FakeWallet`] whose network outlives the
/// process and is shared with every other process using the directory.
///
/// Each call runs a [`FakeWallet`] call on the stored network under the directory's lock, so it
/// answers as a [`FakeWallet`] does. Payments run wallet-core's payment protocol with each step
/// (the lookup before, the dispatch, the lookups after) a call of its own: a payment waiting
/// for a hold invoice's owner does not keep the owner out of the directory.
#[derive(Clone)]
pub struct StoredFakeWallet {
    dir: FakeNetworkDir,
    node: String,
    payments: Arc<Payments>,
}

impl StoredFakeWallet {
    pub(crate) fn new(dir: FakeNetworkDir, node: String) -> Self {
        Self {
            dir,
            node,
            payments: Arc::new(Payments::new()),
        }
    }

    /// The name of the node in the directory.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The directory the network is stored in.
    pub fn dir(&self) -> &FakeNetworkDir {
        &self.dir
    }

    /// Runs `op` on a [`FakeWallet`] on the stored node.
    async fn call<F, Fut, T>(&self, access: Access, op: F) -> Result<T, WalletError>
    where
        F: FnOnce(FakeWallet) -> Fut,
        Fut: Future<Output = Result<T, WalletError>>,
    {
        self.dir
            .on_node(&self.node, access, |node| op(FakeWallet::new(node)))
            .await?
    }

    /// Runs `op` on the stored node.
    async fn on_node<F, Fut, T>(&self, access: Access, op: F) -> Result<T, WalletError>
    where
        F: FnOnce(FakeNode) -> Fut,
        Fut: Future<Output = Result<T, WalletError>>,
    {
        self.dir.on_node(&self.node, access, op).await?
    }
}

impl fmt::Debug for StoredFakeWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredFakeWallet")
            .field("dir", &self.dir)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// How the payment protocol reaches a stored node: one locked call per step.
struct StoredDriver<'a> {
    wallet: &'a StoredFakeWallet,
}

#[async_trait]
impl PaymentDriver for StoredDriver<'_> {
    fn features(&self) -> Features {
        Features::all()
    }

    async fn network(&self, _deadline: Duration) -> Option<Currency> {
        self.wallet
            .on_node(
                Access::Read,
                |node| async move { Ok(node.currency().clone()) },
            )
            .await
            .ok()
    }

    async fn attempts(
        &self,
        payment_hash: &PaymentHash,
        _deadline: Duration,
    ) -> Result<Vec<Attempt>, WalletError> {
        let hash = *payment_hash;
        self.wallet
            .on_node(Access::Read, |node| async move {
                Ok(attempts(node.lookup_payment(&hash).await?))
            })
            .await
    }

    async fn dispatch(
        &self,
        payment: &CheckedPayment,
        request: &PayInvoiceRequest,
        deadline: Instant,
    ) -> Dispatched {
        let invoice = &payment.invoice;
        let sent = self
            .wallet
            .dir
            .on_node_changing(&self.wallet.node, Access::Write, |node| async move {
                node.pay(invoice, payment.amount_msat, request.max_fee_msat)
            })
            .await;
        // An error of the directory means the state file was not replaced: the payment the
        // node made in memory was never stored, so nothing was sent. A refusal is "not sent"
        // only if the network is as it was; otherwise the node's records decide.
        let outcome = match sent {
            Ok((Ok(outcome), _)) => outcome,
            Ok((Err(refused), false)) => return Dispatched::NotSent(refused.into()),
            Ok((Err(refused), true)) => return Dispatched::Unanswered(refused.to_string()),
            Err(store) => return Dispatched::NotSent(store),
        };
        let hash = invoice.payment_hash();
        let mut latest = outcome.payment().clone();
        while !latest.state.is_final() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(POLL.min(left)).await;
            let read = self
                .wallet
                .on_node(Access::Read, |node| async move { Ok(node.payment(&hash)?) })
                .await;
            match read {
                Ok(Some(payment)) => latest = payment,
                // Its record was there a moment ago: the file changed under us.
                Ok(None) => return Dispatched::Unanswered("the payment's record is gone".into()),
                Err(err) => return Dispatched::Unanswered(err.to_string()),
            }
        }
        answered(latest)
    }
}

#[async_trait]
impl Wallet for StoredFakeWallet {
    fn features(&self) -> Features {
        Features::all()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node), ret(level = "debug"), err(Display))]
    async fn status(&self) -> Result<StatusResponse, WalletError> {
        self.call(Access::Read, |wallet| async move { wallet.status().await })
            .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake-stored", node = %self.node, amount_msat = ?request.amount_msat), ret(level = "info"), err(Display))]
    async fn create_invoice(
        &self,
        request: InvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.call(Access::Write, |wallet| async move {
            wallet.create_invoice(request).await
        })
        .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake-stored", node = %self.node), ret(level = "info"), err(Display))]
    async fn pay_invoice(&self, request: PayInvoiceRequest) -> Result<PaymentResponse, PayError> {
        self.payments
            .pay(&StoredDriver { wallet: self }, request)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node, payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_invoice_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<InvoiceStatus, WalletError> {
        let hash = *checking_id;
        self.call(Access::Read, |wallet| async move {
            wallet.get_invoice_status(&hash).await
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node, payment_hash = %checking_id), ret(level = "debug"), err(Display))]
    async fn get_payment_status(
        &self,
        checking_id: &PaymentHash,
    ) -> Result<PaymentStatus, WalletError> {
        let hash = *checking_id;
        self.call(Access::Read, |wallet| async move {
            wallet.get_payment_status(&hash).await
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node), ret(level = "debug"), err(Display))]
    async fn paid_invoices_cursor(&self) -> Result<StreamCursor, WalletError> {
        self.call(Access::Read, |wallet| async move {
            wallet.paid_invoices_cursor().await
        })
        .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake-stored", node = %self.node, resume_from = ?resume_from), err(Display))]
    async fn paid_invoices_stream(
        &self,
        resume_from: Option<StreamCursor>,
    ) -> Result<PaidInvoiceStream, WalletError> {
        let (node_id, settled) = self
            .on_node(Access::Read, |node| async move {
                Ok((node.id(), node.settled_count()?))
            })
            .await?;
        let after = match resume_from {
            None => settled,
            Some(cursor) => {
                let after = cursor.to_index()?;
                if after > settled {
                    return Err(WalletError::invalid(
                        "cursor",
                        format!("{after} is ahead of this node, which settled {settled}"),
                    ));
                }
                after
            }
        };
        let poll = PaidPoll {
            wallet: self.clone(),
            node_id,
            after,
            ready: VecDeque::new(),
            read_at_once: true,
            ended: false,
        };
        Ok(futures::stream::unfold(poll, PaidPoll::next).boxed())
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake-stored", node = %self.node, payment_hash = %request.payment_hash), ret(level = "info"), err(Display))]
    async fn create_hold_invoice(
        &self,
        request: HoldInvoiceRequest,
    ) -> Result<InvoiceResponse, WalletError> {
        self.call(Access::Write, |wallet| async move {
            wallet.create_hold_invoice(request).await
        })
        .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake-stored", node = %self.node, payment_hash = %preimage.payment_hash()), err(Display))]
    async fn settle_hold_invoice(&self, preimage: &Preimage) -> Result<(), WalletError> {
        let preimage = *preimage;
        self.call(Access::Write, |wallet| async move {
            wallet.settle_hold_invoice(&preimage).await
        })
        .await
    }

    #[tracing::instrument(level = "info", skip_all, fields(backend = "fake-stored", node = %self.node, payment_hash = %payment_hash), err(Display))]
    async fn cancel_hold_invoice(&self, payment_hash: &PaymentHash) -> Result<(), WalletError> {
        let hash = *payment_hash;
        self.call(Access::Write, |wallet| async move {
            wallet.cancel_hold_invoice(&hash).await
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node), err(Display))]
    async fn node_info(&self) -> Result<NodeInfo, WalletError> {
        self.call(
            Access::Read,
            |wallet| async move { wallet.node_info().await },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node), err(Display))]
    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, WalletError> {
        self.call(Access::Read, |wallet| async move {
            wallet.list_channels().await
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(backend = "fake-stored", node = %self.node), err(Display))]
    async fn list_peers(&self) -> Result<Vec<PeerInfo>, WalletError> {
        self.call(
            Access::Read,
            |wallet| async move { wallet.list_peers().await },
        )
        .await
    }
}

/// The paid-invoice stream of a stored node: reads what was settled after its cursor, every
/// [`POLL`] while nothing new came. A failed read ends it with the error; the supervisor opens
/// it again from the last cursor delivered.
struct PaidPoll {
    wallet: StoredFakeWallet,
    /// The node the stream was opened on: a directory whose network was replaced (moved away,
    /// made again) has another node of the name, whose settle indices mean something else.
    node_id: NodeId,
    after: u64,
    ready: VecDeque<PaidInvoice>,
    read_at_once: bool,
    ended: bool,
}

impl PaidPoll {
    async fn next(mut self) -> Option<(Result<PaidInvoice, WalletError>, Self)> {
        loop {
            if let Some(paid) = self.ready.pop_front() {
                return Some((Ok(paid), self));
            }
            if self.ended {
                return None;
            }
            if !std::mem::take(&mut self.read_at_once) {
                tokio::time::sleep(POLL).await;
            }
            let (after, node_id) = (self.after, self.node_id);
            let state_file = self.wallet.dir.state_file();
            let read = self
                .wallet
                .on_node(Access::Read, |node| async move {
                    if node.id() != node_id || node.settled_count()? < after {
                        return Err(WalletError::backend(
                            None,
                            format!(
                                "the network in {} was replaced while the stream was open",
                                state_file.display()
                            ),
                        ));
                    }
                    node.settled_after(after)?
                        .into_iter()
                        .map(paid_invoice)
                        .collect::<Result<Vec<_>, WalletError>>()
                })
                .await;
            match read {
                Ok(paid) => {
                    self.after += paid.len() as u64;
                    self.ready.extend(paid);
                }
                Err(err) => {
                    self.ended = true;
                    return Some((Err(err), self));
                }
            }
        }
    }
}
