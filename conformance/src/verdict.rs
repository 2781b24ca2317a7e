//! How a behaviour ends: passed, unsupported (with the reason), or failed (with what broke).

use std::fmt;

use crate::HarnessError;

/// Why a behaviour stopped before passing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The backend broke the contract, or the test bed could not be used.
    Failed(String),
    /// The backend does not support what the behaviour exercises, and said so correctly.
    Unsupported(String),
}

/// The result of a behaviour: `Ok(())` is a pass.
pub type Verdict = Result<(), Stop>;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(message) => write!(f, "failed: {message}"),
            Self::Unsupported(reason) => write!(f, "unsupported: {reason}"),
        }
    }
}

impl From<HarnessError> for Stop {
    fn from(err: HarnessError) -> Self {
        match err {
            HarnessError::Unsupported(reason) => Self::Unsupported(reason),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// A failure with this message.
pub fn fail(message: impl Into<String>) -> Stop {
    Stop::Failed(message.into())
}

/// Ends the behaviour as unsupported, with the reason.
pub fn unsupported(reason: impl Into<String>) -> Verdict {
    Err(Stop::Unsupported(reason.into()))
}

/// Attaches what was being done to an error.
pub trait Context<T> {
    /// Turns an error into a failure that says what was being done.
    fn context(self, doing: &str) -> Result<T, Stop>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, doing: &str) -> Result<T, Stop> {
        self.map_err(|err| Stop::Failed(format!("{doing}: {err}")))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, doing: &str) -> Result<T, Stop> {
        self.ok_or_else(|| Stop::Failed(format!("{doing}: nothing there")))
    }
}

/// Fails the behaviour with a formatted message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::Stop::Failed(format!($($message)+)));
        }
    };
}

/// Fails the behaviour unless the two values are equal, showing both.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($message:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err($crate::Stop::Failed(format!(
                        "{}: {:?} != {:?}",
                        format!($($message)+),
                        left,
                        right
                    )));
                }
            }
        }
    };
}
