//! The admin routes at the edge (CONTRACT §1, §7): the `ADMIN_TOKEN` check, then
//! [`dead_letters`] (list, show, drop, replay) and [`destinations`] (list, pause, resume),
//! with one log line per request. Every decision (routes, queries, bodies, key layout,
//! what a replay selects) is [`crate::admin`]'s.

mod dead_letters;
mod destinations;

use worker::wasm_bindgen::JsValue;
use worker::{console_log, Env};

use super::http::{answer, JSON};
use super::{now_ms, secret};
use crate::admin::{authorized, AdminError, AdminRoute};
use crate::config::names;
use crate::error::Error;
use crate::forward::LogLine;

/// An answer: status, content type and body (none for a 204).
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Option<String>,
    /// For the log line: what was done, and to which dead letter or destination.
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

    fn no_content(outcome: &'static str) -> Reply {
        Reply {
            status: 204,
            content_type: JSON,
            body: None,
            outcome,
            message: None,
        }
    }
}

/// What an admin request was about, for its log line.
#[derive(Default)]
struct Target {
    source: Option<String>,
    id: Option<String>,
    destination: Option<String>,
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
        None => (Target::default(), Err(None)),
        Some(token) => {
            let header = req.headers().get("authorization").ok().flatten();
            if !authorized(header.as_deref(), &token) {
                (Target::default(), Err(Some(AdminError::Unauthorized)))
            } else {
                match route {
                    Ok(route) => {
                        let target = target_of(&route);
                        (target, serve(req, env, route).await.map_err(Some))
                    }
                    Err(e) => (Target::default(), Err(Some(e))),
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
    console_log!(
        "{}",
        LogLine {
            event: "admin",
            source: target.source.as_deref(),
            outcome: reply.outcome,
            status: Some(reply.status),
            reason,
            message: reply.message.clone(),
            id: target.id.as_deref(),
            destination: target.destination.as_deref(),
            duration_ms: now_ms().saturating_sub(started),
            ..LogLine::default()
        }
        .to_json()
    );
    let mut headers = vec![("cache-control", "no-store")];
    if reply.body.is_some() {
        headers.push(("content-type", reply.content_type));
    }
    answer(reply.status, &headers, reply.body.as_deref())
}

fn target_of(route: &AdminRoute) -> Target {
    match route {
        AdminRoute::Show(l) | AdminRoute::Drop(l) => Target {
            source: Some(l.source.clone()),
            id: Some(l.id.clone()),
            destination: l.destination.clone(),
        },
        AdminRoute::Pause { name } | AdminRoute::Resume { name } => Target {
            destination: Some(name.clone()),
            ..Target::default()
        },
        _ => Target::default(),
    }
}

async fn serve(req: &web_sys::Request, env: &Env, route: AdminRoute) -> Result<Reply, AdminError> {
    match route {
        AdminRoute::List(q) => dead_letters::list(env, q).await,
        AdminRoute::Show(letter) => dead_letters::show(env, &letter).await,
        AdminRoute::Drop(letter) => dead_letters::drop(env, &letter).await,
        AdminRoute::Replay => dead_letters::replay(req, env).await,
        AdminRoute::Destinations => destinations::list(env).await,
        AdminRoute::Pause { name } => destinations::pause(env, &name).await,
        AdminRoute::Resume { name } => destinations::resume(env, &name).await,
    }
}
