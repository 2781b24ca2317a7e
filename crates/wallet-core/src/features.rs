//! Features as data: what a backend supports, checked against its `Unsupported` errors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An optional capability of a backend.
///
/// The names follow LNbits' `Feature` enum (`HOLDINVOICE`, `NODEMANAGER`) and add the
/// differences between backends that callers have been bitten by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WalletFeature {
    /// Hold invoices: create with a given payment hash, settle with the preimage, cancel.
    HoldInvoice,
    /// Node management: node info, channels, peers.
    NodeManager,
    /// Invoices without an amount.
    AmountlessInvoice,
    /// Paying amountless invoices with an explicit amount.
    AmountlessPayment,
    /// Invoices committing to a bare description hash the backend never saw the text of
    /// (`description_hash`). Invoices made from an `unhashed_description` need no feature.
    DescriptionHash,
}

impl WalletFeature {
    /// Every feature, in declaration order.
    pub const ALL: [WalletFeature; 5] = [
        Self::HoldInvoice,
        Self::NodeManager,
        Self::AmountlessInvoice,
        Self::AmountlessPayment,
        Self::DescriptionHash,
    ];

    /// The upper-case name used by LNbits and in settings, e.g. `HOLDINVOICE`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::HoldInvoice => "HOLDINVOICE",
            Self::NodeManager => "NODEMANAGER",
            Self::AmountlessInvoice => "AMOUNTLESS_INVOICE",
            Self::AmountlessPayment => "AMOUNTLESS_PAYMENT",
            Self::DescriptionHash => "DESCRIPTION_HASH",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for WalletFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of features a backend supports.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Features(u8);

impl Features {
    /// No optional features.
    pub const NONE: Features = Features(0);

    /// Every feature.
    pub const fn all() -> Self {
        let mut bits = 0;
        let mut index = 0;
        while index < WalletFeature::ALL.len() {
            bits |= WalletFeature::ALL[index].bit();
            index += 1;
        }
        Self(bits)
    }

    /// This set plus `feature`.
    pub const fn with(self, feature: WalletFeature) -> Self {
        Self(self.0 | feature.bit())
    }

    /// This set minus `feature`.
    pub const fn without(self, feature: WalletFeature) -> Self {
        Self(self.0 & !feature.bit())
    }

    /// Whether `feature` is in the set.
    pub const fn contains(self, feature: WalletFeature) -> bool {
        self.0 & feature.bit() != 0
    }

    /// `Ok` if `feature` is supported, else the [`crate::WalletError::Unsupported`] error.
    pub fn require(self, feature: WalletFeature) -> Result<(), crate::WalletError> {
        if self.contains(feature) {
            Ok(())
        } else {
            Err(crate::WalletError::Unsupported(feature))
        }
    }

    /// The features in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = WalletFeature> {
        WalletFeature::ALL
            .into_iter()
            .filter(move |feature| self.contains(*feature))
    }
}

impl FromIterator<WalletFeature> for Features {
    fn from_iter<I: IntoIterator<Item = WalletFeature>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for Features {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_set_holds_what_was_added() {
        let features = Features::NONE.with(WalletFeature::HoldInvoice);
        assert!(features.contains(WalletFeature::HoldInvoice));
        assert!(!features.contains(WalletFeature::NodeManager));
        assert_eq!(
            features.require(WalletFeature::NodeManager),
            Err(crate::WalletError::Unsupported(WalletFeature::NodeManager))
        );
        assert_eq!(Features::all().iter().count(), WalletFeature::ALL.len());
        assert_eq!(
            Features::all()
                .without(WalletFeature::HoldInvoice)
                .iter()
                .count(),
            WalletFeature::ALL.len() - 1
        );
    }

    #[test]
    fn features_have_lnbits_names() {
        assert_eq!(WalletFeature::HoldInvoice.to_string(), "HOLDINVOICE");
        assert_eq!(WalletFeature::NodeManager.to_string(), "NODEMANAGER");
    }
}
