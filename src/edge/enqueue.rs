//! Sending to the `EVENTS` queue: an event's messages (one per destination, in one batch,
//! its envelope kept in KV once when they cannot carry it), a held event's retry, and
//! drain messages.

use worker::wasm_bindgen::JsValue;
use worker::{BatchMessageBuilder, Env, QueueContentType, RawMessageBuilder};

use super::config::Config;
use super::{kv, unavailable, EVENTS_BINDING};
use crate::destinations::keys::Held;
use crate::error::Error;
use crate::forward::{queue_messages, QueueMessage, Target};

/// A spilled envelope outlives the longest schedule by this much.
const BODY_MARGIN_S: u64 = 86_400;

/// Sends an event's messages to `EVENTS`, one per target, in one batch (all or none),
/// first keeping the envelope in KV, once, when they are too large to carry it. Sent as
/// text: the runtime's default (`json`) would encode the text once more, adding a byte for
/// every `"` and `\`, and pass the message limit unseen.
pub(super) async fn enqueue(
    env: &Env,
    config: &Config,
    (source, id, received_ms): (&str, &str, u64),
    json: &str,
    targets: &[Target<'_>],
) -> Result<(), Error> {
    send(env, config, (source, id, received_ms), json, targets, None).await
}

/// Queues one held event's retry at attempt `spent` + 1, `delay_s` from now.
pub(super) async fn enqueue_later(
    env: &Env,
    config: &Config,
    held: &Held,
    spent: u32,
    json: &str,
    delay_s: u32,
) -> Result<(), Error> {
    let target = Target {
        destination: &held.destination,
        base_attempts: spent,
    };
    let event = (held.source.as_str(), held.id.as_str(), held.received_ms);
    send(env, config, event, json, &[target], Some(delay_s)).await
}

async fn send(
    env: &Env,
    config: &Config,
    (source, id, received_ms): (&str, &str, u64),
    json: &str,
    targets: &[Target<'_>],
    delay_s: Option<u32>,
) -> Result<(), Error> {
    let queue = env
        .queue(EVENTS_BINDING)
        .map_err(|_| unavailable("queue EVENTS", "not bound"))?;
    let batch = queue_messages(source, id, json, received_ms, targets);
    if let Some(key) = &batch.stored {
        // As bytes: `put` of a `String` goes through serde (a JavaScript string made from
        // the UTF-8, then copied back into wasm to check it is one), megabytes each way.
        // Never deleted on delivery (another destination, or a replay, may still need it):
        // it expires after the longest schedule.
        kv(env)?
            .put_bytes(key, json.as_bytes())
            .map_err(|e| unavailable("KV", e))?
            .expiration_ttl(body_ttl_s(config))
            .execute()
            .await
            .map_err(|e| unavailable("KV", e))?;
    }
    let message = |text: &str| {
        let mut m = RawMessageBuilder::new(JsValue::from_str(text));
        if let Some(d) = delay_s {
            m = m.delay_seconds(d);
        }
        m.build_with_content_type(QueueContentType::Text)
    };
    let sent = match batch.messages.as_slice() {
        [one] => queue.send_raw(message(one)).await,
        many => {
            let batch = BatchMessageBuilder::new().messages(many.iter().map(|m| message(m)));
            queue.send_raw_batch(batch.build()).await
        }
    };
    sent.map_err(|e| unavailable("queue EVENTS", e))
}

/// How long a spilled envelope is kept: as long as a seen id, and past the longest
/// schedule in any case.
fn body_ttl_s(config: &Config) -> u64 {
    let schedules = config.destinations.longest_schedule_s() + BODY_MARGIN_S;
    config.settings.dedup_ttl_s.max(schedules).max(60)
}

/// Sends a drain message for `destination`.
pub(super) async fn send_drain(env: &Env, destination: &str) -> Result<(), String> {
    let queue = env
        .queue(EVENTS_BINDING)
        .map_err(|_| "queue EVENTS is not bound")?;
    let message = RawMessageBuilder::new(JsValue::from_str(&QueueMessage::drain(destination)))
        .build_with_content_type(QueueContentType::Text);
    queue.send_raw(message).await.map_err(|e| e.to_string())
}
