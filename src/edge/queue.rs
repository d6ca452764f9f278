//! The `EVENTS` queue's consumer: attempts each message's destination, retrying on that
//! destination's own schedule, holds it while the destination is paused, keeps it as that
//! destination's dead letter when the schedule is used up, and runs drains.

use std::collections::HashMap;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use worker::js_sys::{Object, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{console_log, Env};

use super::config::Config;
use super::deliver::{attempt, Wait};
use super::messages::{self, RawMessage};
use super::{dead_letters, held, now_ms, var};
use crate::destinations::keys::Held;
use crate::destinations::{
    after_attempt, attempt::attempt_number, attempt::spent_before_hold, AttemptOutcome,
    AttemptRecord, Destination, Failure, Next,
};
use crate::forward::{DeadLetter, Hop, LogLine, QueueMessage};

/// Names the dead-letter queue, so the consumer knows which batches are dead letters.
const DEAD_LETTER_QUEUE_VAR: &str = "DEAD_LETTER_QUEUE";
const DEFAULT_DEAD_LETTER_QUEUE: &str = "edgehook-dlq";
/// How many attempts the queue consumer has in flight at once: a Worker invocation may
/// hold six connections open and the runtime queues any more until one closes, so starting
/// all of a batch at once would let an attempt's timeout run out while it waits for a
/// connection rather than for the origin.
const IN_FLIGHT: usize = 6;
/// When keeping a dead letter or holding an event fails, the message is tried again after
/// this long.
const KEEP_RETRY_S: u32 = 60;

/// The queue consumer, exported by hand rather than through `#[event(queue)]`: workers-rs
/// 0.8 hides each message's `attempts`, which the retry schedule needs, so this takes the
/// runtime's batch as it comes. Never returns an error (the generated glue would panic):
/// each message is acked or retried.
mod export {
    use worker::wasm_bindgen::prelude::wasm_bindgen;
    use worker::wasm_bindgen::JsValue;

    #[wasm_bindgen(
        wasm_bindgen = ::worker::wasm_bindgen,
        wasm_bindgen_futures = ::worker::wasm_bindgen_futures,
        js_sys = ::worker::js_sys
    )]
    pub async fn queue(
        batch: ::worker::worker_sys::MessageBatch,
        env: ::worker::Env,
        _ctx: ::worker::worker_sys::Context,
    ) -> Result<JsValue, JsValue> {
        std::panic::AssertUnwindSafe(super::consume(batch, env)).await;
        Ok(JsValue::UNDEFINED)
    }
}

async fn consume(batch: worker::worker_sys::MessageBatch, env: Env) {
    let queue = batch.queue().map(String::from).unwrap_or_default();
    let dead_letter_queue =
        var(&env, DEAD_LETTER_QUEUE_VAR).unwrap_or_else(|| DEFAULT_DEAD_LETTER_QUEUE.into());
    let Ok(messages) = batch.messages() else {
        return;
    };
    let messages: Vec<RawMessage> = messages.iter().map(|m| m.unchecked_into()).collect();
    let env = &env;
    if queue == dead_letter_queue {
        join_all(messages.iter().map(|m| dead_letters::from_queue(env, m))).await;
        return;
    }
    let parsed: Vec<(&RawMessage, Result<QueueMessage, String>)> =
        messages.iter().map(|m| (m, messages::parse(m))).collect();
    let paused = pauses(env, &parsed).await;
    let paused = &paused;
    // Every attempt was logged as it ended; the batch's records are what the event log
    // writes in one go.
    let _attempts: Vec<AttemptRecord> = stream::iter(&parsed)
        .map(|(msg, message)| handle(env, msg, message, paused))
        .buffered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
}

/// Whether each destination the batch's messages are for is paused: one KV read per
/// destination and batch.
async fn pauses(
    env: &Env,
    parsed: &[(&RawMessage, Result<QueueMessage, String>)],
) -> HashMap<String, bool> {
    let mut names: Vec<&str> = parsed
        .iter()
        .filter_map(|(_, m)| m.as_ref().ok()?.hop())
        .map(|h| h.destination.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let states = join_all(names.iter().map(|n| held::is_paused(env, n))).await;
    names.into_iter().map(str::to_owned).zip(states).collect()
}

/// One message: a drain, or an event for one destination.
async fn handle(
    env: &Env,
    msg: &RawMessage,
    message: &Result<QueueMessage, String>,
    paused: &HashMap<String, bool>,
) -> Option<AttemptRecord> {
    let config = match Config::get(env) {
        Ok(c) => c,
        Err(e) => {
            // Nothing to decide by (a broken configuration is reported on every delivery):
            // keep trying at the default pace; max_retries is the safety net.
            let deliveries = messages::deliveries(msg);
            retry(msg, default_delay_s(deliveries));
            log_line(
                "forward",
                message.as_ref().ok().and_then(QueueMessage::hop),
                "retry",
                &e.to_string(),
                deliveries,
            );
            return None;
        }
    };
    match message {
        Ok(QueueMessage::Drain { destination }) => {
            drain(env, &config, destination).await;
            let _ = msg.ack();
            None
        }
        Ok(m) => {
            let hop = m.hop()?;
            let is_paused = paused.get(&hop.destination).copied().unwrap_or(false);
            match config.destinations.get(&hop.destination) {
                Some(d) if is_paused => {
                    hold(env, msg, m, hop, d).await;
                    None
                }
                Some(d) => Some(deliver(env, &config, msg, m, hop, d).await),
                None => {
                    gone(env, msg, m, hop).await;
                    None
                }
            }
        }
        Err(why) => {
            unreadable(env, msg, why).await;
            None
        }
    }
}

/// Attempts a message's destination: ack on success; else retry after the destination's
/// next delay, or keep it as that destination's dead letter.
async fn deliver(
    env: &Env,
    config: &Config,
    msg: &RawMessage,
    message: &QueueMessage,
    hop: &Hop,
    destination: &Destination,
) -> AttemptRecord {
    let started = now_ms();
    let n = attempt_number(hop.base_attempts, messages::deliveries(msg));
    let envelope = messages::envelope_json(env, message).await;
    let result = match &envelope {
        Ok(json) => attempt(env, config, destination, &hop.id, json, Wait::Queued).await,
        Err(e) => Err(Failure::transient(e.clone(), None)),
    };
    let next = after_attempt(destination, n, &result);
    let failure = result.err();
    let why = failure.as_ref().map_or("", |f| f.error.as_str());
    let note = match &next {
        Next::Delivered => {
            let _ = msg.ack();
            String::new()
        }
        Next::Retry { delay_s } => {
            retry(msg, *delay_s);
            format!("{why}; next attempt in {delay_s} s")
        }
        Next::Dead => {
            let letter = DeadLetter::new(&hop.source, &hop.id, &hop.destination, now_ms(), n, why);
            let kept = match &envelope {
                Ok(json) => dead_letters::keep(env, json, &letter).await,
                Err(e) => Err(e.clone()),
            };
            match kept {
                Ok(key) => {
                    let _ = msg.ack();
                    format!("{why}; kept in KV as {key}")
                }
                Err(e) => {
                    retry(msg, KEEP_RETRY_S);
                    format!("{why}; keeping the dead letter failed: {e}")
                }
            }
        }
    };
    let record = AttemptRecord {
        source: hop.source.clone(),
        id: hop.id.clone(),
        destination: hop.destination.clone(),
        n,
        at_ms: started,
        outcome: AttemptOutcome::of(&next),
        http_status: failure.as_ref().and_then(|f| f.http_status),
        duration_ms: now_ms().saturating_sub(started),
        error: failure.map(|f| f.error),
    };
    log_attempt(&record, &note);
    record
}

/// Keeps a paused destination's message in KV and acks it; this delivery spends nothing.
async fn hold(env: &Env, msg: &RawMessage, message: &QueueMessage, hop: &Hop, d: &Destination) {
    let deliveries = messages::deliveries(msg);
    let held = Held {
        source: hop.source.clone(),
        id: hop.id.clone(),
        destination: d.name.clone(),
        spent: spent_before_hold(hop.base_attempts, deliveries),
        received_ms: hop.received_ms,
    };
    let kept = match messages::envelope_json(env, message).await {
        Ok(json) => held::hold(env, &held, &json).await,
        Err(e) => Err(e),
    };
    let (outcome, note) = match kept {
        Ok(()) => {
            let _ = msg.ack();
            ("held", format!("{} is paused", d.name))
        }
        Err(e) => {
            retry(msg, KEEP_RETRY_S);
            (
                "hold_retry",
                format!("{} is paused; holding failed: {e}", d.name),
            )
        }
    };
    log_line("forward", Some(hop), outcome, &note, deliveries);
}

/// A message for a destination no longer configured: kept as that destination's dead
/// letter (listable, droppable, replayable once it is back), never dropped.
async fn gone(env: &Env, msg: &RawMessage, message: &QueueMessage, hop: &Hop) {
    let deliveries = messages::deliveries(msg);
    let why = format!("destination `{}` is not configured", hop.destination);
    let letter = DeadLetter::new(
        &hop.source,
        &hop.id,
        &hop.destination,
        now_ms(),
        deliveries,
        &why,
    );
    let kept = match messages::envelope_json(env, message).await {
        Ok(json) => dead_letters::keep(env, &json, &letter).await,
        Err(e) => Err(e),
    };
    let outcome = match &kept {
        Ok(_) => {
            let _ = msg.ack();
            "dead_lettered"
        }
        Err(_) => {
            retry(msg, KEEP_RETRY_S);
            "dead_letter_retry"
        }
    };
    log_line("forward", Some(hop), outcome, &why, deliveries);
}

/// A message that is not an edgehook message: retried at the default pace, then kept as it
/// came.
async fn unreadable(env: &Env, msg: &RawMessage, why: &str) {
    let deliveries = messages::deliveries(msg);
    if deliveries < crate::config::DEFAULT_RETRY_SCHEDULE_S.len() as u32 + 1 {
        retry(msg, default_delay_s(deliveries));
        log_line("forward", None, "retry", why, deliveries);
        return;
    }
    let letter = DeadLetter::new("unreadable", "", "", now_ms(), deliveries, why);
    match dead_letters::keep_unreadable(env, msg, &letter).await {
        Ok(key) => {
            let _ = msg.ack();
            log_line(
                "forward",
                None,
                "dead_lettered",
                &format!("{why}; kept as {key}"),
                deliveries,
            );
        }
        Err(e) => {
            retry(msg, KEEP_RETRY_S);
            log_line(
                "forward",
                None,
                "dead_letter_retry",
                &format!("{why}; {e}"),
                deliveries,
            );
        }
    }
}

/// Runs one share of a drain, and sends the next drain message while more remain.
async fn drain(env: &Env, config: &Config, destination: &str) {
    let Some(d) = config.destinations.get(destination) else {
        return;
    };
    let drained = held::drain(env, config, d).await;
    for record in &drained.attempts {
        log_attempt(record, "held while paused");
    }
    if drained.more {
        if let Err(e) = super::enqueue::send_drain(env, destination).await {
            super::warn("drain_failed", "", "", &e);
        }
    }
}

/// The default schedule's delay before retry `deliveries`, its last delay past its end.
fn default_delay_s(deliveries: u32) -> u32 {
    let i = usize::try_from(deliveries.max(1) - 1).unwrap_or(usize::MAX);
    let schedule = &crate::config::DEFAULT_RETRY_SCHEDULE_S;
    schedule.get(i).or(schedule.last()).copied().unwrap_or(60)
}

/// Asks the runtime to deliver the message again after `delay_s` seconds.
fn retry(msg: &RawMessage, delay_s: u32) {
    let options = Object::new();
    let _ = Reflect::set(
        &options,
        &JsValue::from_str("delaySeconds"),
        &JsValue::from(delay_s),
    );
    let _ = msg.retry(options.into());
}

/// The log line of one attempt.
fn log_attempt(record: &AttemptRecord, note: &str) {
    console_log!(
        "{}",
        LogLine {
            event: "forward",
            source: Some(&record.source),
            outcome: record.outcome.as_str(),
            status: record.http_status,
            message: Some(note.to_owned()).filter(|n| !n.is_empty()),
            id: Some(&record.id),
            destination: Some(&record.destination),
            attempts: Some(record.n),
            duration_ms: record.duration_ms,
            ..LogLine::default()
        }
        .to_json()
    );
}

/// A log line of a message that was not attempted.
fn log_line(event: &str, hop: Option<&Hop>, outcome: &str, note: &str, deliveries: u32) {
    console_log!(
        "{}",
        LogLine {
            event,
            source: hop.map(|h| h.source.as_str()),
            outcome,
            message: Some(note.to_owned()),
            id: hop.map(|h| h.id.as_str()),
            destination: hop.map(|h| h.destination.as_str()),
            attempts: Some(deliveries),
            ..LogLine::default()
        }
        .to_json()
    );
}
