//! Printing results: one human-readable form, one JSON form.

use serde::Serialize;
use serde_json::json;
use wallet_core::{
    InvoiceResponse, InvoiceStatus, PaidInvoice, PaymentResponse, PaymentStatus, StatusResponse,
};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Text for people.
    Human,
    /// One JSON object per line, for scripts.
    Json,
}

impl Format {
    /// Prints `value` as JSON, or `human` as text.
    pub(crate) fn print(self, value: &impl Serialize, human: impl FnOnce() -> String) {
        match self {
            Self::Json => match serde_json::to_string(value) {
                Ok(line) => out!("{line}"),
                Err(err) => note!("error: cannot encode the result as JSON: {err}"),
            },
            Self::Human => out!("{}", human()),
        }
    }

    /// Prints a step of a story (the demo): on stdout for people, not at all for scripts.
    pub(crate) fn say(self, text: &str) {
        if self == Self::Human {
            out!("{text}");
        }
    }

    /// Prints a progress note: on stderr for people, not at all for scripts.
    pub(crate) fn note(self, text: &str) {
        if self == Self::Human {
            note!("{text}");
        }
    }
}

/// Text for a balance.
pub(crate) fn status(status: &StatusResponse) -> String {
    format!("balance: {} msat", status.balance_msat)
}

/// Text for a new invoice.
pub(crate) fn invoice(invoice: &InvoiceResponse) -> String {
    format!(
        "payment_request: {}\nchecking_id:     {}\nexpires_at:      {} (unix time)",
        invoice.payment_request, invoice.checking_id, invoice.expires_at
    )
}

/// Text for a payment state.
pub(crate) fn payment_status(status: &PaymentStatus) -> String {
    match status {
        PaymentStatus::Succeeded { preimage, fee_msat } => {
            format!(
                "succeeded: fee {fee_msat} msat, preimage {}",
                preimage.to_hex()
            )
        }
        PaymentStatus::Pending => {
            "pending: the outcome is not known yet; check again with payment-status".into()
        }
        PaymentStatus::Failed { reason } => format!("failed: {reason}"),
        PaymentStatus::Unknown => "unknown: this backend has no payment with that hash".into(),
    }
}

/// Text for a payment answer.
pub(crate) fn payment(response: &PaymentResponse) -> String {
    format!(
        "{}\nchecking_id: {}",
        payment_status(&response.status),
        response.checking_id
    )
}

/// Text for an invoice state.
pub(crate) fn invoice_status(status: &InvoiceStatus) -> String {
    match status {
        InvoiceStatus::Pending => "pending: not paid yet".into(),
        InvoiceStatus::Held {
            amount_received_msat,
        } => format!("held: {amount_received_msat} msat locked in, waiting for settle or cancel"),
        InvoiceStatus::Paid {
            amount_received_msat,
            preimage,
            paid_at,
        } => format!(
            "paid: {amount_received_msat} msat at {paid_at} (unix time), preimage {}",
            preimage.to_hex()
        ),
        InvoiceStatus::Expired => "expired: not paid in time".into(),
        InvoiceStatus::Cancelled => "cancelled".into(),
        InvoiceStatus::Unknown => "unknown: this backend has no invoice with that hash".into(),
    }
}

/// Text for a paid invoice from the stream.
pub(crate) fn paid(paid: &PaidInvoice) -> String {
    format!(
        "paid {} {} msat (cursor {})",
        paid.payment_hash, paid.amount_received_msat, paid.cursor
    )
}

/// The JSON form of an error.
pub(crate) fn error_json(message: &str, causes: &[String], exit_code: i32) -> serde_json::Value {
    json!({ "error": message, "causes": causes, "exit_code": exit_code })
}

/// Writes `line` to stdout. A reader that went away (a closed pipe) ends the program quietly:
/// nobody is left to read the rest.
pub(crate) fn write_stdout(line: &str) {
    if let Err(err) = crate::progress::print_line(&mut std::io::stdout(), line)
        && err.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Writes `line` to stderr; a failure to write loses the line, never the program.
pub(crate) fn write_stderr(line: &str) {
    let _ = crate::progress::print_line(&mut std::io::stderr(), line);
}
