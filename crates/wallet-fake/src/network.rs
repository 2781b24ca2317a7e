//! The network: nodes sharing one ledger, joined through a routing hub.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use wallet_core::WalletError;

use crate::config::{NetworkConfig, NodeConfig};
use crate::keys::NodeKeys;
use crate::node::FakeNode;
use crate::snapshot::NodeId;
use crate::state::{NetworkState, NodeState};

/// An in-memory Lightning network.
///
/// Every node has a channel to one routing hub, which charges
/// [`NetworkConfig::routing_fee_msat`] to forward between two nodes. Payments move balances,
/// reveal preimages and settle invoices for real; nothing touches the disk or the network.
/// Clones share the same network.
#[derive(Clone)]
pub struct FakeNetwork {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) config: NetworkConfig,
    state: Mutex<NetworkState>,
    pub(crate) hub_id: NodeId,
    keys: Mutex<HashMap<NodeId, Arc<NodeKeys>>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, NetworkState> {
        // A panic while holding the lock cannot leave a half-applied transition behind: every
        // transition checks before it mutates. So a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeNetwork {
    /// A network with the default rules.
    pub fn new() -> Self {
        Self::with_config(NetworkConfig::default())
    }

    /// A network with `config`.
    pub fn with_config(config: NetworkConfig) -> Self {
        let hub_id = NodeKeys::derive("wallet-fake routing hub")
            .map(|keys| keys.node_id())
            .unwrap_or([2; 33]);
        Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(NetworkState::default()),
                hub_id,
                keys: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The process-wide network that settings-built [`crate::FakeWallet`]s join, so wallets
    /// made by the registry in one process can pay each other.
    pub fn global() -> Self {
        static GLOBAL: OnceLock<FakeNetwork> = OnceLock::new();
        GLOBAL.get_or_init(FakeNetwork::new).clone()
    }

    /// The network's rules.
    pub fn config(&self) -> &NetworkConfig {
        &self.shared.config
    }

    /// Adds a node, or returns the existing node with the same key (same secret).
    pub fn add_node(&self, config: NodeConfig) -> Result<FakeNode, WalletError> {
        let keys = Arc::new(NodeKeys::derive(config.secret.expose())?);
        let id = keys.node_id();
        let keys = {
            let mut known = self
                .shared
                .keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            known.entry(id).or_insert(keys).clone()
        };
        let mut state = self.shared.lock();
        let node = state.nodes.entry(id).or_insert_with(|| {
            NodeState::new(
                config.alias.clone(),
                config.currency.clone(),
                config.initial_balance_msat,
            )
        });
        Ok(FakeNode::new(
            self.clone(),
            id,
            keys,
            node.alias.clone(),
            node.currency.clone(),
            config.default_expiry,
        ))
    }

    /// How many nodes the network has.
    pub fn node_count(&self) -> usize {
        self.shared.lock().nodes.len()
    }
}

impl Default for FakeNetwork {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FakeNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeNetwork")
            .field("config", &self.shared.config)
            .field("nodes", &self.node_count())
            .finish()
    }
}
