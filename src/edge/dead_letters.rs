//! Dead letters: events the origin never took, kept in KV with no expiry, in the layout
//! [`crate::admin`] describes: `dead:{source}:{id}` holds the envelope as it would be
//! delivered, with a [`DeadLetter`] (when, after how many attempts, and the last error) as
//! its metadata, and two index entries carrying the same metadata list them newest first,
//! so a listing reads no values. Also the admin routes' KV side: list, read, remove.

use worker::kv::KvStore;
use worker::Env;

use super::kv;
use super::queue::{attempts, envelope_json, parse_message, RawMessage};
use crate::admin::{index_keys_of, letter_key};
use crate::forward::{DeadLetter, QueueMessage};

/// Keeps a message's envelope as a dead letter; `Ok` with its KV key. An envelope that was
/// kept by reference is copied in whole, since its body entry expires. The envelope is
/// written before its index entries, so a listed dead letter can always be read; a dead
/// letter kept before (a replay that died again) loses its old index entries.
pub(super) async fn keep(
    env: &Env,
    message: &QueueMessage,
    letter: &DeadLetter,
) -> Result<String, String> {
    let (source, id) = message.source_and_id();
    let envelope = envelope_json(env, message).await?;
    let key = letter_key(source, id);
    let store = kv(env).map_err(|e| e.to_string())?;
    let before = metadata(&store, &key).await.ok().flatten();
    put(env, &key, &envelope, letter).await?;
    for index in index_keys_of(letter).into_iter().flatten() {
        put(env, &index, "", letter).await?;
    }
    if let Some(old) = before.filter(|old| old.dead_at != letter.dead_at) {
        for index in index_keys_of(&old).into_iter().flatten() {
            let _ = store.delete(&index).await; // best effort: a stale entry, not a loss
        }
    }
    Ok(key)
}

/// The record kept with the dead letter under `key`, if there is one.
async fn metadata(store: &KvStore, key: &str) -> Result<Option<DeadLetter>, String> {
    let (_, meta) = store
        .get(key)
        .text_with_metadata::<DeadLetter>()
        .await
        .map_err(|e| e.to_string())?;
    Ok(meta)
}

/// A dead letter's envelope and record; `None` when there is no such dead letter.
pub(super) async fn get(
    env: &Env,
    source: &str,
    id: &str,
) -> Result<Option<(String, Option<DeadLetter>)>, String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let (value, meta) = store
        .get(&letter_key(source, id))
        .text_with_metadata::<DeadLetter>()
        .await
        .map_err(|e| e.to_string())?;
    Ok(value.map(|v| (v, meta)))
}

/// One page of index entries under `prefix`: (key, metadata) pairs, whether the list is
/// complete, and KV's cursor for the next page.
pub(super) struct Page {
    pub keys: Vec<(String, Option<serde_json::Value>)>,
    pub complete: bool,
    pub cursor: Option<String>,
}

pub(super) async fn list(
    env: &Env,
    prefix: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page, String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let mut list = store.list().prefix(prefix.to_owned()).limit(limit.into());
    if let Some(c) = cursor {
        list = list.cursor(c);
    }
    let page = list.execute().await.map_err(|e| e.to_string())?;
    Ok(Page {
        keys: page
            .keys
            .into_iter()
            .map(|k| (k.name, k.metadata))
            .collect(),
        complete: page.list_complete,
        cursor: page.cursor,
    })
}

/// Removes the dead letter `letter` describes: its index entries (and `stale`, an index
/// entry that led here), then the envelope, unless it died again meanwhile (a newer
/// record), so a replay that failed again at once is not lost.
pub(super) async fn remove(
    env: &Env,
    letter: &DeadLetter,
    stale: Option<&str>,
) -> Result<(), String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let index = index_keys_of(letter).unwrap_or_default();
    for key in index.iter().map(String::as_str).chain(stale) {
        store.delete(key).await.map_err(|e| e.to_string())?;
    }
    let key = letter_key(&letter.source, &letter.id);
    match metadata(&store, &key).await? {
        Some(now) if now.dead_at != letter.dead_at => Ok(()),
        _ => store.delete(&key).await.map_err(|e| e.to_string()),
    }
}

/// Removes an index entry that leads to no dead letter.
pub(super) async fn remove_index(env: &Env, key: &str) -> Result<(), String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    store.delete(key).await.map_err(|e| e.to_string())
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
    put(env, &key, &raw, letter).await?;
    Ok(key)
}

/// Writes a dead letter's entry as bytes (`put` of a `String` goes through
/// `serde_wasm_bindgen` and back: a body-sized round trip).
async fn put(env: &Env, key: &str, value: &str, letter: &DeadLetter) -> Result<(), String> {
    kv(env)
        .map_err(|e| e.to_string())?
        .put_bytes(key, value.as_bytes())
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
