//! Dead letters: events a destination never took, kept in KV with no expiry, one per
//! (event, destination), in the layout [`crate::admin::layout`] describes: the envelope as
//! it would be delivered, with a [`DeadLetter`] (whose, when, after how many attempts, and
//! the last error) as its metadata, and two index entries carrying the same metadata that
//! list them newest first, so a listing reads no values.

use worker::Env;

use super::messages::{self, RawMessage};
use super::store;
use super::{kv, now_ms};
use crate::admin::{index_keys_of, letter_key};
use crate::forward::{DeadLetter, LogLine, QueueMessage};

/// Keeps `envelope` as the dead letter `letter` describes; `Ok` with its KV key. The
/// envelope is written before its index entries, so a listed dead letter can always be
/// read; a dead letter kept before (a replay that died again) loses its old index entries.
pub(super) async fn keep(env: &Env, envelope: &str, letter: &DeadLetter) -> Result<String, String> {
    let key = letter_key(&letter.destination, &letter.source, &letter.id);
    let before = get(env, &letter.destination, &letter.source, &letter.id)
        .await
        .ok()
        .flatten()
        .and_then(|(_, meta)| meta);
    store::put(env, &key, envelope.as_bytes(), letter).await?;
    for index in index_keys_of(letter).into_iter().flatten() {
        store::put(env, &index, b"", letter).await?;
    }
    if let Some(old) = before.filter(|old| old.dead_at != letter.dead_at) {
        for index in index_keys_of(&old).into_iter().flatten() {
            let _ = store::delete(env, &index).await; // best effort: a stale entry, not a loss
        }
    }
    Ok(key)
}

/// `destination`'s dead letter of an event: its envelope and record; `None` when there is
/// no such dead letter.
pub(super) async fn get(
    env: &Env,
    destination: &str,
    source: &str,
    id: &str,
) -> Result<Option<(String, Option<DeadLetter>)>, String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let (value, meta) = store
        .get(&letter_key(destination, source, id))
        .text_with_metadata::<DeadLetter>()
        .await
        .map_err(|e| e.to_string())?;
    Ok(value.map(|v| (v, meta)))
}

/// Removes the dead letter `letter` describes: its index entries (and `stale`, an index
/// entry that led here), then the envelope, unless it died again meanwhile (a newer
/// record), so a replay that failed again at once is not lost.
pub(super) async fn remove(
    env: &Env,
    letter: &DeadLetter,
    stale: Option<&str>,
) -> Result<(), String> {
    let index = index_keys_of(letter).unwrap_or_default();
    for key in index.iter().map(String::as_str).chain(stale) {
        store::delete(env, key).await?;
    }
    let now = get(env, &letter.destination, &letter.source, &letter.id).await?;
    match now.and_then(|(_, meta)| meta) {
        Some(now) if now.dead_at != letter.dead_at => Ok(()),
        _ => {
            let key = letter_key(&letter.destination, &letter.source, &letter.id);
            store::delete(env, &key).await
        }
    }
}

/// Removes an index entry that leads to no dead letter.
pub(super) async fn remove_index(env: &Env, key: &str) -> Result<(), String> {
    store::delete(env, key).await
}

/// Keeps a message that is not an edgehook message, as it came, so nothing is dropped
/// silently.
pub(super) async fn keep_unreadable(
    env: &Env,
    msg: &RawMessage,
    letter: &DeadLetter,
) -> Result<String, String> {
    let raw = messages::text(msg).unwrap_or_default();
    let key = format!(
        "dead:unreadable:{}",
        msg.id().map(String::from).unwrap_or_default()
    );
    store::put(env, &key, raw.as_bytes(), letter).await?;
    Ok(key)
}

/// A message on the dead-letter queue: the runtime moved it there after the queue's
/// `max_retries`, the safety net above the destinations' schedules (the Worker normally
/// keeps dead letters itself when a schedule is used up). Kept like any other dead letter.
pub(super) async fn from_queue(env: &Env, msg: &RawMessage) {
    let message = messages::parse(msg);
    let attempts = messages::deliveries(msg);
    let why = "the queue's max_retries ran out before the destination's retry schedule did";
    let now = now_ms();
    let hop = message.as_ref().ok().and_then(QueueMessage::hop);
    let kept = match (&message, hop) {
        (Ok(m), Some(hop)) => {
            let letter =
                DeadLetter::new(&hop.source, &hop.id, &hop.destination, now, attempts, why);
            match messages::envelope_json(env, m).await {
                Ok(envelope) => keep(env, &envelope, &letter).await,
                Err(e) => Err(e),
            }
        }
        // A drain message: what it would have drained is still held.
        (Ok(_), None) => Ok(String::new()),
        (Err(_), _) => {
            let letter = DeadLetter::new("unreadable", "", "", now, attempts, why);
            keep_unreadable(env, msg, &letter).await
        }
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
        LogLine {
            event: "dead_letter",
            source: Some(hop.map_or("unreadable", |h| h.source.as_str())),
            outcome,
            message: Some(match kept {
                Ok(key) => format!("{why}; kept in KV as {key}"),
                Err(e) => format!("{why}; keeping it failed: {e}"),
            }),
            id: hop.map(|h| h.id.as_str()),
            destination: hop.map(|h| h.destination.as_str()),
            attempts: Some(attempts),
            ..Default::default()
        }
        .to_json()
    );
}
