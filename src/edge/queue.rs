//! The `EVENTS` queue: handing an event on (enqueue, or inline to the origin in origin
//! mode), and the consumer that delivers each queued envelope to the origin, retrying on the
//! Worker's own schedule (`RETRY_SCHEDULE_S`) and keeping it as a dead letter when the
//! schedule is used up.

use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use futures_util::stream::{self, StreamExt};
use worker::js_sys::{Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{
    console_log, AbortController, Delay, Env, Fetch, Method, QueueContentType, RawMessageBuilder,
    Request, RequestInit,
};

use super::config::Config;
use super::dead_letters;
use super::{describe_js, kv, now_ms, unavailable, var, warn, EVENTS_BINDING};
use crate::config::ForwardMode;
use crate::error::Error;
use crate::forward::{
    origin_request, origin_request_signed, queue_message, DeadLetter, LogLine, OriginRequest,
    QueueMessage,
};

/// Names the dead-letter queue, so the consumer knows which batches are dead letters.
const DEAD_LETTER_QUEUE_VAR: &str = "DEAD_LETTER_QUEUE";
const DEFAULT_DEAD_LETTER_QUEUE: &str = "edgehook-dlq";
/// How long the queue consumer waits for the origin (no provider is waiting on it).
const QUEUE_ORIGIN_TIMEOUT_MS: u64 = 15_000;
/// How many origin requests the queue consumer has in flight at once: a Worker invocation
/// may hold six connections open and the runtime queues any more until one closes, so
/// starting all of a batch at once would let a request's timeout run out while it waits
/// for a connection rather than for the origin.
const ORIGIN_CONNECTIONS: usize = 6;
/// When keeping a dead letter fails, the message is tried again after this long.
const DEAD_LETTER_RETRY_S: u32 = 60;

/// Hands an envelope on: to the queue, or inline to the origin with the queue as fallback.
pub(super) async fn hand_on(
    env: &Env,
    config: &Config,
    source: &str,
    id: &str,
    json: &str,
    now_ms: u64,
) -> Result<(), Error> {
    let settings = &config.settings;
    match settings.forward_mode {
        ForwardMode::Queue | ForwardMode::Discard => enqueue(env, config, source, id, json).await,
        ForwardMode::Origin => {
            let req = signed_request(config, id, json, (now_ms / 1000) as i64).await;
            match post(req, settings.origin_timeout_ms).await {
                Ok(()) => Ok(()),
                Err(why) if env.queue(EVENTS_BINDING).is_ok() => {
                    warn("origin_failed_queued", source, id, &why);
                    enqueue(env, config, source, id, json).await
                }
                Err(why) => Err(unavailable("origin", why)),
            }
        }
    }
}

/// Sends an envelope to `EVENTS`, first keeping it in KV when it is too large to travel in
/// the message. Sent as text: the runtime's default (`json`) would encode the text once more,
/// adding a byte for every `"` and `\`, and pass the message limit unseen.
pub(super) async fn enqueue(
    env: &Env,
    config: &Config,
    source: &str,
    id: &str,
    json: &str,
) -> Result<(), Error> {
    let queue = env
        .queue(EVENTS_BINDING)
        .map_err(|_| unavailable("queue EVENTS", "not bound"))?;
    let (text, stored) = queue_message(source, id, json);
    if let Some(key) = stored {
        // As bytes: `put` of a `String` goes through serde (a JavaScript string made from
        // the UTF-8, then copied back into wasm to check it is one), megabytes each way.
        kv(env)?
            .put_bytes(&key, json.as_bytes())
            .map_err(|e| unavailable("KV", e))?
            .expiration_ttl(config.settings.dedup_ttl_s)
            .execute()
            .await
            .map_err(|e| unavailable("KV", e))?;
    }
    let message = RawMessageBuilder::new(JsValue::from_str(&text))
        .build_with_content_type(QueueContentType::Text);
    queue
        .send_raw(message)
        .await
        .map_err(|e| unavailable("queue EVENTS", e))
}

/// POSTs a signed envelope to the origin; `Ok` on a 2xx answer within `timeout_ms`, else
/// why not (the origin's status, a timeout, or why it could not be reached).
pub(super) async fn post(
    req: crate::forward::OriginRequest<'_>,
    timeout_ms: u64,
) -> Result<(), String> {
    let headers = worker::Headers::new();
    for (name, value) in &req.headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        // As bytes: one copy out of wasm, where a JavaScript string would be decoded from
        // the UTF-8 and encoded back by `fetch`.
        .with_body(Some(Uint8Array::from(req.body.as_bytes()).into()));
    let request = Request::new_with_init(&req.url, &init).map_err(|e| e.to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let exchange = async {
        let mut resp = fetch.send_with_signal(&signal).await?;
        // Read the answer to the end: a Worker may hold only six connections open at once,
        // and a connection stays open until its response body is consumed.
        let _ = resp.bytes().await;
        Ok::<u16, worker::Error>(resp.status_code())
    };
    let exchange = std::pin::pin!(exchange);
    let timeout = std::pin::pin!(Delay::from(Duration::from_millis(timeout_ms)));
    match select(exchange, timeout).await {
        Either::Left((Ok(status), _)) => match status {
            200..=299 => Ok(()),
            status => Err(format!("origin answered {status}")),
        },
        Either::Left((Err(e), _)) => Err(format!("origin unreachable: {e}")),
        Either::Right(_) => {
            controller.abort();
            Err(format!("origin did not answer within {timeout_ms} ms"))
        }
    }
}

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

/// A message as the runtime hands it over.
pub(super) type RawMessage = worker::worker_sys::Message;

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
    } else {
        stream::iter(&messages)
            .for_each_concurrent(ORIGIN_CONNECTIONS, |m| deliver(env, m))
            .await;
    }
}

/// How many times the runtime has delivered this message, this time included.
pub(super) fn attempts(msg: &RawMessage) -> u32 {
    Reflect::get(msg, &JsValue::from_str("attempts"))
        .ok()
        .and_then(|v| v.as_f64())
        .map_or(1, |a| a as u32)
}

pub(super) fn parse_message(msg: &RawMessage) -> Result<QueueMessage, String> {
    let text = msg
        .body()
        .ok()
        .and_then(|b| b.as_string())
        .ok_or("message body is not text")?;
    serde_json::from_str(&text).map_err(|e| format!("message is not an edgehook message: {e}"))
}

/// The envelope a message carries, or reads it from KV where it was kept by reference.
pub(super) async fn envelope_json(env: &Env, message: &QueueMessage) -> Result<String, String> {
    match message {
        QueueMessage::Inline { envelope, .. } => Ok(envelope.get().to_owned()),
        QueueMessage::Stored { key, .. } => kv(env)
            .map_err(|e| e.to_string())?
            .get(key)
            .text()
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("stored envelope {key} is gone")),
    }
}

/// Delivers one queued envelope to the origin: ack on 2xx; else retry after the schedule's
/// next delay, or keep it as a dead letter when the schedule is used up.
async fn deliver(env: &Env, msg: &RawMessage) {
    let started = now_ms();
    let attempts = attempts(msg);
    let message = parse_message(msg);
    let config = Config::get(env);
    let result = match (&message, &config) {
        (Ok(message), Ok(config)) => post_message(env, config, message).await,
        (Err(e), _) => Err(e.clone()),
        (_, Err(e)) => Err(e.to_string()),
    };
    let (source, id) = match &message {
        Ok(m) => m.source_and_id(),
        Err(_) => ("", ""),
    };
    let (outcome, log) = match result {
        Ok(()) => {
            let _ = msg.ack();
            ("delivered", None)
        }
        Err(why) => {
            let delay = match &config {
                Ok(c) => c.settings.retry_delay_s(attempts),
                // Nothing to decide by (a broken configuration is reported on every
                // delivery): keep trying at the default pace; max_retries is the safety net.
                Err(_) => Some(default_delay_s(attempts)),
            };
            match delay {
                Some(delay) => {
                    retry(msg, delay);
                    ("retry", Some(format!("{why}; next attempt in {delay} s")))
                }
                None => give_up(env, msg, &message, attempts, &why).await,
            }
        }
    };
    console_log!(
        "{}",
        LogLine {
            event: "forward",
            source: Some(source).filter(|s| !s.is_empty()),
            outcome,
            message: log,
            id: Some(id).filter(|s| !s.is_empty()),
            attempts: Some(attempts),
            duration_ms: now_ms().saturating_sub(started),
            ..LogLine::default()
        }
        .to_json()
    );
}

/// The default schedule's delay before retry `attempts`, its last delay past its end.
fn default_delay_s(attempts: u32) -> u32 {
    let i = usize::try_from(attempts.max(1) - 1).unwrap_or(usize::MAX);
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

/// The origin request for an envelope, signed at `now_s` by `crypto.subtle`, or in wasm
/// if that is not to be had.
async fn signed_request<'a>(
    config: &Config,
    id: &str,
    json: &'a str,
    now_s: i64,
) -> OriginRequest<'a> {
    let url = &config.settings.origin_url;
    if let Some(signer) = config.signer().await {
        match signer.sign(id, now_s, json.as_bytes()).await {
            Ok(signature) => return origin_request_signed(url, id, json, now_s, signature),
            Err(e) => warn("subtle_failed", "", id, &describe_js(&e)),
        }
    }
    origin_request(url, &config.key, id, json, now_s)
}

/// POSTs a message's envelope to the origin, signed now; drops its KV copy once delivered.
async fn post_message(env: &Env, config: &Config, message: &QueueMessage) -> Result<(), String> {
    let json = envelope_json(env, message).await?;
    let (_, id) = message.source_and_id();
    let now_s = (now_ms() / 1000) as i64;
    let req = signed_request(config, id, &json, now_s).await;
    post(req, QUEUE_ORIGIN_TIMEOUT_MS).await?;
    if let QueueMessage::Stored { key, .. } = message {
        if let Ok(kv) = kv(env) {
            let _ = kv.delete(key).await; // best effort: it expires anyway
        }
    }
    Ok(())
}

/// The schedule is used up: keep the message as a dead letter with why it died, and ack
/// it; if that fails, try again later (the queue's `max_retries` is the last resort).
async fn give_up(
    env: &Env,
    msg: &RawMessage,
    message: &Result<QueueMessage, String>,
    attempts: u32,
    why: &str,
) -> (&'static str, Option<String>) {
    let (source, id) = match message {
        Ok(m) => m.source_and_id(),
        Err(_) => ("unreadable", ""),
    };
    let letter = DeadLetter::new(source, id, now_ms(), attempts, why);
    let kept = match message {
        Ok(m) => dead_letters::keep(env, m, &letter).await,
        Err(_) => dead_letters::keep_unreadable(env, msg, &letter).await,
    };
    match kept {
        Ok(key) => {
            let _ = msg.ack();
            ("dead_lettered", Some(format!("{why}; kept in KV as {key}")))
        }
        Err(e) => {
            retry(msg, DEAD_LETTER_RETRY_S);
            let log = format!("{why}; keeping the dead letter failed: {e}");
            ("dead_letter_retry", Some(log))
        }
    }
}
