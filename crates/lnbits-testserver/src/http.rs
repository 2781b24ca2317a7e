//! The few LNbits calls a test server needs: readiness, first install, wallets, top-ups.

use std::process::Child;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A new wallet's keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalletKeys {
    /// The wallet id.
    pub id: String,
    /// The admin key.
    pub admin_key: String,
    /// The invoice key.
    pub invoice_key: String,
}

pub(crate) fn client() -> Result<Client, String> {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| format!("cannot build an HTTP client: {err}"))
}

/// Waits until LNbits answers `/api/v1/health` (200, or 307 before the first install), failing
/// early if `child` exits.
pub(crate) async fn wait_ready(
    client: &Client,
    endpoint: &str,
    mut child: Option<&mut Child>,
    timeout: Duration,
    log: &std::path::Path,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let url = format!("{endpoint}/api/v1/health");
    loop {
        if let Some(child) = child.as_deref_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!(
                "LNbits exited during startup ({status}); log:\n{}",
                tail(log)
            ));
        }
        let answer = client
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if let Ok(response) = answer
            && matches!(
                response.status(),
                StatusCode::OK | StatusCode::TEMPORARY_REDIRECT
            )
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "LNbits did not answer within {} s; log:\n{}",
                timeout.as_secs(),
                tail(log)
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

async fn call(request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
    let response = request
        .send()
        .await
        .map_err(|err| format!("{what}: {}", err.without_url()))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{what}: HTTP {status}: {body}"))
    }
}

/// Completes the first install with a random password; returns the super user's token.
pub(crate) async fn first_install(client: &Client, endpoint: &str) -> Result<String, String> {
    let password = random_hex(16)?;
    let body = json!({"username": "ciadmin", "password": password, "password_repeat": password});
    let answer = call(
        client
            .put(format!("{endpoint}/api/v1/auth/first_install"))
            .json(&body),
        "first install",
    )
    .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("first install gave no token: {answer}"))
}

/// Creates a wallet of the super user, funded with `fund_sats` (0 for none).
pub(crate) async fn create_wallet(
    client: &Client,
    endpoint: &str,
    token: &str,
    name: &str,
    fund_sats: u64,
) -> Result<WalletKeys, String> {
    let wallet = call(
        client
            .post(format!("{endpoint}/api/v1/wallet"))
            .bearer_auth(token)
            .json(&json!({"name": name})),
        "create a wallet",
    )
    .await?;
    let field = |name: &str| {
        wallet[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the new wallet has no {name}: {wallet}"))
    };
    let keys = WalletKeys {
        id: field("id")?,
        admin_key: field("adminkey")?,
        invoice_key: field("inkey")?,
    };
    if fund_sats > 0 {
        call(
            client
                .put(format!("{endpoint}/users/api/v1/balance"))
                .bearer_auth(token)
                .json(&json!({"id": keys.id, "amount": fund_sats})),
            "fund the wallet",
        )
        .await?;
    }
    Ok(keys)
}

/// Hex of `bytes` random bytes from the OS.
pub(crate) fn random_hex(bytes: usize) -> Result<String, String> {
    use std::io::Read as _;
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut buffer))
        .map_err(|err| format!("no randomness: {err}"))?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}
