//! `cargo xtask tidy`: the architecture invariants no compiler checks, as rust-analyzer keeps
//! them. Each rule says why it exists; a violation names the file and the line.

use std::path::{Path, PathBuf};

use crate::cmd::workspace_root;

/// The crates that implement `Wallet` for a kind of node. They run wallet-core's payment
/// protocol and never re-implement a piece of it.
const BACKENDS: &[&str] = &[
    "crates/wallet-fake",
    "crates/wallet-lnd",
    "crates/wallet-cln",
    "crates/wallet-lnbits",
];

/// Names that belong to the payment protocol in wallet-core. A backend that uses one takes the
/// lock or applies the refusals itself, outside the protocol (contract rule 3).
const PROTOCOL_INTERNALS: &[(&str, &str)] = &[
    (
        "check_payable",
        "the local refusals are the protocol's (wallet_core::pay)",
    ),
    (
        "PaymentLocks",
        "the per-hash lock is the protocol's (wallet_core::pay)",
    ),
    (
        "pay_lock",
        "the per-hash lock is the protocol's (wallet_core::pay)",
    ),
    (
        "PaymentStatus::Failed",
        "only the protocol's attempt rule (wallet_core::pay::payment_status) decides that a \
         payment failed; a backend reports attempts and dispatch outcomes",
    ),
    (
        "enum CallFailure",
        "call failures are sorted into wallet_core::call::CallFailure, once",
    ),
    (
        "enum NoReply",
        "call failures are sorted into wallet_core::call::CallFailure, once",
    ),
];

/// Transport crates wallet-core must not depend on: it is the contract, not a client.
const TRANSPORTS: &[&str] = &[
    "tonic",
    "reqwest",
    "tokio-tungstenite",
    "cln-rpc",
    "hyper",
    "hyper-util",
    "hyper-rustls",
];

pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let mut problems = Vec::new();
    for backend in BACKENDS {
        let sources = rust_files(&root.join(backend).join("src"));
        if sources.is_empty() {
            problems.push(format!("{backend}: no sources found"));
        }
        let mut drives_the_protocol = false;
        for file in &sources {
            let text = read(file, &mut problems);
            drives_the_protocol |= text.contains("impl PaymentDriver for");
            for (number, line) in code_lines(&text) {
                for (name, why) in PROTOCOL_INTERNALS {
                    if contains_word(line, name) {
                        problems.push(format!(
                            "{}:{number}: `{name}` in a backend: {why}",
                            relative(&root, file)
                        ));
                    }
                }
            }
        }
        if !drives_the_protocol {
            problems.push(format!(
                "{backend}: no `impl PaymentDriver for`: every backend pays through \
                 wallet_core::pay::Payments"
            ));
        }
        check_no_other_backend(&root, backend, &mut problems);
    }
    check_core_has_no_transport(&root, &mut problems);
    check_contract_is_cited_here(&root, &mut problems);
    check_publishable(&root, &mut problems);
    if problems.is_empty() {
        eprintln!("tidy: ok");
        Ok(())
    } else {
        for problem in &problems {
            eprintln!("tidy: {problem}");
        }
        Err(format!("{} tidy problem(s)", problems.len()))
    }
}

/// A backend depends on wallet-core and its own transport, never on another backend.
fn check_no_other_backend(root: &Path, backend: &str, problems: &mut Vec<String>) {
    let manifest = root.join(backend).join("Cargo.toml");
    let text = read(&manifest, problems);
    let dependencies = section(&text, "[dependencies]");
    for other in BACKENDS.iter().filter(|other| *other != &backend) {
        let name = other.trim_start_matches("crates/");
        if dependencies.lines().any(|line| {
            line.trim_start().starts_with(&format!("{name} "))
                || line.trim_start().starts_with(&format!("{name}."))
        }) {
            problems.push(format!(
                "{}: depends on {name}: a backend never depends on another backend",
                relative(root, &manifest)
            ));
        }
    }
}

/// Workspace crates that are never published: the task runner and the benchmarks.
const UNPUBLISHED: &[&str] = &["xtask", "crates/wallet-bench"];

/// Every other crate is publishable (`cargo xtask ci` packages and verifies them): it says what
/// it is on crates.io and docs.rs, has its README, and depends on the workspace's crates in its
/// dev-dependencies by path only, since a versioned dev-dependency on a test crate would need
/// that crate published first, and the simulators and the backends test each other.
fn check_publishable(root: &Path, problems: &mut Vec<String>) {
    let mut crate_dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    crate_dirs.push(root.join("conformance"));
    crate_dirs.sort();
    let members: Vec<String> = crate_dirs
        .iter()
        .filter_map(|dir| {
            let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let line = section(&text, "[package]")
                .lines()
                .find(|line| line.starts_with("name = "))?;
            Some(
                line.trim_start_matches("name = ")
                    .trim_matches('"')
                    .to_owned(),
            )
        })
        .collect();
    for dir in &crate_dirs {
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() || UNPUBLISHED.contains(&relative(root, dir).as_str()) {
            continue;
        }
        let text = read(&manifest, problems);
        let package = section(&text, "[package]");
        let shown = relative(root, &manifest);
        for key in [
            "description = ",
            "documentation = ",
            "readme = \"README.md\"",
            "keywords = ",
            "categories = ",
        ] {
            if !package.lines().any(|line| line.starts_with(key)) {
                problems.push(format!("{shown}: [package] needs `{key}…` to be published"));
            }
        }
        if package.lines().any(|line| line.starts_with("publish")) {
            problems.push(format!(
                "{shown}: sets `publish`; every crate but {} is published",
                UNPUBLISHED.join(" and ")
            ));
        }
        if !text.contains("[package.metadata.docs.rs]") {
            problems.push(format!("{shown}: no [package.metadata.docs.rs]"));
        }
        if !dir.join("README.md").is_file() {
            problems.push(format!("{}: no README.md", relative(root, dir)));
        }
        for line in section(&text, "[dev-dependencies]").lines() {
            let name = line.split([' ', '.', '=']).next().unwrap_or_default();
            if members.iter().any(|member| member == name)
                && (line.contains("workspace") || line.contains("version"))
            {
                problems.push(format!(
                    "{shown}: dev-dependency `{name}` must be path-only \
                     (`{name} = {{ path = \"…\" }}`): a versioned one would need it published \
                     first"
                ));
            }
        }
    }
}

/// wallet-core depends on no transport.
fn check_core_has_no_transport(root: &Path, problems: &mut Vec<String>) {
    let manifest = root.join("crates/wallet-core/Cargo.toml");
    let text = read(&manifest, problems);
    let dependencies = section(&text, "[dependencies]");
    for transport in TRANSPORTS {
        if dependencies.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with(&format!("{transport} ")) || line.starts_with(&format!("{transport}."))
        }) {
            problems.push(format!(
                "crates/wallet-core/Cargo.toml: depends on {transport}: wallet-core is the \
                 contract and has no transport"
            ));
        }
    }
}

/// Code cites the contract in this repository, not a design brief outside it.
fn check_contract_is_cited_here(root: &Path, problems: &mut Vec<String>) {
    let mut files = Vec::new();
    for folder in ["crates", "conformance", "xtask"] {
        files.extend(rust_files(&root.join(folder)));
    }
    for file in files {
        let text = read(&file, problems);
        for (number, line) in text.lines().enumerate() {
            if contains_word(line, concat!("DES", "IGN")) {
                problems.push(format!(
                    "{}:{}: cites a document outside the repository; cite \"contract rule N\" \
                     (wallet_core::contract)",
                    relative(root, &file),
                    number + 1
                ));
            }
        }
    }
}

/// Whether `name` occurs in `line` not as the tail or head of a longer identifier
/// (`LndPaymentStatus::Failed` is not `PaymentStatus::Failed`).
fn contains_word(line: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The lines of `text` outside `#[cfg(test)]` modules and comments, numbered from 1. Tests may
/// build any state to check a mapping; comments may name what they explain.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start() == "#[cfg(test)]" {
            break;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        lines.push((index + 1, line));
    }
    lines
}

/// The text of a TOML section, up to the next section header.
fn section<'a>(text: &'a str, header: &str) -> &'a str {
    let Some(start) = text.find(header) else {
        return "";
    };
    let rest = &text[start + header.len()..];
    let end = rest.find("\n[").map_or(rest.len(), |end| end + 1);
    &rest[..end]
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read(path: &Path, problems: &mut Vec<String>) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| {
        problems.push(format!("cannot read {}: {err}", path.display()));
        String::new()
    })
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_and_comments_are_not_code() {
        let text = "let a = 1;\n// PaymentStatus::Failed here\n#[cfg(test)]\nmod tests { x }\n";
        let lines = code_lines(text);
        assert_eq!(lines, vec![(1, "let a = 1;")]);
    }

    #[test]
    fn a_name_inside_a_longer_identifier_is_not_the_name() {
        assert!(contains_word(
            "x = PaymentStatus::Failed {",
            "PaymentStatus::Failed"
        ));
        assert!(!contains_word(
            "LndPaymentStatus::Failed =>",
            "PaymentStatus::Failed"
        ));
        assert!(!contains_word("check_payable_soon()", "check_payable"));
    }

    #[test]
    fn a_section_ends_at_the_next_header() {
        let toml = "[package]\nname = \"x\"\n[dependencies]\ntonic = \"1\"\n[dev-dependencies]\nreqwest = \"1\"\n";
        let dependencies = section(toml, "[dependencies]");
        assert!(dependencies.contains("tonic"));
        assert!(!dependencies.contains("reqwest"));
    }

    #[test]
    fn this_workspace_is_tidy() {
        assert_eq!(run(), Ok(()));
    }
}
