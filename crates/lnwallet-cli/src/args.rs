//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The exit codes, shown by `--help`; scripts depend on them.
const EXIT_CODES: &str = "Exit codes:
  0  done; for pay and payment-status: the payment succeeded
     (invoice-status exits 0 for any state it could read)
  1  error; for pay: nothing was sent
  2  bad usage
  3  the payment failed (the node said so; nothing left)
  4  the payment is pending: money may be moving, check again with payment-status
  5  payment-status: the node knows no payment of this hash";

/// A command line for any Lightning funding source, configured with LNbits' settings.
///
/// Settings come from an optional env file, the environment, `--connect` (a connection string,
/// which replaces every backend setting of the two before it), `--set KEY=VALUE` and
/// `--backend`, later ones winning. With no LNBITS_BACKEND_WALLET_CLASS it runs on an embedded
/// FakeWallet network of two nodes, alice (the default) and bob, kept in a data directory
/// (`--data-dir`, else LNBITS_DATA_FOLDER, else the platform's data directory), so that
/// invoices, payments and balances carry from one command to the next (try `demo` too).
// No `Debug`: `connect` may hold a credential.
#[derive(Parser)]
#[command(name = "lnwallet", version, about, long_about, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// The backend class, as LNBITS_BACKEND_WALLET_CLASS (e.g. FakeWallet).
    #[arg(long, global = true, value_name = "CLASS")]
    pub backend: Option<String>,
    /// A connection string naming the funding source, BTCPay-style, e.g.
    /// type=clightning;server=unix:///path/lightning-rpc, type=lnd-grpc;server=https://host:10009;
    /// macaroonfilepath=…;certthumbprint=…, or type=lnbits;server=https://…;api-key=… (see
    /// `backends`). Prefer LNWALLET_CONNECT for strings holding a credential: arguments show
    /// in `ps`.
    #[arg(
        long,
        global = true,
        value_name = "STRING",
        env = "LNWALLET_CONNECT",
        hide_env_values = true
    )]
    pub connect: Option<String>,
    /// A setting, e.g. --set FAKE_WALLET_SECRET=abc (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// Read settings from an LNbits-style .env file (environment variables win over it).
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Where the embedded FakeWallet keeps its network (default: LNBITS_DATA_FOLDER, else the
    /// platform's data directory, e.g. ~/.local/share/lnwallet).
    #[arg(long, global = true, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,
    /// The node of the embedded FakeWallet network to act as: alice (default) or bob.
    #[arg(long, global = true, value_name = "NAME")]
    pub node: Option<String>,
    /// Seconds to wait for another lnwallet using the same data directory before giving up.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log what the wallet does to stderr: -v calls and decisions, -vv details, -vvv everything
    /// (transports included). RUST_LOG, when set, says what to log instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show the balance.
    Status,
    /// Create an invoice. AMOUNT is in msat, or with a suffix: 21sat, 21000msat.
    Invoice {
        /// The amount (msat, or with a `sat`/`msat` suffix).
        amount: String,
        /// The memo.
        #[arg(long)]
        memo: Option<String>,
        /// Expiry in seconds.
        #[arg(long, value_name = "SECONDS")]
        expiry: Option<u64>,
        /// Commit to this description hash (64 hex digits) instead of the memo.
        #[arg(long, value_name = "HEX")]
        description_hash: Option<String>,
        /// Commit to the sha256 of this text (LNURL metadata) instead of the memo.
        #[arg(long, value_name = "TEXT", conflicts_with = "description_hash")]
        unhashed_description: Option<String>,
    },
    /// Pay a BOLT11 invoice.
    Pay {
        /// The invoice.
        bolt11: String,
        /// Most to spend on fees (msat or with a suffix); default: LNbits' reserve, the larger of
        /// 2 sat and 1 %.
        #[arg(long, value_name = "AMOUNT")]
        max_fee: Option<String>,
        /// The amount, for an amountless invoice only.
        #[arg(long, value_name = "AMOUNT")]
        amount: Option<String>,
        /// Seconds to wait for a final state before reporting pending.
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u64,
    },
    /// The state of an invoice, by payment hash.
    InvoiceStatus {
        /// The payment hash (checking id).
        payment_hash: String,
    },
    /// The state of a payment, by payment hash.
    PaymentStatus {
        /// The payment hash (checking id).
        payment_hash: String,
    },
    /// Print paid invoices as they arrive (reconnecting and resuming on its own).
    Watch {
        /// Resume after this cursor (from an earlier item).
        #[arg(long)]
        cursor: Option<String>,
        /// Stop after this many invoices.
        #[arg(long)]
        count: Option<usize>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// Two fake nodes: create an invoice, pay it, watch the stream, show the balances.
    Demo,
    /// List the backends of this build and the settings each reads.
    Backends,
}
