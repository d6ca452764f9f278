//! The run-status vocabulary every provider's words are mapped into (CONTRACT §4). It lives
//! apart from the envelope so that providers and the envelope each import it, not each other.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A run's state in one vocabulary for every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    Paused,
    Completed,
    Failed,
    Canceled,
    TimedOut,
    /// A word the provider used that is not mapped; kept in `provider_status`.
    Unknown,
}

impl Status {
    /// Every status, in the contract's order.
    pub const ALL: [Status; 8] = [
        Status::Queued,
        Status::Running,
        Status::Paused,
        Status::Completed,
        Status::Failed,
        Status::Canceled,
        Status::TimedOut,
        Status::Unknown,
    ];

    /// The word used in `type` (`run.{status}`) and `data.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
            Status::TimedOut => "timed_out",
            Status::Unknown => "unknown",
        }
    }

    /// True when the run will not change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Failed | Status::Canceled | Status::TimedOut
        )
    }
}

impl FromStr for Status {
    type Err = String;

    /// A vocabulary word (`completed`, `timed_out`, …), as written in a `statuses` table.
    fn from_str(word: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or_else(|| {
                let all: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("`{word}` is not a status; use one of {}", all.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses() {
        let terminal: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                Status::Completed,
                Status::Failed,
                Status::Canceled,
                Status::TimedOut
            ]
        );
        assert_eq!(
            serde_json::to_string(&Status::TimedOut).unwrap(),
            "\"timed_out\""
        );
    }

    #[test]
    fn words_parse_back_and_others_are_named() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        let err = "done".parse::<Status>().unwrap_err();
        assert!(
            err.starts_with("`done` is not a status; use one of queued, running"),
            "{err}"
        );
        assert!("Completed".parse::<Status>().is_err());
    }
}
