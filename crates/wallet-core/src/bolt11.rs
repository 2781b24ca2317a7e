//! BOLT11 decoding and the checks every backend runs before it dispatches a payment.
//!
//! Decoding locally, before anything reaches the node, is what lets
//! [`Wallet::pay_invoice`](crate::Wallet::pay_invoice) promise that an `Err` means nothing was
//! sent: malformed, expired, wrong-network and amount-rule violations never leave the process.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use bitcoin::hashes::Hash as _;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, VerifyOnly};
pub use lightning_invoice::Currency;
use lightning_invoice::{Bolt11Invoice, SignedRawBolt11Invoice};

use crate::amount::MAX_MONEY_MSAT;
use crate::{DescriptionHash, PayError, PayInvoiceRequest, PaymentHash, WalletError, time};

/// The expiry BOLT11 implies when an invoice has no `x` field.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(3600);

/// A parsed BOLT11 invoice whose signature has been checked.
///
/// Decoding is deliberately a little more lenient than `lightning-invoice`'s own checks: an
/// invoice without a features field (`9`) is accepted, because LNbits' FakeWallet and other
/// older writers issue them and nodes pay them. Everything a payer relies on is still required:
/// a valid signature, exactly one payment hash, a payment secret, a description or its hash, and
/// an amount in whole millisatoshis.
#[derive(Clone, PartialEq, Eq)]
pub struct Bolt11 {
    signed: SignedRawBolt11Invoice,
    payment_hash: PaymentHash,
    payment_secret: [u8; 32],
    amount_msat: Option<u64>,
    payee: [u8; 33],
}

/// What an invoice says it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bolt11Description {
    /// The `d` field: a description in clear text.
    Memo(String),
    /// The `h` field: the sha256 of a description given elsewhere.
    Hash(DescriptionHash),
}

fn invalid(reason: impl Into<String>) -> WalletError {
    WalletError::invalid("bolt11", reason)
}

/// The context every signature check shares: making one per check (as `lightning-invoice`'s
/// own checks do) costs a point multiplication each time, more than the check itself.
fn secp() -> &'static Secp256k1<VerifyOnly> {
    static CONTEXT: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    CONTEXT.get_or_init(Secp256k1::verification_only)
}

/// The payee whose signature the invoice carries (BOLT11): the `n` field's key, which the
/// signature must verify against, or else the key recovered from the signature, which it
/// verifies against by construction. One curve operation either way.
fn payee_of(signed: &SignedRawBolt11Invoice) -> Result<PublicKey, WalletError> {
    let message = Message::from_digest(*signed.signable_hash());
    let signature = &signed.signature().0;
    match signed.raw_invoice().payee_pub_key() {
        Some(payee) => {
            secp()
                .verify_ecdsa(&message, &signature.to_standard(), &payee.0)
                .map_err(|_| invalid("the signature does not match the invoice"))?;
            Ok(payee.0)
        }
        None => secp()
            .recover_ecdsa(&message, signature)
            .map_err(|err| invalid(format!("cannot recover the payee: {err}"))),
    }
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
            return Err(invalid("empty invoice"));
        }
        let prefix = without_scheme
            .get(..4)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if matches!(prefix.as_str(), "lno1" | "lni1" | "lnr1") {
            return Err(invalid(
                "is a BOLT12 offer, invoice or request, which this library does not support; \
                 ask for a BOLT11 invoice (lnbc...)",
            ));
        }
        let signed = SignedRawBolt11Invoice::from_str(without_scheme)
            .map_err(|err| invalid(format!("not a valid invoice: {err}")))?;
        Self::checked(signed)
    }

    /// Wraps an invoice built or decoded with `lightning-invoice`. Its signature was checked
    /// when `lightning-invoice` made the value (a `Bolt11Invoice` holds a valid signature by
    /// construction), so it is not checked again; the payee is its `n` field, or else recovered
    /// from the signature (one curve operation). The other checks of [`Bolt11::parse`] apply.
    pub fn from_invoice(invoice: Bolt11Invoice) -> Result<Self, WalletError> {
        let payee = match invoice.payee_pub_key() {
            Some(payee) => *payee,
            None => invoice.recover_payee_pub_key(),
        };
        Self::with_payee(invoice.into_signed_raw(), payee.serialize())
    }

    fn checked(signed: SignedRawBolt11Invoice) -> Result<Self, WalletError> {
        let payee = payee_of(&signed)?.serialize();
        Self::with_payee(signed, payee)
    }

    /// The checks past the signature, on an invoice signed by `payee`.
    fn with_payee(signed: SignedRawBolt11Invoice, payee: [u8; 33]) -> Result<Self, WalletError> {
        let raw = signed.raw_invoice();
        let payment_hashes = raw
            .known_tagged_fields()
            .filter(|field| matches!(field, lightning_invoice::TaggedField::PaymentHash(_)))
            .count();
        if payment_hashes != 1 {
            return Err(invalid(format!(
                "has {payment_hashes} payment hashes, not one"
            )));
        }
        let payment_hash = raw
            .payment_hash()
            .map(|hash| PaymentHash::from_bytes(hash.0.to_byte_array()))
            .ok_or_else(|| invalid("has no payment hash"))?;
        let payment_secret = raw
            .payment_secret()
            .map(|secret| secret.0)
            .ok_or_else(|| invalid("has no payment secret"))?;
        if raw.description().is_none() && raw.description_hash().is_none() {
            return Err(invalid("has neither a description nor a description hash"));
        }
        if raw
            .features()
            .is_some_and(|features| features.requires_unknown_bits())
        {
            return Err(invalid("requires features this wallet does not know"));
        }
        // lightning-invoice gives no amount when the written one overflows: that is an invalid
        // invoice, never an amountless one the payer may choose an amount for.
        let amount_msat = match (raw.hrp.raw_amount, raw.amount_pico_btc()) {
            (None, _) => None,
            (Some(_), None) => return Err(invalid("its amount is too large to be an amount")),
            (Some(_), Some(pico)) if pico % 10 != 0 => {
                return Err(invalid("its amount is not a whole number of millisatoshis"));
            }
            (Some(_), Some(pico)) => Some(pico / 10),
        };
        Ok(Self {
            signed,
            payment_hash,
            payment_secret,
            amount_msat,
            payee,
        })
    }

    /// The payment hash: the `checking_id` of this invoice and of any payment of it.
    pub fn payment_hash(&self) -> PaymentHash {
        self.payment_hash
    }

    /// The payment secret (`s` field) the payer must echo.
    pub fn payment_secret(&self) -> [u8; 32] {
        self.payment_secret
    }

    /// The amount in millisatoshis, or `None` for an amountless invoice.
    pub fn amount_msat(&self) -> Option<u64> {
        self.amount_msat
    }

    /// The description or its hash.
    pub fn description(&self) -> Bolt11Description {
        let raw = self.signed.raw_invoice();
        match (raw.description(), raw.description_hash()) {
            (Some(memo), _) => Bolt11Description::Memo(memo.as_inner().0.clone()),
            (None, Some(hash)) => {
                Bolt11Description::Hash(DescriptionHash::from_bytes(hash.0.to_byte_array()))
            }
            // `checked` refuses invoices with neither.
            (None, None) => Bolt11Description::Memo(String::new()),
        }
    }

    /// The network the invoice is for.
    pub fn currency(&self) -> Currency {
        self.signed.raw_invoice().currency()
    }

    /// The payee's node id, 33 bytes compressed.
    pub fn payee(&self) -> [u8; 33] {
        self.payee
    }

    /// When the invoice was created, in Unix seconds.
    pub fn created_at(&self) -> u64 {
        self.signed.raw_invoice().data.timestamp.as_unix_timestamp()
    }

    /// How long after creation the invoice may be paid.
    pub fn expiry(&self) -> Duration {
        self.signed
            .raw_invoice()
            .expiry_time()
            .map_or(DEFAULT_EXPIRY, |expiry| *expiry.as_duration())
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
        self.signed.fmt(f)
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

/// A payment request that passed every check that can be made without dispatching it.
#[derive(Clone, Debug)]
pub struct CheckedPayment {
    /// The decoded invoice.
    pub invoice: Bolt11,
    /// The amount to send, in millisatoshis (the invoice's, or the caller's for an amountless one).
    pub amount_msat: u64,
    /// Whether the caller supplied the amount because the invoice has none.
    pub amount_supplied: bool,
}

/// The local refusals the payment protocol makes before dispatch, once the node has shown it has
/// nothing in flight or paid for the hash ([`crate::pay`]): the invoice is for `network` (when
/// the backend knows it), is not expired, and the amount rules hold (an amountless invoice needs
/// an amount; an invoice with an amount must not get another one).
pub(crate) fn check_payable(
    request: &PayInvoiceRequest,
    invoice: Bolt11,
    network: Option<&Currency>,
) -> Result<CheckedPayment, PayError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A mainnet invoice whose human-readable part says `raw_amount` (no multiplier: whole
    /// bitcoin), correctly signed.
    fn invoice_with_raw_amount(raw_amount: u64) -> String {
        use crate::test_invoices::{TestInvoice, key};
        let mut template = TestInvoice::new([3; 32], Some(1_000));
        template.currency = lightning_invoice::Currency::Bitcoin;
        let mut raw = template.sign().into_signed_raw().raw_invoice().clone();
        raw.hrp.raw_amount = Some(raw_amount);
        raw.hrp.si_prefix = None;
        let secp = bitcoin::secp256k1::Secp256k1::new();
        raw.sign::<_, ()>(|message| Ok(secp.sign_ecdsa_recoverable(message, &key())))
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_bolt12_offer_is_named_as_such() {
        let offer = "lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrc2q3skgumxzcssyeyreggqmet8r4k6krvd3knppsx6c8v5g7tj8hcuq8ayhhyxqqjqq3yvd3nxz";
        let err = Bolt11::parse(offer).unwrap_err();
        assert!(err.to_string().contains("BOLT12"), "{err}");
        assert!(
            Bolt11::parse("LNO1QGSQ")
                .unwrap_err()
                .to_string()
                .contains("BOLT12")
        );
    }

    #[test]
    fn an_amount_that_overflows_is_an_invalid_invoice_not_an_amountless_one() {
        let overflowing = invoice_with_raw_amount(21_000_001);
        assert!(overflowing.starts_with("lnbc21000001"), "{overflowing}");
        let parsed = Bolt11::parse(&overflowing);
        assert!(
            parsed.is_err(),
            "{:?}",
            parsed.map(|invoice| invoice.amount_msat())
        );
        // The largest whole-bitcoin amounts that fit still parse (payments refuse them later).
        assert!(Bolt11::parse(&invoice_with_raw_amount(1)).is_ok());
        assert!(Bolt11::parse(&invoice_with_raw_amount(18_000_000)).is_ok());
    }

    /// An invoice from LNbits 1.6.2's FakeWallet: no features field, which LDK's strict checks
    /// refuse, but which LNbits users pay every day.
    const LNBITS_FAKE_WALLET_INVOICE: &str = "lnbc10u1p4shx9jdqz0qxqrrsssp5laujysmuw0m3j2k5l8mms8gj04y2a65yxj3r5wmmte30dvcgu4dqpp50u9a2utt7m26w8z07e7y9w68m5qjs9zzvel9v9vhwhhzd7mfpkzqml5w5vqyk08u0acw82rtkq489xg5d8wwhmzyz3v9lz9hajam24ersna337effnlq3exynqlk8s2sc3wsjm2vn4ll4ma2g45lk42jjksqh2x5pg";

    #[test]
    fn an_lnbits_fake_wallet_invoice_without_features_decodes() {
        assert!(LNBITS_FAKE_WALLET_INVOICE.parse::<Bolt11Invoice>().is_err());
        let invoice = Bolt11::parse(LNBITS_FAKE_WALLET_INVOICE).unwrap();
        assert_eq!(
            invoice.payment_hash().to_hex(),
            "7f0bd5716bf6d5a71c4ff67c42bb47dd01281442667e56159775ee26fb690d84"
        );
        assert_eq!(invoice.amount_msat(), Some(1_000_000));
        assert_eq!(invoice.description(), Bolt11Description::Memo("x".into()));
        assert_eq!(invoice.currency(), Currency::Bitcoin);
        assert_eq!(invoice.expiry(), Duration::from_secs(3600));
        assert_eq!(
            crate::hex::encode(&invoice.payee()),
            "02b3cfa77350f0b6c53a207c98d229983a2d9906bf75bd3ce5ec2c52d8dbc7a991"
        );
        assert_eq!(invoice.to_string(), LNBITS_FAKE_WALLET_INVOICE);
    }

    /// A signed invoice whose `n` field names `named`'s key, signed by `signer`.
    fn invoice_naming_payee(named: &SecretKey, signer: &SecretKey) -> String {
        use lightning_invoice::{PayeePubKey, RawTaggedField, TaggedField};
        let secp = Secp256k1::new();
        let template = crate::test_invoices::TestInvoice::new([4; 32], Some(1_000));
        let mut raw = template.sign().into_signed_raw().raw_invoice().clone();
        raw.data
            .tagged_fields
            .push(RawTaggedField::KnownSemantics(TaggedField::PayeePubKey(
                PayeePubKey(named.public_key(&secp)),
            )));
        raw.sign::<_, ()>(|message| Ok(secp.sign_ecdsa_recoverable(message, signer)))
            .unwrap()
            .to_string()
    }

    use bitcoin::secp256k1::SecretKey;

    #[test]
    fn the_payee_is_the_n_field_when_the_signature_verifies_against_it() {
        let secp = Secp256k1::new();
        let payee = SecretKey::from_slice(&[9; 32]).unwrap();
        let parsed = Bolt11::parse(&invoice_naming_payee(&payee, &payee)).unwrap();
        assert_eq!(parsed.payee(), payee.public_key(&secp).serialize());

        let someone_else = SecretKey::from_slice(&[8; 32]).unwrap();
        let err = Bolt11::parse(&invoice_naming_payee(&payee, &someone_else)).unwrap_err();
        assert!(
            err.to_string().contains("signature does not match"),
            "{err}"
        );
    }

    #[test]
    fn without_an_n_field_the_payee_is_the_signer() {
        use crate::test_invoices::{TestInvoice, key};
        let secp = Secp256k1::new();
        let parsed =
            Bolt11::parse(&TestInvoice::new([5; 32], Some(1_000)).sign().to_string()).unwrap();
        assert_eq!(parsed.payee(), key().public_key(&secp).serialize());
    }

    #[test]
    fn a_tampered_invoice_fails_its_signature_check() {
        // Any changed character breaks the bech32 checksum or the signature.
        let mut tampered = LNBITS_FAKE_WALLET_INVOICE.to_owned();
        tampered.replace_range(20..21, "q");
        let err = Bolt11::parse(&tampered).unwrap_err();
        assert_eq!(err.field(), Some("bolt11"));
    }

    #[test]
    fn garbage_is_an_error_naming_bolt11() {
        for text in ["", "lightning:", "lnbc1", "hello", "lnbc10u1qqqqqq"] {
            assert_eq!(
                Bolt11::parse(text).unwrap_err().field(),
                Some("bolt11"),
                "{text}"
            );
        }
    }
}
