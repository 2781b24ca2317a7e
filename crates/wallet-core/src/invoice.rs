//! Incoming payments: invoice requests, responses and states.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::amount::MAX_MONEY_MSAT;
use crate::bolt11::{Bolt11, Bolt11Description};
use crate::{DescriptionHash, PaymentHash, Preimage, WalletError};

/// The longest memo a BOLT11 `d` field can carry, in bytes.
pub const MAX_MEMO_BYTES: usize = 639;

/// The longest `unhashed_description` accepted, in bytes (LNURL metadata is far smaller).
pub const MAX_UNHASHED_DESCRIPTION_BYTES: usize = 64 * 1024;

/// The longest invoice expiry accepted: one year, as in lnd.
pub const MAX_EXPIRY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A request for a new invoice (LNbits' `create_invoice` arguments).
///
/// Build one with [`InvoiceRequest::new`] or [`InvoiceRequest::amountless`] and the setters.
/// Backends call [`InvoiceRequest::validate`] before anything else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRequest {
    /// The amount to request, in millisatoshis; `None` asks for an amountless invoice.
    pub amount_msat: Option<u64>,
    /// A human-readable memo. It becomes the BOLT11 description unless a description hash is set.
    pub memo: Option<String>,
    /// A description hash to commit to instead of the memo (BOLT11 `h`).
    pub description_hash: Option<DescriptionHash>,
    /// A full description (e.g. LNURL metadata) whose sha256 becomes the description hash.
    pub unhashed_description: Option<Vec<u8>>,
    /// How long the invoice can be paid; `None` leaves it to the backend (usually one hour).
    pub expiry: Option<Duration>,
}

impl InvoiceRequest {
    /// An invoice for `amount_msat` millisatoshis.
    pub fn new(amount_msat: u64) -> Self {
        Self {
            amount_msat: Some(amount_msat),
            ..Self::default()
        }
    }

    /// An invoice without an amount: the payer chooses it.
    pub fn amountless() -> Self {
        Self::default()
    }

    /// Sets the memo.
    pub fn memo(mut self, memo: impl Into<String>) -> Self {
        self.memo = Some(memo.into());
        self
    }

    /// Commits to a description hash instead of the memo.
    pub fn description_hash(mut self, hash: DescriptionHash) -> Self {
        self.description_hash = Some(hash);
        self
    }

    /// Commits to the sha256 of `description` (LNURL-pay's metadata).
    pub fn unhashed_description(mut self, description: impl Into<Vec<u8>>) -> Self {
        self.unhashed_description = Some(description.into());
        self
    }

    /// Sets the expiry.
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), WalletError> {
        if let Some(amount) = self.amount_msat {
            if amount == 0 {
                return Err(WalletError::invalid(
                    "amount_msat",
                    "must be positive; use an amountless invoice for no amount",
                ));
            }
            if amount > MAX_MONEY_MSAT {
                return Err(WalletError::invalid(
                    "amount_msat",
                    format!("{amount} msat is more than 21M BTC"),
                ));
            }
        }
        if let Some(memo) = &self.memo
            && memo.len() > MAX_MEMO_BYTES
        {
            return Err(WalletError::invalid(
                "memo",
                format!(
                    "{} bytes is longer than the BOLT11 limit of {MAX_MEMO_BYTES}",
                    memo.len()
                ),
            ));
        }
        if self.description_hash.is_some() && self.unhashed_description.is_some() {
            return Err(WalletError::invalid(
                "description_hash",
                "give either description_hash or unhashed_description, not both",
            ));
        }
        if let Some(description) = &self.unhashed_description {
            if description.is_empty() {
                return Err(WalletError::invalid("unhashed_description", "is empty"));
            }
            if description.len() > MAX_UNHASHED_DESCRIPTION_BYTES {
                return Err(WalletError::invalid(
                    "unhashed_description",
                    format!(
                        "{} bytes is longer than {MAX_UNHASHED_DESCRIPTION_BYTES}",
                        description.len()
                    ),
                ));
            }
        }
        if let Some(expiry) = self.expiry {
            if expiry.as_secs() == 0 {
                return Err(WalletError::invalid(
                    "expiry",
                    "must be at least one second",
                ));
            }
            if expiry > MAX_EXPIRY {
                return Err(WalletError::invalid(
                    "expiry",
                    format!("{} s is longer than one year", expiry.as_secs()),
                ));
            }
        }
        Ok(())
    }

    /// The description hash the invoice must carry, from either description form.
    pub fn effective_description_hash(&self) -> Option<DescriptionHash> {
        self.description_hash.or_else(|| {
            self.unhashed_description
                .as_deref()
                .map(DescriptionHash::of_description)
        })
    }

    /// The response for an invoice `node` issued for this request, after checking it: it must
    /// decode, carry the requested amount (or none) and expiry (when one was asked for), commit to
    /// the requested description hash, and be for `payment_hash`, the hash the node says it is for (or the hold invoice's).
    /// A node that answers with another invoice gets an error, never an invoice shown to a payer
    /// (contract rule 12).
    pub fn issued(
        &self,
        node: &str,
        payment_request: String,
        payment_hash: Option<PaymentHash>,
    ) -> Result<InvoiceResponse, WalletError> {
        let invoice = Bolt11::parse(&payment_request).map_err(|err| {
            WalletError::backend(None, format!("{node} returned an unusable invoice ({err})"))
        })?;
        // The invoice as it decoded: no `lightning:` prefix, stray whitespace or upper case
        // from the node reaches a payer. Text already in that form is kept as the node wrote it.
        let canonical = payment_request.starts_with("ln")
            && payment_request
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
        self.check_issued(node, &invoice, payment_hash)?;
        Ok(InvoiceResponse {
            checking_id: invoice.payment_hash(),
            expires_at: invoice.expires_at(),
            payment_request: if canonical {
                payment_request
            } else {
                invoice.to_string()
            },
        })
    }

    /// The checks of [`InvoiceRequest::issued`] past decoding, for an invoice already decoded and
    /// checked, e.g. one this process signed with `lightning-invoice` ([`Bolt11::from_invoice`]).
    pub fn check_issued(
        &self,
        node: &str,
        invoice: &Bolt11,
        payment_hash: Option<PaymentHash>,
    ) -> Result<(), WalletError> {
        let mismatch = |what: &str| {
            Err(WalletError::backend(
                None,
                format!("{node} returned an invoice with {what} than requested"),
            ))
        };
        if payment_hash.is_some_and(|hash| hash != invoice.payment_hash()) {
            return mismatch("another payment hash");
        }
        if invoice.amount_msat() != self.amount_msat {
            return mismatch("another amount");
        }
        // Nodes take whole seconds: 90.5 s asked is 90 s issued.
        if self
            .expiry
            .is_some_and(|expiry| invoice.expiry().as_secs() != expiry.as_secs())
        {
            return mismatch("another expiry");
        }
        match (self.effective_description_hash(), &self.memo) {
            (Some(hash), _) if invoice.description() != Bolt11Description::Hash(hash) => {
                return mismatch("another description hash");
            }
            (None, Some(memo))
                if !memo.is_empty()
                    && invoice.description() != Bolt11Description::Memo(memo.clone()) =>
            {
                return mismatch("another description");
            }
            _ => {}
        }
        Ok(())
    }
}

/// A request for a hold invoice: the caller keeps the preimage and settles or cancels later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldInvoiceRequest {
    /// The payment hash to lock the invoice to; only the caller knows its preimage.
    pub payment_hash: PaymentHash,
    /// Amount, memo, description and expiry, as for a normal invoice.
    pub invoice: InvoiceRequest,
}

/// A newly created invoice (LNbits' `InvoiceResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceResponse {
    /// The id to check the invoice with: always its payment hash.
    pub checking_id: PaymentHash,
    /// The BOLT11 invoice to hand to the payer.
    pub payment_request: String,
    /// When it expires, in Unix seconds.
    pub expires_at: u64,
}

/// The state of an invoice (incoming payment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Open: not paid yet and not expired.
    Pending,
    /// A hold invoice whose payment has arrived and waits for settle or cancel.
    Held {
        /// The amount locked in, in millisatoshis.
        amount_received_msat: u64,
    },
    /// Paid and settled.
    Paid {
        /// The amount received, in millisatoshis (may exceed the invoice amount, and is the only
        /// amount an amountless invoice has).
        amount_received_msat: u64,
        /// The preimage, which hashes to the payment hash.
        preimage: Preimage,
        /// When it was settled, in Unix seconds.
        paid_at: u64,
    },
    /// Past its expiry without payment.
    Expired,
    /// Cancelled (a hold invoice cancelled, or an invoice deleted) before being paid.
    Cancelled,
    /// The backend has no invoice with this hash.
    Unknown,
}

impl InvoiceStatus {
    /// A paid status, after checking that `preimage` unlocks `payment_hash`. A mismatch means
    /// the backend's data is inconsistent, reported as a [`WalletError::Backend`] error.
    pub fn checked_paid(
        payment_hash: &PaymentHash,
        preimage: Preimage,
        amount_received_msat: u64,
        paid_at: u64,
    ) -> Result<Self, WalletError> {
        if payment_hash.is_paid_by(&preimage) {
            Ok(Self::Paid {
                amount_received_msat,
                preimage,
                paid_at,
            })
        } else {
            Err(WalletError::backend(
                None,
                format!("the preimage reported for invoice {payment_hash} does not match its hash"),
            ))
        }
    }

    /// Whether the invoice was paid and settled.
    pub fn is_paid(&self) -> bool {
        matches!(self, Self::Paid { .. })
    }

    /// Whether the state can no longer change.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Paid { .. } | Self::Expired | Self::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed regtest invoice for hash `[3; 32]` with `amount_msat`, described by a memo or
    /// committing to `hash`.
    fn issued_invoice(amount_msat: Option<u64>, hash: Option<DescriptionHash>) -> String {
        let mut invoice = crate::test_invoices::TestInvoice::new([3; 32], amount_msat);
        invoice.description_hash = hash;
        invoice.sign().to_string()
    }

    #[test]
    fn an_issued_invoice_must_match_the_request() {
        let hash = PaymentHash::from_bytes([3; 32]);
        let other_hash = PaymentHash::from_bytes([9; 32]);
        let metadata = b"[[\"text/plain\",\"lnurl\"]]".to_vec();
        let committed = DescriptionHash::of_description(&metadata);
        let plain = InvoiceRequest::new(5_000);
        let described = InvoiceRequest::new(5_000).unhashed_description(metadata);

        let matching = plain.issued("node", issued_invoice(Some(5_000), None), Some(hash));
        assert_eq!(matching.unwrap().checking_id, hash);
        let committing = issued_invoice(Some(5_000), Some(committed));
        assert!(described.issued("node", committing, Some(hash)).is_ok());

        let wrong = [
            (&plain, issued_invoice(Some(5_001), None), Some(hash)),
            (&plain, issued_invoice(None, None), Some(hash)),
            (&plain, issued_invoice(Some(5_000), None), Some(other_hash)),
            (&described, issued_invoice(Some(5_000), None), Some(hash)),
            (
                &described,
                issued_invoice(Some(5_000), Some(DescriptionHash::of_description(b"x"))),
                Some(hash),
            ),
            (&plain, "lnbcrt1garbage".to_owned(), Some(hash)),
        ];
        for (request, invoice, expected_hash) in wrong {
            let checked = request.issued("node", invoice.clone(), expected_hash);
            assert!(checked.is_err(), "{request:?} / {invoice}: {checked:?}");
        }
        let memo = InvoiceRequest::new(5_000).memo("test");
        assert!(
            memo.issued("node", issued_invoice(Some(5_000), None), Some(hash))
                .is_ok()
        );
        let other_memo = InvoiceRequest::new(5_000).memo("tea");
        assert!(
            other_memo
                .issued("node", issued_invoice(Some(5_000), None), Some(hash))
                .is_err()
        );
        let prefixed = format!("lightning:{} ", issued_invoice(Some(5_000), None));
        let normalised = plain.issued("node", prefixed, Some(hash)).unwrap();
        assert!(
            normalised.payment_request.starts_with("lnbcrt"),
            "{}",
            normalised.payment_request
        );
        let mut expiring = crate::test_invoices::TestInvoice::new([3; 32], Some(5_000));
        expiring.expiry = Duration::from_secs(60);
        let expiring = expiring.sign().to_string();
        let asked_60 = InvoiceRequest::new(5_000)
            .memo("test")
            .expiry(Duration::from_secs(60));
        assert!(
            asked_60
                .issued("node", expiring.clone(), Some(hash))
                .is_ok()
        );
        let asked_61 = asked_60.clone().expiry(Duration::from_secs(61));
        let refused = asked_61.issued("node", expiring.clone(), Some(hash));
        assert!(
            refused
                .as_ref()
                .is_err_and(|err| err.to_string().contains("another expiry")),
            "{refused:?}"
        );
        assert!(
            plain.issued("node", expiring, Some(hash)).is_ok(),
            "no expiry asked for: the node's default is fine"
        );
        let amountless = InvoiceRequest::amountless();
        assert!(
            amountless
                .issued("node", issued_invoice(None, None), None)
                .is_ok()
        );
        assert!(
            amountless
                .issued("node", issued_invoice(Some(1), None), None)
                .is_err()
        );
    }

    #[test]
    fn a_plain_request_is_valid() {
        InvoiceRequest::new(1_000)
            .memo("coffee")
            .expiry(Duration::from_secs(600))
            .validate()
            .unwrap();
        InvoiceRequest::amountless().validate().unwrap();
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (InvoiceRequest::new(0), "amount_msat"),
            (InvoiceRequest::new(MAX_MONEY_MSAT + 1), "amount_msat"),
            (InvoiceRequest::new(1).memo("x".repeat(640)), "memo"),
            (
                InvoiceRequest::new(1)
                    .description_hash(DescriptionHash::from_bytes([0; 32]))
                    .unhashed_description("x"),
                "description_hash",
            ),
            (
                InvoiceRequest::new(1).unhashed_description(Vec::new()),
                "unhashed_description",
            ),
            (InvoiceRequest::new(1).expiry(Duration::ZERO), "expiry"),
            (
                InvoiceRequest::new(1).expiry(MAX_EXPIRY + Duration::from_secs(1)),
                "expiry",
            ),
        ];
        for (request, field) in cases {
            let err = request.validate().unwrap_err();
            assert_eq!(err.field(), Some(field), "{request:?}: {err}");
        }
    }

    #[test]
    fn a_paid_status_needs_the_matching_preimage() {
        let preimage = Preimage::from_bytes([2; 32]);
        let hash = preimage.payment_hash();
        assert!(
            InvoiceStatus::checked_paid(&hash, preimage, 1, 0)
                .unwrap()
                .is_paid()
        );
        let other = PaymentHash::from_bytes([3; 32]);
        assert!(InvoiceStatus::checked_paid(&other, preimage, 1, 0).is_err());
    }

    #[test]
    fn a_memo_of_exactly_the_bolt11_limit_is_accepted() {
        InvoiceRequest::new(1)
            .memo("x".repeat(MAX_MEMO_BYTES))
            .validate()
            .unwrap();
    }

    #[test]
    fn an_unhashed_description_becomes_its_sha256() {
        let request = InvoiceRequest::new(1).unhashed_description("[[\"text/plain\",\"hi\"]]");
        assert_eq!(
            request.effective_description_hash(),
            Some(DescriptionHash::of_description(
                b"[[\"text/plain\",\"hi\"]]"
            ))
        );
        assert_eq!(InvoiceRequest::new(1).effective_description_hash(), None);
    }
}
