//! Pauses and what they hold (CONTRACT §7): a paused destination's events are kept in KV
//! (not in the queue, so they survive restarts and any length of pause) in the layout
//! [`crate::destinations::keys`] describes, spending none of their schedule; a drain
//! delivers them oldest first once the destination is resumed.
//!
//! A pause is one KV key. Where it is read (the queue consumer, once per batch and
//! destination; origin mode's inline attempts) KV may serve a copy up to 60 s old in
//! production, which is how soon a pause takes effect everywhere.

use worker::Env;

use super::config::Config;
use super::dead_letters;
use super::deliver::{attempt, Wait};
use super::{kv, now_ms, store, warn};
use crate::destinations::keys::{held_key, held_prefix, paused_key, Held, Pause};
use crate::destinations::{after_attempt, AttemptOutcome, AttemptRecord, Destination, Next};
use crate::envelope::rfc3339_ms;
use crate::forward::DeadLetter;

/// How many held events one drain delivers before it hands on to the next: each costs
/// about four KV and fetch calls, and a Worker invocation on the free plan may make 50.
pub(super) const DRAIN_SHARE: usize = 10;
/// A listing of held events counts at most this many (ten KV list calls).
const MAX_COUNTED: usize = 10_000;

/// Whether `destination` is paused. When KV cannot say, not: holding needs KV too.
pub(super) async fn is_paused(env: &Env, destination: &str) -> bool {
    let Ok(store) = kv(env) else { return false };
    match store.get(&paused_key(destination)).text().await {
        Ok(value) => value.is_some(),
        Err(e) => {
            warn("pause_check_failed", "", "", &e.to_string());
            false
        }
    }
}

/// The pause of `destination`, if it is paused.
pub(super) async fn pause_of(env: &Env, destination: &str) -> Result<Option<Pause>, String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let text = store
        .get(&paused_key(destination))
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or(Pause { since: t })))
}

/// Pauses `destination` from now on (a pause already there keeps its time).
pub(super) async fn pause(env: &Env, destination: &str) -> Result<(), String> {
    if pause_of(env, destination).await?.is_some() {
        return Ok(());
    }
    let pause = Pause {
        since: rfc3339_ms(now_ms()),
    };
    let text = serde_json::to_string(&pause).unwrap_or_default();
    kv(env)
        .map_err(|e| e.to_string())?
        .put(&paused_key(destination), text)
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// Lifts the pause of `destination` (what it held is delivered by a drain).
pub(super) async fn unpause(env: &Env, destination: &str) -> Result<(), String> {
    kv(env)
        .map_err(|e| e.to_string())?
        .delete(&paused_key(destination))
        .await
        .map_err(|e| e.to_string())
}

/// Keeps an event for a paused destination: its envelope whole, with what it had spent.
pub(super) async fn hold(env: &Env, held: &Held, envelope_json: &str) -> Result<(), String> {
    store::put(env, &held_key(held), envelope_json.as_bytes(), held).await
}

/// How many events `destination` holds (counted up to [`MAX_COUNTED`]).
pub(super) async fn count(env: &Env, destination: &str) -> Result<u64, String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let (mut n, mut cursor) = (0, None::<String>);
    loop {
        let mut list = store.list().prefix(held_prefix(destination));
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await.map_err(|e| e.to_string())?;
        n += page.keys.len();
        match page.cursor.filter(|c| !page.list_complete && !c.is_empty()) {
            Some(c) if n < MAX_COUNTED => cursor = Some(c),
            _ => return Ok(n as u64),
        }
    }
}

/// What one drain did.
pub(super) struct Drained {
    pub attempts: Vec<AttemptRecord>,
    /// Held events remain (past this share, or it stopped at one it could not pass on).
    pub more: bool,
}

/// Delivers up to [`DRAIN_SHARE`] of what `destination` held, oldest first, one at a time
/// (so they arrive in that order). One that fails goes on to the queue's retries with the
/// attempts it has now spent, or is a dead letter when its schedule is used up; without a
/// queue to retry on, it stays held and the drain stops (the cron tries again).
pub(super) async fn drain(env: &Env, config: &Config, destination: &Destination) -> Drained {
    let mut attempts = Vec::new();
    let prefix = held_prefix(&destination.name);
    let page = match store::list(env, &prefix, DRAIN_SHARE as u32, None).await {
        Ok(page) => page,
        Err(e) => {
            warn("drain_failed", "", "", &format!("listing held events: {e}"));
            return Drained {
                attempts,
                more: true,
            };
        }
    };
    for (key, meta) in &page.keys {
        if is_paused(env, &destination.name).await {
            return Drained {
                attempts,
                more: false,
            };
        }
        let Some(held) = meta
            .clone()
            .and_then(|m| serde_json::from_value::<Held>(m).ok())
        else {
            warn("drain_skipped", "", key, "a held entry without its record");
            continue;
        };
        match drain_one(env, config, destination, key, &held).await {
            Ok(record) => attempts.extend(record),
            Err(e) => {
                warn("drain_stopped", &held.source, &held.id, &e);
                return Drained {
                    attempts,
                    more: true,
                };
            }
        }
    }
    Drained {
        attempts,
        more: !page.complete,
    }
}

/// Delivers one held event and removes it; `Err` when it must stay held.
async fn drain_one(
    env: &Env,
    config: &Config,
    destination: &Destination,
    key: &str,
    held: &Held,
) -> Result<Option<AttemptRecord>, String> {
    let store = kv(env).map_err(|e| e.to_string())?;
    let Some(envelope) = store.get(key).text().await.map_err(|e| e.to_string())? else {
        return Ok(None); // drained meanwhile by another drain
    };
    let started = now_ms();
    let result = attempt(env, config, destination, &held.id, &envelope, Wait::Queued).await;
    let n = held.spent.saturating_add(1);
    let next = after_attempt(destination, n, &result);
    match &next {
        Next::Delivered => {}
        Next::Retry { delay_s } => {
            super::enqueue::enqueue_later(env, config, held, n, &envelope, *delay_s)
                .await
                .map_err(|e| format!("could not queue its retry: {e}"))?;
        }
        Next::Dead => {
            let why = result.as_ref().err().map_or("", |f| f.error.as_str());
            let letter =
                DeadLetter::new(&held.source, &held.id, &destination.name, now_ms(), n, why);
            dead_letters::keep(env, &envelope, &letter).await?;
        }
    }
    store.delete(key).await.map_err(|e| e.to_string())?;
    let failure = result.err();
    Ok(Some(AttemptRecord {
        source: held.source.clone(),
        id: held.id.clone(),
        destination: destination.name.clone(),
        n,
        at_ms: started,
        outcome: AttemptOutcome::of(&next),
        http_status: failure.as_ref().and_then(|f| f.http_status),
        duration_ms: now_ms().saturating_sub(started),
        error: failure.map(|f| f.error),
    }))
}
