//! The dead-letter admin routes: list (by source and destination), show, drop and replay.
//! A dead letter belongs to one destination; where a request names none, it is about every
//! destination's dead letter of that event (the `origin` destination's layout included, so
//! dead letters from before destinations are found too).

use futures_util::stream::{self, StreamExt};
use worker::Env;

use super::Reply;
use crate::admin::{
    listed, next_cursor, AdminError, LetterRef, ListAnswer, ListQuery, ReplayAnswer, ReplayFailure,
    ReplayRequest, Step, MAX_LIST_LIMIT, MAX_REPLAY_PER_REQUEST,
};
use crate::destinations::DEFAULT_DESTINATION;
use crate::edge::config::Config;
use crate::edge::dead_letters;
use crate::edge::enqueue::enqueue;
use crate::edge::http::body_bytes;
use crate::edge::store::{self, Page};
use crate::envelope::CLOUDEVENTS_CONTENT_TYPE;
use crate::forward::{DeadLetter, Target as QueueTarget};

/// A replay body holds at most 1000 ids of at most ~200 bytes.
const MAX_REPLAY_BODY_BYTES: usize = 1 << 20;
/// Replays in flight at once (a Worker invocation holds six connections).
const REPLAYS_IN_FLIGHT: usize = 6;
/// A filtered listing reads at most this many KV pages to fill one page of its own.
const MAX_LIST_ROUNDS: usize = 10;

/// One page of dead letters, newest first, with KV's cursor for the next. With a
/// destination, KV pages are read until the page is full (each read whole, so the cursor
/// never skips an entry).
pub(super) async fn list(env: &Env, q: ListQuery) -> Result<Reply, AdminError> {
    let mut cursor = q.cursor.clone();
    let mut dead_letters = Vec::new();
    let mut next = None;
    for _ in 0..MAX_LIST_ROUNDS {
        let want = q.limit - dead_letters.len() as u32;
        let page = store::list(env, &q.prefix(), want, cursor.clone())
            .await
            .map_err(|e| match q.cursor.is_some() {
                true => AdminError::BadRequest {
                    reason: "bad_cursor",
                    message: "the cursor is not one this listing gave".into(),
                },
                false => AdminError::Unavailable(format!("KV list: {e}")),
            })?;
        let (source, destination) = (q.source.as_deref(), q.destination.as_deref());
        dead_letters.extend(
            page.keys
                .into_iter()
                .filter_map(|(_, meta)| listed(meta, source, destination)),
        );
        next = next_cursor(page.complete, page.cursor);
        match &next {
            Some(c) if (dead_letters.len() as u32) < q.limit => cursor = Some(c.clone()),
            _ => break,
        }
    }
    let answer = ListAnswer {
        dead_letters,
        cursor: next,
    };
    let mut reply = Reply::json(
        200,
        "listed",
        serde_json::to_string(&answer).unwrap_or_default(),
    );
    reply.message = Some(format!("{} dead letters", answer.dead_letters.len()));
    Ok(reply)
}

/// The destinations whose dead letter of an event a request may mean: the one it names,
/// or every configured one and `origin` (whose layout dead letters from before
/// destinations have).
fn candidates(env: &Env, named: Option<&str>) -> Vec<String> {
    if let Some(d) = named {
        return vec![d.to_owned()];
    }
    let mut all = vec![DEFAULT_DESTINATION.to_owned()];
    if let Ok(config) = Config::get(env) {
        for d in config.destinations.all() {
            if d.name != DEFAULT_DESTINATION {
                all.push(d.name.clone());
            }
        }
    }
    all
}

/// Every dead letter of one event the request means: (envelope, record).
async fn find(env: &Env, letter: &LetterRef) -> Result<Vec<(String, DeadLetter)>, AdminError> {
    let mut found = Vec::new();
    for d in candidates(env, letter.destination.as_deref()) {
        let got = dead_letters::get(env, &d, &letter.source, &letter.id)
            .await
            .map_err(AdminError::Unavailable)?;
        if let Some((envelope, record)) = got {
            let record =
                record.unwrap_or_else(|| DeadLetter::new(&letter.source, &letter.id, &d, 0, 0, ""));
            found.push((envelope, record));
        }
    }
    Ok(found)
}

/// The envelope of an event's dead letter (the first destination's that has one).
pub(super) async fn show(env: &Env, letter: &LetterRef) -> Result<Reply, AdminError> {
    let (envelope, _) = find(env, letter)
        .await?
        .into_iter()
        .next()
        .ok_or(AdminError::NoSuchDeadLetter)?;
    let mut reply = Reply::json(200, "shown", envelope);
    reply.content_type = CLOUDEVENTS_CONTENT_TYPE;
    Ok(reply)
}

/// Drops an event's dead letter: the named destination's, or every one's.
pub(super) async fn drop(env: &Env, letter: &LetterRef) -> Result<Reply, AdminError> {
    let found = find(env, letter).await?;
    if found.is_empty() {
        return Err(AdminError::NoSuchDeadLetter);
    }
    for (_, record) in &found {
        dead_letters::remove(env, record, None)
            .await
            .map_err(AdminError::Unavailable)?;
    }
    let mut reply = Reply::no_content("dropped");
    reply.message = Some(format!("{} dead letter(s)", found.len()));
    Ok(reply)
}

/// `POST /admin/replay`: reads and checks the body, then replays what it selects.
pub(super) async fn replay(req: &web_sys::Request, env: &Env) -> Result<Reply, AdminError> {
    let body = body_bytes(req).await.map_err(|_| AdminError::BadRequest {
        reason: "bad_json",
        message: "the body could not be read".into(),
    })?;
    if body.len() > MAX_REPLAY_BODY_BYTES {
        return Err(AdminError::BadRequest {
            reason: "too_large",
            message: format!("a replay body is at most {MAX_REPLAY_BODY_BYTES} bytes"),
        });
    }
    replay_selected(env, &ReplayRequest::parse(&body)?).await
}

/// A dead letter a replay selected, and the index entry that led to it.
struct Target {
    letter: DeadLetter,
    index_key: Option<String>,
}

/// Re-enqueues the selected dead letters to their own destinations through the normal
/// queue path (seen-ID set not consulted), oldest first, each removed only once its
/// enqueue succeeded.
async fn replay_selected(env: &Env, r: &ReplayRequest) -> Result<Reply, AdminError> {
    let config = Config::get(env).map_err(|e| AdminError::Config(e.to_string()))?;
    let (mut targets, mut failed, more) = select(env, r).await?;
    targets.reverse(); // the scan is newest first; replay in the order they died
    let config = &config;
    let results: Vec<(String, Result<(), String>)> = stream::iter(targets)
        .map(|t| async move {
            let id = t.letter.id.clone();
            (id, replay_one(env, config, t).await)
        })
        .buffered(REPLAYS_IN_FLIGHT)
        .collect()
        .await;
    let mut replayed = 0;
    for (id, result) in results {
        match result {
            Ok(()) => replayed += 1,
            Err(error) => failed.push(ReplayFailure { id, error }),
        }
    }
    let answer = ReplayAnswer {
        replayed,
        failed,
        more,
    };
    let mut reply = Reply::json(
        202,
        "replayed",
        serde_json::to_string(&answer).unwrap_or_default(),
    );
    reply.message = Some(format!(
        "replayed {}, failed {}{}",
        answer.replayed,
        answer.failed.len(),
        if more { ", more to go" } else { "" }
    ));
    Ok(reply)
}

type Selection = (Vec<Target>, Vec<ReplayFailure>, bool);

/// What a replay request selects: dead letters read by key (a source and ids), or a scan
/// of the index newest first, stopped at `since`; ids asked for and not found are failures.
/// At most [`MAX_REPLAY_PER_REQUEST`]; `more` when the selection went further.
async fn select(env: &Env, r: &ReplayRequest) -> Result<Selection, AdminError> {
    if let (true, Some(source), Some(ids)) = (r.is_direct(), &r.source, &r.ids) {
        return select_by_key(env, r, source, ids).await;
    }
    let prefix = r.scan_prefix();
    let mut targets = Vec::new();
    let mut cursor = None;
    let more = 'scan: loop {
        let Page {
            keys,
            complete,
            cursor: next,
        } = store::list(env, &prefix, MAX_LIST_LIMIT, cursor)
            .await
            .map_err(|e| AdminError::Unavailable(format!("KV list: {e}")))?;
        for (key, meta) in keys {
            let letter = listed(meta, None, None);
            match (r.step(&key, letter.as_ref()), letter) {
                (Step::Stop, _) => break 'scan false,
                (Step::Take, Some(_)) if targets.len() == MAX_REPLAY_PER_REQUEST => {
                    break 'scan true
                }
                (Step::Take, Some(letter)) => targets.push(Target {
                    letter,
                    index_key: Some(key),
                }),
                _ => {}
            }
        }
        match next_cursor(complete, next) {
            Some(c) => cursor = Some(c),
            None => break false,
        }
    };
    let mut failed = Vec::new();
    if let (Some(ids), false) = (&r.ids, more) {
        for id in ids
            .iter()
            .filter(|id| !targets.iter().any(|t| &t.letter.id == *id))
        {
            failed.push(ReplayFailure {
                id: id.clone(),
                error: "no such dead letter".into(),
            });
        }
    }
    Ok((targets, failed, more))
}

/// A source and ids: each id's dead letters read by key, of the named destination or of
/// every one.
async fn select_by_key(
    env: &Env,
    r: &ReplayRequest,
    source: &str,
    ids: &std::collections::BTreeSet<String>,
) -> Result<Selection, AdminError> {
    let mut targets = Vec::new();
    let mut failed = Vec::new();
    let mut more = false;
    for id in ids {
        if targets.len() >= MAX_REPLAY_PER_REQUEST {
            more = true;
            break;
        }
        let letter = LetterRef {
            source: source.to_owned(),
            id: id.clone(),
            destination: r.destination.clone(),
        };
        let found = find(env, &letter).await?;
        if found.is_empty() {
            failed.push(ReplayFailure {
                id: id.clone(),
                error: "no such dead letter".into(),
            });
        }
        targets.extend(found.into_iter().map(|(_, letter)| Target {
            letter,
            index_key: None,
        }));
    }
    Ok((targets, failed, more))
}

/// Re-enqueues one dead letter to its destination, then removes it.
async fn replay_one(env: &Env, config: &Config, t: Target) -> Result<(), String> {
    let l = &t.letter;
    let Some((envelope, record)) = dead_letters::get(env, &l.destination, &l.source, &l.id).await?
    else {
        if let Some(stale) = &t.index_key {
            let _ = dead_letters::remove_index(env, stale).await;
        }
        return Err("no such dead letter".into());
    };
    if config.destinations.get(&l.destination).is_none() {
        return Err(format!("destination `{}` is not configured", l.destination));
    }
    let target = QueueTarget {
        destination: &l.destination,
        base_attempts: 0,
    };
    let at = (l.source.as_str(), l.id.as_str(), crate::edge::now_ms());
    enqueue(env, config, at, &envelope, &[target])
        .await
        .map_err(|e| e.to_string())?;
    let record = record.unwrap_or_else(|| l.clone());
    dead_letters::remove(env, &record, t.index_key.as_deref())
        .await
        .map_err(|e| format!("re-enqueued, but removing the dead letter failed: {e}"))
}
