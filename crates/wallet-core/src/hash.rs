//! Payment hashes, preimages and description hashes.
//!
//! A [`PaymentHash`] is the `checking_id` of every invoice and payment on every backend
//! (contract rule 4), written as lowercase hex. A [`Preimage`] never shows itself in `Debug` output: the
//! preimage of an unpaid invoice is the secret that releases its money.

use std::fmt;
use std::str::FromStr;

use bitcoin::hashes::{Hash as _, sha256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{WalletError, hex};

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha256::Hash::hash(bytes).to_byte_array()
}

macro_rules! hex_newtype_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The sha256 payment hash of an invoice: the `checking_id` of invoices and payments.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentHash([u8; 32]);

impl PaymentHash {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hex digits; the error names the field `payment_hash`.
    pub fn from_hex(text: &str) -> Result<Self, WalletError> {
        hex::decode_array(text)
            .map(Self)
            .map_err(|err| WalletError::invalid("payment_hash", err.to_string()))
    }

    /// Parses bytes of any length, refusing all but 32.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, WalletError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            WalletError::invalid(
                "payment_hash",
                format!("expected 32 bytes, got {}", bytes.len()),
            )
        })
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex: the `checking_id` string.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// Whether `preimage` hashes to this payment hash.
    pub fn is_paid_by(&self, preimage: &Preimage) -> bool {
        preimage.payment_hash() == *self
    }
}

impl fmt::Display for PaymentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PaymentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentHash({})", self.to_hex())
    }
}

impl FromStr for PaymentHash {
    type Err = WalletError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

hex_newtype_serde!(PaymentHash);

/// The 32-byte secret whose sha256 is the payment hash. `Debug` never prints it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Preimage([u8; 32]);

impl Preimage {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hex digits; the error names the field `preimage`.
    pub fn from_hex(text: &str) -> Result<Self, WalletError> {
        hex::decode_array(text)
            .map(Self)
            .map_err(|err| WalletError::invalid("preimage", err.to_string()))
    }

    /// Parses bytes of any length, refusing all but 32.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, WalletError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            WalletError::invalid(
                "preimage",
                format!("expected 32 bytes, got {}", bytes.len()),
            )
        })
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex. Only call this where revealing the preimage is intended.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The payment hash this preimage unlocks.
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash(sha256(&self.0))
    }
}

impl fmt::Debug for Preimage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Preimage(<redacted>)")
    }
}

hex_newtype_serde!(Preimage);

/// The sha256 of an invoice's description, carried in the BOLT11 `h` field.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DescriptionHash([u8; 32]);

impl DescriptionHash {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash of a full description, as LNURL's `unhashed_description` asks.
    pub fn of_description(description: &[u8]) -> Self {
        Self(sha256(description))
    }

    /// Parses 64 hex digits; the error names the field `description_hash`.
    pub fn from_hex(text: &str) -> Result<Self, WalletError> {
        hex::decode_array(text)
            .map(Self)
            .map_err(|err| WalletError::invalid("description_hash", err.to_string()))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Debug for DescriptionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DescriptionHash({})", self.to_hex())
    }
}

hex_newtype_serde!(DescriptionHash);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preimage_unlocks_exactly_its_hash() {
        let preimage = Preimage::from_bytes([7; 32]);
        let hash = preimage.payment_hash();
        assert!(hash.is_paid_by(&preimage));
        assert!(!hash.is_paid_by(&Preimage::from_bytes([8; 32])));
    }

    #[test]
    fn debug_never_shows_a_preimage() {
        let preimage = Preimage::from_bytes([0xab; 32]);
        let shown = format!("{preimage:?}");
        assert!(!shown.contains("abab"), "{shown}");
    }

    #[test]
    fn payment_hashes_print_as_lowercase_hex_and_parse_either_case() {
        let hash = PaymentHash::from_bytes([0xAB; 32]);
        assert_eq!(hash.to_string(), "ab".repeat(32));
        assert_eq!(PaymentHash::from_hex(&"AB".repeat(32)).unwrap(), hash);
    }

    #[test]
    fn a_bad_payment_hash_is_an_error_naming_the_field() {
        for text in ["", "00", "zz", &"0".repeat(63), &"0".repeat(66)] {
            let err = PaymentHash::from_hex(text).unwrap_err();
            assert_eq!(err.field(), Some("payment_hash"), "{text}");
        }
    }

    #[test]
    fn hashes_and_preimages_serialize_as_hex() {
        let hash = PaymentHash::from_bytes([1; 32]);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{}\"", "01".repeat(32)));
        let back: PaymentHash = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hash);
        assert!(serde_json::from_str::<Preimage>("\"00\"").is_err());
    }
}
