//! What the edge hands on, decided without the runtime: the queue message, the signed origin
//! request, the KV keys, retry delays, the answers and the one log line per delivery.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::envelope::CLOUDEVENTS_CONTENT_TYPE;
use crate::error::Error;
use crate::signing::WebhookKey;

/// Cloudflare Queues' limit on one message ("128 KB"; counted here as the smaller reading).
pub const QUEUE_MESSAGE_LIMIT: usize = 128 * 1000;
/// Messages up to this many bytes carry their envelope; past it the envelope is kept in KV
/// and the message carries its key. The message is sent as text (`contentType: "text"`), so
/// the runtime sends these UTF-8 bytes as they are; the margin is for its own framing.
pub const INLINE_MESSAGE_LIMIT: usize = QUEUE_MESSAGE_LIMIT - 4 * 1024;
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

/// The queue message (JSON text, sent as text) for an envelope (JSON text), and the KV key
/// to write the envelope under first when the message would be too large with the envelope
/// in it (the caller writes `envelope_json` itself: no copy of a body that may be megabytes).
/// Sizes are counted as the runtime counts them: the message's UTF-8 bytes.
pub fn queue_message(source: &str, id: &str, envelope_json: &str) -> (String, Option<String>) {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    // Written by hand around the envelope, which is JSON already: no second parse.
    let (source_json, id_json) = (quote(source), quote(id));
    let inline_len = envelope_json.len() + source_json.len() + id_json.len() + 40;
    if inline_len <= INLINE_MESSAGE_LIMIT {
        let msg = format!(
            r#"{{"inline":{{"source":{source_json},"id":{id_json},"envelope":{envelope_json}}}}}"#
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
    (text, Some(key))
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

/// What is kept with a dead letter (as its KV metadata, so a listing needs no reads): why
/// it died and when. The envelope itself is the entry's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub source: String,
    pub id: String,
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
    pub fn new(source: &str, id: &str, dead_at_ms: u64, attempts: u32, last_error: &str) -> Self {
        let mut end = last_error.len().min(LAST_ERROR_LIMIT);
        while !last_error.is_char_boundary(end) {
            end -= 1;
        }
        DeadLetter {
            source: source.to_owned(),
            id: id.to_owned(),
            dead_at: crate::envelope::rfc3339_ms(dead_at_ms),
            attempts,
            last_error: last_error[..end].to_owned(),
        }
    }
}

/// A signed POST of an envelope to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginRequest<'a> {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// The envelope, borrowed: it may be megabytes.
    pub body: &'a str,
}

/// Builds the origin request: the envelope as body, CloudEvents content type, and the
/// Standard Webhooks headers signed at `now_s`.
pub fn origin_request<'a>(
    url: &str,
    key: &WebhookKey,
    id: &str,
    envelope_json: &'a str,
    now_s: i64,
) -> OriginRequest<'a> {
    let signature = key.sign(id, now_s, envelope_json.as_bytes());
    origin_request_signed(url, id, envelope_json, now_s, signature)
}

/// As [`origin_request`], with the `webhook-signature` value made elsewhere (the Worker's
/// `crypto.subtle`, over [`WebhookKey::signed_content`]).
pub fn origin_request_signed<'a>(
    url: &str,
    id: &str,
    envelope_json: &'a str,
    now_s: i64,
    signature: String,
) -> OriginRequest<'a> {
    let mut headers = vec![("content-type", CLOUDEVENTS_CONTENT_TYPE.to_owned())];
    headers.extend(WebhookKey::headers_with(id, now_s, signature));
    OriginRequest {
        url: url.to_owned(),
        headers,
        body: envelope_json,
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

        // The limit is on the whole message's UTF-8 bytes, counted exactly: a message of
        // INLINE_MESSAGE_LIMIT bytes goes inline, one byte more goes by reference.
        let fill = |n: usize| format!(r#"{{"p":"{}"}}"#, "a".repeat(n));
        let overhead = queue_message("s", "x", &fill(0)).0.len() - fill(0).len();
        let at = fill(INLINE_MESSAGE_LIMIT - overhead - fill(0).len());
        let (msg, stored) = queue_message("s", "x", &at);
        assert_eq!((msg.len(), stored.is_none()), (INLINE_MESSAGE_LIMIT, true));
        let over = fill(INLINE_MESSAGE_LIMIT - overhead - fill(0).len() + 1);
        assert!(queue_message("s", "x", &over).1.is_some());
        // Escapes and non-ASCII are what they are in UTF-8: no JSON re-encoding to allow for.
        let wide = format!(r#"{{"p":"{}"}}"#, "é".repeat(60_000));
        assert!(queue_message("s", "x", &wide).1.is_none());
        let wider = format!(r#"{{"p":"{}"}}"#, "é".repeat(62_500));
        assert!(queue_message("s", "x", &wider).1.is_some());

        let big = fill(INLINE_MESSAGE_LIMIT);
        let (msg, _) = queue_message("s", "x\"y", &big);
        let back: QueueMessage = serde_json::from_str(&msg).unwrap();
        assert!(matches!(back, QueueMessage::Stored { id, .. } if id == "x\"y"));
        let (msg, stored) = queue_message("s", "x", &big);
        assert_eq!(stored.as_deref(), Some("body:s:x"));
        let back: QueueMessage = serde_json::from_str(&msg).unwrap();
        assert!(matches!(back, QueueMessage::Stored { key, .. } if key == "body:s:x"));
    }

    #[test]
    fn dead_letter_errors_fit_kv_metadata() {
        let long = "é".repeat(LAST_ERROR_LIMIT);
        let d = DeadLetter::new("s", "id", 1_709_287_524_120, 9, &long);
        assert!(
            d.last_error.len() <= LAST_ERROR_LIMIT && d.last_error.len() >= LAST_ERROR_LIMIT - 1
        );
        assert_eq!(d.dead_at, "2024-03-01T10:05:24.120Z");
        assert!(serde_json::to_string(&d).unwrap().len() < 1024);
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
