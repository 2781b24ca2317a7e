//! The files of a stored network: a private directory, a lock shared by every process using
//! it, and a state file replaced whole on every change, so that a crash leaves the old state
//! or the new one, never half of each.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use wallet_core::{Cause, WalletError};

/// How often a process waiting for the lock tries again.
const LOCK_RETRY: Duration = Duration::from_millis(25);

/// An error about `path`, with the I/O error beneath it.
pub(crate) fn io_error(what: &str, path: &Path, err: io::Error) -> WalletError {
    WalletError::backend(None, format!("cannot {what} {}", path.display()))
        .caused_by(Cause::new(err))
}

/// Creates `dir` (and its parents) readable by its owner only, if it does not exist. An existing
/// directory that other users can write to is refused: they could put a network of their own
/// (keys they know) or a lock that blocks every call in it.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), WalletError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|err| io_error("create the directory", dir, err))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(dir)
            .map_err(|err| io_error("read the permissions of", dir, err))?
            .permissions()
            .mode();
        if mode & 0o022 != 0 {
            return Err(WalletError::invalid(
                "data directory",
                format!(
                    "{} can be written by other users (mode {:o}): the network's node keys must \
                     not live there; use a directory only you can write (chmod go-w)",
                    dir.display(),
                    mode & 0o777
                ),
            ));
        }
    }
    Ok(())
}

/// Options that create a file readable and writable by its owner only (on Unix; elsewhere the
/// directory's permissions apply).
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Whether the lock is held alone (to change the state) or shared (to read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A held lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub(crate) struct HeldLock {
    _file: File,
}

/// Takes the lock at `path`, waiting at most `wait` for another process to release it.
pub(crate) async fn lock(
    path: &Path,
    access: Access,
    wait: Duration,
) -> Result<HeldLock, WalletError> {
    let file = private_file()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|err| io_error("open the lock file", path, err))?;
    let started = Instant::now();
    let mut told = false;
    loop {
        let attempt = match access {
            Access::Read => file.try_lock_shared(),
            Access::Write => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(HeldLock { _file: file }),
            Err(TryLockError::Error(err)) => return Err(io_error("lock", path, err)),
            Err(TryLockError::WouldBlock) => {
                let waited = started.elapsed();
                if waited >= wait {
                    return Err(WalletError::unavailable(format!(
                        "another process holds the lock {} (waited {:.1} s): another lnwallet \
                         may be running; try again when it is done",
                        path.display(),
                        waited.as_secs_f64()
                    )));
                }
                if !told && waited >= Duration::from_secs(1) {
                    told = true;
                    tracing::info!(lock = %path.display(), "waiting for another process to release the lock");
                }
                tokio::time::sleep(LOCK_RETRY.min(wait - waited)).await;
            }
        }
    }
}

/// Reads `path`, or `None` when it does not exist. A file others may read (copied in, or made
/// by something else) is made private first: it holds secrets.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, WalletError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(metadata) = fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %path.display(), "others could read the state file; made it private (0600)");
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .map_err(|err| io_error("make private", path, err))?;
        }
    }
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error("read", path, err)),
    }
}

/// Replaces `path` with `bytes`: written to a private file beside it, flushed to disk, then
/// renamed over it. Until the rename nothing has changed; after it the new state is the state,
/// whatever happens next. The caller holds the write lock, so the temporary name is its own.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    let temporary = temporary_path(path);
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_error("remove the leftover", &temporary, err)),
    }
    let mut file = private_file()
        .create_new(true)
        .write(true)
        .open(&temporary)
        .map_err(|err| io_error("create", &temporary, err))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|err| io_error("write", &temporary, err))?;
    drop(file);
    fs::rename(&temporary, path).map_err(|err| io_error("replace", path, err))?;
    // The rename is done: the new state stands. Syncing the directory only makes it survive a
    // power cut sooner, so a failure here is said, not returned (the caller would otherwise
    // report as undone a change that was made).
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Err(err) = File::open(dir).and_then(|dir| dir.sync_all())
    {
        tracing::warn!(dir = %dir.display(), error = %err, "could not sync the directory after replacing the state file");
    }
    Ok(())
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}
