//! Messages on the `EVENTS` queue: one per (event, destination), carrying the envelope
//! or, when it is too large to travel, the key it was kept under in KV; and the `drain`
//! message that delivers what a paused destination held.
//!
//! An event matching k destinations is k messages sent in one `sendBatch` (all or none is
//! handed on); its envelope goes to KV once, not k times, when the batch would be too large
//! with it inline. Sizes are counted as the runtime counts them: the UTF-8 bytes of the
//! text message (messages are sent as text, `contentType: "text"`, so the runtime sends
//! these bytes as they are).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::kv::kv_key;
use crate::destinations::DEFAULT_DESTINATION;

/// Cloudflare Queues' limit on one message ("128 KB"; counted here as the smaller reading).
pub const QUEUE_MESSAGE_LIMIT: usize = 128 * 1000;
/// Messages up to this many bytes carry their envelope; past it the envelope is kept in KV
/// and the message carries its key. The margin is for the runtime's own framing.
pub const INLINE_MESSAGE_LIMIT: usize = QUEUE_MESSAGE_LIMIT - 4 * 1024;
/// Cloudflare Queues' limit on one `sendBatch` ("256 KB" in all), less the same margin and
/// ~100 bytes of framing per message.
pub const BATCH_LIMIT: usize = 256 * 1000 - 4 * 1024;
/// The framing a message is counted to need inside a batch.
pub const BATCH_FRAMING_PER_MESSAGE: usize = 100;

/// One message on the `EVENTS` queue: `{"inline":{…}}`, `{"stored":{…}}` or
/// `{"drain":{…}}`. Externally tagged on purpose: serde buffers internally tagged enums,
/// which `RawValue` cannot survive. Messages sent before destinations existed have neither
/// `destination` nor `base_attempts`: they are the `origin` destination's, on their first
/// schedule.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMessage {
    /// The envelope itself.
    Inline {
        #[serde(flatten)]
        hop: Hop,
        envelope: Box<RawValue>,
    },
    /// An envelope too large for a message, kept in KV under `key`.
    Stored {
        #[serde(flatten)]
        hop: Hop,
        key: String,
    },
    /// Deliver what `destination` held while paused, oldest first.
    Drain { destination: String },
}

/// Which event a message carries, to which destination, and how far along its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub source: String,
    pub id: String,
    #[serde(default = "default_destination")]
    pub destination: String,
    /// Attempts spent before this message was sent (a held event re-sent on resume): the
    /// runtime counts only this message's deliveries.
    #[serde(default)]
    pub base_attempts: u32,
    /// When the event was received, unix ms (0 in messages from before destinations).
    #[serde(default)]
    pub received_ms: u64,
}

fn default_destination() -> String {
    DEFAULT_DESTINATION.to_owned()
}

impl QueueMessage {
    /// The event and destination a message carries; `None` for a drain.
    pub fn hop(&self) -> Option<&Hop> {
        match self {
            QueueMessage::Inline { hop, .. } | QueueMessage::Stored { hop, .. } => Some(hop),
            QueueMessage::Drain { .. } => None,
        }
    }

    /// A drain message's text.
    pub fn drain(destination: &str) -> String {
        serde_json::to_string(&QueueMessage::Drain {
            destination: destination.to_owned(),
        })
        .unwrap_or_default()
    }
}

/// One destination an event is sent to, and the attempts it has spent there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub destination: &'a str,
    pub base_attempts: u32,
}

/// The messages of one event, and the KV key to write its envelope under first when they
/// carry it by reference (the caller writes it itself: no copy of a body that may be
/// megabytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub messages: Vec<String>,
    pub stored: Option<String>,
}

/// The messages (JSON text, sent as text) that hand an envelope (JSON text) received at
/// `received_ms` on `source` to each of `targets`: inline when every message fits a queue
/// message and all of them one `sendBatch`, else by reference to one KV copy.
pub fn queue_messages(
    source: &str,
    id: &str,
    envelope_json: &str,
    received_ms: u64,
    targets: &[Target],
) -> Batch {
    let hops: Vec<Hop> = targets
        .iter()
        .map(|t| Hop {
            source: source.to_owned(),
            id: id.to_owned(),
            destination: t.destination.to_owned(),
            base_attempts: t.base_attempts,
            received_ms,
        })
        .collect();
    let inline: Vec<String> = hops.iter().map(|h| inline(h, envelope_json)).collect();
    let largest = inline.iter().map(String::len).max().unwrap_or(0);
    let total: usize = inline
        .iter()
        .map(|m| m.len() + BATCH_FRAMING_PER_MESSAGE)
        .sum();
    if largest <= INLINE_MESSAGE_LIMIT && total <= BATCH_LIMIT {
        return Batch {
            messages: inline,
            stored: None,
        };
    }
    let key = kv_key("body", source, id);
    let messages = hops
        .into_iter()
        .map(|hop| {
            let m = QueueMessage::Stored {
                hop,
                key: key.clone(),
            };
            serde_json::to_string(&m).unwrap_or_default()
        })
        .collect();
    Batch {
        messages,
        stored: Some(key),
    }
}

/// `{"inline":{…hop…,"envelope":…}}`, written by hand around the envelope, which is JSON
/// already: no second parse.
fn inline(hop: &Hop, envelope_json: &str) -> String {
    let head = serde_json::to_string(hop).unwrap_or_default();
    let head = head.strip_suffix('}').unwrap_or(&head);
    format!(r#"{{"inline":{head},"envelope":{envelope_json}}}}}"#)
}

#[cfg(test)]
mod tests;
