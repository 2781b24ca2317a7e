//! The `lnwallet` binary fed bad arguments, settings and `.env` files, and pointed at servers
//! that say nothing or hang up: run as a user runs it, one process per case.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::case::{Case, Class, Expect, Observed};
use crate::shapes::REPAINT;
use wallet_conformance::fixtures::TempDir;

use crate::Runnable;

/// A process that outlives this is a hang.
const PROCESS_DEADLINE: Duration = Duration::from_secs(25);

/// A server a case points the CLI at.
#[derive(Clone, Copy, Debug)]
enum Server {
    None,
    /// A TCP listener that accepts and never answers.
    SilentTcp,
    /// A TCP listener that closes every connection once it read the request.
    ClosingTcp,
    /// A unix socket that accepts and never answers.
    SilentUnix,
}

struct CliCase {
    request: &'static str,
    class: Class,
    /// The arguments; `{addr}`, `{socket}` and `{env}` are replaced by the server's address,
    /// socket and the `.env` file's path.
    args: Vec<String>,
    env_file: Option<Vec<u8>>,
    server: Server,
    expect: Expect,
    /// Values that must never be shown.
    secrets: Vec<String>,
}

const ADMIN_KEY: &str = "adminkey0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const MACAROON: &str = "0201036c6e640258030a10secretmacaroonvalue";
const PASSWORD: &str = "hunter2secretpassword";

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| (*arg).to_owned()).collect()
}

fn case(request: &'static str, class: Class, list: &[&str], expect: Expect) -> CliCase {
    CliCase {
        request,
        class,
        args: args(list),
        env_file: None,
        server: Server::None,
        expect,
        secrets: Vec::new(),
    }
}

fn huge(prefix: &str) -> String {
    let mut text = prefix.to_owned();
    // Just under Linux's limit for one argument (128 KiB).
    text.push_str(&"9".repeat(100_000));
    text
}

fn table() -> Vec<CliCase> {
    use Class::*;
    let usage = |words: &'static [&'static str]| Expect::Exit(2, words);
    let error = |words: &'static [&'static str]| Expect::Exit(1, words);
    let repaint_amount = format!("{REPAINT}5000");
    let huge_amount = huge("");
    let huge_text = huge("x");
    let repaint_hash = format!("{REPAINT}{}", "a".repeat(60));
    let mut cases = vec![
        // invoice <AMOUNT>
        case(
            "invoice AMOUNT",
            Garbage,
            &["invoice", "abc"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            WrongTypes,
            &["invoice", "1.5sat"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            WrongTypes,
            &["invoice", "0x10"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            WrongTypes,
            &["invoice", "1e400"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            MissingFields,
            &["invoice"],
            usage(&["AMOUNT"]),
        ),
        case(
            "invoice AMOUNT",
            MissingFields,
            &["invoice", ""],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            HugeNumbers,
            &["invoice", "18446744073709551615"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            HugeNumbers,
            &["invoice", "18446744073709551616sat"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            HugeNumbers,
            &["invoice", "2100000000000000001sat"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            NegativeNumbers,
            &["invoice", "-5"],
            usage(&["-5"]),
        ),
        case(
            "invoice AMOUNT",
            NegativeNumbers,
            &["invoice", "--", "-5"],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            ControlCharacters,
            &["invoice", &repaint_amount],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            HugeBody,
            &["invoice", &huge_amount],
            error(&["amount"]),
        ),
        case(
            "invoice AMOUNT",
            Truncated,
            &["invoice", "5000ms"],
            error(&["amount"]),
        ),
        // invoice --expiry / --memo / --description-hash
        case(
            "invoice --expiry",
            WrongTypes,
            &["invoice", "1000", "--expiry", "soon"],
            usage(&["expiry"]),
        ),
        case(
            "invoice --expiry",
            HugeNumbers,
            &["invoice", "1000", "--expiry", "18446744073709551615"],
            error(&["expiry"]),
        ),
        case(
            "invoice --expiry",
            NegativeNumbers,
            &["invoice", "1000", "--expiry", "-1"],
            usage(&["expiry", "-1"]),
        ),
        case(
            "invoice --memo",
            HugeBody,
            &["invoice", "1000", "--memo", &huge_text],
            error(&["memo"]),
        ),
        case(
            "invoice --memo",
            ControlCharacters,
            &["invoice", "1000", "--memo", REPAINT],
            Expect::Exit(0, &["lnbcrt"]),
        ),
        case(
            "invoice --description-hash",
            Garbage,
            &["invoice", "1000", "--description-hash", "zz"],
            error(&["description"]),
        ),
        case(
            "invoice --description-hash",
            Truncated,
            &["invoice", "1000", "--description-hash", &"ab".repeat(31)],
            error(&["description"]),
        ),
        case(
            "invoice --description-hash",
            ControlCharacters,
            &["invoice", "1000", "--description-hash", &repaint_hash],
            error(&["description"]),
        ),
        // pay <BOLT11>
        case(
            "pay BOLT11",
            Garbage,
            &["pay", "lnbc1garbage"],
            error(&["bolt11"]),
        ),
        case(
            "pay BOLT11",
            Truncated,
            &["pay", "lnbcrt10u1pn"],
            error(&["bolt11"]),
        ),
        case(
            "pay BOLT11",
            WrongTypes,
            &[
                "pay",
                "lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrc",
            ],
            error(&["bolt12"]),
        ),
        case(
            "pay BOLT11",
            MissingFields,
            &["pay", ""],
            error(&["bolt11"]),
        ),
        case(
            "pay BOLT11",
            ControlCharacters,
            &["pay", REPAINT],
            error(&["bolt11"]),
        ),
        case(
            "pay BOLT11",
            HugeBody,
            &["pay", &huge_text],
            error(&["bolt11"]),
        ),
        case(
            "pay --amount",
            NegativeNumbers,
            &["pay", "lnbc1garbage", "--amount", "-1"],
            usage(&["amount", "-1"]),
        ),
        case(
            "pay --amount",
            HugeNumbers,
            &["pay", "lnbc1garbage", "--amount", "18446744073709551615sat"],
            error(&["amount"]),
        ),
        case(
            "pay --max-fee",
            WrongTypes,
            &["pay", "lnbc1garbage", "--max-fee", "lots"],
            error(&["fee"]),
        ),
        case(
            "pay --timeout",
            HugeNumbers,
            &["pay", "lnbc1garbage", "--timeout", "18446744073709551615"],
            error(&["timeout", "bolt11"]),
        ),
        case(
            "pay --timeout",
            WrongTypes,
            &["pay", "lnbc1garbage", "--timeout", "never"],
            usage(&["timeout"]),
        ),
        // invoice-status / payment-status <HASH>
        case(
            "invoice-status HASH",
            Garbage,
            &["invoice-status", "zz"],
            error(&["payment_hash", "hash"]),
        ),
        case(
            "invoice-status HASH",
            Truncated,
            &["invoice-status", &"ab".repeat(31)],
            error(&["payment_hash", "hash"]),
        ),
        case(
            "invoice-status HASH",
            ControlCharacters,
            &["invoice-status", &repaint_hash],
            error(&["payment_hash", "hash"]),
        ),
        case(
            "invoice-status HASH",
            HugeBody,
            &["invoice-status", &huge_text],
            error(&["payment_hash", "hash"]),
        ),
        case(
            "invoice-status HASH",
            OtherHash,
            &["invoice-status", &"ab".repeat(32)],
            Expect::Exit(0, &["unknown"]),
        ),
        case(
            "payment-status HASH",
            Garbage,
            &["payment-status", "zz"],
            error(&["payment_hash", "hash"]),
        ),
        case(
            "payment-status HASH",
            ControlCharacters,
            &["payment-status", &repaint_hash],
            error(&["payment_hash", "hash"]),
        ),
        case(
            "payment-status HASH",
            OtherHash,
            &["payment-status", &"ab".repeat(32)],
            Expect::Exit(5, &["no payment"]),
        ),
        // watch
        case(
            "watch --count",
            WrongTypes,
            &["watch", "--count", "many"],
            usage(&["count"]),
        ),
        case(
            "watch --count",
            NegativeNumbers,
            &["watch", "--count", "-1"],
            usage(&["count", "-1"]),
        ),
        case(
            "watch --timeout",
            HugeNumbers,
            &["watch", "--count", "0", "--timeout", "18446744073709551615"],
            Expect::Exit(0, &["lnwallet"]),
        ),
        case(
            "watch --cursor",
            Garbage,
            &["watch", "--cursor", "zz", "--timeout", "2"],
            error(&["cursor"]),
        ),
        case(
            "watch --cursor",
            ControlCharacters,
            &["watch", "--cursor", REPAINT, "--timeout", "2"],
            error(&["cursor"]),
        ),
        case(
            "watch --cursor",
            HugeNumbers,
            &[
                "watch",
                "--cursor",
                "99999999999999999999999",
                "--timeout",
                "2",
            ],
            error(&["cursor"]),
        ),
        // --set
        case(
            "--set BACKEND",
            Garbage,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=NoSuchWallet",
                "status",
            ],
            error(&["NoSuchWallet"]),
        ),
        case(
            "--set BACKEND",
            ControlCharacters,
            &[
                "--set",
                &format!("LNBITS_BACKEND_WALLET_CLASS={REPAINT}"),
                "status",
            ],
            error(&["backend"]),
        ),
        case(
            "--set",
            MissingFields,
            &["--set", "NOEQUALS", "status"],
            usage(&["KEY=VALUE"]),
        ),
        case(
            "--set LNBITS_ENDPOINT",
            Garbage,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
                "--set",
                "LNBITS_ENDPOINT=not a url",
                "--set",
                &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
                "status",
            ],
            error(&["LNBITS_ENDPOINT"]),
        ),
        case(
            "--set LNBITS_ENDPOINT",
            Redirect,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
                "--set",
                "LNBITS_ENDPOINT=ftp://127.0.0.1/",
                "--set",
                &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
                "status",
            ],
            error(&["LNBITS_ENDPOINT"]),
        ),
        case(
            "--set LNBITS_REQUEST_TIMEOUT",
            NegativeNumbers,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
                "--set",
                "LNBITS_ENDPOINT=http://127.0.0.1:9",
                "--set",
                &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
                "--set",
                "LNBITS_REQUEST_TIMEOUT=-1",
                "status",
            ],
            error(&["LNBITS_REQUEST_TIMEOUT"]),
        ),
        case(
            "--set LNBITS_REQUEST_TIMEOUT",
            HugeNumbers,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
                "--set",
                "LNBITS_ENDPOINT=http://127.0.0.1:9",
                "--set",
                &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
                "--set",
                "LNBITS_REQUEST_TIMEOUT=18446744073709551615",
                "status",
            ],
            error(&["LNBITS_REQUEST_TIMEOUT"]),
        ),
        case(
            "--set LNBITS_MAX_REPLY_BYTES",
            WrongTypes,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
                "--set",
                "LNBITS_ENDPOINT=http://127.0.0.1:9",
                "--set",
                &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
                "--set",
                "LNBITS_MAX_REPLY_BYTES=lots",
                "status",
            ],
            error(&["LNBITS_MAX_REPLY_BYTES"]),
        ),
        case(
            "--set LND_GRPC_PORT",
            HugeNumbers,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LndWallet",
                "--set",
                "LND_GRPC_ENDPOINT=127.0.0.1",
                "--set",
                "LND_GRPC_PORT=99999",
                "--set",
                "LND_GRPC_CERT=/nonexistent/tls.cert",
                "--set",
                &format!("LND_GRPC_MACAROON={MACAROON}"),
                "status",
            ],
            error(&["LND_GRPC"]),
        ),
        case(
            "--set LND_GRPC_PORT",
            NegativeNumbers,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=LndWallet",
                "--set",
                "LND_GRPC_ENDPOINT=127.0.0.1",
                "--set",
                "LND_GRPC_PORT=-1",
                "--set",
                "LND_GRPC_CERT=/nonexistent/tls.cert",
                "--set",
                &format!("LND_GRPC_MACAROON={MACAROON}"),
                "status",
            ],
            error(&["LND_GRPC"]),
        ),
        case(
            "--set CORELIGHTNING_RPC",
            MissingFields,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=CoreLightningWallet",
                "--set",
                "CORELIGHTNING_RPC=/nonexistent/lightning-rpc",
                "status",
            ],
            error(&["lightningd"]),
        ),
        case(
            "--set CORELIGHTNING_TIMEOUT",
            WrongTypes,
            &[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=CoreLightningWallet",
                "--set",
                "CORELIGHTNING_RPC=/nonexistent/lightning-rpc",
                "--set",
                "CORELIGHTNING_TIMEOUT=soon",
                "status",
            ],
            error(&["CORELIGHTNING_TIMEOUT"]),
        ),
        // --env-file
        case(
            "--env-file",
            MissingFields,
            &["--env-file", "/nonexistent/.env", "status"],
            error(&["cannot read"]),
        ),
    ];
    let mut secret_case = |request, class, list: &[&str], expect, secrets: &[&str]| {
        let mut case = case(request, class, list, expect);
        case.secrets = secrets.iter().map(|secret| (*secret).to_owned()).collect();
        cases.push(case);
    };
    secret_case(
        "--set LND_GRPC_MACAROON",
        Garbage,
        &[
            "--set",
            "LNBITS_BACKEND_WALLET_CLASS=LndWallet",
            "--set",
            "LND_GRPC_ENDPOINT=127.0.0.1",
            "--set",
            "LND_GRPC_PORT=10009",
            "--set",
            "LND_GRPC_CERT=/nonexistent/tls.cert",
            "--set",
            &format!("LND_GRPC_MACAROON={MACAROON} zz"),
            "status",
        ],
        error(&["LND_GRPC"]),
        &[MACAROON],
    );
    secret_case(
        "--set LNBITS_ENDPOINT",
        WrongTypes,
        &[
            "--set",
            "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
            "--set",
            &format!("LNBITS_ENDPOINT=http://user:{PASSWORD}@127.0.0.1:9/"),
            "--set",
            &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
            "status",
        ],
        error(&["LNBITS_ENDPOINT"]),
        &[PASSWORD, ADMIN_KEY],
    );
    secret_case(
        "--set LNBITS_ADMIN_KEY",
        Truncated,
        &[
            "--set",
            "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
            "--set",
            "LNBITS_ENDPOINT=http://127.0.0.1:9/",
            "--set",
            &format!("LNBITS_ADMIN_KEY={}", &ADMIN_KEY[..7]),
            "status",
        ],
        error(&["LNbits", "connect"]),
        &[&ADMIN_KEY[..7]],
    );
    cases.extend(env_files());
    cases.extend(servers());
    cases
}

fn env_case(class: Class, contents: Vec<u8>, expect: Expect, secrets: &[&str]) -> CliCase {
    CliCase {
        request: ".env file",
        class,
        args: args(&["--env-file", "{env}", "status"]),
        env_file: Some(contents),
        server: Server::None,
        expect,
        secrets: secrets.iter().map(|secret| (*secret).to_owned()).collect(),
    }
}

fn env_files() -> Vec<CliCase> {
    use Class::*;
    let lnbits = |extra: &str| {
        format!("LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet\nLNBITS_ADMIN_KEY={ADMIN_KEY}\n{extra}")
            .into_bytes()
    };
    let mut huge = b"FAKE_WALLET_SECRET=".to_vec();
    huge.resize(12 * 1024 * 1024, b'x');
    vec![
        env_case(
            Garbage,
            b"\x00\xff\xfe garbage\n".to_vec(),
            Expect::Exit(1, &["UTF-8"]),
            &[],
        ),
        env_case(
            Garbage,
            b"garbage ==== \n=\n==\nexport\n\"unclosed\n".to_vec(),
            Expect::Exit(1, &["not KEY=VALUE"]),
            &[],
        ),
        env_case(
            Garbage,
            b"\xef\xbb\xbfLNBITS_BACKEND_WALLET_CLASS=FakeWallet\n".to_vec(),
            Expect::Exit(0, &["FakeWallet"]),
            &[],
        ),
        env_case(
            Truncated,
            lnbits("LNBITS_ENDPOINT=\"http://127.0.0.1:9"),
            Expect::Exit(1, &["LNBITS_ENDPOINT", "LNbits"]),
            &[ADMIN_KEY],
        ),
        env_case(
            MissingFields,
            lnbits(""),
            Expect::Exit(1, &["LNBITS_ENDPOINT"]),
            &[ADMIN_KEY],
        ),
        env_case(
            ControlCharacters,
            lnbits(&format!("LNBITS_ENDPOINT={REPAINT}")),
            Expect::Exit(1, &["LNBITS_ENDPOINT"]),
            &[ADMIN_KEY],
        ),
        env_case(
            WrongTypes,
            lnbits("LNBITS_ENDPOINT=127.0.0.1:9"),
            Expect::Exit(1, &["LNBITS_ENDPOINT"]),
            &[ADMIN_KEY],
        ),
        env_case(HugeBody, huge, Expect::Exit(0, &["FakeWallet"]), &[]),
        env_case(
            MissingFields,
            b"LNBITS_BACKEND_WALET_CLASS=LNbitsWallet\n".to_vec(),
            Expect::Exit(0, &["LNBITS_BACKEND_WALLET_CLASS"]),
            &[],
        ),
    ]
}

fn servers() -> Vec<CliCase> {
    use Class::*;
    let lnbits_at = |server, class| CliCase {
        request: "LNbitsWallet status",
        class,
        args: args(&[
            "--set",
            "LNBITS_BACKEND_WALLET_CLASS=LNbitsWallet",
            "--set",
            "LNBITS_ENDPOINT=http://{addr}",
            "--set",
            &format!("LNBITS_ADMIN_KEY={ADMIN_KEY}"),
            "--set",
            "LNBITS_REQUEST_TIMEOUT=2",
            "status",
        ]),
        env_file: None,
        server,
        expect: Expect::Exit(1, &["LNbits"]),
        secrets: vec![ADMIN_KEY.to_owned()],
    };
    vec![
        lnbits_at(Server::SilentTcp, Silence),
        lnbits_at(Server::ClosingTcp, Closed),
        CliCase {
            request: "CoreLightningWallet status",
            class: Silence,
            args: args(&[
                "--set",
                "LNBITS_BACKEND_WALLET_CLASS=CoreLightningWallet",
                "--set",
                "CORELIGHTNING_RPC={socket}",
                "--set",
                "CORELIGHTNING_TIMEOUT=2",
                "status",
            ]),
            env_file: None,
            server: Server::SilentUnix,
            expect: Expect::Exit(1, &["did not answer"]),
            secrets: Vec::new(),
        },
    ]
}

/// The `lnwallet` binary, built next to this one (`cargo xtask corpus` builds both).
fn binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("LNWALLET_BIN") {
        return Ok(PathBuf::from(path));
    }
    let here = std::env::current_exe().map_err(|err| err.to_string())?;
    let path = here
        .parent()
        .map(|dir| dir.join("lnwallet"))
        .ok_or("no directory for lnwallet")?;
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build -p lnwallet-cli`",
            path.display()
        ))
    }
}

async fn run(cli: &CliCase) -> Result<(Observed, Vec<String>), String> {
    let dir = TempDir::new("corpus-cli").map_err(|err| err.to_string())?;
    let mut replacements: Vec<(&str, String)> = Vec::new();
    let mut tasks = Vec::new();
    match cli.server {
        Server::None => {}
        Server::SilentTcp | Server::ClosingTcp => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|err| err.to_string())?;
            replacements.push((
                "{addr}",
                listener
                    .local_addr()
                    .map_err(|err| err.to_string())?
                    .to_string(),
            ));
            let closing = matches!(cli.server, Server::ClosingTcp);
            tasks.push(tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((mut socket, _)) = listener.accept().await {
                    if closing {
                        let mut buffer = [0u8; 4096];
                        let _ = tokio::time::timeout(
                            Duration::from_secs(1),
                            tokio::io::AsyncReadExt::read(&mut socket, &mut buffer),
                        )
                        .await;
                        drop(socket);
                    } else {
                        held.push(socket);
                    }
                }
            }));
        }
        Server::SilentUnix => {
            let path = dir.path().join("lightning-rpc");
            let listener = tokio::net::UnixListener::bind(&path).map_err(|err| err.to_string())?;
            replacements.push(("{socket}", path.display().to_string()));
            tasks.push(tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((socket, _)) = listener.accept().await {
                    held.push(socket);
                }
            }));
        }
    }
    if let Some(contents) = &cli.env_file {
        let path = dir.path().join(".env");
        std::fs::write(&path, contents).map_err(|err| err.to_string())?;
        replacements.push(("{env}", path.display().to_string()));
    }
    let args: Vec<String> = cli
        .args
        .iter()
        .map(|arg| {
            replacements
                .iter()
                .fold(arg.clone(), |arg, (from, to)| arg.replace(from, to))
        })
        .collect();
    let child = tokio::process::Command::new(binary()?)
        .args(&args)
        .env_clear()
        .env("LNBITS_DATA_FOLDER", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| err.to_string())?;
    let observed = match tokio::time::timeout(PROCESS_DEADLINE, child.wait_with_output()).await {
        Err(_) => Observed::Hung,
        Ok(Err(err)) => return Err(err.to_string()),
        Ok(Ok(output)) => Observed::Cli {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
    };
    for task in tasks {
        task.abort();
    }
    Ok((observed, cli.secrets.clone()))
}

/// Every CLI case.
pub(crate) fn cases() -> Vec<Runnable> {
    table()
        .into_iter()
        .map(|cli| {
            let case = Case {
                backend: "cli",
                request: cli.request.to_owned(),
                class: cli.class,
                expect: cli.expect,
                dispatch: false,
                decides: false,
            };
            let cli = std::sync::Arc::new(cli);
            let run: Box<dyn Fn() -> crate::Run + Send + Sync> = Box::new(move || {
                let cli = std::sync::Arc::clone(&cli);
                Box::pin(async move { run(&cli).await })
            });
            (case, run)
        })
        .collect()
}
