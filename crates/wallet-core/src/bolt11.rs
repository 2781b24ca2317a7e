//! BOLT11 decoding and the checks every backend runs before it dispatches a payment.
//!
//! Decoding locally, before anything reaches the node, is what lets
//! [`Wallet::pay_invoice`](crate::Wallet::pay_invoice) promise that an `Err` means nothing was
//! sent: malformed, expired, wrong-network and amount-rule violations never leave the process.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bitcoin::hashes::Hash as _;
pub use lightning_invoice::Currency;
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};

use crate::amount::MAX_MONEY_MSAT;
use crate::{DescriptionHash, PayError, PayInvoiceRequest, PaymentHash, WalletError, time};

/// A parsed BOLT11 invoice whose signature has been checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Bolt11 {
    invoice: Bolt11Invoice,
}

/// What an invoice says it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bolt11Description {
    /// The `d` field: a description in clear text.
    Memo(String),
    /// The `h` field: the sha256 of a description given elsewhere.
    Hash(DescriptionHash),
}

impl Bolt11 {
    /// Parses and checks an invoice. A `lightning:` prefix and surrounding whitespace are
    /// accepted; anything else wrong is an error naming the field `bolt11`.
    pub fn parse(text: &str) -> Result<Self, WalletError> {
        let trimmed = text.trim();
        let without_scheme = trimmed
            .strip_prefix("lightning:")
            .or_else(|| trimmed.strip_prefix("LIGHTNING:"))
            .unwrap_or(trimmed);
        if without_scheme.is_empty() {
            return Err(WalletError::invalid("bolt11", "empty invoice"));
        }
        let invoice = Bolt11Invoice::from_str(without_scheme)
            .map_err(|err| WalletError::invalid("bolt11", format!("not a valid invoice: {err}")))?;
        Ok(Self { invoice })
    }

    /// Wraps an invoice built with `lightning-invoice`.
    pub fn from_invoice(invoice: Bolt11Invoice) -> Self {
        Self { invoice }
    }

    /// The underlying `lightning-invoice` value, for fields this type does not expose.
    pub fn invoice(&self) -> &Bolt11Invoice {
        &self.invoice
    }

    /// The payment hash: the `checking_id` of this invoice and of any payment of it.
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash::from_bytes(self.invoice.payment_hash().to_byte_array())
    }

    /// The payment secret (`s` field) the payer must echo.
    pub fn payment_secret(&self) -> [u8; 32] {
        self.invoice.payment_secret().0
    }

    /// The amount in millisatoshis, or `None` for an amountless invoice.
    pub fn amount_msat(&self) -> Option<u64> {
        self.invoice.amount_milli_satoshis()
    }

    /// The description or its hash.
    pub fn description(&self) -> Bolt11Description {
        match self.invoice.description() {
            Bolt11InvoiceDescriptionRef::Direct(memo) => {
                Bolt11Description::Memo(memo.as_inner().0.clone())
            }
            Bolt11InvoiceDescriptionRef::Hash(hash) => {
                Bolt11Description::Hash(DescriptionHash::from_bytes(hash.0.to_byte_array()))
            }
        }
    }

    /// The network the invoice is for.
    pub fn currency(&self) -> Currency {
        self.invoice.currency()
    }

    /// The payee's node id, 33 bytes compressed.
    pub fn payee(&self) -> [u8; 33] {
        self.invoice.get_payee_pub_key().serialize()
    }

    /// When the invoice was created, in Unix seconds.
    pub fn created_at(&self) -> u64 {
        self.invoice.duration_since_epoch().as_secs()
    }

    /// How long after creation the invoice may be paid.
    pub fn expiry(&self) -> Duration {
        self.invoice.expiry_time()
    }

    /// When the invoice expires, in Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.created_at().saturating_add(self.expiry().as_secs())
    }

    /// Whether the invoice is past its expiry now.
    pub fn is_expired(&self) -> bool {
        time::unix_now() >= self.expires_at()
    }
}

impl fmt::Display for Bolt11 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.invoice.fmt(f)
    }
}

impl fmt::Debug for Bolt11 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bolt11")
            .field("payment_hash", &self.payment_hash())
            .field("amount_msat", &self.amount_msat())
            .field("currency", &self.currency())
            .finish_non_exhaustive()
    }
}

impl FromStr for Bolt11 {
    type Err = WalletError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A payment request that passed every check that can be made without the node.
#[derive(Clone, Debug)]
pub struct CheckedPayment {
    /// The decoded invoice.
    pub invoice: Bolt11,
    /// The amount to send, in millisatoshis (the invoice's, or the caller's for an amountless one).
    pub amount_msat: u64,
    /// Whether the caller supplied the amount because the invoice has none.
    pub amount_supplied: bool,
}

/// Runs the checks every backend must make before dispatching a payment: the invoice parses, is
/// for `network` (when the backend knows it), is not expired, and the amount rules hold (an
/// amountless invoice needs an amount; an invoice with an amount must not get another one).
pub fn check_payable(
    request: &PayInvoiceRequest,
    network: Option<&Currency>,
) -> Result<CheckedPayment, PayError> {
    request.validate().map_err(PayError::not_sent)?;
    let invoice = Bolt11::parse(&request.bolt11).map_err(PayError::not_sent)?;
    if let Some(network) = network
        && invoice.currency() != *network
    {
        return Err(PayError::not_sent(WalletError::invalid(
            "bolt11",
            format!(
                "invoice is for {:?}, this wallet is on {network:?}",
                invoice.currency()
            ),
        )));
    }
    if invoice.is_expired() {
        return Err(PayError::not_sent(WalletError::invalid(
            "bolt11",
            format!("invoice expired at {} (unix time)", invoice.expires_at()),
        )));
    }
    let (amount_msat, amount_supplied) = match (invoice.amount_msat(), request.amount_msat) {
        (Some(_), Some(_)) => {
            return Err(PayError::not_sent(WalletError::invalid(
                "amount_msat",
                "must not be given for an invoice that has an amount",
            )));
        }
        (None, None) => {
            return Err(PayError::not_sent(WalletError::invalid(
                "amount_msat",
                "required to pay an amountless invoice",
            )));
        }
        (Some(amount), None) => (amount, false),
        (None, Some(amount)) => (amount, true),
    };
    if amount_msat == 0 || amount_msat > MAX_MONEY_MSAT {
        return Err(PayError::not_sent(WalletError::invalid(
            "amount_msat",
            format!("{amount_msat} msat is not a payable amount"),
        )));
    }
    Ok(CheckedPayment {
        invoice,
        amount_msat,
        amount_supplied,
    })
}
