//! What a replay selects (CONTRACT §1, §7): the request's body validated, and what a scan
//! of the dead-letter index, newest first, does with each entry.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::layout::{index_key_time_ms, list_prefix};
use super::query::parse_time_ms;
use super::AdminError;
use crate::forward::DeadLetter;

/// At most this many ids in one replay request.
pub const MAX_REPLAY_IDS: usize = 1000;
/// At most this many dead letters are replayed per request: each costs about six KV and
/// queue operations, and a Worker invocation may make 1000. The answer says `more: true`
/// when the selection went further; asking again continues (replayed ones are gone).
pub const MAX_REPLAY_PER_REQUEST: usize = 150;

/// A replay request: `{"source"?, "destination"?, "ids"?, "since"?}`, at least one of
/// `ids`, `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRequest {
    pub source: Option<String>,
    /// Only this destination's dead letters; absent: every destination's.
    pub destination: Option<String>,
    pub ids: Option<BTreeSet<String>>,
    /// Dead letters that died at or after this time (unix ms).
    pub since_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    source: Option<String>,
    destination: Option<String>,
    ids: Option<Vec<String>>,
    since: Option<String>,
}

/// What a scan of the index does with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Take,
    Skip,
    /// Older than `since`: this and everything after it.
    Stop,
}

impl ReplayRequest {
    /// Parses and validates a replay body; every problem is a 400 naming the field.
    pub fn parse(body: &[u8]) -> Result<ReplayRequest, AdminError> {
        let b: ReplayBody = serde_json::from_slice(body).map_err(|e| {
            AdminError::bad(
                "bad_json",
                format!(
                    "the body is not {{\"source\"?, \"destination\"?, \"ids\"?, \"since\"?}}: {e}"
                ),
            )
        })?;
        let since_ms = match b.since.as_deref() {
            None => None,
            Some(s) => Some(parse_time_ms(s).ok_or_else(|| {
                AdminError::bad(
                    "bad_since",
                    "since is not an RFC 3339 time such as 2026-12-01T00:00:00Z",
                )
            })?),
        };
        let ids = match b.ids {
            None => None,
            Some(ids) if ids.is_empty() || ids.iter().any(|i| i.is_empty()) => {
                return Err(AdminError::bad("bad_ids", "ids must be non-empty strings"))
            }
            Some(ids) if ids.len() > MAX_REPLAY_IDS => {
                return Err(AdminError::bad(
                    "bad_ids",
                    format!("at most {MAX_REPLAY_IDS} ids per request"),
                ))
            }
            Some(ids) => Some(ids.into_iter().collect()),
        };
        if ids.is_none() && since_ms.is_none() {
            return Err(AdminError::bad(
                "missing_selector",
                "say which dead letters to replay: ids, since, or both",
            ));
        }
        let source = b.source.filter(|s| !s.is_empty());
        let destination = b.destination.filter(|s| !s.is_empty());
        Ok(ReplayRequest {
            source,
            destination,
            ids,
            since_ms,
        })
    }

    /// True when the dead letters can be read by key (a source and ids, no scan needed).
    pub fn is_direct(&self) -> bool {
        self.source.is_some() && self.ids.is_some() && self.since_ms.is_none()
    }

    /// The index prefix a scan lists.
    pub fn scan_prefix(&self) -> String {
        list_prefix(self.source.as_deref())
    }

    /// What a scan, newest first, does with the entry under `key` whose record is `letter`.
    pub fn step(&self, key: &str, letter: Option<&DeadLetter>) -> Step {
        let time = index_key_time_ms(key, &self.scan_prefix());
        if let (Some(since), Some(t)) = (self.since_ms, time) {
            if t < since {
                return Step::Stop;
            }
        }
        let Some(letter) = letter else {
            return Step::Skip;
        };
        let source_ok = self.source.as_ref().is_none_or(|s| *s == letter.source);
        let destination_ok = self
            .destination
            .as_ref()
            .is_none_or(|d| *d == letter.destination);
        let id_ok = self.ids.as_ref().is_none_or(|ids| ids.contains(&letter.id));
        if source_ok && destination_ok && id_ok {
            Step::Take
        } else {
            Step::Skip
        }
    }
}

/// One replay failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayFailure {
    pub id: String,
    pub error: String,
}

/// `202 {"replayed":n,"failed":[{"id","error"}],"more":bool}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayAnswer {
    pub replayed: usize,
    pub failed: Vec<ReplayFailure>,
    /// More dead letters matched than one request replays ([`MAX_REPLAY_PER_REQUEST`]):
    /// ask again to continue.
    #[serde(default)]
    pub more: bool,
}
