//! The KV layout of pauses and held events (all in `SEEN`, none expiring):
//!
//! | key | value | metadata |
//! | --- | --- | --- |
//! | `paused:{destination}` | [`Pause`] as JSON | |
//! | `held:{destination}:{received ms, 13 digits}:{source}:{id}` | the envelope | [`Held`] |
//!
//! A listing of `held:{destination}:` is in KV's ascending key order, which is the order
//! the events were received: a resume delivers them oldest first. Held events keep their
//! envelope whole (never a reference to a body that expires), so a pause may last any time.

use serde::{Deserialize, Serialize};

use crate::forward::KV_KEY_LIMIT;

/// A pause, as kept under [`paused_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When it was paused (RFC 3339, UTC).
    pub since: String,
}

/// What is kept with a held event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub source: String,
    pub id: String,
    pub destination: String,
    /// Attempts already made before it was held: the schedule resumes after them.
    pub spent: u32,
    /// When the event was received, unix ms: the order a resume delivers in.
    pub received_ms: u64,
}

/// The key of a destination's pause.
pub fn paused_key(destination: &str) -> String {
    format!("paused:{destination}")
}

/// The prefix listing a destination's held events, oldest first.
pub fn held_prefix(destination: &str) -> String {
    format!("held:{destination}:")
}

/// The key a held event is kept under; its tail is hashed when the key would pass KV's
/// limit (an id is at most ~200 bytes, but a source name is the user's to choose).
pub fn held_key(held: &Held) -> String {
    let prefix = format!(
        "{}{:013}:",
        held_prefix(&held.destination),
        held.received_ms.min(9_999_999_999_999)
    );
    let tail = format!("{}:{}", held.source, held.id);
    if prefix.len() + tail.len() <= KV_KEY_LIMIT {
        prefix + &tail
    } else {
        use sha2::Digest;
        prefix + "sha256:" + &hex::encode(sha2::Sha256::digest(tail.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(received_ms: u64, id: &str) -> Held {
        Held {
            source: "skyvern".into(),
            id: id.into(),
            destination: "app".into(),
            spent: 0,
            received_ms,
        }
    }

    #[test]
    fn held_keys_sort_oldest_first_and_stay_short() {
        let mut keys = [
            held_key(&held(1_700_000_000_500, "skyvern:b")),
            held_key(&held(999, "skyvern:z")),
            held_key(&held(1_700_000_000_000, "skyvern:c")),
        ];
        assert!(keys.iter().all(|k| k.starts_with(&held_prefix("app"))));
        keys.sort();
        assert_eq!(
            keys,
            [
                "held:app:0000000000999:skyvern:skyvern:z",
                "held:app:1700000000000:skyvern:skyvern:c",
                "held:app:1700000000500:skyvern:skyvern:b",
            ]
        );
        let long = held_key(&held(1, &"r".repeat(600)));
        assert!(long.len() <= KV_KEY_LIMIT && long.contains(":sha256:"));
        assert!(
            serde_json::to_string(&held(1, &"r".repeat(200)))
                .unwrap()
                .len()
                < 1024
        );
        assert_eq!(paused_key("app"), "paused:app");
    }
}
