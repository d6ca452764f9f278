//! The admin routes at the edge (CONTRACT §1): the `ADMIN_TOKEN` check, then list, show,
//! drop and replay dead letters, with one log line per request. Every decision (routes,
//! queries, bodies, key layout, what a replay selects) is [`crate::admin`]'s.

use futures_util::stream::{self, StreamExt};
use worker::wasm_bindgen::JsValue;
use worker::{console_log, Env};

use super::config::Config;
use super::dead_letters::{self, Page};
use super::fetch::body_bytes;
use super::queue::enqueue;
use super::{now_ms, secret};
use crate::admin::{
    authorized, listed, next_cursor, AdminError, AdminRoute, ListAnswer, ListQuery, ReplayAnswer,
    ReplayFailure, ReplayRequest, Step, MAX_LIST_LIMIT, MAX_REPLAY_PER_REQUEST,
};
use crate::config::names;
use crate::envelope::CLOUDEVENTS_CONTENT_TYPE;
use crate::error::Error;
use crate::forward::LogLine;

const JSON: &str = "application/json; charset=utf-8";
/// A replay body holds at most 1000 ids of at most ~200 bytes.
const MAX_REPLAY_BODY_BYTES: usize = 1 << 20;
/// Replays in flight at once (a Worker invocation holds six connections).
const REPLAYS_IN_FLIGHT: usize = 6;

/// An answer: status, content type and body (none for a 204).
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Option<String>,
    /// For the log line: what was done, and to which dead letter.
    outcome: &'static str,
    message: Option<String>,
}

impl Reply {
    fn json(status: u16, outcome: &'static str, body: String) -> Reply {
        Reply {
            status,
            content_type: JSON,
            body: Some(body),
            outcome,
            message: None,
        }
    }
}

/// Answers an admin request. Without an `ADMIN_TOKEN` secret the admin routes do not
/// exist (404, as any unknown path); without its bearer every admin path is a 401.
pub(super) async fn handle(
    req: &web_sys::Request,
    env: &Env,
    route: Result<AdminRoute, AdminError>,
    started: u64,
) -> Result<web_sys::Response, JsValue> {
    let token = secret(env, names::ADMIN_TOKEN).filter(|t| !t.is_empty());
    let (target, result) = match token {
        None => (None, Err(None)),
        Some(token) => {
            let header = req.headers().get("authorization").ok().flatten();
            if !authorized(header.as_deref(), &token) {
                (None, Err(Some(AdminError::Unauthorized)))
            } else {
                match route {
                    Ok(route) => {
                        let target = target_of(&route);
                        (target, serve(req, env, route).await.map_err(Some))
                    }
                    Err(e) => (None, Err(Some(e))),
                }
            }
        }
    };
    let (reply, reason) = match result {
        Ok(reply) => (reply, None),
        Err(None) => {
            let e = Error::NotFound;
            (
                Reply::json(404, "refused", e.to_json()),
                Some("no_admin_token"),
            )
        }
        Err(Some(e)) => {
            let mut r = Reply::json(e.status(), "refused", e.to_json());
            r.message = Some(e.to_string());
            (r, Some(e.reason()))
        }
    };
    let (source, id) = target.unzip();
    console_log!(
        "{}",
        LogLine {
            event: "admin",
            source: source.as_deref(),
            outcome: reply.outcome,
            status: Some(reply.status),
            reason,
            message: reply.message.clone(),
            id: id.as_deref(),
            duration_ms: now_ms().saturating_sub(started),
            ..LogLine::default()
        }
        .to_json()
    );
    respond(&reply)
}

fn target_of(route: &AdminRoute) -> Option<(String, String)> {
    match route {
        AdminRoute::Show { source, id } | AdminRoute::Drop { source, id } => {
            Some((source.clone(), id.clone()))
        }
        _ => None,
    }
}

fn respond(reply: &Reply) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    if reply.body.is_some() {
        headers.set("content-type", reply.content_type)?;
    }
    headers.set("cache-control", "no-store")?;
    let init = web_sys::ResponseInit::new();
    init.set_status(reply.status);
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(reply.body.as_deref(), &init)
}

async fn serve(req: &web_sys::Request, env: &Env, route: AdminRoute) -> Result<Reply, AdminError> {
    match route {
        AdminRoute::List(q) => list(env, q).await,
        AdminRoute::Show { source, id } => {
            let (envelope, _) = dead_letters::get(env, &source, &id)
                .await
                .map_err(AdminError::Unavailable)?
                .ok_or(AdminError::NoSuchDeadLetter)?;
            let mut reply = Reply::json(200, "shown", envelope);
            reply.content_type = CLOUDEVENTS_CONTENT_TYPE;
            Ok(reply)
        }
        AdminRoute::Drop { source, id } => {
            let (_, letter) = dead_letters::get(env, &source, &id)
                .await
                .map_err(AdminError::Unavailable)?
                .ok_or(AdminError::NoSuchDeadLetter)?;
            let letter =
                letter.unwrap_or_else(|| crate::forward::DeadLetter::new(&source, &id, 0, 0, ""));
            dead_letters::remove(env, &letter, None)
                .await
                .map_err(AdminError::Unavailable)?;
            Ok(Reply {
                status: 204,
                content_type: JSON,
                body: None,
                outcome: "dropped",
                message: None,
            })
        }
        AdminRoute::Replay => {
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
            replay(env, &ReplayRequest::parse(&body)?).await
        }
    }
}

/// One page of dead letters, newest first, with KV's cursor for the next.
async fn list(env: &Env, q: ListQuery) -> Result<Reply, AdminError> {
    let had_cursor = q.cursor.is_some();
    let page = dead_letters::list(env, &q.prefix(), q.limit, q.cursor.clone())
        .await
        .map_err(|e| {
            if had_cursor {
                AdminError::BadRequest {
                    reason: "bad_cursor",
                    message: "the cursor is not one this listing gave".into(),
                }
            } else {
                AdminError::Unavailable(format!("KV list: {e}"))
            }
        })?;
    let answer = ListAnswer {
        dead_letters: page
            .keys
            .into_iter()
            .filter_map(|(_, meta)| listed(meta, q.source.as_deref()))
            .collect(),
        cursor: next_cursor(page.complete, page.cursor),
    };
    let mut reply = Reply::json(
        200,
        "listed",
        serde_json::to_string(&answer).unwrap_or_default(),
    );
    reply.message = Some(format!("{} dead letters", answer.dead_letters.len()));
    Ok(reply)
}

/// A dead letter a replay selected, and the index entry that led to it.
struct Target {
    source: String,
    id: String,
    index_key: Option<String>,
}

/// Re-enqueues the selected dead letters through the normal queue path (seen-ID set not
/// consulted), oldest first, each removed only once its enqueue succeeded.
async fn replay(env: &Env, r: &ReplayRequest) -> Result<Reply, AdminError> {
    let config = Config::get(env).map_err(|e| AdminError::Config(e.to_string()))?;
    let (mut targets, mut failed, more) = select(env, r).await?;
    targets.reverse(); // the scan is newest first; replay in the order they died
    let config = &config;
    let results: Vec<(String, Result<(), String>)> = stream::iter(targets)
        .map(|t| async move {
            let id = t.id.clone();
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

/// What a replay request selects: dead letters read by key (a source and ids), or a scan
/// of the index newest first, stopped at `since`; ids asked for and not found are failures.
/// At most [`MAX_REPLAY_PER_REQUEST`]; `more` when the selection went further.
async fn select(
    env: &Env,
    r: &ReplayRequest,
) -> Result<(Vec<Target>, Vec<ReplayFailure>, bool), AdminError> {
    if let (true, Some(source), Some(ids)) = (r.is_direct(), &r.source, &r.ids) {
        let mut targets: Vec<Target> = ids
            .iter()
            .map(|id| Target {
                source: source.clone(),
                id: id.clone(),
                index_key: None,
            })
            .collect();
        let more = targets.len() > MAX_REPLAY_PER_REQUEST;
        targets.truncate(MAX_REPLAY_PER_REQUEST);
        return Ok((targets, Vec::new(), more));
    }
    let prefix = r.scan_prefix();
    let mut targets = Vec::new();
    let mut cursor = None;
    let more = 'scan: loop {
        let Page {
            keys,
            complete,
            cursor: next,
        } = dead_letters::list(env, &prefix, MAX_LIST_LIMIT, cursor)
            .await
            .map_err(|e| AdminError::Unavailable(format!("KV list: {e}")))?;
        for (key, meta) in keys {
            let letter = listed(meta, None);
            match (r.step(&key, letter.as_ref()), letter) {
                (Step::Stop, _) => break 'scan false,
                (Step::Take, Some(_)) if targets.len() == MAX_REPLAY_PER_REQUEST => {
                    break 'scan true
                }
                (Step::Take, Some(letter)) => targets.push(Target {
                    source: letter.source,
                    id: letter.id,
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
            .filter(|id| !targets.iter().any(|t| &t.id == *id))
        {
            failed.push(ReplayFailure {
                id: id.clone(),
                error: "no such dead letter".into(),
            });
        }
    }
    Ok((targets, failed, more))
}

/// Re-enqueues one dead letter, then removes it.
async fn replay_one(env: &Env, config: &Config, t: Target) -> Result<(), String> {
    let Some((envelope, letter)) = dead_letters::get(env, &t.source, &t.id).await? else {
        if let Some(stale) = &t.index_key {
            let _ = dead_letters::remove_index(env, stale).await;
        }
        return Err("no such dead letter".into());
    };
    enqueue(env, config, &t.source, &t.id, &envelope)
        .await
        .map_err(|e| e.to_string())?;
    let letter =
        letter.unwrap_or_else(|| crate::forward::DeadLetter::new(&t.source, &t.id, 0, 0, ""));
    let stale = t.index_key.as_deref();
    dead_letters::remove(env, &letter, stale)
        .await
        .map_err(|e| format!("re-enqueued, but removing the dead letter failed: {e}"))
}
