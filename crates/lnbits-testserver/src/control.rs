//! The control file: how to find, stop and restart a running test server from another process
//! (the test binary restarts the server xtask started, and xtask stops whichever process is
//! serving at the end).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable naming the control file of the running server.
pub const CONTROL_ENV: &str = "LNBITS_TEST_CONTROL";

/// Everything needed to reach, restart and stop a test server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Control {
    /// The server's base URL.
    pub endpoint: String,
    /// The loopback port.
    pub port: u16,
    /// The venv LNbits is installed in.
    pub venv: PathBuf,
    /// The folder LNbits runs from.
    pub site_packages: PathBuf,
    /// The data folder (kept across restarts, removed at stop).
    pub data_dir: PathBuf,
    /// The `HOME` of the server process.
    pub home: PathBuf,
    /// The log file.
    pub log: PathBuf,
    /// The process serving now.
    pub pid: u32,
    /// The super user's bearer token, for creating and funding wallets.
    pub superuser_token: String,
    /// The funding source's settings (`LNBITS_BACKEND_WALLET_CLASS` and its variables); empty
    /// means LNbits' FakeWallet.
    #[serde(default)]
    pub funding_env: Vec<(String, String)>,
    /// Whether the server stops itself (and removes its data) when the process that started it
    /// exits: for servers a test process starts for itself, which nobody else will stop.
    #[serde(default)]
    pub die_with_parent: bool,
}

impl Control {
    /// Reads a control file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read the control file {}: {err}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|err| format!("bad control file {}: {err}", path.display()))
    }

    /// Writes the control file atomically (write, then rename).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|err| err.to_string())?;
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|err| format!("cannot write the control file {}: {err}", path.display()))
    }
}
