//! What the three services share: the fake node, its network name, and the switch that drops
//! every connection.

use std::sync::Arc;

use tokio::sync::watch;
use tonic::Status;
use wallet_fake::{FakeNode, FakeNodeError};

/// The simulated daemon behind the gRPC services.
#[derive(Clone)]
pub(crate) struct Daemon {
    pub(crate) node: FakeNode,
    /// lnd's network name: `regtest`, `mainnet`, `testnet`, `signet` or `simnet`.
    pub(crate) network: String,
    pub(crate) port: u16,
    pub(crate) kill: Arc<watch::Sender<u64>>,
}

impl Daemon {
    /// Drops every open connection, as a crash would.
    pub(crate) fn drop_connections(&self) {
        self.kill
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    pub(crate) fn pubkey(&self) -> String {
        self.node.pubkey_hex()
    }

    pub(crate) fn hub(&self) -> String {
        self.node.hub_pubkey_hex()
    }
}

/// A fake-node error as lnd reports the same failure: a plain error (gRPC Unknown) with lnd's
/// text, except where lnd uses a sentinel code.
pub(crate) fn status(err: FakeNodeError) -> Status {
    match err {
        FakeNodeError::Offline(_) | FakeNodeError::Disconnected(_) => {
            Status::unavailable("the server is shutting down")
        }
        FakeNodeError::Invalid { reason, .. } => Status::unknown(reason),
        other => Status::unknown(other.to_string()),
    }
}
