//! A wrapper that keeps credentials out of `Debug` output, logs and error messages.

use std::fmt;

/// A credential (API key, macaroon, rune, seed). `Debug` prints `<redacted>`; the value is only
/// reachable through [`Secret::expose`], so every use is visible in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value itself. Do not log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let key = Secret::new(String::from("4526ecdd520d48dd"));
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(key.expose(), "4526ecdd520d48dd");
    }
}
