//! Node keys and BOLT11 signing.

use std::fmt;
use std::time::{Duration, SystemTime};

use bitcoin::hashes::{Hash as _, sha256};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use lightning_invoice::{
    Bolt11Invoice, Bolt11InvoiceDescription, Currency, Description, InvoiceBuilder, PaymentSecret,
    Sha256,
};
use wallet_core::{DescriptionHash, PaymentHash, WalletError};

/// The CLTV delta every fake invoice asks for (lnd's and BOLT11's default).
const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 18;

/// A node's signing key, derived from its secret.
pub(crate) struct NodeKeys {
    secret_key: SecretKey,
    pub(crate) public_key: PublicKey,
    secp: Secp256k1<All>,
}

impl fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeys")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// What a fake invoice commits to.
pub(crate) struct InvoiceTerms<'a> {
    pub(crate) currency: Currency,
    pub(crate) payment_hash: PaymentHash,
    pub(crate) payment_secret: [u8; 32],
    pub(crate) amount_msat: Option<u64>,
    pub(crate) memo: &'a str,
    pub(crate) description_hash: Option<DescriptionHash>,
    pub(crate) expiry: Duration,
    pub(crate) created_at: SystemTime,
    /// Whether the node id goes into the `n` field.
    pub(crate) payee_field: bool,
}

impl NodeKeys {
    /// Derives the key from `secret`: sha256 of a domain tag and the secret, so the same
    /// `FAKE_WALLET_SECRET` always gives the same node id.
    pub(crate) fn derive(secret: &str) -> Result<Self, WalletError> {
        let mut material = b"wallet-fake node key v1:".to_vec();
        material.extend_from_slice(secret.as_bytes());
        let digest = sha256::Hash::hash(&material).to_byte_array();
        let secret_key = SecretKey::from_slice(&digest).map_err(|err| {
            WalletError::invalid("FAKE_WALLET_SECRET", format!("unusable secret: {err}"))
        })?;
        let secp = Secp256k1::new();
        let public_key = secret_key.public_key(&secp);
        Ok(Self {
            secret_key,
            public_key,
            secp,
        })
    }

    /// The node id, 33 bytes compressed.
    pub(crate) fn node_id(&self) -> [u8; 33] {
        self.public_key.serialize()
    }

    /// Builds and signs a BOLT11 invoice.
    pub(crate) fn sign_invoice(
        &self,
        terms: &InvoiceTerms<'_>,
    ) -> Result<Bolt11Invoice, WalletError> {
        let description = match terms.description_hash {
            Some(hash) => Bolt11InvoiceDescription::Hash(Sha256(sha256::Hash::from_byte_array(
                *hash.as_bytes(),
            ))),
            None => Bolt11InvoiceDescription::Direct(
                Description::new(terms.memo.to_owned())
                    .map_err(|err| WalletError::invalid("memo", format!("{err:?}")))?,
            ),
        };
        let builder = InvoiceBuilder::new(terms.currency.clone())
            .invoice_description(description)
            .payment_hash(sha256::Hash::from_byte_array(
                *terms.payment_hash.as_bytes(),
            ))
            .payment_secret(PaymentSecret(terms.payment_secret))
            .timestamp(terms.created_at)
            .min_final_cltv_expiry_delta(MIN_FINAL_CLTV_EXPIRY_DELTA)
            .expiry_time(terms.expiry)
            .basic_mpp();
        let builder = match terms.amount_msat {
            Some(amount) => builder.amount_milli_satoshis(amount),
            None => builder,
        };
        let builder = if terms.payee_field {
            builder.payee_pub_key(self.public_key)
        } else {
            builder
        };
        builder
            .build_signed(|message| self.secp.sign_ecdsa_recoverable(message, &self.secret_key))
            .map_err(|err| WalletError::backend(None, format!("could not build invoice: {err:?}")))
    }
}

/// Fills a 32-byte array from the operating system's random source.
pub(crate) fn random_bytes() -> Result<[u8; 32], WalletError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| WalletError::backend(None, format!("no randomness: {err}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::bolt11::{Bolt11, Bolt11Description};

    #[test]
    fn the_same_secret_gives_the_same_node_id() {
        let a = NodeKeys::derive("ToTheMoon1").unwrap();
        let b = NodeKeys::derive("ToTheMoon1").unwrap();
        let c = NodeKeys::derive("other").unwrap();
        assert_eq!(a.node_id(), b.node_id());
        assert_ne!(a.node_id(), c.node_id());
    }

    #[test]
    fn signed_invoices_decode_with_the_same_terms() {
        let keys = NodeKeys::derive("alice").unwrap();
        let terms = InvoiceTerms {
            currency: Currency::Regtest,
            payment_hash: PaymentHash::from_bytes([3; 32]),
            payment_secret: [4; 32],
            amount_msat: Some(21_000),
            memo: "tea",
            description_hash: None,
            expiry: Duration::from_secs(600),
            created_at: SystemTime::now(),
            payee_field: false,
        };
        for payee_field in [false, true] {
            let terms = InvoiceTerms {
                payee_field,
                currency: terms.currency.clone(),
                ..terms
            };
            let signed = keys.sign_invoice(&terms).unwrap();
            assert_eq!(signed.payee_pub_key().is_some(), payee_field);
            let text = signed.to_string();
            assert!(text.starts_with("lnbcrt"), "{text}");
            for decoded in [
                Bolt11::parse(&text).unwrap(),
                Bolt11::from_invoice(signed).unwrap(),
            ] {
                assert_eq!(decoded.payment_hash(), terms.payment_hash);
                assert_eq!(decoded.amount_msat(), Some(21_000));
                assert_eq!(decoded.description(), Bolt11Description::Memo("tea".into()));
                assert_eq!(decoded.expiry(), Duration::from_secs(600));
                assert_eq!(decoded.payee(), keys.node_id());
                assert_eq!(decoded.payment_secret(), [4; 32]);
            }
        }
    }
}
