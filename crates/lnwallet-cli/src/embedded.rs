//! The embedded default: a FakeWallet network of two nodes kept in a data directory, so that
//! one command's invoice is the next command's payment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wallet_core::Settings;
use wallet_fake::settings::{ALIAS, BALANCE_MSAT, NETWORK, SECRET, parse_currency};
use wallet_fake::{FakeNetworkDir, NodeConfig, StoredFakeWallet};

use crate::{Failure, exit};

/// LNbits' data folder setting: where LNbits keeps its database, and where the embedded network
/// goes when it is set.
pub(crate) const DATA_FOLDER: &str = "LNBITS_DATA_FOLDER";
/// The node commands run on unless `--node` names another.
pub(crate) const DEFAULT_NODE: &str = "alice";
/// The other node, to pay and be paid by.
pub(crate) const OTHER_NODE: &str = "bob";

/// The data directory: `--data-dir`, else `LNBITS_DATA_FOLDER`, else the platform's.
pub(crate) fn data_dir(flag: Option<&Path>, settings: &Settings) -> Result<PathBuf, Failure> {
    if let Some(dir) = flag {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = settings
        .get(DATA_FOLDER)
        .filter(|dir| !dir.trim().is_empty())
    {
        return Ok(PathBuf::from(dir));
    }
    platform_data_dir().ok_or_else(|| {
        Failure::new(
            format!(
                "no data directory for the embedded FakeWallet: this platform's is unknown \
                 (HOME is not set); pass --data-dir or set {DATA_FOLDER}"
            ),
            exit::ERROR,
        )
    })
}

/// The platform's per-user data directory, with `lnwallet` in it.
fn platform_data_dir() -> Option<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = if cfg!(windows) {
        from_env("APPDATA")
    } else if cfg!(target_os = "macos") {
        from_env("HOME").map(|home| home.join("Library").join("Application Support"))
    } else {
        from_env("XDG_DATA_HOME").or_else(|| from_env("HOME").map(|home| home.join(".local/share")))
    };
    base.map(|base| base.join("lnwallet"))
}

/// A wallet on `node` of the network in `dir`, made (alice and bob, from the FakeWallet
/// settings) if the directory holds none; says so on stderr when it makes one, and warns about
/// FakeWallet settings that can no longer apply.
pub(crate) async fn open(
    dir: &Path,
    node: &str,
    settings: &Settings,
    lock_wait: Duration,
) -> Result<StoredFakeWallet, Failure> {
    let store = FakeNetworkDir::new(dir).lock_wait(lock_wait);
    let opened = store.create_if_missing(&new_nodes(settings)?).await?;
    let state = store.state_file();
    if opened.made {
        note!(
            "lnwallet: made a FakeWallet network with nodes {DEFAULT_NODE} and {OTHER_NODE} in {}",
            state.display()
        );
    } else {
        for key in [SECRET, NETWORK, ALIAS, BALANCE_MSAT] {
            if settings.get(key).is_some() {
                note!(
                    "warning: {key} applies when a network is made; {} holds one made earlier \
                     (move it away to start a new one)",
                    state.display()
                );
            }
        }
    }
    let names = opened.node_names;
    if !names.iter().any(|name| name == node) {
        return Err(Failure::new(
            format!(
                "--node {node:?}: {} has the nodes {}",
                state.display(),
                names.join(", ")
            ),
            exit::USAGE,
        ));
    }
    Ok(store.wallet(node))
}

/// The two nodes of a new network: alice as the FakeWallet settings say, bob alike but with a
/// key of his own.
fn new_nodes(settings: &Settings) -> Result<Vec<(String, NodeConfig)>, Failure> {
    let configure = |config: NodeConfig| -> Result<NodeConfig, Failure> {
        let mut config = config;
        if let Some(name) = settings.get(NETWORK) {
            config = config.currency(parse_currency(name)?);
        }
        if let Some(balance_msat) = settings.parse::<u64>(BALANCE_MSAT)? {
            config = config.balance_msat(balance_msat);
        }
        Ok(config)
    };
    let alice = NodeConfig::new(settings.get(ALIAS).unwrap_or(DEFAULT_NODE));
    let alice = match settings.get(SECRET) {
        Some(secret) => alice.secret(secret),
        None => alice.random_secret()?,
    };
    let bob = NodeConfig::new(OTHER_NODE).random_secret()?;
    Ok(vec![
        (DEFAULT_NODE.to_owned(), configure(alice)?),
        (OTHER_NODE.to_owned(), configure(bob)?),
    ])
}
