//! KV `SEEN` at the level every keeper of entries shares (dead letters, held events):
//! listing a prefix page by page, and writing bytes with metadata.

use serde::Serialize;
use worker::Env;

use super::kv;

/// One page of keys under a prefix: (key, metadata) pairs, whether the list is complete,
/// and KV's cursor for the next page.
pub(super) struct Page {
    pub keys: Vec<(String, Option<serde_json::Value>)>,
    pub complete: bool,
    pub cursor: Option<String>,
}

/// Up to `limit` keys under `prefix`, in KV's ascending order, from `cursor` on.
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

/// Writes `value` under `key` as bytes, with `metadata` (`put` of a `String` goes through
/// `serde_wasm_bindgen` and back: a body-sized round trip).
pub(super) async fn put(
    env: &Env,
    key: &str,
    value: &[u8],
    metadata: &impl Serialize,
) -> Result<(), String> {
    kv(env)
        .map_err(|e| e.to_string())?
        .put_bytes(key, value)
        .and_then(|p| p.metadata(metadata))
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// Deletes `key`.
pub(super) async fn delete(env: &Env, key: &str) -> Result<(), String> {
    kv(env)
        .map_err(|e| e.to_string())?
        .delete(key)
        .await
        .map_err(|e| e.to_string())
}
