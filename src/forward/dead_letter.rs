//! A dead letter's record: what is kept with it (as KV metadata, so a listing reads no
//! values): its destination, why it died, when, after how many attempts.

use serde::{Deserialize, Serialize};

use crate::destinations::DEFAULT_DESTINATION;

/// What is kept with a dead letter (as its KV metadata, so a listing needs no reads): whose
/// it is, why it died and when. The envelope itself is the entry's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub source: String,
    pub id: String,
    /// The destination that never took it. Records written before destinations existed
    /// have none: they are the `origin` destination's.
    #[serde(default = "default_destination")]
    pub destination: String,
    /// When it was given up on (RFC 3339, UTC).
    pub dead_at: String,
    /// Delivery attempts made, the last one included.
    pub attempts: u32,
    /// The last attempt's failure: the origin's status, a timeout, or why it was unreachable.
    pub last_error: String,
}

/// KV metadata holds at most 1024 bytes: a last error is cut to this many.
pub const LAST_ERROR_LIMIT: usize = 400;

impl DeadLetter {
    /// A dead letter's record, its error cut at a character boundary to fit KV metadata.
    pub fn new(
        source: &str,
        id: &str,
        destination: &str,
        dead_at_ms: u64,
        attempts: u32,
        last_error: &str,
    ) -> Self {
        let mut end = last_error.len().min(LAST_ERROR_LIMIT);
        while !last_error.is_char_boundary(end) {
            end -= 1;
        }
        DeadLetter {
            source: source.to_owned(),
            id: id.to_owned(),
            destination: destination.to_owned(),
            dead_at: crate::envelope::rfc3339_ms(dead_at_ms),
            attempts,
            last_error: last_error[..end].to_owned(),
        }
    }
}

fn default_destination() -> String {
    DEFAULT_DESTINATION.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_errors_fit_kv_metadata() {
        let long = "é".repeat(LAST_ERROR_LIMIT);
        let d = DeadLetter::new("s", "id", &"d".repeat(32), 1_709_287_524_120, 9, &long);
        assert!(
            d.last_error.len() <= LAST_ERROR_LIMIT && d.last_error.len() >= LAST_ERROR_LIMIT - 1
        );
        assert_eq!(d.dead_at, "2024-03-01T10:05:24.120Z");
        assert!(serde_json::to_string(&d).unwrap().len() < 1024);
    }

    #[test]
    fn records_from_before_destinations_are_the_origins() {
        let old = r#"{"source":"s","id":"i","dead_at":"2026-12-01T00:00:00.000Z","attempts":9,"last_error":"origin answered 503"}"#;
        let d: DeadLetter = serde_json::from_str(old).unwrap();
        assert_eq!(d.destination, "origin");
        let back = serde_json::to_value(&d).unwrap();
        assert_eq!(back["destination"], "origin");
    }
}
