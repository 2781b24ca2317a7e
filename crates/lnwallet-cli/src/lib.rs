#![doc = include_str!("../README.md")]

/// `println!` that never panics: when the reader of stdout went away (`lnwallet watch | head
/// -1`), the program ends quietly with 0.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(&format!($($arg)*)) };
}

/// `eprintln!` that never panics: a closed stderr loses the line.
macro_rules! note {
    ($($arg:tt)*) => { $crate::output::write_stderr(&format!($($arg)*)) };
}

mod amount;
mod args;
mod demo;
mod embedded;
mod logging;
mod output;
mod progress;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use std::ffi::OsString;
use wallet_core::amount::default_fee_limit_msat;
use wallet_core::bolt11::Bolt11;
use wallet_core::registry::BACKEND_CLASS_SETTING;
use wallet_core::{
    ConnectionString, DescriptionHash, InvoiceRequest, PayInvoiceRequest, PaymentHash,
    PaymentStatus, Registry, Settings, StreamCursor, StreamHealth, SupervisedStream,
    SupervisorConfig, Wallet, WalletError,
};

use crate::args::{Cli, Command};
use crate::output::Format;

/// An error, the errors beneath it, and the exit code it maps to.
struct Failure {
    message: String,
    /// What caused it, outermost first: printed one per line ("caused by: …").
    causes: Vec<String>,
    exit_code: u8,
}

impl Failure {
    /// A failure with no cause beneath it.
    fn new(message: impl Into<String>, exit_code: u8) -> Self {
        Self {
            message: message.into(),
            causes: Vec::new(),
            exit_code,
        }
    }

    /// `err` with its whole cause chain.
    fn from_error(err: &(dyn std::error::Error + 'static), exit_code: u8) -> Self {
        let mut texts = wallet_core::chain_texts(err).into_iter();
        Self {
            message: texts.next().unwrap_or_default(),
            causes: texts.collect(),
            exit_code,
        }
    }
}

impl From<WalletError> for Failure {
    fn from(err: WalletError) -> Self {
        Self::from_error(&err, exit::ERROR)
    }
}

/// Runs `lnwallet` with this process's arguments over the backends of `registry`, which is how a
/// downstream binary builds an `lnwallet` that also knows its own backends:
///
/// ```no_run
/// # struct MyWallet;
/// # impl MyWallet { fn register(_: &mut wallet_core::Registry) {} }
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     let mut registry = lnwallet::registry();
///     MyWallet::register(&mut registry);
///     lnwallet_cli::run(registry).await
/// }
/// ```
///
/// With no backend named in the settings it runs on its embedded FakeWallet network, whatever
/// the registry holds.
pub async fn run(registry: Registry) -> ExitCode {
    run_with_args(registry, std::env::args_os()).await
}

/// [`run`] with the given arguments, the first being the program's name. `--help` and bad usage
/// print clap's text and exit as clap does.
pub async fn run_with_args<I, T>(registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    let logging = logging::init(cli.verbose);
    let format = if cli.json {
        Format::Json
    } else {
        Format::Human
    };
    let spinner_wanted = progress::wanted(cli.json, logging);
    match execute(&registry, cli, format, spinner_wanted).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            match format {
                Format::Json => out!(
                    "{}",
                    output::error_json(
                        &failure.message,
                        &failure.causes,
                        i32::from(failure.exit_code)
                    )
                ),
                Format::Human => {
                    note!("error: {}", failure.message);
                    for cause in &failure.causes {
                        note!("  caused by: {cause}");
                    }
                }
            }
            ExitCode::from(failure.exit_code)
        }
    }
}

async fn execute(
    registry: &Registry,
    cli: Cli,
    format: Format,
    spinner_wanted: bool,
) -> Result<(), Failure> {
    let waiting_for = match cli.command {
        Command::Demo => return Ok(demo::run(format).await?),
        Command::Backends => {
            list_backends(registry, format);
            return Ok(());
        }
        Command::Status => "reading the balance",
        Command::Invoice { .. } => "creating the invoice",
        Command::Pay { .. } => "paying",
        Command::InvoiceStatus { .. } | Command::PaymentStatus { .. } => "asking",
        Command::Watch { .. } => "watching for paid invoices",
    };
    let _spinner = progress::Spinner::start(waiting_for, spinner_wanted);
    let settings = settings(registry, &cli)?;
    let wallet = open_wallet(registry, &cli, &settings).await?;
    match cli.command {
        Command::Status => {
            let status = wallet.status().await?;
            format.print(&status, || output::status(&status));
        }
        Command::Invoice {
            amount,
            memo,
            expiry,
            description_hash,
            unhashed_description,
        } => {
            let mut request = InvoiceRequest::new(amount::parse_msat(&amount, "amount")?);
            request.memo = memo;
            request.expiry = expiry.map(Duration::from_secs);
            request.description_hash = description_hash
                .as_deref()
                .map(DescriptionHash::from_hex)
                .transpose()?;
            request.unhashed_description = unhashed_description.map(String::into_bytes);
            let invoice = wallet.create_invoice(request).await?;
            format.print(&invoice, || output::invoice(&invoice));
        }
        Command::Pay {
            bolt11,
            max_fee,
            amount,
            timeout,
        } => {
            let amount_msat = amount
                .as_deref()
                .map(|text| amount::parse_msat(text, "amount"))
                .transpose()?;
            let max_fee_msat = match max_fee {
                Some(text) => amount::parse_msat(&text, "max_fee")?,
                None => {
                    let invoice_amount = Bolt11::parse(&bolt11)?.amount_msat();
                    default_fee_limit_msat(invoice_amount.or(amount_msat).unwrap_or(0))
                }
            };
            let mut request =
                PayInvoiceRequest::new(bolt11, max_fee_msat).timeout(Duration::from_secs(timeout));
            request.amount_msat = amount_msat;
            let response = wallet
                .pay_invoice(request)
                .await
                .map_err(|err| Failure::from_error(&err, exit::ERROR))?;
            format.print(&response, || output::payment(&response));
            // After a dispatch, "the node has no record" is pending, never unknown.
            let status = match response.status {
                PaymentStatus::Unknown => PaymentStatus::Pending,
                status => status,
            };
            return payment_exit(&status);
        }
        Command::InvoiceStatus { payment_hash } => {
            let status = wallet
                .get_invoice_status(&PaymentHash::from_hex(&payment_hash)?)
                .await?;
            format.print(&status, || output::invoice_status(&status));
        }
        Command::PaymentStatus { payment_hash } => {
            let status = wallet
                .get_payment_status(&PaymentHash::from_hex(&payment_hash)?)
                .await?;
            format.print(&status, || output::payment_status(&status));
            return payment_exit(&status);
        }
        Command::Watch {
            cursor,
            count,
            timeout,
        } => watch(wallet, cursor, count, timeout, format).await?,
        Command::Demo | Command::Backends => {}
    }
    Ok(())
}

/// The exit codes of the README's table, which scripts depend on: keep them.
mod exit {
    pub(crate) const ERROR: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub(crate) const FAILED: u8 = 3;
    pub(crate) const PENDING: u8 = 4;
    pub(crate) const UNKNOWN: u8 = 5;
}

fn payment_exit(status: &PaymentStatus) -> Result<(), Failure> {
    match status {
        PaymentStatus::Succeeded { .. } => Ok(()),
        PaymentStatus::Failed { reason } => Err(Failure::new(
            format!("payment failed: {reason}"),
            exit::FAILED,
        )),
        PaymentStatus::Pending => Err(Failure::new(
            "payment pending: check again with payment-status",
            exit::PENDING,
        )),
        PaymentStatus::Unknown => Err(Failure::new(
            "the node knows no payment of this hash",
            exit::UNKNOWN,
        )),
    }
}

/// Settings from an env file, then the environment, then `--connect` (which replaces every
/// backend setting before it), then `--set`, then `--backend`; the embedded FakeWallet when none
/// names a backend.
fn settings(registry: &Registry, cli: &Cli) -> Result<Settings, Failure> {
    let mut settings = match &cli.env_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|err| {
                Failure::new(
                    format!("cannot read {}: {err}", path.display()),
                    exit::ERROR,
                )
            })?;
            Settings::from_dotenv(&text)?
        }
        None => Settings::new(),
    };
    settings = settings.merged_with(&Settings::from_env());
    if let Some(connect) = &cli.connect {
        // The string names the whole funding source: a backend setting left over from the
        // environment or the env file (another wallet's key, another port) must not mix in.
        let connection = ConnectionString::parse(connect)?;
        settings = registry
            .without_backend_settings(settings)
            .merged_with(&registry.settings_from_connection(&connection)?);
    }
    for pair in &cli.settings {
        let Some((key, value)) = pair.split_once('=') else {
            // Not the value: it may be a credential pasted without its key.
            return Err(Failure::new(
                "--set takes KEY=VALUE; this one has no `=` (not shown: it may be a credential)",
                exit::USAGE,
            ));
        };
        settings.set(key.trim(), value);
    }
    if let Some(backend) = &cli.backend {
        settings.set(BACKEND_CLASS_SETTING, backend.as_str());
    }
    if settings.get(BACKEND_CLASS_SETTING).is_none() {
        settings.set(BACKEND_CLASS_SETTING, lnwallet::DEFAULT_CLASS);
    }
    Ok(settings)
}

/// The wallet the settings name: the embedded FakeWallet network in the data directory, or a
/// backend of the registry. Says on stderr (stdout stays parseable) which one runs, and which
/// settings look like misspelt ones: a misspelt class setting would otherwise run the embedded
/// fake unnoticed.
async fn open_wallet(
    registry: &Registry,
    cli: &Cli,
    settings: &Settings,
) -> Result<Arc<dyn Wallet>, Failure> {
    // Settings are text from files and arguments: shown only with control characters replaced.
    for (key, meant) in registry.near_misses(settings) {
        let key = wallet_core::untrusted::server_text(&key);
        note!("warning: {key} is not a setting; did you mean {meant}?");
    }
    let class = settings
        .get(BACKEND_CLASS_SETTING)
        .unwrap_or(lnwallet::DEFAULT_CLASS);
    let class = wallet_core::untrusted::server_text(class);
    if class.eq_ignore_ascii_case(lnwallet::DEFAULT_CLASS) {
        let dir = embedded::data_dir(cli.data_dir.as_deref(), settings)?;
        let node = cli.node.as_deref().unwrap_or(embedded::DEFAULT_NODE);
        note!(
            "lnwallet: backend {class}, node {}, network kept in {} (set \
             {BACKEND_CLASS_SETTING} to use a real node)",
            wallet_core::untrusted::server_text(node),
            dir.display()
        );
        let lock_wait = Duration::from_secs(cli.lock_wait);
        return Ok(Arc::new(
            embedded::open(&dir, node, settings, lock_wait).await?,
        ));
    }
    if cli.node.is_some() {
        return Err(Failure::new(
            format!(
                "--node chooses a node of the embedded FakeWallet network; backend {class} is \
                 one funding source"
            ),
            exit::USAGE,
        ));
    }
    note!("lnwallet: backend {class}");
    Ok(Arc::from(registry.build(settings)?))
}

async fn watch(
    wallet: Arc<dyn Wallet>,
    cursor: Option<String>,
    count: Option<usize>,
    timeout: Option<u64>,
    format: Format,
) -> Result<(), Failure> {
    let mut stream = SupervisedStream::new(
        wallet,
        cursor.map(StreamCursor::new),
        SupervisorConfig::default(),
    );
    let health = stream.health();
    let reporter = tokio::spawn(report_health(health.clone(), format));
    let watched = watch_items(&mut stream, count, timeout, format).await;
    reporter.abort();
    watched?;
    // A timeout that passed while the stream could not connect is no clean end: nothing was
    // being watched.
    let not_connected = |why: &WalletError| {
        let mut failure = Failure::from_error(why, exit::ERROR);
        failure.message = format!("the stream was not connected: {}", failure.message);
        failure
    };
    match &*health.borrow() {
        StreamHealth::Reconnecting { last_error, .. } | StreamHealth::Stopped { last_error } => {
            Err(not_connected(last_error))
        }
        // `--count 0` never asks the stream for anything.
        StreamHealth::Connecting if count == Some(0) => Ok(()),
        StreamHealth::Connecting => Err(Failure::new(
            "the stream was not connected: it was still connecting",
            exit::ERROR,
        )),
        StreamHealth::Connected => Ok(()),
    }
}

/// Says on stderr when the stream is first connected (from then on no payment is missed), when
/// it loses its connection and when it is back.
async fn report_health(mut health: tokio::sync::watch::Receiver<StreamHealth>, format: Format) {
    let mut was_connected = false;
    let mut was_reconnecting = false;
    while health.changed().await.is_ok() {
        let state = health.borrow_and_update().clone();
        match state {
            StreamHealth::Reconnecting {
                consecutive_failures,
                retry_in,
                last_error,
            } => {
                was_reconnecting = true;
                note!(
                    "stream: {}; reconnecting in {:.1} s (failure {consecutive_failures} in a row)",
                    wallet_core::describe_chain(&last_error),
                    retry_in.as_secs_f32()
                );
            }
            StreamHealth::Connected if !was_connected => {
                was_connected = true;
                was_reconnecting = false;
                format.note("connected: watching for paid invoices (Ctrl-C to stop)");
            }
            StreamHealth::Connected if was_reconnecting => {
                was_reconnecting = false;
                note!("stream: connected again");
            }
            StreamHealth::Stopped { last_error } => {
                note!(
                    "stream: gave up: {}",
                    wallet_core::describe_chain(&last_error)
                );
            }
            StreamHealth::Connecting | StreamHealth::Connected => {}
        }
    }
}

async fn watch_items(
    stream: &mut SupervisedStream,
    count: Option<usize>,
    timeout: Option<u64>,
    format: Format,
) -> Result<(), Failure> {
    // A timeout past what the clock can represent is no deadline at all, never a panic.
    let deadline =
        timeout.and_then(|secs| tokio::time::Instant::now().checked_add(Duration::from_secs(secs)));
    let mut seen = 0;
    while count.is_none_or(|count| seen < count) {
        let next = async {
            match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, stream.next()).await.ok(),
                None => Some(stream.next().await),
            }
        };
        tokio::select! {
            item = next => match item {
                None => break,
                Some(None) => return Err(Failure::new("the stream ended", exit::ERROR)),
                Some(Some(Err(err))) => return Err(err.into()),
                Some(Some(Ok(paid))) => {
                    seen += 1;
                    format.print(&paid, || output::paid(&paid));
                }
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(())
}

fn list_backends(registry: &Registry, format: Format) {
    let connection_types = |class: &str| -> Vec<&'static str> {
        registry
            .connection_types()
            .iter()
            .filter(|entry| entry.class_name == class)
            .map(|entry| entry.type_name)
            .collect()
    };
    let backends: Vec<_> = registry
        .backends()
        .iter()
        .map(|entry| {
            serde_json::json!({
                "class": entry.class_name,
                "settings": entry.setting_keys,
                "connection_types": connection_types(entry.class_name),
            })
        })
        .collect();
    format.print(&backends, || {
        registry
            .backends()
            .iter()
            .map(|entry| {
                let types = connection_types(entry.class_name);
                let connect = if types.is_empty() {
                    String::new()
                } else {
                    format!(" (--connect type={})", types.join(" | type="))
                };
                format!(
                    "{}: {}{connect}",
                    entry.class_name,
                    entry.setting_keys.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
}
