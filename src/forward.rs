//! What the edge hands on, decided without the runtime: the queue message, the signed origin
//! request, the KV keys, retry delays, the answers and the one log line per delivery.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::envelope::CLOUDEVENTS_CONTENT_TYPE;
use crate::error::Error;
use crate::signing::WebhookKey;

/// Cloudflare Queues' limit on one message.
pub const QUEUE_MESSAGE_LIMIT: usize = 128 * 1024;
/// Envelopes up to this size travel inside the queue message; larger ones are kept in KV
/// and the message carries their key. Leaves room for the message's own fields.
pub const INLINE_ENVELOPE_LIMIT: usize = QUEUE_MESSAGE_LIMIT - 8 * 1024;
/// Queues refuse a retry delay over 12 hours.
pub const MAX_RETRY_DELAY_S: u32 = 43_200;
/// KV refuses keys over 512 bytes.
pub const KV_KEY_LIMIT: usize = 512;

/// One message on the `EVENTS` queue: `{"inline":{…}}` or `{"stored":{…}}`. Externally
/// tagged on purpose: serde buffers internally tagged enums, which `RawValue` cannot survive.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMessage {
    /// The envelope itself.
    Inline {
        source: String,
        id: String,
        envelope: Box<RawValue>,
    },
    /// An envelope too large for a message, kept in KV under `key`.
    Stored {
        source: String,
        id: String,
        key: String,
    },
}

impl QueueMessage {
    /// The source and envelope id, whichever the kind.
    pub fn source_and_id(&self) -> (&str, &str) {
        match self {
            QueueMessage::Inline { source, id, .. } | QueueMessage::Stored { source, id, .. } => {
                (source, id)
            }
        }
    }
}

/// How big a JSON text is on the queue: a JavaScript string is stored as UTF-16 when it is
/// not all Latin-1, so anything non-ASCII is counted at two bytes a byte (an upper bound).
pub fn queue_wire_size(json: &str) -> usize {
    if json.is_ascii() {
        json.len()
    } else {
        json.len() * 2
    }
}

/// The queue message (JSON text) for an envelope (JSON text), and the KV entry (key,
/// envelope) to write first when the envelope is too large to travel inline.
pub fn queue_message(
    source: &str,
    id: &str,
    envelope_json: &str,
) -> (String, Option<(String, String)>) {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    if queue_wire_size(envelope_json) <= INLINE_ENVELOPE_LIMIT {
        // Written by hand around the envelope, which is JSON already: no second parse.
        let msg = format!(
            r#"{{"inline":{{"source":{},"id":{},"envelope":{envelope_json}}}}}"#,
            quote(source),
            quote(id)
        );
        return (msg, None);
    }
    let key = kv_key("body", source, id);
    let msg = QueueMessage::Stored {
        source: source.to_owned(),
        id: id.to_owned(),
        key: key.clone(),
    };
    let text = serde_json::to_string(&msg).unwrap_or_default();
    (text, Some((key, envelope_json.to_owned())))
}

/// A KV key `{kind}:{source}:{id}`; hashed when it would pass KV's 512-byte limit (a
/// provider's run id is theirs to choose).
pub fn kv_key(kind: &str, source: &str, id: &str) -> String {
    let key = format!("{kind}:{source}:{id}");
    if key.len() <= KV_KEY_LIMIT {
        key
    } else {
        use sha2::Digest;
        format!(
            "{kind}:{source}:sha256:{}",
            hex::encode(sha2::Sha256::digest(id.as_bytes()))
        )
    }
}

/// The delay before retry number `attempts` (1 after the first failure): the base doubled
/// each time, capped at what Queues allows.
pub fn retry_delay_s(base_s: u32, attempts: u32) -> u32 {
    let exp = attempts.saturating_sub(1).min(31);
    base_s
        .saturating_mul(1u32 << exp)
        .clamp(1, MAX_RETRY_DELAY_S)
}

/// A signed POST of an envelope to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// Builds the origin request: the envelope as body, CloudEvents content type, and the
/// Standard Webhooks headers signed at `now_s`.
pub fn origin_request(
    url: &str,
    key: &WebhookKey,
    id: &str,
    envelope_json: &str,
    now_s: i64,
) -> OriginRequest {
    let mut headers = vec![("content-type", CLOUDEVENTS_CONTENT_TYPE.to_owned())];
    headers.extend(key.headers(id, now_s, envelope_json.as_bytes()));
    OriginRequest {
        url: url.to_owned(),
        headers,
        body: envelope_json.to_owned(),
    }
}

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

/// The one structured log line written per delivery (and per queue delivery attempt).
/// Holds no secret and no body by construction: only these fields exist.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogLine<'a> {
    /// `delivery`, `forward`, `dead_letter`.
    pub event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'a str>,
    /// `accepted`, `duplicate`, `refused`, `delivered`, `retry`, `dead_lettered`, ...
    pub outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    pub duration_ms: u64,
}

impl LogLine<'_> {
    /// The line as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_cap() {
        assert_eq!(
            (1..=5).map(|a| retry_delay_s(10, a)).collect::<Vec<_>>(),
            [10, 20, 40, 80, 160]
        );
        assert_eq!(retry_delay_s(10, 40), MAX_RETRY_DELAY_S);
        assert_eq!(retry_delay_s(0, 1), 1);
    }

    #[test]
    fn small_envelopes_go_inline_large_ones_by_reference() {
        let small = r#"{"id":"x"}"#;
        let (msg, stored) = queue_message("s", "x", small);
        assert!(stored.is_none());
        assert_eq!(
            msg,
            r#"{"inline":{"source":"s","id":"x","envelope":{"id":"x"}}}"#
        );
        let back: QueueMessage = serde_json::from_str(&msg).unwrap();
        assert!(matches!(back, QueueMessage::Inline { envelope, .. } if envelope.get() == small));

        let big = format!(r#"{{"p":"{}"}}"#, "a".repeat(INLINE_ENVELOPE_LIMIT));
        let (msg, _) = queue_message("s", "x\"y", &big);
        let back: QueueMessage = serde_json::from_str(&msg).unwrap();
        assert!(matches!(back, QueueMessage::Stored { id, .. } if id == "x\"y"));
        let (msg, stored) = queue_message("s", "x", &big);
        let (key, json) = stored.unwrap();
        assert_eq!(key, "body:s:x");
        assert_eq!(json, big);
        let back: QueueMessage = serde_json::from_str(&msg).unwrap();
        assert!(matches!(back, QueueMessage::Stored { key, .. } if key == "body:s:x"));
        // Non-ASCII counts double: 70 000 'é' would be 140 KB as UTF-16.
        let wide = format!(r#"{{"p":"{}"}}"#, "é".repeat(35_000));
        assert!(queue_message("s", "x", &wide).1.is_some());
    }

    #[test]
    fn long_ids_are_hashed_into_kv_keys() {
        assert_eq!(
            kv_key("seen", "s", "skyvern:r:completed"),
            "seen:s:skyvern:r:completed"
        );
        let long = kv_key("seen", "s", &"r".repeat(600));
        assert!(long.len() <= KV_KEY_LIMIT && long.starts_with("seen:s:sha256:"));
    }

    #[test]
    fn origin_requests_carry_a_verifiable_signature() {
        let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let req = origin_request(
            "http://o/events",
            &key,
            "skyvern:r:completed",
            "{}",
            1_700_000_000,
        );
        let h = |name: &str| {
            req.headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            h("content-type"),
            Some("application/cloudevents+json; charset=utf-8")
        );
        assert_eq!(h("webhook-id"), Some("skyvern:r:completed"));
        assert_eq!(key.verify(h, b"{}", 1_700_000_000, 300), Ok(()));
    }
}
