//! The servers tests need, started before and stopped after them.

use lnbits_testserver::{LnbitsServer, Options};

use crate::cmd::workspace_root;

/// A running LNbits server for the tests; dropping it stops the server.
pub(crate) struct Lnbits {
    server: LnbitsServer,
}

impl Lnbits {
    /// Installs LNbits into `target/lnbits` (once) and starts a fresh server.
    pub(crate) fn start() -> Result<Self, String> {
        let options = Options::new(workspace_root().join("target").join("lnbits"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| format!("cannot start a runtime: {err}"))?;
        let server = runtime.block_on(LnbitsServer::start(&options))?;
        Ok(Self { server })
    }

    /// The variables the tests read.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        self.server.env()
    }
}
