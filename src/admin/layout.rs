//! The KV layout of dead letters (all in `SEEN`, none expiring), one per (event,
//! destination):
//!
//! | key | value | metadata |
//! | --- | --- | --- |
//! | `dead:{source}:{id}` | the envelope as it would be delivered | [`DeadLetter`] |
//! | `dead-by-time:{inv}:{source}:{id}` | empty | [`DeadLetter`] |
//! | `dead-by-source:{source}:{inv}:{id}` | empty | [`DeadLetter`] |
//!
//! That is the `origin` destination's layout, the one dead letters had before destinations
//! existed, so those stay listable and replayable as they are. Another destination `D`
//! keeps its dead letter under `dead~D:{source}:{id}`, and its index tails begin with `~D:`
//! (`dead-by-time:{inv}:~D:{source}:{id}`); `~` is in no destination name, and no envelope
//! id begins with it.
//!
//! `inv` is [`INVERTED_FROM`] minus the death time in unix milliseconds, 13 digits, so KV's
//! ascending key order is newest first: all sources through `dead-by-time:`, one through
//! `dead-by-source:{source}:`. A listing reads only keys and metadata (which name the
//! destination, so `?destination=D` filters what it lists) and passes KV's own list cursor
//! through; a replay `since` a time stops at the first older key.

use serde::{Deserialize, Serialize};

use super::query::parse_time_ms;
use crate::destinations::DEFAULT_DESTINATION;
use crate::forward::{kv_key, DeadLetter, KV_KEY_LIMIT};

/// Death times are stored as this minus the unix milliseconds (13 digits until 2286).
pub const INVERTED_FROM: u64 = 9_999_999_999_999;

const BY_TIME: &str = "dead-by-time:";
const BY_SOURCE: &str = "dead-by-source:";

/// The index prefix listing one source's dead letters, or all of them, newest first.
pub fn list_prefix(source: Option<&str>) -> String {
    match source {
        Some(s) => format!("{BY_SOURCE}{s}:"),
        None => BY_TIME.to_owned(),
    }
}

/// What a destination's keys carry after the part every destination shares: nothing for
/// `origin`, `~{destination}:` for the others.
fn mark(destination: &str) -> String {
    if destination == DEFAULT_DESTINATION {
        String::new()
    } else {
        format!("~{destination}:")
    }
}

/// The key holding the envelope of `destination`'s dead letter of an event.
pub fn letter_key(destination: &str, source: &str, id: &str) -> String {
    if destination == DEFAULT_DESTINATION {
        kv_key("dead", source, id)
    } else {
        kv_key(&format!("dead~{destination}"), source, id)
    }
}

/// `{prefix}{tail}`, the tail replaced by its SHA-256 when the key would pass KV's limit.
fn bounded(prefix: String, tail: &str) -> String {
    if prefix.len() + tail.len() <= KV_KEY_LIMIT {
        return prefix + tail;
    }
    use sha2::Digest;
    prefix + "sha256:" + &hex::encode(sha2::Sha256::digest(tail.as_bytes()))
}

/// The two index keys of `destination`'s dead letter of an event, dead at `dead_at_ms`.
pub fn index_keys(destination: &str, source: &str, id: &str, dead_at_ms: u64) -> [String; 2] {
    let inv = INVERTED_FROM.saturating_sub(dead_at_ms.min(INVERTED_FROM));
    let mark = mark(destination);
    [
        bounded(
            format!("{BY_TIME}{inv:013}:"),
            &format!("{mark}{source}:{id}"),
        ),
        bounded(
            format!("{BY_SOURCE}{source}:{inv:013}:"),
            &format!("{mark}{id}"),
        ),
    ]
}

/// A dead letter's death time in unix milliseconds, from its record.
pub fn dead_at_ms(letter: &DeadLetter) -> Option<u64> {
    parse_time_ms(&letter.dead_at)
}

/// The index keys of a dead letter, from its record; `None` when its `dead_at` is not a
/// time (never, for records this Worker wrote).
pub fn index_keys_of(letter: &DeadLetter) -> Option<[String; 2]> {
    Some(index_keys(
        &letter.destination,
        &letter.source,
        &letter.id,
        dead_at_ms(letter)?,
    ))
}

/// The death time an index key listed under `prefix` carries, in unix milliseconds.
pub fn index_key_time_ms(key: &str, prefix: &str) -> Option<u64> {
    let inv: u64 = key.strip_prefix(prefix)?.get(..13)?.parse().ok()?;
    INVERTED_FROM.checked_sub(inv)
}

/// One entry of a listing: a dead letter's record, if its KV metadata is one and it is of
/// the source and destination asked for.
pub fn listed(
    metadata: Option<serde_json::Value>,
    source: Option<&str>,
    destination: Option<&str>,
) -> Option<DeadLetter> {
    let letter: DeadLetter = serde_json::from_value(metadata?).ok()?;
    // A source prefix `a:` also matches a source named `a:b`: keep only the one asked for.
    let source_ok = source.is_none_or(|s| letter.source == s);
    let destination_ok = destination.is_none_or(|d| letter.destination == d);
    (source_ok && destination_ok).then_some(letter)
}

/// A listing's answer: `{"dead_letters":[…],"cursor":C|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAnswer {
    pub dead_letters: Vec<DeadLetter>,
    /// KV's cursor for the next page; `null` on the last.
    pub cursor: Option<String>,
}

/// The next page's cursor, from what KV said: none once the list is complete.
pub fn next_cursor(list_complete: bool, cursor: Option<String>) -> Option<String> {
    cursor.filter(|c| !list_complete && !c.is_empty())
}
