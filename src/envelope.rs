//! The CloudEvents 1.0 envelope (structured JSON) every delivery is normalized into.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::Error;
use crate::providers::{Delivery, Provider, Verified};
/// Re-exported from [`crate::status`], where it lives so that providers need not import the
/// envelope.
pub use crate::status::Status;

/// The CloudEvents `type` of a provider's test ping.
pub const TEST_EVENT_TYPE: &str = "webhook.test";
/// `datacontenttype` of every envelope.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// The content type an envelope is sent with.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json; charset=utf-8";

/// One normalized event (CONTRACT §4). [`Envelope::to_json`] writes it; `Deserialize`
/// reads it back (an origin written in Rust can use this type).
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    pub specversion: String,
    /// `{provider}:{natural id}`: unique per source, the seen-ID and `webhook-id`.
    pub id: String,
    /// `/in/{source}`.
    pub source: String,
    /// `run.{status}`, or `webhook.test` for a test ping.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The run id, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The provider's event time, else the receive time (RFC 3339, UTC).
    pub time: String,
    pub datacontenttype: String,
    /// The provider's name.
    pub provider: String,
    /// When the edge received the delivery (RFC 3339, UTC, milliseconds).
    pub receivedat: String,
    pub data: EventData,
}

/// The `data` of an envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub run_id: Option<String>,
    pub status: Status,
    pub provider_status: Option<String>,
    pub provider_event: Option<String>,
    pub terminal: bool,
    pub error: Option<serde_json::Value>,
    /// The provider's body, byte for byte.
    pub payload: Payload,
}

/// A provider's body: JSON text, carried into the envelope unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(Box<str>);

impl Payload {
    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Ok(Payload(raw.get().into()))
    }
}

/// The envelope's fields before `data`, in the order they are written.
#[derive(Serialize)]
struct Head<'a> {
    specversion: &'a str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    time: &'a str,
    datacontenttype: &'a str,
    provider: &'a str,
    receivedat: &'a str,
}

/// `data`'s fields before `payload`.
#[derive(Serialize)]
struct DataHead<'a> {
    run_id: Option<&'a str>,
    status: Status,
    provider_status: Option<&'a str>,
    provider_event: Option<&'a str>,
    terminal: bool,
    error: Option<&'a serde_json::Value>,
}

impl Envelope {
    /// The envelope as compact JSON. Written in parts so the payload is copied in as it
    /// is, without being parsed again (it was proved JSON when the envelope was built).
    pub fn to_json(&self) -> String {
        let head = Head {
            specversion: &self.specversion,
            id: &self.id,
            source: &self.source,
            event_type: &self.event_type,
            subject: self.subject.as_deref(),
            time: &self.time,
            datacontenttype: &self.datacontenttype,
            provider: &self.provider,
            receivedat: &self.receivedat,
        };
        let d = &self.data;
        let data = DataHead {
            run_id: d.run_id.as_deref(),
            status: d.status,
            provider_status: d.provider_status.as_deref(),
            provider_event: d.provider_event.as_deref(),
            terminal: d.terminal,
            error: d.error.as_ref(),
        };
        // Neither can fail: all keys are strings and every value serializes.
        let head = serde_json::to_string(&head).unwrap_or_default();
        let data = serde_json::to_string(&data).unwrap_or_default();
        let payload = d.payload.get();
        let mut out = String::with_capacity(head.len() + data.len() + payload.len() + 24);
        out.push_str(head.strip_suffix('}').unwrap_or(&head));
        out.push_str(",\"data\":");
        out.push_str(data.strip_suffix('}').unwrap_or(&data));
        out.push_str(",\"payload\":");
        out.push_str(payload);
        out.push_str("}}");
        out
    }
}

/// Verifies `delivery` with `provider` and normalizes it for source `source_name`: the whole
/// path from bytes to envelope, with the clock passed in.
pub fn accept(
    source_name: &str,
    provider: &dyn Provider,
    delivery: &Delivery<'_>,
    now_ms: u64,
) -> Result<Envelope, Error> {
    let verified = provider.verify(delivery, now_ms)?;
    normalize(source_name, provider, &verified, now_ms)
}

/// Builds the envelope of a verified delivery received at `received_ms`.
pub fn normalize(
    source_name: &str,
    provider: &dyn Provider,
    verified: &Verified<'_>,
    received_ms: u64,
) -> Result<Envelope, Error> {
    let facts = provider.describe(verified)?;
    let body = verified.body();
    if !facts.body_is_json {
        serde_json::from_str::<&RawValue>(body).map_err(|e| {
            Error::malformed(format!("the body is not standard JSON (RFC 8259): {e}"))
        })?;
    }
    let payload = Payload(body.into());
    let received = rfc3339_ms(received_ms);
    let time = facts
        .time
        .as_deref()
        .and_then(normalize_time)
        .unwrap_or_else(|| received.clone());
    let event_type = if facts.test {
        TEST_EVENT_TYPE.to_owned()
    } else {
        format!("run.{}", facts.status.as_str())
    };
    Ok(Envelope {
        specversion: "1.0".into(),
        id: envelope_id(provider.name(), &facts.natural_id),
        source: format!("/in/{source_name}"),
        event_type,
        subject: facts.run_id.clone().filter(|r| !r.is_empty()),
        time,
        datacontenttype: DATA_CONTENT_TYPE.into(),
        provider: provider.name().into(),
        receivedat: received,
        data: EventData {
            run_id: facts.run_id,
            status: facts.status,
            provider_status: facts.provider_status,
            provider_event: facts.provider_event,
            terminal: facts.status.is_terminal(),
            error: facts.error,
            payload,
        },
    })
}

/// The longest envelope id: it is a KV key (at most 512 bytes with its prefix) and the
/// `webhook-id` header (origins refuse headers past ~8 KB).
pub const MAX_ID_BYTES: usize = 200;

/// `{provider}:{natural id}`, or `{provider}:{hex SHA-256 of the natural id}` when that
/// would be longer than [`MAX_ID_BYTES`]: every id is short, and stable across retries.
pub fn envelope_id(provider: &str, natural_id: &str) -> String {
    let id = format!("{provider}:{natural_id}");
    if id.len() <= MAX_ID_BYTES {
        return id;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(natural_id.as_bytes());
    format!("{provider}:{}", hex::encode(digest))
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds (`2024-03-01T10:05:24.120Z`).
pub fn rfc3339_ms(ms: u64) -> String {
    DateTime::<Utc>::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A provider's time as RFC 3339 UTC. Accepts RFC 3339 with any offset, and the naive ISO
/// times Python's `datetime.isoformat()` prints (taken as UTC, as the providers mean them).
/// `None` when it is neither, and the receive time is used instead.
pub fn normalize_time(s: &str) -> Option<String> {
    let utc = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                .map(|t| t.and_utc())
        })
        .ok()?;
    Some(utc.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_normalize_to_utc() {
        assert_eq!(
            normalize_time("2025-05-25T09:22:22.269116+00:00").as_deref(),
            Some("2025-05-25T09:22:22.269116Z")
        );
        assert_eq!(
            normalize_time("2024-03-01T12:05:23+02:00").as_deref(),
            Some("2024-03-01T10:05:23Z")
        );
        assert_eq!(
            normalize_time("2024-03-01T10:05:23.123").as_deref(),
            Some("2024-03-01T10:05:23.123Z")
        );
        assert_eq!(normalize_time("yesterday"), None);
        assert_eq!(rfc3339_ms(1_709_287_524_120), "2024-03-01T10:05:24.120Z");
    }

    #[test]
    fn long_natural_ids_become_their_digest() {
        let short = "r".repeat(MAX_ID_BYTES - "skyvern:".len());
        assert_eq!(envelope_id("skyvern", &short), format!("skyvern:{short}"));
        let long = format!("{short}x");
        let id = envelope_id("skyvern", &long);
        assert_eq!(id.len(), "skyvern:".len() + 64);
        assert_eq!(id, envelope_id("skyvern", &long), "stable");
        assert_ne!(id, envelope_id("skyvern", &format!("{short}y")));
        let huge = "é".repeat(30_000);
        assert!(envelope_id("browser-use", &huge).len() <= MAX_ID_BYTES);
    }
}
