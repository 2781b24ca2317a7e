//! Everything a process logs, captured as text, to prove that no secret reaches a log line
//! (contract rule 10).
//!
//! [`capture_everything`] installs, once per process, a subscriber that records every span and
//! event of every target at `TRACE` (the backends' own, and the transports': h2, hyper, tonic,
//! tower) and, through `tracing-log`, every `log` record (reqwest, rustls, tungstenite,
//! cln-rpc). A test runs a full cycle of its backend, then calls [`LogCapture::assert_free_of`]
//! with every credential it configured.
//!
//! ```no_run
//! # async fn cycle() {}
//! # async fn example() {
//! let capture = wallet_conformance::log_capture::capture_everything();
//! cycle().await;
//! capture.assert_free_of(&[("the admin key", "a0a0a0")]);
//! # }
//! ```

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// The captured text of one process.
#[derive(Debug, Default)]
pub struct LogCapture {
    text: Mutex<String>,
    lines: AtomicU64,
}

static CAPTURE: OnceLock<LogCapture> = OnceLock::new();

/// Installs the capturing subscriber as the process's global default (once; later calls return
/// the same capture). Panics never: when another subscriber was installed first, the capture
/// stays empty, which [`LogCapture::assert_free_of`] reports as a failure.
pub fn capture_everything() -> &'static LogCapture {
    let mut first = false;
    let capture = CAPTURE.get_or_init(|| {
        first = true;
        LogCapture::default()
    });
    if first {
        // `log` records become events of this subscriber (a second install fails harmlessly).
        let _ = tracing_log::LogTracer::init_with_filter(tracing_log::log::LevelFilter::Trace);
        let _ = tracing::subscriber::set_global_default(Capturing {
            capture,
            next_id: AtomicU64::new(1),
        });
    }
    capture
}

impl LogCapture {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many spans, events and records were captured.
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Fails (panics, in a test) when any of `secrets` (`(what, value)`) appears in what was
    /// captured, in any case, or when nothing was captured at all (a capture that sees nothing
    /// proves nothing).
    #[allow(clippy::panic)]
    pub fn assert_free_of<W: AsRef<str>, S: AsRef<str>>(&self, secrets: &[(W, S)]) {
        let text = self.text();
        assert_nonempty(self.lines(), &text);
        let lowered = text.to_lowercase();
        for (what, secret) in secrets {
            let (what, secret) = (what.as_ref(), secret.as_ref());
            if secret.is_empty() {
                continue;
            }
            if let Some(at) = lowered.find(&secret.to_lowercase()) {
                let start = text[..at].rfind('\n').map_or(0, |newline| newline + 1);
                let end = text[at..]
                    .find('\n')
                    .map_or(text.len(), |newline| at + newline);
                panic!(
                    "{what} appears in the logs ({} lines captured), in:\n{}",
                    self.lines(),
                    &text[start..end]
                );
            }
        }
    }

    fn push(&self, line: &str) {
        let mut text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        text.push_str(line);
        text.push('\n');
        self.lines.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(clippy::panic)]
fn assert_nonempty(lines: u64, text: &str) {
    if lines == 0 || text.is_empty() {
        panic!("nothing was captured: another subscriber was installed first");
    }
}

/// Writes every field as `name=value`, with `Debug` formatting as subscribers do.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

struct Capturing {
    capture: &'static LogCapture,
    next_id: AtomicU64,
}

impl Subscriber for Capturing {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = format!(
            "span {} {}:",
            span.metadata().target(),
            span.metadata().name()
        );
        span.record(&mut Fields(&mut line));
        self.capture.push(&line);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed).max(1))
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = "record:".to_owned();
        values.record(&mut Fields(&mut line));
        self.capture.push(&line);
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        use tracing_log::NormalizeEvent;
        // A `log` record arrives as an event of target "log"; its own target is restored here.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut line = format!("{} {}:", metadata.level(), metadata.target());
        event.record(&mut Fields(&mut line));
        self.capture.push(&line);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A full cycle for [`LogCapture`] to watch: `payee` opens its paid-invoice stream, issues an
/// invoice that `payer` pays, sees it paid and streamed; if `payee` has hold invoices, it issues
/// one with a preimage of its own, which `payer` pays and `payee` cancels unsettled. Returns the
/// secrets the cycle made (that preimage, which must never be logged: its invoice was never paid).
pub async fn pay_receive_stream_cycle(
    payer: &dyn wallet_core::Wallet,
    payee: &dyn wallet_core::Wallet,
) -> Result<Vec<(String, String)>, String> {
    use futures::StreamExt;
    use std::time::Duration;
    use wallet_core::{
        HoldInvoiceRequest, InvoiceRequest, InvoiceStatus, PayInvoiceRequest, PaymentStatus,
        Preimage, WalletFeature,
    };

    let failed = |what: &str, err: &dyn fmt::Display| format!("{what}: {err}");
    let mut stream = payee
        .paid_invoices_stream(None)
        .await
        .map_err(|err| failed("paid_invoices_stream", &err))?;
    payee.status().await.map_err(|err| failed("status", &err))?;
    let invoice = payee
        .create_invoice(InvoiceRequest::new(21_000).memo("log capture"))
        .await
        .map_err(|err| failed("create_invoice", &err))?;
    let paid = payer
        .pay_invoice(
            PayInvoiceRequest::new(invoice.payment_request.clone(), 10_000)
                .timeout(Duration::from_secs(30)),
        )
        .await
        .map_err(|err| failed("pay_invoice", &err))?;
    if !matches!(paid.status, PaymentStatus::Succeeded { .. }) {
        return Err(format!("the payment did not succeed: {:?}", paid.status));
    }
    payer
        .get_payment_status(&invoice.checking_id)
        .await
        .map_err(|err| failed("get_payment_status", &err))?;
    let status = payee
        .get_invoice_status(&invoice.checking_id)
        .await
        .map_err(|err| failed("get_invoice_status", &err))?;
    if !matches!(status, InvoiceStatus::Paid { .. }) {
        return Err(format!("the invoice is not paid: {status:?}"));
    }
    let streamed = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .map_err(|_| "the paid invoice was not streamed within 30 s".to_owned())?;
    match streamed {
        Some(Ok(item)) if item.payment_hash == invoice.checking_id => {}
        other => return Err(format!("the stream gave {other:?}")),
    }
    let mut secrets = Vec::new();
    if payee.features().contains(WalletFeature::HoldInvoice) {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| failed("randomness", &err))?;
        let preimage = Preimage::from_bytes(bytes);
        secrets.push((
            "the preimage of an unpaid hold invoice".to_owned(),
            preimage.to_hex(),
        ));
        let hold = payee
            .create_hold_invoice(HoldInvoiceRequest {
                payment_hash: preimage.payment_hash(),
                invoice: InvoiceRequest::new(5_000),
            })
            .await
            .map_err(|err| failed("create_hold_invoice", &err))?;
        let held = payer
            .pay_invoice(
                PayInvoiceRequest::new(hold.payment_request, 10_000)
                    .timeout(Duration::from_secs(2)),
            )
            .await
            .map_err(|err| failed("pay_invoice (hold)", &err))?;
        if held.status != PaymentStatus::Pending {
            return Err(format!("the held payment is {:?}", held.status));
        }
        payee
            .cancel_hold_invoice(&preimage.payment_hash())
            .await
            .map_err(|err| failed("cancel_hold_invoice", &err))?;
    }
    Ok(secrets)
}
