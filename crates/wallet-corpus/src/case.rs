//! A case, what it observed, and the verdict: the contract every answer is held to.

use std::fmt;

use wallet_core::{InvoiceStatus, PaymentStatus};

use crate::ops::Op;
use crate::{Run, Runnable};

/// The kinds of answer a scripted server gives (the corpus's columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Bytes that are not the protocol's encoding at all.
    Garbage,
    /// The start of a valid answer, and then nothing.
    Truncated,
    /// The right fields with the wrong types (numbers as strings, strings as numbers).
    WrongTypes,
    /// An answer without the fields the call needs.
    MissingFields,
    /// Every number at the top of its type.
    HugeNumbers,
    /// Every number negative.
    NegativeNumbers,
    /// An answer far larger than the reply cap.
    HugeBody,
    /// An error whose text holds terminal escape sequences and control characters.
    ControlCharacters,
    /// A record about another payment hash.
    OtherHash,
    /// A failed attempt from before this payment's dispatch, and nothing else.
    EarlierFailure,
    /// An HTTP redirect to another host.
    Redirect,
    /// One of the protocol's error classes, as the node sends it.
    NodeError(&'static str),
    /// No answer at all.
    Silence,
    /// The connection closes once the request was read.
    Closed,
}

impl Class {
    /// Whether the class keeps the answer's shape and spoils what is in it (the classes
    /// `shapes::spoiled` makes).
    pub(crate) fn keeps_shape(self) -> bool {
        matches!(
            self,
            Self::WrongTypes
                | Self::MissingFields
                | Self::HugeNumbers
                | Self::NegativeNumbers
                | Self::OtherHash
        )
    }

    /// Whether the answer proves nothing about a payment: only a node's own documented error
    /// can, and a redirect, which LNbits answers before it takes any payment (like its 401 and
    /// 404, it is an HTTP server's refusal to handle the request at all).
    pub(crate) fn is_ambiguous(self) -> bool {
        !matches!(self, Self::NodeError(_) | Self::Redirect)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NodeError(name) => write!(f, "error {name}"),
            other => write!(f, "{}", format!("{other:?}").to_lowercase()),
        }
    }
}

/// What a case must see. Written per request and class from the contract, not from output.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect {
    /// An error whose text, causes included, names the cause with one of these (any case).
    Error(&'static [&'static str]),
    /// `pay_invoice` answers `Ok(Pending)`: the answer may hide a payment that happened. (A
    /// success proven by its preimage is always acceptable.)
    Pending,
    /// `pay_invoice` refuses before sending (an error naming one of these), or says pending.
    NotSentOrPending(&'static [&'static str]),
    /// A status or stream that claims nothing: unknown, pending, quiet, or an error naming one of
    /// these.
    NoClaim(&'static [&'static str]),
    /// Either the call works, or it fails with an error naming one of these: for answers whose
    /// spoiling leaves nothing the call depends on (a settle's result, a peer list's numbers).
    WorksOrError(&'static [&'static str]),
    /// Anything but a `Failed` payment: the spoiled answer came before the payment's dispatch,
    /// so the payment may go ahead, be refused, or be pending.
    NeverFailed,
    /// The CLI exits with this code, and its output names one of these.
    Exit(i32, &'static [&'static str]),
}

/// What a case saw.
#[derive(Clone, Debug)]
pub(crate) enum Observed {
    /// A call that answered something other than a status.
    Value(String),
    /// A payment's state, from `pay_invoice` or `get_payment_status`; a success always with a
    /// preimage that hashes to the payment hash (else [`Observed::ForgedSuccess`]).
    Payment(PaymentStatus),
    /// A payment reported succeeded with a preimage that does not hash to its payment hash.
    ForgedSuccess(PaymentStatus),
    /// An invoice's state.
    Invoice(InvoiceStatus),
    /// A stream that stayed quiet for its whole window.
    Quiet,
    /// An error, with its causes; `not_sent` for a `PayError`.
    Error { text: String, not_sent: bool },
    /// The CLI's exit code and output.
    Cli {
        code: Option<i32>,
        stdout: String,
        stderr: String,
    },
    /// The call panicked.
    Panicked(String),
    /// The call outlived its deadline.
    Hung,
}

impl Observed {
    /// Everything the case showed, for the secret and control-character checks.
    fn shown(&self) -> String {
        match self {
            Self::Value(text) | Self::Panicked(text) => text.clone(),
            Self::Payment(status) | Self::ForgedSuccess(status) => format!("{status:?}"),
            Self::Invoice(status) => format!("{status:?}"),
            Self::Error { text, .. } => text.clone(),
            Self::Cli { stdout, stderr, .. } => format!("{stdout}\n{stderr}"),
            Self::Quiet | Self::Hung => String::new(),
        }
    }
}

/// One row of the corpus.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) backend: &'static str,
    /// The request answered badly: an RPC method, an HTTP endpoint, a CLI argument.
    pub(crate) request: String,
    pub(crate) class: Class,
    pub(crate) expect: Expect,
    /// Whether the poisoned request is a payment's dispatch: an error then claims "nothing was
    /// sent" about a request that reached the node.
    pub(crate) dispatch: bool,
    /// Whether the result is read from the poisoned answer (not from a lookup before it).
    pub(crate) decides: bool,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {} / {}", self.backend, self.request, self.class)
    }
}

/// The verdict on one case.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub(crate) panic: bool,
    pub(crate) leak: bool,
    pub(crate) unsafe_answer: bool,
    pub(crate) hang: bool,
    /// Why the expectation was not met.
    pub(crate) wrong: Option<String>,
}

impl Verdict {
    pub(crate) fn passed(&self) -> bool {
        !self.panic && !self.leak && !self.unsafe_answer && !self.hang && self.wrong.is_none()
    }
}

fn names(text: &str, any_of: &[&str]) -> bool {
    let text = text.to_lowercase();
    any_of
        .iter()
        .any(|word| text.contains(&word.to_lowercase()))
}

/// Holds `observed` to the contract and to `case`'s expectation; `secrets` must appear nowhere.
pub(crate) fn judge(case: &Case, observed: &Observed, secrets: &[String]) -> Verdict {
    let shown = observed.shown();
    let mut verdict = Verdict {
        panic: matches!(observed, Observed::Panicked(_))
            || matches!(
                observed,
                Observed::Cli {
                    code: Some(101),
                    ..
                }
            ),
        hang: matches!(observed, Observed::Hung),
        leak: secrets
            .iter()
            .any(|secret| !secret.is_empty() && shown.contains(secret.as_str())),
        ..Verdict::default()
    };
    let ambiguous = case.class.is_ambiguous() && case.decides;
    // A success without its proof is never safe; a failure or "nothing was sent" is unsafe on an
    // answer that proves neither. An invoice's preimage proves nothing (the node made it), so a
    // paid invoice read from a spoiled answer is unsafe too.
    verdict.unsafe_answer = matches!(observed, Observed::ForgedSuccess(_))
        || (ambiguous
            && match observed {
                Observed::Payment(status) => status.is_failed(),
                Observed::Invoice(InvoiceStatus::Paid { .. }) => true,
                Observed::Error { not_sent, .. } => *not_sent && case.dispatch,
                _ => false,
            });
    if verdict.panic || verdict.hang {
        return verdict;
    }
    // Server text reaches people: no control character may survive (a newline in CLI output
    // is the CLI's own).
    let unsafe_character = |c: char| wallet_core::untrusted::is_unsafe(c);
    let controlled = match observed {
        Observed::Cli { .. } => shown
            .chars()
            .any(|c| unsafe_character(c) && c != '\n' && c != '\t'),
        _ => shown.chars().any(unsafe_character),
    };
    if controlled {
        verdict.wrong = Some(format!("control characters shown: {shown:?}"));
        return verdict;
    }
    let wrong = match (case.expect, observed) {
        (Expect::Error(any_of), Observed::Error { text, .. }) if names(text, any_of) => None,
        (
            Expect::Pending | Expect::NotSentOrPending(_),
            Observed::Payment(PaymentStatus::Pending | PaymentStatus::Succeeded { .. }),
        ) => None,
        (
            Expect::NotSentOrPending(any_of),
            Observed::Error {
                text,
                not_sent: true,
            },
        ) if names(text, any_of) => None,
        (
            Expect::NoClaim(_),
            Observed::Quiet
            | Observed::Payment(PaymentStatus::Pending)
            | Observed::Invoice(InvoiceStatus::Pending),
        ) => None,
        // "The node has no such thing" only from an answer about something else, or the node's
        // own error: a spoiled answer about this hash is no proof of absence (an app may pay or
        // issue again on Unknown).
        (
            Expect::NoClaim(_),
            Observed::Payment(PaymentStatus::Unknown) | Observed::Invoice(InvoiceStatus::Unknown),
        ) if matches!(case.class, Class::OtherHash | Class::NodeError(_)) => None,
        (Expect::NoClaim(any_of), Observed::Error { text, .. }) if names(text, any_of) => None,
        (Expect::WorksOrError(_), Observed::Value(_) | Observed::Quiet) => None,
        (Expect::WorksOrError(any_of), Observed::Error { text, .. }) if names(text, any_of) => None,
        (Expect::NeverFailed, Observed::Payment(status)) if !status.is_failed() => None,
        (Expect::NeverFailed, Observed::Error { not_sent: true, .. }) => None,
        (
            Expect::Exit(code, any_of),
            Observed::Cli {
                code: Some(seen), ..
            },
        ) if *seen == code && names(&shown, any_of) => None,
        (expect, observed) => Some(format!("expected {expect:?}, saw {observed:?}")),
    };
    verdict.wrong = wrong;
    verdict
}

/// The classes each request of a protocol is tried with: the shared ones, the protocol's error
/// classes, a redirect where the protocol has them, and an earlier failure for a dispatch.
fn classes(node_errors: &[&'static str], redirects: bool, dispatch: bool) -> Vec<Class> {
    let mut classes = vec![
        Class::Garbage,
        Class::Truncated,
        Class::WrongTypes,
        Class::MissingFields,
        Class::HugeNumbers,
        Class::NegativeNumbers,
        Class::HugeBody,
        Class::ControlCharacters,
        Class::OtherHash,
        Class::Silence,
        Class::Closed,
    ];
    if redirects {
        classes.push(Class::Redirect);
    }
    classes.extend(node_errors.iter().map(|name| Class::NodeError(name)));
    if dispatch {
        classes.push(Class::EarlierFailure);
    }
    classes
}

/// A request of a backend, as its table lists it.
pub(crate) struct Row {
    pub(crate) request: String,
    pub(crate) op: Op,
    pub(crate) dispatch: bool,
}

/// A backend's table: its requests, how each reads as a [`Row`], its protocol's error classes,
/// whether the protocol has redirects, and the expectation per request and class.
pub(crate) struct Table<R: 'static> {
    pub(crate) backend: &'static str,
    pub(crate) requests: &'static [R],
    pub(crate) row: fn(&R) -> Row,
    pub(crate) node_errors: Vec<&'static str>,
    pub(crate) redirects: bool,
    pub(crate) expect: fn(&R, Class) -> Expect,
}

impl<R> Table<R> {
    /// One case per request and class; `start(index, class)` runs the request at `index`.
    pub(crate) fn cases(&self, start: fn(usize, Class) -> Run) -> Vec<Runnable> {
        let mut cases: Vec<Runnable> = Vec::new();
        for (index, request) in self.requests.iter().enumerate() {
            let row = (self.row)(request);
            for class in classes(&self.node_errors, self.redirects, row.dispatch) {
                let case = Case {
                    backend: self.backend,
                    request: row.request.clone(),
                    class,
                    expect: (self.expect)(request, class),
                    dispatch: row.dispatch,
                    // A payment's result is read from its dispatch, not from the lookups before
                    // it.
                    decides: !matches!(row.op, Op::Pay) || row.dispatch,
                };
                cases.push((case, Box::new(move || start(index, class))));
            }
        }
        cases
    }
}
