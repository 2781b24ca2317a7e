//! A fake network kept in a directory, so that separate processes share it: one `lnwallet`
//! command creates an invoice, the next pays it, a third, running all along, streams it.
//!
//! Every call locks the directory, reads the network, runs on it and, if it changed anything,
//! writes it back before unlocking; no process keeps a copy between calls. Waits (a payment
//! still in flight, the paid-invoice stream) happen between calls, outside the lock.

mod files;
mod image;
mod wallet;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wallet_core::WalletError;

use crate::config::NodeConfig;
use crate::node::FakeNode;
pub use wallet::StoredFakeWallet;

use self::files::Access;
use self::image::{FORMAT, FormatOnly, NetworkImage, Restored};

/// The file holding the network, inside the directory. It holds node secrets and preimages,
/// so it is created readable by its owner only.
pub const STATE_FILE: &str = "fake-network.json";
/// The lock file every process using the directory takes before reading or changing it.
pub const LOCK_FILE: &str = "fake-network.lock";

/// What [`FakeNetworkDir::create_if_missing`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// Whether it made the network (the directory held none).
    pub made: bool,
    /// The names of the stored nodes, in the order they were made.
    pub node_names: Vec<String>,
}

/// A fake network stored in a directory. Cheap to clone; clones use the same directory.
#[derive(Clone)]
pub struct FakeNetworkDir {
    dir: PathBuf,
    lock_wait: Duration,
}

impl FakeNetworkDir {
    /// How long a call waits for another process to release the directory by default.
    pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

    /// The network stored in `dir` (nothing is read or created yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock_wait: Self::DEFAULT_LOCK_WAIT,
        }
    }

    /// Waits at most `wait` for another process to release the directory; then a call fails
    /// with an error naming the lock file.
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the state file ([`STATE_FILE`] in the directory).
    pub fn state_file(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The path of the lock file ([`LOCK_FILE`] in the directory).
    pub fn lock_file(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Makes a network of `nodes` (each a name and how to make it) unless the directory holds
    /// one already, and says which it found. An existing network is read, so that a file this
    /// version cannot read is an error now, naming the file; it is never replaced.
    pub async fn create_if_missing(
        &self,
        nodes: &[(String, NodeConfig)],
    ) -> Result<Opened, WalletError> {
        files::create_private_dir(&self.dir)?;
        let _lock = self.lock(Access::Write).await?;
        let (made, restored) = match self.read()? {
            Some((_, restored)) => (false, restored),
            None => {
                let restored = Restored::create(nodes).map_err(|why| {
                    WalletError::invalid("nodes", format!("cannot make the network: {why}"))
                })?;
                self.write(&self.image_of(&restored)?)?;
                tracing::info!(state = %self.state_file().display(), "made a new fake network");
                (true, restored)
            }
        };
        Ok(Opened {
            made,
            node_names: restored.nodes.into_iter().map(|named| named.name).collect(),
        })
    }

    /// A wallet on the stored node called `name`.
    pub fn wallet(&self, name: impl Into<String>) -> StoredFakeWallet {
        StoredFakeWallet::new(self.clone(), name.into())
    }

    /// Runs `op` on the node called `name` under the lock; with [`Access::Write`], what it
    /// changed is written back before the lock is released. An error here means the state file
    /// was not changed.
    pub(crate) async fn on_node<F, Fut, R>(
        &self,
        name: &str,
        access: Access,
        op: F,
    ) -> Result<R, WalletError>
    where
        F: FnOnce(FakeNode) -> Fut,
        Fut: Future<Output = R>,
    {
        self.on_node_changing(name, access, op)
            .await
            .map(|(result, _)| result)
    }

    /// [`FakeNetworkDir::on_node`], saying also whether the call changed the stored network: a
    /// refusal is only "nothing happened" when nothing changed.
    pub(crate) async fn on_node_changing<F, Fut, R>(
        &self,
        name: &str,
        access: Access,
        op: F,
    ) -> Result<(R, bool), WalletError>
    where
        F: FnOnce(FakeNode) -> Fut,
        Fut: Future<Output = R>,
    {
        let _lock = self.lock(access).await?;
        let (before, restored) = self.read_existing()?;
        let node = restored.node(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = restored
                .nodes
                .iter()
                .map(|named| named.name.as_str())
                .collect();
            WalletError::invalid(
                "node",
                format!(
                    "{} has no node called {name:?}; it has {}",
                    self.state_file().display(),
                    names.join(", ")
                ),
            )
        })?;
        let result = op(node).await;
        let mut changed = false;
        if access == Access::Write {
            let after = self.image_of(&restored)?;
            if after != before {
                self.write(&after)?;
                changed = true;
            }
        }
        Ok((result, changed))
    }

    async fn lock(&self, access: Access) -> Result<files::HeldLock, WalletError> {
        files::lock(&self.lock_file(), access, self.lock_wait).await
    }

    fn image_of(&self, restored: &Restored) -> Result<NetworkImage, WalletError> {
        restored.image().map_err(|why| {
            WalletError::backend(
                None,
                format!("cannot capture the network to store it: {why}"),
            )
        })
    }

    fn write(&self, image: &NetworkImage) -> Result<(), WalletError> {
        let bytes = serde_json::to_vec_pretty(image).map_err(|err| {
            WalletError::backend(None, format!("cannot encode the network: {err}"))
        })?;
        // What cannot be read back is never written: the state it would replace is kept.
        match serde_json::from_slice::<NetworkImage>(&bytes) {
            Ok(read_back) if read_back == *image => {}
            Ok(_) => {
                return Err(WalletError::backend(
                    None,
                    "the network's encoding does not read back the same; the state file was not changed",
                ));
            }
            Err(err) => {
                return Err(WalletError::backend(
                    None,
                    format!(
                        "the network's encoding does not read back ({err}); the state file was not changed"
                    ),
                ));
            }
        }
        files::replace(&self.state_file(), &bytes)
    }

    fn read_existing(&self) -> Result<(NetworkImage, Restored), WalletError> {
        self.read()?.ok_or_else(|| {
            WalletError::backend(
                None,
                format!(
                    "{} does not exist: it was removed while in use",
                    self.state_file().display()
                ),
            )
        })
    }

    /// The stored network, or `None` when there is none. A file that is not a network of a
    /// format this version reads is an error naming it; the file is left as it is.
    fn read(&self) -> Result<Option<(NetworkImage, Restored)>, WalletError> {
        let path = self.state_file();
        let Some(bytes) = files::read_if_exists(&path)? else {
            return Ok(None);
        };
        let unreadable = |why: String| {
            WalletError::backend(
                None,
                format!(
                    "{} is not a fake network this version can read ({why}); it was left as it \
                     is: move it away to start a new network",
                    path.display()
                ),
            )
        };
        let format = serde_json::from_slice::<FormatOnly>(&bytes)
            .map_err(|err| unreadable(err.to_string()))?
            .format;
        if format > FORMAT {
            return Err(WalletError::backend(
                None,
                format!(
                    "{} was written by a newer version (format {format}; this one reads up to \
                     format {FORMAT}); it was left as it is: use the newer version",
                    path.display()
                ),
            ));
        }
        if format < FORMAT {
            return Err(unreadable(format!("format {format} was never written")));
        }
        let image: NetworkImage =
            serde_json::from_slice(&bytes).map_err(|err| unreadable(err.to_string()))?;
        let restored = Restored::from_image(image.clone()).map_err(unreadable)?;
        Ok(Some((image, restored)))
    }
}

impl fmt::Debug for FakeNetworkDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeNetworkDir")
            .field("dir", &self.dir)
            .field("lock_wait", &self.lock_wait)
            .finish()
    }
}
