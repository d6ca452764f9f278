//! Handing an accepted event on to every destination that wants it (CONTRACT §5, §7): in
//! queue mode one message per matching destination, sent together; in origin mode each
//! matching `url` destination tried inline, and each one that failed queued on its own.

use futures_util::future::join_all;
use worker::Env;

use super::config::Config;
use super::deliver::{attempt, Wait};
use super::enqueue::enqueue;
use super::{held, unavailable, warn, EVENTS_BINDING};
use crate::config::ForwardMode;
use crate::destinations::keys::Held;
use crate::destinations::{Destination, Facts, Kind, Placed};
use crate::envelope::Envelope;
use crate::error::Error;
use crate::forward::Target;

/// An accepted event, ready to hand on.
pub(super) struct Event<'a> {
    pub source: &'a str,
    pub envelope: &'a Envelope,
    pub json: &'a str,
    pub received_ms: u64,
}

/// Hands `event` on to each destination it matches; `Ok` with where it stands with each
/// (none: it matched no destination, and is filtered everywhere), or `Err` when it could
/// not be handed on to all of them (nothing is marked seen then).
pub(super) async fn hand_on(
    env: &Env,
    config: &Config,
    event: &Event<'_>,
) -> Result<Vec<(String, Placed)>, Error> {
    let matched = config
        .destinations
        .matching(&Facts::of(event.source, event.envelope));
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    match config.settings.forward_mode {
        ForwardMode::Queue | ForwardMode::Discard => {
            enqueue_all(env, config, event, &matched).await?;
            Ok(placed(&matched, Placed::Queued))
        }
        ForwardMode::Origin => inline(env, config, event, &matched).await,
    }
}

fn placed(destinations: &[&Destination], how: Placed) -> Vec<(String, Placed)> {
    destinations.iter().map(|d| (d.name.clone(), how)).collect()
}

async fn enqueue_all(
    env: &Env,
    config: &Config,
    event: &Event<'_>,
    destinations: &[&Destination],
) -> Result<(), Error> {
    let targets: Vec<Target> = destinations
        .iter()
        .map(|d| Target {
            destination: &d.name,
            base_attempts: 0,
        })
        .collect();
    let at = (event.source, event.envelope.id.as_str(), event.received_ms);
    enqueue(env, config, at, event.json, &targets).await
}

/// Origin mode: each matching `url` destination that is not paused is tried inline, all at
/// once; the others (queue destinations, paused ones, and each that failed) go to the
/// queue. Without a queue, a paused destination's event is held at once, a queue
/// destination's is sent to its queue inline, and any failure is a 503.
async fn inline(
    env: &Env,
    config: &Config,
    event: &Event<'_>,
    matched: &[&Destination],
) -> Result<Vec<(String, Placed)>, Error> {
    let id = event.envelope.id.as_str();
    let has_queue = env.queue(EVENTS_BINDING).is_ok();
    let paused = join_all(matched.iter().map(|d| held::is_paused(env, &d.name))).await;
    let tried = join_all(matched.iter().zip(&paused).map(|(d, &paused)| async move {
        let now = !paused && (matches!(d.kind, Kind::Url { .. }) || !has_queue);
        match now {
            true => Some(attempt(env, config, d, id, event.json, Wait::Inline).await),
            false => None,
        }
    }))
    .await;
    let mut placements = Vec::new();
    let mut to_queue = Vec::new();
    let mut failed = Vec::new();
    for ((d, paused), tried) in matched.iter().zip(paused).zip(tried) {
        match tried {
            Some(Ok(())) => placements.push((d.name.clone(), Placed::Delivered)),
            Some(Err(f)) if has_queue => {
                warn(
                    "origin_failed_queued",
                    event.source,
                    id,
                    &format!("{}: {}", d.name, f.error),
                );
                to_queue.push(*d);
            }
            Some(Err(f)) => failed.push(format!("{}: {}", d.name, f.error)),
            None if has_queue => to_queue.push(*d),
            None if paused => {
                hold_now(env, event, d).await?;
                placements.push((d.name.clone(), Placed::Held));
            }
            None => failed.push(format!("{}: not attempted", d.name)),
        }
    }
    if !failed.is_empty() {
        return Err(unavailable("destinations", failed.join("; ")));
    }
    if !to_queue.is_empty() {
        enqueue_all(env, config, event, &to_queue).await?;
        placements.extend(placed(&to_queue, Placed::Queued));
    }
    Ok(placements)
}

/// Holds an event for a paused destination at once (origin mode without a queue).
async fn hold_now(env: &Env, event: &Event<'_>, d: &Destination) -> Result<(), Error> {
    let held = Held {
        source: event.source.to_owned(),
        id: event.envelope.id.clone(),
        destination: d.name.clone(),
        spent: 0,
        received_ms: event.received_ms,
    };
    held::hold(env, &held, event.json)
        .await
        .map_err(|e| unavailable("KV (holding for a paused destination)", e))
}
