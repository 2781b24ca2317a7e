//! A spinner with the elapsed time on stderr while a command waits: on a terminal only, never
//! when output is piped, with `--json` or while logging.
//!
//! Everything the program prints goes through [`print_line`], which wipes the spinner's line
//! first, so a result never lands behind a spinner frame; the next tick draws it again.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Quick commands show nothing: the spinner appears once a command has run this long.
const SHOW_AFTER: Duration = Duration::from_millis(300);
/// How often the frame changes.
const TICK: Duration = Duration::from_millis(100);
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// Back to the line's start and wipe it (ANSI "erase line").
const WIPE: &str = "\r\x1b[2K";

/// Where the spinner draws, and whether a frame is on screen now.
struct Line {
    writer: Box<dyn Write + Send>,
    drawn: bool,
}

/// The line the running spinner draws on, if any; [`print_line`] takes the same lock.
static ACTIVE: Mutex<Option<Line>> = Mutex::new(None);

fn active() -> MutexGuard<'static, Option<Line>> {
    ACTIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a spinner may be shown: on a terminal (stdout and stderr both), for people.
pub(crate) fn wanted(json: bool, logging: bool) -> bool {
    use std::io::IsTerminal as _;
    !json && !logging && io::stderr().is_terminal() && io::stdout().is_terminal()
}

/// A running spinner; it stops and wipes its line when dropped.
pub(crate) struct Spinner {
    task: Option<JoinHandle<()>>,
}

impl Spinner {
    /// A spinner saying `label` on stderr, if `enabled`; otherwise nothing at all.
    pub(crate) fn start(label: &str, enabled: bool) -> Self {
        if !enabled {
            return Self { task: None };
        }
        Self::start_on(label, Box::new(io::stderr()))
    }

    /// A spinner drawing on `writer`.
    fn start_on(label: &str, writer: Box<dyn Write + Send>) -> Self {
        *active() = Some(Line {
            writer,
            drawn: false,
        });
        let label = label.to_owned();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            tokio::time::sleep(SHOW_AFTER).await;
            let mut ticks = tokio::time::interval(TICK);
            for frame in FRAMES.iter().cycle() {
                ticks.tick().await;
                let text = frame_text(*frame, &label, started.elapsed());
                if let Some(line) = active().as_mut() {
                    let _ = write!(line.writer, "{WIPE}{text}").and_then(|()| line.writer.flush());
                    line.drawn = true;
                }
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            if let Some(mut line) = active().take() {
                wipe(&mut line);
            }
        }
    }
}

/// One frame: `⠋ paying 2.4 s`.
fn frame_text(frame: char, label: &str, elapsed: Duration) -> String {
    format!("{frame} {label} {:.1} s", elapsed.as_secs_f64())
}

fn wipe(line: &mut Line) {
    if std::mem::take(&mut line.drawn) {
        let _ = write!(line.writer, "{WIPE}").and_then(|()| line.writer.flush());
    }
}

/// Writes `text` and a newline to `out`, wiping a spinner frame first. `out` must not be a
/// locked stderr: the spinner takes its lock and stderr's in that order.
pub(crate) fn print_line(out: &mut dyn Write, text: &str) -> io::Result<()> {
    let mut guard = active();
    if let Some(line) = guard.as_mut() {
        wipe(line);
    }
    writeln!(out, "{text}").and_then(|()| out.flush())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn a_frame_shows_the_label_and_the_elapsed_seconds() {
        assert_eq!(
            frame_text('⠋', "paying", Duration::from_millis(2_449)),
            "⠋ paying 2.4 s"
        );
    }

    // One test for the whole life of a spinner: they share the one screen line.
    #[tokio::test(start_paused = true)]
    async fn the_spinner_waits_counts_up_steps_aside_for_output_and_wipes_its_line() {
        let screen = Shared::default();
        let spinner = Spinner::start_on("paying", Box::new(screen.clone()));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(screen.text(), "", "a quick command shows nothing");

        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let drawn = screen.text();
        assert!(drawn.contains("⠋ paying 0.3 s"), "{drawn:?}");
        assert!(drawn.contains("paying 1.2 s"), "{drawn:?}");
        assert!(drawn.starts_with(WIPE), "{drawn:?}");

        let mut stdout = Shared::default();
        print_line(&mut stdout, "result").unwrap();
        assert_eq!(stdout.text(), "result\n");
        assert!(
            screen.text().ends_with(WIPE),
            "the frame is wiped before the result"
        );

        drop(spinner);
        let after_drop = screen.text();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            screen.text(),
            after_drop,
            "a dropped spinner draws nothing more"
        );
        assert!(active().is_none());
    }

    #[test]
    fn a_disabled_spinner_draws_nothing_and_output_passes_through() {
        let spinner = Spinner::start("paying", false);
        assert!(spinner.task.is_none());
        let mut stdout = Shared::default();
        print_line(&mut stdout, "result").unwrap();
        assert_eq!(stdout.text(), "result\n");
    }
}
