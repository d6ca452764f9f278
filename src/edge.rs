//! The Workers runtime side, and the only module that touches `worker`: the fetch handler
//! (route, verify, dedup in KV, hand on, mark seen, answer, log) and the queue consumer
//! (deliver to the origin with growing retry delays; keep dead letters in KV).
//!
//! Everything it decides is decided by the pure modules; this file moves bytes between them
//! and the runtime's KV, Queues and `fetch`, and reads the clock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use futures_util::stream::{self, StreamExt};
use worker::js_sys::{self, Array, Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{
    console_log, event, AbortController, Delay, Env, Fetch, Method, Request, RequestInit,
};

use crate::config::{names, ForwardMode, Settings, Sources};
use crate::envelope::normalize;
use crate::error::Error;
use crate::forward::{
    kv_key, origin_request, queue_message, retry_delay_s, Answer, LogLine, Outcome, QueueMessage,
};
use crate::providers::{self, Delivery, Headers, HmacKeys, Prepared, Provider, Verified};
use crate::routes::{path_of, route, Route};
use crate::secret::Secret;
use crate::signing::WebhookKey;

/// The KV namespace holding seen IDs, oversize envelopes and dead letters.
const SEEN_BINDING: &str = "SEEN";
/// The queue producer events are handed to.
const EVENTS_BINDING: &str = "EVENTS";
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

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The fetch handler, exported by hand rather than through `#[event(fetch)]`: the macro turns
/// the runtime's request into a `worker::Request`, which reads `request.cf` on every request
/// (in the V8 profile of `GET /healthz` that read was a fifth of the isolate's time), and
/// edgehook needs only the method, URL, a few headers and the body.
mod fetch_export {
    use worker::wasm_bindgen::prelude::wasm_bindgen;
    use worker::worker_sys::web_sys;

    #[wasm_bindgen(
        wasm_bindgen = ::worker::wasm_bindgen,
        wasm_bindgen_futures = ::worker::wasm_bindgen_futures,
        js_sys = ::worker::js_sys
    )]
    pub async fn fetch(
        req: web_sys::Request,
        env: ::worker::Env,
        _ctx: ::worker::worker_sys::Context,
    ) -> Result<web_sys::Response, ::worker::wasm_bindgen::JsValue> {
        super::fetch(&req, &env).await
    }
}

async fn fetch(req: &web_sys::Request, env: &Env) -> Result<web_sys::Response, JsValue> {
    let started = now_ms();
    let method = req.method();
    let url = req.url();
    let mut log = Handled::default();
    let result = match route(&method, path_of(&url)) {
        Ok(Route::Health) => {
            let body = serde_json::json!({"ok": true, "version": env!("CARGO_PKG_VERSION")});
            return respond(200, &body.to_string(), None);
        }
        Ok(Route::Ingest { source, token }) => {
            log.source = Some(source.clone());
            ingest(req, env, &source, token.as_deref(), started, &mut log).await
        }
        Err(e) => Err(e),
    };
    let answer = match &result {
        Ok(outcome) => Answer::for_outcome(*outcome, log.id.as_deref().unwrap_or_default()),
        Err(e) => Answer::for_error(e),
    };
    let (outcome, reason, message) = match &result {
        Ok(Outcome::Accepted) => ("accepted", None, None),
        Ok(Outcome::Duplicate) => ("duplicate", None, None),
        Err(e) => ("refused", Some(e.reason()), Some(e.to_string())),
    };
    console_log!(
        "{}",
        LogLine {
            event: "delivery",
            source: log.source.as_deref(),
            provider: log.provider,
            outcome,
            status: Some(answer.status),
            reason,
            message,
            id: log.id.as_deref(),
            attempts: None,
            duration_ms: now_ms().saturating_sub(started),
        }
        .to_json()
    );
    let allow = match &result {
        Err(Error::MethodNotAllowed { allowed, .. }) => Some(*allowed),
        _ => None,
    };
    respond(answer.status, &answer.body, allow)
}

/// What the log line of a delivery needs to know, filled in as the delivery gets further.
#[derive(Default)]
struct Handled {
    source: Option<String>,
    provider: Option<&'static str>,
    id: Option<String>,
}

/// The clock, in unix milliseconds: `Date.now()` (a static call; `worker::Date::now()`
/// allocates a JavaScript `Date` first).
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A JSON answer, with an `allow` header for a 405.
fn respond(status: u16, body: &str, allow: Option<&str>) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "application/json; charset=utf-8")?;
    if let Some(allow) = allow {
        headers.set("allow", allow)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(Some(body), &init)
}

/// The request body, read to the end.
async fn body_bytes(req: &web_sys::Request) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(req.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A `[vars]` value as text; a number or boolean written without quotes in wrangler.toml
/// is taken as its text too.
fn var(env: &Env, name: &str) -> Option<String> {
    if let Ok(v) = env.var(name) {
        return Some(v.to_string());
    }
    match env.object_var::<serde_json::Value>(name).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads a Worker secret, wrapped at once so it cannot be printed.
fn secret(env: &Env, name: &str) -> Option<Secret> {
    env.secret(name).ok().map(|s| Secret::new(s.to_string()))
}

/// `SOURCES` as wrangler binds it (an object), or as JSON text (set from the dashboard).
fn sources(env: &Env) -> Result<Sources, Error> {
    let value: serde_json::Value = env.object_var(names::SOURCES).map_err(|_| {
        crate::config::ConfigError::Sources("not set: add [vars.SOURCES.<name>] tables".into())
    })?;
    Ok(match value {
        serde_json::Value::String(text) => Sources::from_json(&text)?,
        other => Sources::from_value(other)?,
    })
}

fn origin_key(env: &Env) -> Result<WebhookKey, Error> {
    let s = secret(env, names::ORIGIN_SECRET).ok_or(crate::config::ConfigError::Var {
        name: names::ORIGIN_SECRET,
        problem: "not set: wrangler secret put ORIGIN_SECRET (a whsec_<base64> key)".into(),
    })?;
    WebhookKey::from_secret(&s).map_err(|e| {
        crate::config::ConfigError::Var {
            name: names::ORIGIN_SECRET,
            problem: format!("{e}; expected whsec_<base64>"),
        }
        .into()
    })
}

/// The configuration, read and validated once per isolate: env does not change while an
/// isolate lives (a deploy or a secret change starts new ones). Reading it costs a crossing
/// into JavaScript per variable and a conversion of `SOURCES`, which each delivery would
/// otherwise pay. A configuration error is not kept, so a fix shows on the next delivery.
struct Config {
    settings: Settings,
    sources: Sources,
    key: WebhookKey,
    /// Providers built so far, by source; a source whose table is wrong is not kept.
    providers: RefCell<HashMap<String, Rc<Source>>>,
}

/// A source's provider, and its HMAC keys imported into `crypto.subtle`.
struct Source {
    provider: Box<dyn Provider>,
    /// `None` when the provider has no keys, or when importing failed (its deliveries are
    /// then hashed in wasm).
    subtle: Option<SubtleKeys>,
}

/// The runtime's `crypto.subtle`, and a source's keys imported into it.
struct SubtleKeys {
    subtle: web_sys::SubtleCrypto,
    /// In the order of `provider.mac_keys()`.
    keys: Vec<web_sys::CryptoKey>,
}

thread_local! {
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

impl Config {
    fn get(env: &Env) -> Result<Rc<Config>, Error> {
        if let Some(c) = CONFIG.with_borrow(|c| c.clone()) {
            return Ok(c);
        }
        let config = Rc::new(Config {
            settings: Settings::from_vars(|n| var(env, n))?,
            sources: sources(env)?,
            key: origin_key(env)?,
            providers: RefCell::default(),
        });
        CONFIG.set(Some(config.clone()));
        Ok(config)
    }

    /// Source `name`'s provider and keys: `None` when there is no such source.
    async fn source(&self, env: &Env, name: &str) -> Result<Option<Rc<Source>>, Error> {
        if let Some(p) = self.providers.borrow().get(name) {
            return Ok(Some(p.clone()));
        }
        let Some(cfg) = self.sources.get(name) else {
            return Ok(None);
        };
        let provider = providers::build(name, &cfg?, |n| secret(env, n))?;
        let subtle = match provider.mac_keys() {
            Some(keys) => import_keys(keys).await.map_err(|e| {
                warn("subtle_import_failed", name, "", &describe_js(&e));
            }),
            None => Err(()),
        };
        let source = Rc::new(Source {
            provider,
            subtle: subtle.ok(),
        });
        self.providers
            .borrow_mut()
            .insert(name.to_owned(), source.clone());
        Ok(Some(source))
    }
}

/// Imports a source's HMAC secrets into `crypto.subtle`, once per isolate.
async fn import_keys(keys: &HmacKeys) -> Result<SubtleKeys, JsValue> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let subtle = scope.crypto()?.subtle();
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"HMAC".into())?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    let usages = Array::of1(&"sign".into());
    let mut imported = Vec::new();
    for secret in keys.secrets() {
        let raw = Uint8Array::from(secret.expose());
        let key = subtle.import_key_with_object("raw", &raw, &algorithm, false, &usages)?;
        imported.push(JsFuture::from(key).await?.unchecked_into());
    }
    Ok(SubtleKeys {
        subtle,
        keys: imported,
    })
}

/// A 32-byte result (HMAC-SHA256 or SHA-256) of a `crypto.subtle` promise.
async fn hash32(promise: Result<js_sys::Promise, JsValue>) -> Result<[u8; 32], JsValue> {
    let buffer = Uint8Array::new(&JsFuture::from(promise?).await?);
    let mut out = [0u8; 32];
    if buffer.length() != 32 {
        return Err("a SHA-256 result is 32 bytes".into());
    }
    buffer.copy_to(&mut out);
    Ok(out)
}

/// The HMACs of a prepared delivery's message under `keys` and, if it is authentic, the
/// digest its natural id needs, by `crypto.subtle`: the runtime's native SHA-256, where wasm
/// has no SHA instructions. `Err` when `crypto.subtle` failed (the caller then hashes in wasm).
async fn hash_with_subtle(
    SubtleKeys { subtle, keys }: &SubtleKeys,
    prepared: &Prepared<'_>,
) -> Result<(Vec<[u8; 32]>, Option<[u8; 32]>), JsValue> {
    let mut macs = Vec::with_capacity(keys.len());
    if prepared.needs_mac() {
        for key in keys {
            let sign = subtle.sign_with_str_and_u8_array("HMAC", key, prepared.message());
            macs.push(hash32(sign).await?);
        }
    }
    let digest = match prepared.digest_input() {
        // Only an authentic delivery needs its id: skip the digest when no MAC matched.
        Some(input) if prepared.matches(&macs) => {
            Some(hash32(subtle.digest_with_str_and_u8_array("SHA-256", input)).await?)
        }
        _ => None,
    };
    Ok((macs, digest))
}

/// Verifies a delivery as [`Provider::verify`] does, hashing with `crypto.subtle` when the
/// source's keys are imported, else (or if it fails) with RustCrypto in wasm.
async fn verify<'a>(
    source: &Source,
    delivery: &Delivery<'a>,
    now_ms: u64,
) -> Result<Verified<'a>, Error> {
    let provider = &*source.provider;
    let prepared = provider.prepare(delivery, now_ms)?;
    let Some(subtle) = &source.subtle else {
        return prepared.hash_natively(provider.mac_keys());
    };
    match hash_with_subtle(subtle, &prepared).await {
        Ok((macs, digest)) => prepared.check(&macs)?.finish(digest),
        Err(e) => {
            warn("subtle_failed", provider.name(), "", &describe_js(&e));
            prepared.hash_natively(provider.mac_keys())
        }
    }
}

/// A JavaScript error as text, for a log line.
fn describe_js(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.to_string()))
        })
        .unwrap_or_else(|| "unknown JavaScript error".into())
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable {
        detail: format!("{what}: {e}"),
    }
}

async fn ingest(
    req: &web_sys::Request,
    env: &Env,
    source: &str,
    token: Option<&str>,
    now_ms: u64,
    log: &mut Handled,
) -> Result<Outcome, Error> {
    let config = Config::get(env)?;
    let (settings, key) = (&config.settings, &config.key);
    let not_found = || Error::NotFound {
        path: format!("/in/{source}"),
    };
    let source_cfg = config.source(env, source).await?.ok_or_else(not_found)?;
    let provider = &*source_cfg.provider;
    log.provider = Some(provider.name());
    if token.is_some() && !provider.takes_path_token() {
        return Err(not_found());
    }
    let too_large = Error::TooLarge {
        limit: settings.max_body_bytes,
    };
    // One Headers object for every read: each `req.headers()` is a crossing into JavaScript.
    let request_headers = req.headers();
    let declared = request_headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > settings.max_body_bytes) {
        return Err(too_large);
    }
    let body = body_bytes(req).await.map_err(|e| {
        Error::malformed(format!("the body could not be read: {}", describe_js(&e)))
    })?;
    if body.len() > settings.max_body_bytes {
        return Err(too_large);
    }
    let mut headers = Headers::new();
    for name in provider.headers_read() {
        if let Ok(Some(value)) = request_headers.get(name) {
            headers.insert(name, value);
        }
    }
    let delivery = Delivery {
        headers: &headers,
        body: &body,
        path_token: token,
    };
    let verified = verify(&source_cfg, &delivery, now_ms).await?;
    let envelope = normalize(source, provider, &verified, now_ms)?;
    log.id = Some(envelope.id.clone());
    if settings.forward_mode == ForwardMode::Discard {
        return Ok(Outcome::Accepted);
    }

    let kv = env
        .kv(SEEN_BINDING)
        .map_err(|_| unavailable("KV namespace SEEN", "not bound"))?;
    let seen = kv_key("seen", source, &envelope.id);
    match kv.get(&seen).text().await {
        Ok(Some(_)) => return Ok(Outcome::Duplicate),
        Ok(None) => {}
        // Unknown: forward anyway. A duplicate at the origin is safe (it dedups on
        // webhook-id); a lost event is not.
        Err(e) => warn("seen_check_failed", source, &envelope.id, &e.to_string()),
    }
    let json = envelope.to_json();
    hand_on(env, settings, key, source, &envelope.id, &json, now_ms).await?;
    let marked = match kv.put(&seen, envelope.receivedat.as_str()) {
        Ok(put) => put
            .expiration_ttl(settings.dedup_ttl_s)
            .execute()
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = marked {
        // Handed on already: the answer stays 202. A retry may forward it again.
        warn("mark_seen_failed", source, &envelope.id, &e);
    }
    Ok(Outcome::Accepted)
}

fn warn(outcome: &str, source: &str, id: &str, message: &str) {
    console_log!(
        "{}",
        LogLine {
            event: "warning",
            source: Some(source),
            outcome,
            message: Some(message.to_owned()),
            id: Some(id),
            ..LogLine::default()
        }
        .to_json()
    );
}

/// Hands an envelope on: to the queue, or inline to the origin with the queue as fallback.
async fn hand_on(
    env: &Env,
    settings: &Settings,
    key: &WebhookKey,
    source: &str,
    id: &str,
    json: &str,
    now_ms: u64,
) -> Result<(), Error> {
    match settings.forward_mode {
        ForwardMode::Queue | ForwardMode::Discard => enqueue(env, settings, source, id, json).await,
        ForwardMode::Origin => {
            let req = origin_request(&settings.origin_url, key, id, json, (now_ms / 1000) as i64);
            match post(req, settings.origin_timeout_ms).await {
                Ok(()) => Ok(()),
                Err(why) if env.queue(EVENTS_BINDING).is_ok() => {
                    warn("origin_failed_queued", source, id, &why);
                    enqueue(env, settings, source, id, json).await
                }
                Err(why) => Err(unavailable("origin", why)),
            }
        }
    }
}

async fn enqueue(
    env: &Env,
    settings: &Settings,
    source: &str,
    id: &str,
    json: &str,
) -> Result<(), Error> {
    let queue = env
        .queue(EVENTS_BINDING)
        .map_err(|_| unavailable("queue EVENTS", "not bound"))?;
    let (text, stored) = queue_message(source, id, json);
    if let Some((key, envelope)) = stored {
        let kv = env
            .kv(SEEN_BINDING)
            .map_err(|_| unavailable("KV namespace SEEN", "not bound"))?;
        kv.put(&key, envelope)
            .map_err(|e| unavailable("KV", e))?
            .expiration_ttl(settings.dedup_ttl_s)
            .execute()
            .await
            .map_err(|e| unavailable("KV", e))?;
    }
    queue
        .send(text)
        .await
        .map_err(|e| unavailable("queue EVENTS", e))
}

/// POSTs a signed envelope to the origin; `Ok` on a 2xx answer within `timeout_ms`.
async fn post(req: crate::forward::OriginRequest, timeout_ms: u64) -> Result<(), String> {
    let headers = worker::Headers::new();
    for (name, value) in &req.headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&req.body)));
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
/// 0.8 hides each message's `attempts`, which the growing retry delay needs, so this takes
/// the runtime's batch as it comes. Never returns an error (the generated glue would
/// panic): each message is acked or retried.
mod queue_export {
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
    let messages: Vec<worker::worker_sys::Message> =
        messages.iter().map(|m| m.unchecked_into()).collect();
    let env = &env;
    if queue == dead_letter_queue {
        join_all(messages.iter().map(|m| keep_dead_letter(env, m))).await;
    } else {
        stream::iter(&messages)
            .for_each_concurrent(ORIGIN_CONNECTIONS, |m| deliver(env, m))
            .await;
    }
}

fn attempts(msg: &worker::worker_sys::Message) -> u32 {
    Reflect::get(msg, &JsValue::from_str("attempts"))
        .ok()
        .and_then(|v| v.as_f64())
        .map_or(1, |a| a as u32)
}

fn parse_message(msg: &worker::worker_sys::Message) -> Result<QueueMessage, String> {
    let text = msg
        .body()
        .ok()
        .and_then(|b| b.as_string())
        .ok_or("message body is not text")?;
    serde_json::from_str(&text).map_err(|e| format!("message is not an edgehook message: {e}"))
}

async fn envelope_json(env: &Env, message: &QueueMessage) -> Result<String, String> {
    match message {
        QueueMessage::Inline { envelope, .. } => Ok(envelope.get().to_owned()),
        QueueMessage::Stored { key, .. } => env
            .kv(SEEN_BINDING)
            .map_err(|e| e.to_string())?
            .get(key)
            .text()
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("stored envelope {key} is gone")),
    }
}

/// Delivers one queued envelope to the origin: ack on 2xx, else retry with a delay that
/// doubles each attempt. After `max_retries` the runtime moves it to the dead-letter queue.
async fn deliver(env: &Env, msg: &worker::worker_sys::Message) {
    let started = now_ms();
    let attempts = attempts(msg);
    let message = parse_message(msg);
    let (source, id) = match &message {
        Ok(m) => {
            let (s, i) = m.source_and_id();
            (Some(s.to_owned()), Some(i.to_owned()))
        }
        Err(_) => (None, None),
    };
    let config = Config::get(env);
    let result: Result<(), String> = async {
        let message = message?;
        let config = config.as_ref().map_err(|e| e.to_string())?;
        let json = envelope_json(env, &message).await?;
        let (_, id) = message.source_and_id();
        let now_s = (now_ms() / 1000) as i64;
        let url = &config.settings.origin_url;
        post(
            origin_request(url, &config.key, id, &json, now_s),
            QUEUE_ORIGIN_TIMEOUT_MS,
        )
        .await?;
        if let QueueMessage::Stored { key, .. } = &message {
            if let Ok(kv) = env.kv(SEEN_BINDING) {
                let _ = kv.delete(key).await; // best effort: it expires anyway
            }
        }
        Ok(())
    }
    .await;
    let base = config
        .as_ref()
        .map_or(crate::config::DEFAULT_RETRY_BASE_DELAY_S, |c| {
            c.settings.retry_base_delay_s
        });
    let (outcome, message) = match result {
        Ok(()) => {
            let _ = msg.ack();
            ("delivered", None)
        }
        Err(why) => {
            let delay = retry_delay_s(base, attempts);
            let options = Object::new();
            let _ = Reflect::set(
                &options,
                &JsValue::from_str("delaySeconds"),
                &JsValue::from(delay),
            );
            let _ = msg.retry(options.into());
            ("retry", Some(format!("{why}; next attempt in {delay} s")))
        }
    };
    console_log!(
        "{}",
        LogLine {
            event: "forward",
            source: source.as_deref(),
            outcome,
            message,
            id: id.as_deref(),
            attempts: Some(attempts),
            duration_ms: now_ms().saturating_sub(started),
            ..LogLine::default()
        }
        .to_json()
    );
}

/// Keeps a dead letter in KV under `dead:{source}:{id}`, with no expiry, so an operator can
/// inspect and replay it (`wrangler kv key list --prefix dead:`). An envelope that was kept
/// by reference is copied in whole, since its body entry expires.
async fn keep_dead_letter(env: &Env, msg: &worker::worker_sys::Message) {
    let raw = msg
        .body()
        .ok()
        .and_then(|b| b.as_string())
        .unwrap_or_default();
    let message = parse_message(msg);
    let (key, value) = match &message {
        Ok(m) => {
            let (source, id) = m.source_and_id();
            let value = envelope_json(env, m).await.unwrap_or_else(|_| raw.clone());
            (kv_key("dead", source, id), value)
        }
        Err(_) => (
            format!(
                "dead:unreadable:{}",
                msg.id().map(String::from).unwrap_or_default()
            ),
            raw.clone(),
        ),
    };
    let kept = match env.kv(SEEN_BINDING) {
        Ok(kv) => match kv.put(&key, value) {
            Ok(put) => put.execute().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    let (source, id) = match &message {
        Ok(m) => {
            let (s, i) = m.source_and_id();
            (Some(s), Some(i))
        }
        Err(_) => (None, None),
    };
    let outcome = match &kept {
        Ok(()) => {
            let _ = msg.ack();
            "dead_lettered"
        }
        Err(_) => {
            let _ = msg.retry(JsValue::NULL);
            "dead_letter_retry"
        }
    };
    console_log!(
        "{}",
        LogLine {
            event: "dead_letter",
            source,
            outcome,
            message: kept.err().or(Some(format!("kept in KV as {key}"))),
            id,
            attempts: Some(attempts(msg)),
            ..LogLine::default()
        }
        .to_json()
    );
}
