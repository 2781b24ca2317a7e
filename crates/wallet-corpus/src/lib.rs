//! The bad-input corpus's shared parts, and the backends' fuzz harnesses ([`harness`]): the
//! corpus itself is the `wallet-corpus` binary (`cargo xtask corpus`).

pub mod harness;

use std::path::{Path, PathBuf};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new directory under the system's temporary one, named `prefix` and a random suffix.
    pub fn new(prefix: &str) -> Result<Self, String> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|err| err.to_string())?;
        let path =
            std::env::temp_dir().join(format!("{prefix}-{}", wallet_core::hex::encode(&suffix)));
        std::fs::create_dir_all(&path).map_err(|err| err.to_string())?;
        Ok(Self(path))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
