//! Messages as the queue consumer receives them: the runtime's message, how many times it
//! was delivered, what it carries, and the envelope it carries or refers to in KV.

use worker::js_sys::Reflect;
use worker::wasm_bindgen::JsValue;
use worker::Env;

use super::kv;
use crate::forward::QueueMessage;

/// A message as the runtime hands it over.
pub(super) type RawMessage = worker::worker_sys::Message;

/// How many times the runtime has delivered this message, this time included.
pub(super) fn deliveries(msg: &RawMessage) -> u32 {
    Reflect::get(msg, &JsValue::from_str("attempts"))
        .ok()
        .and_then(|v| v.as_f64())
        .map_or(1, |a| a as u32)
}

/// The message's text, if it is text.
pub(super) fn text(msg: &RawMessage) -> Option<String> {
    msg.body().ok().and_then(|b| b.as_string())
}

/// What an edgehook message says.
pub(super) fn parse(msg: &RawMessage) -> Result<QueueMessage, String> {
    let text = text(msg).ok_or("message body is not text")?;
    serde_json::from_str(&text).map_err(|e| format!("message is not an edgehook message: {e}"))
}

/// The envelope a message carries, or reads it from KV where it was kept by reference.
pub(super) async fn envelope_json(env: &Env, message: &QueueMessage) -> Result<String, String> {
    match message {
        QueueMessage::Inline { envelope, .. } => Ok(envelope.get().to_owned()),
        QueueMessage::Stored { key, .. } => stored(env, key).await,
        QueueMessage::Drain { .. } => Err("a drain message carries no envelope".into()),
    }
}

/// An envelope kept in KV under `key`.
pub(super) async fn stored(env: &Env, key: &str) -> Result<String, String> {
    kv(env)
        .map_err(|e| e.to_string())?
        .get(key)
        .text()
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("stored envelope {key} is gone"))
}
