//! The file format of a stored network.
//!
//! It is its own set of types, not the in-memory records: the records may change between
//! versions, a file written last year must still read the same. A change that an older reader
//! would misread bumps [`FORMAT`]; unknown fields are refused, so that an older version never
//! drops what a newer one wrote. No type here derives `Debug`: they hold node secrets.

use std::collections::HashSet;

use lightning_invoice::Currency;
use serde::{Deserialize, Serialize};
use wallet_core::{DescriptionHash, FailureReason, PaymentHash, Preimage, Secret, hex};

use crate::config::NodeConfig;
use crate::network::FakeNetwork;
use crate::node::FakeNode;
use crate::settings::parse_currency;
use crate::snapshot::{AttemptSnapshot, FakePaymentState, NodeId};
use crate::state::{Htlc, InvoiceRecord, NetworkState, NodeState, PaymentRecord, Settlement};

/// The format this version writes and the newest it reads.
pub(crate) const FORMAT: u32 = 1;

/// Only the format number: read first, so that a newer file is named as such rather than as a
/// corrupt one.
#[derive(Deserialize)]
pub(crate) struct FormatOnly {
    pub(crate) format: u32,
}

/// A whole network.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetworkImage {
    pub(crate) format: u32,
    pub(crate) nodes: Vec<NodeImage>,
}

/// One node: its key material, and everything it made, received and paid.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeImage {
    pub(crate) name: String,
    pub(crate) alias: String,
    /// What the node key is derived from: whoever reads the file can spend as this node.
    pub(crate) secret: String,
    pub(crate) network: String,
    pub(crate) balance_msat: u64,
    /// In creation order.
    pub(crate) invoices: Vec<InvoiceImage>,
    /// In the order first attempted.
    pub(crate) payments: Vec<PaymentImage>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvoiceImage {
    payment_hash: PaymentHash,
    bolt11: String,
    amount_msat: Option<u64>,
    memo: String,
    description_hash: Option<DescriptionHash>,
    payment_secret: String,
    preimage: Option<Preimage>,
    is_hold: bool,
    created_at: u64,
    expiry_secs: u64,
    htlc: Option<HtlcImage>,
    settlement: Option<SettlementImage>,
    canceled: bool,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HtlcImage {
    payer: String,
    amount_msat: u64,
    fee_msat: u64,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlementImage {
    amount_msat: u64,
    settle_index: u64,
    paid_at: u64,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentImage {
    payment_hash: PaymentHash,
    bolt11: String,
    payee: String,
    amount_msat: u64,
    created_at: u64,
    attempts: Vec<AttemptImage>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttemptImage {
    fee_msat: u64,
    started_at: u64,
    state: AttemptStateImage,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
enum AttemptStateImage {
    InFlight,
    Succeeded { preimage: Preimage, fee_msat: u64 },
    Failed { reason: FailureReason },
}

/// A node of a restored network, with the name and secret it is stored under.
#[derive(Clone)]
pub(crate) struct NamedNode {
    pub(crate) name: String,
    pub(crate) secret: Secret<String>,
    pub(crate) node: FakeNode,
}

/// A network read from a file (or made new), ready to run calls on.
pub(crate) struct Restored {
    pub(crate) network: FakeNetwork,
    pub(crate) nodes: Vec<NamedNode>,
}

/// The name `FAKE_WALLET_NETWORK` takes for `currency`.
pub(crate) fn currency_name(currency: &Currency) -> &'static str {
    match currency {
        Currency::Bitcoin => "bitcoin",
        Currency::BitcoinTestnet => "testnet",
        Currency::Regtest => "regtest",
        Currency::Simnet => "simnet",
        Currency::Signet => "signet",
    }
}

impl Restored {
    /// A new network of `nodes`, each a name and how to make it.
    pub(crate) fn create(nodes: &[(String, NodeConfig)]) -> Result<Self, String> {
        let network = FakeNetwork::new();
        let mut named = Vec::with_capacity(nodes.len());
        for (name, config) in nodes {
            let node = network
                .add_node(config.clone())
                .map_err(|err| err.to_string())?;
            named.push(NamedNode {
                name: name.clone(),
                secret: config.secret.clone(),
                node,
            });
        }
        let restored = Self {
            network,
            nodes: named,
        };
        restored.check_distinct()?;
        Ok(restored)
    }

    /// The network `image` describes; an error says what in it does not hold together.
    pub(crate) fn from_image(image: NetworkImage) -> Result<Self, String> {
        let configs: Vec<(String, NodeConfig)> = image
            .nodes
            .iter()
            .map(|node| {
                let currency = parse_currency(&node.network).map_err(|err| err.to_string())?;
                let config = NodeConfig::new(node.alias.clone())
                    .secret(node.secret.clone())
                    .currency(currency)
                    .balance_msat(node.balance_msat);
                Ok((node.name.clone(), config))
            })
            .collect::<Result<_, String>>()?;
        let restored = Self::create(&configs)?;
        let known: HashSet<NodeId> = restored.nodes.iter().map(|named| named.node.id()).collect();
        {
            let mut state = restored.network.shared.lock();
            for (named, node_image) in restored.nodes.iter().zip(image.nodes) {
                let name = node_image.name.clone();
                let node = restore_node(node_image, &known)
                    .map_err(|why| format!("node {name:?}: {why}"))?;
                state.nodes.insert(named.node.id(), node);
            }
        }
        Ok(restored)
    }

    /// What to write to the file.
    pub(crate) fn image(&self) -> Result<NetworkImage, String> {
        let state = self.network.shared.lock();
        let nodes = self
            .nodes
            .iter()
            .map(|named| node_image(&state, named))
            .collect::<Result<_, _>>()?;
        Ok(NetworkImage {
            format: FORMAT,
            nodes,
        })
    }

    /// The node called `name`.
    pub(crate) fn node(&self, name: &str) -> Option<&FakeNode> {
        self.nodes
            .iter()
            .find(|named| named.name == name)
            .map(|named| &named.node)
    }

    fn check_distinct(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        for named in &self.nodes {
            if !names.insert(named.name.as_str()) {
                return Err(format!("two nodes are called {:?}", named.name));
            }
            if !ids.insert(named.node.id()) {
                return Err(format!(
                    "node {:?} has the key of another node (the same secret)",
                    named.name
                ));
            }
        }
        Ok(())
    }
}

fn node_image(state: &NetworkState, named: &NamedNode) -> Result<NodeImage, String> {
    let node = state
        .node(&named.node.id())
        .map_err(|err| err.to_string())?;
    let invoices = node
        .invoice_order
        .iter()
        .filter_map(|hash| {
            node.invoices
                .get(hash)
                .map(|record| invoice_image(*hash, record))
        })
        .collect();
    let payments = node
        .payment_order
        .iter()
        .filter_map(|hash| {
            node.payments
                .get(hash)
                .map(|record| payment_image(*hash, record))
        })
        .collect();
    Ok(NodeImage {
        name: named.name.clone(),
        alias: node.alias.clone(),
        secret: named.secret.expose().clone(),
        network: currency_name(&node.currency).to_owned(),
        balance_msat: node.balance_msat,
        invoices,
        payments,
    })
}

fn invoice_image(payment_hash: PaymentHash, record: &InvoiceRecord) -> InvoiceImage {
    InvoiceImage {
        payment_hash,
        bolt11: record.bolt11.clone(),
        amount_msat: record.amount_msat,
        memo: record.memo.clone(),
        description_hash: record.description_hash,
        payment_secret: hex::encode(&record.payment_secret),
        preimage: record.preimage,
        is_hold: record.is_hold,
        created_at: record.created_at,
        expiry_secs: record.expiry_secs,
        htlc: record.htlc.map(|htlc| HtlcImage {
            payer: hex::encode(&htlc.payer),
            amount_msat: htlc.amount_msat,
            fee_msat: htlc.fee_msat,
        }),
        settlement: record
            .settlement
            .as_ref()
            .map(|settlement| SettlementImage {
                amount_msat: settlement.amount_msat,
                settle_index: settlement.settle_index,
                paid_at: settlement.paid_at,
            }),
        canceled: record.canceled,
    }
}

fn payment_image(payment_hash: PaymentHash, record: &PaymentRecord) -> PaymentImage {
    PaymentImage {
        payment_hash,
        bolt11: record.bolt11.clone(),
        payee: hex::encode(&record.payee),
        amount_msat: record.amount_msat,
        created_at: record.created_at,
        attempts: record
            .attempts
            .iter()
            .map(|attempt| AttemptImage {
                fee_msat: attempt.fee_msat,
                started_at: attempt.started_at,
                state: match &attempt.state {
                    FakePaymentState::InFlight => AttemptStateImage::InFlight,
                    FakePaymentState::Succeeded { preimage, fee_msat } => {
                        AttemptStateImage::Succeeded {
                            preimage: *preimage,
                            fee_msat: *fee_msat,
                        }
                    }
                    FakePaymentState::Failed { reason } => AttemptStateImage::Failed {
                        reason: reason.clone(),
                    },
                },
            })
            .collect(),
    }
}

fn restore_node(image: NodeImage, known: &HashSet<NodeId>) -> Result<NodeState, String> {
    let currency = parse_currency(&image.network).map_err(|err| err.to_string())?;
    let mut node = NodeState::new(image.alias, currency, image.balance_msat);
    let mut settled = Vec::new();
    for (position, invoice) in image.invoices.into_iter().enumerate() {
        let hash = invoice.payment_hash;
        if node.invoices.contains_key(&hash) {
            return Err(format!("invoice {hash} is listed twice"));
        }
        if invoice
            .preimage
            .is_some_and(|preimage| preimage.payment_hash() != hash)
        {
            return Err(format!("invoice {hash} has a preimage of another hash"));
        }
        if invoice.settlement.is_some() && invoice.preimage.is_none() {
            return Err(format!("invoice {hash} is settled without a preimage"));
        }
        if invoice.settlement.is_some() && invoice.htlc.is_some() {
            return Err(format!(
                "invoice {hash} is settled and still holds a payment"
            ));
        }
        let payment_secret = bytes32(&invoice.payment_secret)
            .ok_or_else(|| format!("invoice {hash}: payment_secret is not 32 bytes of hex"))?;
        let mut record = InvoiceRecord::new(
            invoice.bolt11,
            invoice.amount_msat,
            invoice.memo,
            invoice.description_hash,
            payment_secret,
            invoice.preimage,
            invoice.created_at,
            invoice.expiry_secs,
        );
        record.is_hold = invoice.is_hold;
        record.add_index = position as u64 + 1;
        record.canceled = invoice.canceled;
        record.htlc = match invoice.htlc {
            Some(htlc) => Some(Htlc {
                payer: node_id(&htlc.payer)
                    .filter(|payer| known.contains(payer))
                    .ok_or_else(|| {
                        format!("invoice {hash}: its payer is no node of this network")
                    })?,
                amount_msat: htlc.amount_msat,
                fee_msat: htlc.fee_msat,
            }),
            None => None,
        };
        if let Some(settlement) = invoice.settlement {
            settled.push((settlement.settle_index, hash));
            record.settlement = Some(Settlement {
                amount_msat: settlement.amount_msat,
                settle_index: settlement.settle_index,
                paid_at: settlement.paid_at,
            });
        }
        node.invoice_order.push(hash);
        node.invoices.insert(hash, record);
    }
    settled.sort_unstable();
    for (position, (settle_index, hash)) in settled.into_iter().enumerate() {
        // The paid stream's cursor is the settle index: a gap or a repeat would skip or repeat
        // a paid invoice.
        if settle_index != position as u64 + 1 {
            return Err(format!(
                "invoice {hash} has settle index {settle_index} where {} was due",
                position + 1
            ));
        }
        node.settled.push(hash);
    }
    for (position, payment) in image.payments.into_iter().enumerate() {
        let hash = payment.payment_hash;
        if node.payments.contains_key(&hash) {
            return Err(format!("payment {hash} is listed twice"));
        }
        let payee = node_id(&payment.payee)
            .ok_or_else(|| format!("payment {hash}: its payee is not a node id"))?;
        let attempts = payment
            .attempts
            .into_iter()
            .map(|attempt| {
                Ok(AttemptSnapshot {
                    fee_msat: attempt.fee_msat,
                    started_at: attempt.started_at,
                    state: match attempt.state {
                        AttemptStateImage::InFlight => FakePaymentState::InFlight,
                        AttemptStateImage::Succeeded { preimage, fee_msat } => {
                            if preimage.payment_hash() != hash {
                                return Err(format!(
                                    "payment {hash} succeeded with a preimage of another hash"
                                ));
                            }
                            FakePaymentState::Succeeded { preimage, fee_msat }
                        }
                        AttemptStateImage::Failed { reason } => FakePaymentState::Failed { reason },
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        node.payment_order.push(hash);
        node.payments.insert(
            hash,
            PaymentRecord {
                bolt11: payment.bolt11,
                payee,
                amount_msat: payment.amount_msat,
                created_at: payment.created_at,
                payment_index: position as u64 + 1,
                attempts,
            },
        );
    }
    Ok(node)
}

fn bytes32(text: &str) -> Option<[u8; 32]> {
    hex::decode_array(text).ok()
}

/// The node id in `text`.
fn node_id(text: &str) -> Option<NodeId> {
    hex::decode_array(text).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use wallet_core::bolt11::Bolt11;
    use wallet_core::{DescriptionHash, FailureReason, Preimage};

    use super::*;
    use crate::node::NewInvoice;

    fn invoice(node: &FakeNode, new: NewInvoice) -> Bolt11 {
        Bolt11::parse(&node.create_invoice(new).unwrap().bolt11).unwrap()
    }

    fn amount(amount_msat: u64) -> NewInvoice {
        NewInvoice {
            amount_msat: Some(amount_msat),
            ..NewInvoice::default()
        }
    }

    #[test]
    fn a_network_in_every_state_reads_back_as_it_was_written() {
        let nodes = [
            ("alice".to_owned(), NodeConfig::new("alice")),
            (
                "bob".to_owned(),
                NodeConfig::new("bob").balance_msat(5_000_000),
            ),
        ];
        let restored = Restored::create(&nodes).unwrap();
        let alice = restored.node("alice").unwrap().clone();
        let bob = restored.node("bob").unwrap().clone();

        // Settled, with a description hash.
        let paid = invoice(
            &alice,
            NewInvoice {
                description_hash: Some(DescriptionHash::from_bytes([3; 32])),
                ..amount(1_000)
            },
        );
        bob.pay(&paid, 1_000, 10_000).unwrap();
        // Failed once, then paid: two attempts.
        let retried = invoice(&alice, amount(2_000));
        bob.control()
            .fail_next_payment(FailureReason::Other("temporary".into()));
        bob.pay(&retried, 2_000, 10_000).unwrap();
        bob.pay(&retried, 2_000, 10_000).unwrap();
        // Held: a payment in flight to a hold invoice.
        let held = Preimage::from_bytes([4; 32]);
        let hold = invoice(
            &alice,
            NewInvoice {
                hold_payment_hash: Some(held.payment_hash()),
                ..amount(3_000)
            },
        );
        bob.pay(&hold, 3_000, 10_000).unwrap();
        // Cancelled while held: the payment failed and was refunded.
        let cancelled = Preimage::from_bytes([5; 32]);
        let doomed = invoice(
            &alice,
            NewInvoice {
                hold_payment_hash: Some(cancelled.payment_hash()),
                ..amount(4_000)
            },
        );
        bob.pay(&doomed, 4_000, 10_000).unwrap();
        alice.cancel_invoice(&cancelled.payment_hash()).unwrap();
        // Open, amountless.
        invoice(&alice, NewInvoice::default());

        let image = restored.image().unwrap();
        let text = serde_json::to_vec(&image).unwrap();
        let read: NetworkImage = serde_json::from_slice(&text).unwrap();
        let again = Restored::from_image(read).unwrap();
        assert!(
            again.image().unwrap() == image,
            "the network changed on its way through the file"
        );
        let (alice_again, bob_again) = (again.node("alice").unwrap(), again.node("bob").unwrap());
        assert_eq!(alice_again.id(), alice.id());
        assert_eq!(alice_again.invoices().unwrap(), alice.invoices().unwrap());
        assert_eq!(bob_again.payments().unwrap(), bob.payments().unwrap());
        assert_eq!(
            bob_again.balance_msat().unwrap(),
            bob.balance_msat().unwrap()
        );
        // What is still held can still be settled after the round trip.
        alice_again.settle_hold_invoice(&held).unwrap();
        assert!(
            bob_again
                .payment(&held.payment_hash())
                .unwrap()
                .unwrap()
                .state
                .is_final()
        );
    }

    #[test]
    fn an_unknown_field_is_refused_rather_than_dropped() {
        let restored = Restored::create(&[("alice".to_owned(), NodeConfig::new("alice"))]).unwrap();
        let mut value = serde_json::to_value(restored.image().unwrap()).unwrap();
        value["nodes"][0]["channels"] = serde_json::json!([]);
        let err = serde_json::from_value::<NetworkImage>(value).err().unwrap();
        assert!(
            err.to_string().contains("unknown field `channels`"),
            "{err}"
        );
    }
}
