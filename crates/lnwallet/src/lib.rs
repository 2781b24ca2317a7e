#![doc = include_str!("../README.md")]

#[cfg(feature = "cln")]
pub use wallet_cln;
pub use wallet_core;
pub use wallet_core::registry::BACKEND_CLASS_SETTING;
pub use wallet_core::{Registry, Settings, Wallet, WalletError};
#[cfg(feature = "fake")]
pub use wallet_fake;
#[cfg(feature = "lnbits")]
pub use wallet_lnbits;
#[cfg(feature = "lnd")]
pub use wallet_lnd;

/// The class used when settings name none: the embedded, in-memory [`wallet_fake::FakeWallet`].
#[cfg(feature = "fake")]
pub const DEFAULT_CLASS: &str = wallet_fake::settings::CLASS_NAME;

/// A registry of every backend compiled into this build (see the crate's cargo features).
pub fn registry() -> Registry {
    #[allow(unused_mut)] // Empty when no backend feature is enabled.
    let mut registry = Registry::new();
    #[cfg(feature = "fake")]
    wallet_fake::FakeWallet::register(&mut registry);
    #[cfg(feature = "lnbits")]
    wallet_lnbits::LnbitsWallet::register(&mut registry);
    #[cfg(feature = "lnd")]
    wallet_lnd::LndWallet::register(&mut registry);
    #[cfg(feature = "cln")]
    wallet_cln::CoreLightningWallet::register(&mut registry);
    registry
}

/// Builds the wallet `settings` name with `LNBITS_BACKEND_WALLET_CLASS`, as LNbits does.
pub fn from_settings(settings: &Settings) -> Result<Box<dyn Wallet>, WalletError> {
    registry().build(settings)
}

/// Builds the wallet named by this process's environment (an LNbits `.env` loaded into it works
/// unchanged).
pub fn from_env() -> Result<Box<dyn Wallet>, WalletError> {
    from_settings(&Settings::from_env())
}

#[cfg(all(test, feature = "fake"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lnbits_settings_build_a_fake_wallet() {
        let settings = Settings::new()
            .with(BACKEND_CLASS_SETTING, "FakeWallet")
            .with("FAKE_WALLET_SECRET", "lnwallet-registry-test");
        let wallet = from_settings(&settings).unwrap();
        assert!(wallet.status().await.unwrap().balance_msat > 0);
    }

    #[test]
    fn an_unknown_class_is_an_error_naming_the_setting() {
        let settings = Settings::new().with(BACKEND_CLASS_SETTING, "VoidWallet");
        let err = from_settings(&settings).unwrap_err();
        assert_eq!(err.field(), Some(BACKEND_CLASS_SETTING));
    }

    #[test]
    fn a_bad_fake_setting_names_the_key() {
        let settings = Settings::new()
            .with(BACKEND_CLASS_SETTING, "FakeWallet")
            .with("FAKE_WALLET_NETWORK", "moon");
        let err = from_settings(&settings).unwrap_err();
        assert_eq!(err.field(), Some("FAKE_WALLET_NETWORK"));
    }
}
