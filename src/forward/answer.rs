//! The answer to the provider, from what happened to its delivery or why it was refused.

use crate::error::Error;

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Duplicate,
}

/// An answer to the provider: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// `202 {"id":…,"status":"accepted"}` or `200 {"id":…,"status":"duplicate"}`.
    pub fn for_outcome(outcome: Outcome, id: &str) -> Answer {
        let (status, word) = match outcome {
            Outcome::Accepted => (202, "accepted"),
            Outcome::Duplicate => (200, "duplicate"),
        };
        Answer {
            status,
            body: serde_json::json!({ "id": id, "status": word }).to_string(),
        }
    }

    /// The answer for an error.
    pub fn for_error(e: &Error) -> Answer {
        Answer {
            status: e.status(),
            body: e.to_json(),
        }
    }
}
