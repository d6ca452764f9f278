//! Secret material that cannot be printed.

use std::fmt;

/// A secret's bytes. `Debug` prints a placeholder and there is no `Display`, so a secret
/// cannot reach a log line or an error message by accident; [`Secret::expose`] is the one
/// way to the bytes, for the HMAC and the token comparison.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Wraps a secret's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into().into_boxed_slice())
    }

    /// The bytes, for the cryptography that needs them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// True when there is nothing to key an HMAC or compare a token with.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), b"hunter2");
    }
}
