//! Signed BOLT11 invoices for this crate's unit tests, built one way.

use std::time::{Duration, SystemTime};

use bitcoin::hashes::{Hash as _, sha256};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};

use crate::DescriptionHash;

/// What a test invoice says; [`TestInvoice::sign`] makes it.
pub(crate) struct TestInvoice {
    pub(crate) currency: Currency,
    pub(crate) payment_hash: [u8; 32],
    pub(crate) amount_msat: Option<u64>,
    /// Committed to instead of the memo "test".
    pub(crate) description_hash: Option<DescriptionHash>,
    pub(crate) created: SystemTime,
    pub(crate) expiry: Duration,
}

impl TestInvoice {
    /// A regtest invoice for `payment_hash` of `amount_msat`, created now, valid for an hour.
    pub(crate) fn new(payment_hash: [u8; 32], amount_msat: Option<u64>) -> Self {
        Self {
            currency: Currency::Regtest,
            payment_hash,
            amount_msat,
            description_hash: None,
            created: SystemTime::now(),
            expiry: Duration::from_secs(3_600),
        }
    }

    /// Signs it with the test key.
    pub(crate) fn sign(self) -> Bolt11Invoice {
        let builder = InvoiceBuilder::new(self.currency);
        let builder = match self.description_hash {
            Some(hash) => builder.description_hash(sha256::Hash::from_byte_array(*hash.as_bytes())),
            None => builder.description("test".into()),
        };
        let builder = builder
            .payment_hash(sha256::Hash::from_byte_array(self.payment_hash))
            .payment_secret(PaymentSecret([0x42; 32]))
            .timestamp(self.created)
            .min_final_cltv_expiry_delta(18)
            .expiry_time(self.expiry);
        let builder = match self.amount_msat {
            Some(amount) => builder.amount_milli_satoshis(amount),
            None => builder,
        };
        builder
            .build_signed(|message| Secp256k1::new().sign_ecdsa_recoverable(message, &key()))
            .unwrap()
    }
}

/// The key every test invoice is signed with.
pub(crate) fn key() -> SecretKey {
    SecretKey::from_slice(&[0x11; 32]).unwrap()
}
