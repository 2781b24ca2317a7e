//! `ledger-lnwallet`: the project's `lnwallet` command line, with [`LedgerWallet`] added to the
//! backends it knows (`--backend LedgerWallet`, or `--connect type=ledger;server=…;api-key=…`).

use ledger_backend::LedgerWallet;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut registry = lnwallet::registry();
    LedgerWallet::register(&mut registry);
    lnwallet_cli::run(registry).await
}
