//! Dead letters: events the origin never took, kept in KV under `dead:{source}:{id}` with
//! no expiry. The entry's value is the envelope as it would be delivered; its metadata is a
//! [`DeadLetter`] (when, after how many attempts, and the last error), so a listing reads
//! no values.

use worker::Env;

use super::kv;
use super::queue::{attempts, envelope_json, parse_message, RawMessage};
use crate::forward::{kv_key, DeadLetter, QueueMessage};

/// Keeps a message's envelope as a dead letter; `Ok` with its KV key. An envelope that was
/// kept by reference is copied in whole, since its body entry expires.
pub(super) async fn keep(
    env: &Env,
    message: &QueueMessage,
    letter: &DeadLetter,
) -> Result<String, String> {
    let (source, id) = message.source_and_id();
    let envelope = envelope_json(env, message).await?;
    let key = kv_key("dead", source, id);
    put(env, &key, envelope, letter).await?;
    Ok(key)
}

/// Keeps a message that is not an edgehook message, as it came, so nothing is dropped
/// silently.
pub(super) async fn keep_unreadable(
    env: &Env,
    msg: &RawMessage,
    letter: &DeadLetter,
) -> Result<String, String> {
    let raw = msg
        .body()
        .ok()
        .and_then(|b| b.as_string())
        .unwrap_or_default();
    let key = format!(
        "dead:unreadable:{}",
        msg.id().map(String::from).unwrap_or_default()
    );
    put(env, &key, raw, letter).await?;
    Ok(key)
}

async fn put(env: &Env, key: &str, value: String, letter: &DeadLetter) -> Result<(), String> {
    kv(env)
        .map_err(|e| e.to_string())?
        .put(key, value)
        .and_then(|p| p.metadata(letter))
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// A message on the dead-letter queue: the runtime moved it there after the queue's
/// `max_retries`, the safety net above `RETRY_SCHEDULE_S` (the Worker normally keeps dead
/// letters itself when its schedule is used up). Kept like any other dead letter.
pub(super) async fn from_queue(env: &Env, msg: &RawMessage) {
    let message = parse_message(msg);
    let attempts = attempts(msg);
    let why = "the queue's max_retries ran out before RETRY_SCHEDULE_S did";
    let now = super::now_ms();
    let kept = match &message {
        Ok(m) => {
            let (source, id) = m.source_and_id();
            keep(env, m, &DeadLetter::new(source, id, now, attempts, why)).await
        }
        Err(_) => {
            let letter = DeadLetter::new("unreadable", "", now, attempts, why);
            keep_unreadable(env, msg, &letter).await
        }
    };
    let (source, id) = match &message {
        Ok(m) => m.source_and_id(),
        Err(_) => ("unreadable", ""),
    };
    let outcome = match &kept {
        Ok(_) => {
            let _ = msg.ack();
            "dead_lettered"
        }
        Err(_) => {
            msg.retry(worker::wasm_bindgen::JsValue::NULL).ok();
            "dead_letter_retry"
        }
    };
    worker::console_log!(
        "{}",
        crate::forward::LogLine {
            event: "dead_letter",
            source: Some(source),
            outcome,
            message: Some(match kept {
                Ok(key) => format!("{why}; kept in KV as {key}"),
                Err(e) => format!("{why}; keeping it failed: {e}"),
            }),
            id: Some(id).filter(|i| !i.is_empty()),
            attempts: Some(attempts),
            ..Default::default()
        }
        .to_json()
    );
}
