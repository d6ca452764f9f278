//! The destination admin routes: list each with its pause, held and dead counts; pause;
//! resume (which starts a drain of what it held).

use std::collections::HashMap;

use worker::Env;

use super::Reply;
use crate::admin::{
    list_prefix, listed, next_cursor, AdminError, Counts, DestinationView, DestinationsAnswer,
    MAX_LIST_LIMIT,
};
use crate::destinations::Destination;
use crate::edge::config::Config;
use crate::edge::enqueue::send_drain;
use crate::edge::{held, store, warn, EVENTS_BINDING};

/// Dead letters are counted from at most this many KV pages (10,000 entries).
const MAX_DEAD_PAGES: usize = 10;

/// What is known of each destination's dead letters: how many, and the newest one's error.
#[derive(Default)]
struct Dead {
    count: u64,
    last_error: Option<String>,
}

/// `GET /admin/destinations`.
pub(super) async fn list(env: &Env) -> Result<Reply, AdminError> {
    let config = Config::get(env).map_err(|e| AdminError::Config(e.to_string()))?;
    let dead = dead_letters(env).await?;
    let mut views = Vec::new();
    for d in config.destinations.all() {
        views.push(view(env, d, dead.get(&d.name)).await?);
    }
    let answer = DestinationsAnswer {
        destinations: views,
    };
    let mut reply = Reply::json(
        200,
        "listed",
        serde_json::to_string(&answer).unwrap_or_default(),
    );
    reply.message = Some(format!("{} destinations", answer.destinations.len()));
    Ok(reply)
}

/// One scan of the dead-letter index, newest first, counting each destination's.
async fn dead_letters(env: &Env) -> Result<HashMap<String, Dead>, AdminError> {
    let mut dead: HashMap<String, Dead> = HashMap::new();
    let mut cursor = None;
    for _ in 0..MAX_DEAD_PAGES {
        let page = store::list(env, &list_prefix(None), MAX_LIST_LIMIT, cursor)
            .await
            .map_err(|e| AdminError::Unavailable(format!("KV list: {e}")))?;
        for letter in page
            .keys
            .into_iter()
            .filter_map(|(_, m)| listed(m, None, None))
        {
            let entry = dead.entry(letter.destination).or_default();
            entry.count += 1;
            entry.last_error.get_or_insert(letter.last_error);
        }
        match next_cursor(page.complete, page.cursor) {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(dead)
}

async fn view(
    env: &Env,
    d: &Destination,
    dead: Option<&Dead>,
) -> Result<DestinationView, AdminError> {
    let unavailable = |e: String| AdminError::Unavailable(format!("KV: {e}"));
    let paused = held::pause_of(env, &d.name).await.map_err(unavailable)?;
    let held = held::count(env, &d.name).await.map_err(unavailable)?;
    let counts = Counts {
        paused: paused.is_some(),
        held,
        dead: dead.map_or(0, |d| d.count),
        last_error: dead.and_then(|d| d.last_error.clone()),
        ..Counts::default()
    };
    Ok(DestinationView::of(d, counts))
}

/// The destination called `name`, with the configuration it is in.
fn named(env: &Env, name: &str) -> Result<(std::rc::Rc<Config>, usize), AdminError> {
    let config = Config::get(env).map_err(|e| AdminError::Config(e.to_string()))?;
    let i = config
        .destinations
        .all()
        .iter()
        .position(|d| d.name == name)
        .ok_or(AdminError::NoSuchDestination)?;
    Ok((config, i))
}

/// `POST /admin/destinations/{name}/pause`.
pub(super) async fn pause(env: &Env, name: &str) -> Result<Reply, AdminError> {
    let (config, i) = named(env, name)?;
    held::pause(env, name)
        .await
        .map_err(|e| AdminError::Unavailable(format!("KV: {e}")))?;
    answer(env, &config.destinations.all()[i], "paused").await
}

/// `POST /admin/destinations/{name}/resume`: lifts the pause and starts a drain of what it
/// held, through the queue (or, without one, a first share inline; the cron does the rest).
pub(super) async fn resume(env: &Env, name: &str) -> Result<Reply, AdminError> {
    let (config, i) = named(env, name)?;
    let d = &config.destinations.all()[i];
    held::unpause(env, name)
        .await
        .map_err(|e| AdminError::Unavailable(format!("KV: {e}")))?;
    if env.queue(EVENTS_BINDING).is_ok() {
        if let Err(e) = send_drain(env, name).await {
            // The pause is lifted; the cron drains what is held.
            warn("drain_failed", "", "", &e);
        }
    } else {
        held::drain(env, &config, d).await;
    }
    answer(env, d, "resumed").await
}

async fn answer(env: &Env, d: &Destination, outcome: &'static str) -> Result<Reply, AdminError> {
    let dead = dead_letters(env).await?;
    let view = view(env, d, dead.get(&d.name)).await?;
    let mut reply = Reply::json(
        200,
        outcome,
        serde_json::to_string(&view).unwrap_or_default(),
    );
    reply.message = Some(format!("{} holds {}", d.name, view.held));
    Ok(reply)
}
