//! The fetch handler: route, read, verify, normalize, dedup in KV, hand on to every
//! destination that wants it, mark seen, answer, and one log line per delivery.

use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::future_to_promise;
use worker::worker_sys::Context;
use worker::{console_log, Env};

use super::config::Config;
use super::crypto::verify;
use super::hand_on::{hand_on, Event};
use super::http::{answer, body_bytes, JSON};
use super::{describe_js, kv, now_ms, warn};
use crate::config::ForwardMode;
use crate::envelope::normalize;
use crate::error::Error;
use crate::forward::{kv_key, Answer, LogLine, Outcome};
use crate::providers::{Delivery, Headers};
use crate::routes::{path_of, route, Route};

/// The fetch handler, exported by hand rather than through `#[event(fetch)]`: the macro turns
/// the runtime's request into a `worker::Request`, which reads `request.cf` on every request
/// (in the V8 profile of `GET /healthz` that read was a fifth of the isolate's time), and
/// edgehook needs only the method, URL, a few headers and the body.
mod export {
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
        ctx: ::worker::worker_sys::Context,
    ) -> Result<web_sys::Response, ::worker::wasm_bindgen::JsValue> {
        super::fetch(&req, &env, &ctx).await
    }
}

async fn fetch(
    req: &web_sys::Request,
    env: &Env,
    ctx: &Context,
) -> Result<web_sys::Response, JsValue> {
    let started = now_ms();
    let method = req.method();
    let url = req.url();
    let mut log = Handled::default();
    let result = match route(&method, path_of(&url)) {
        Ok(Route::Health) => {
            let body = serde_json::json!({"ok": true, "version": env!("CARGO_PKG_VERSION")});
            return respond(200, &body.to_string(), None);
        }
        Ok(Route::Admin(admin)) => return super::admin::handle(req, env, admin, started).await,
        Ok(Route::Ingest { source, token }) => {
            let at = Ingest {
                env,
                ctx,
                source: &source,
                now_ms: started,
            };
            ingest(req, &at, token.as_deref(), &mut log).await
        }
        Err(e) => Err(e),
    };
    let answer = match &result {
        Ok(outcome) => Answer::for_outcome(*outcome, log.id.as_deref().unwrap_or_default()),
        Err(e) => Answer::for_error(e),
    };
    let (outcome, reason, message) = match &result {
        Ok(Outcome::Accepted) if log.filtered => (
            "accepted",
            None,
            Some("filtered: no destination's filter matches it".to_owned()),
        ),
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
            duration_ms: now_ms().saturating_sub(started),
            ..LogLine::default()
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
/// `source` is set only once the name is known to be a configured source: until then it is
/// the sender's text, and may hold a token (`/in/smartbrowse%2F<token>`).
#[derive(Default)]
struct Handled {
    source: Option<String>,
    provider: Option<&'static str>,
    id: Option<String>,
    /// Accepted, but no destination's filter matched it.
    filtered: bool,
}

/// A JSON answer, with an `allow` header for a 405.
fn respond(status: u16, body: &str, allow: Option<&str>) -> Result<web_sys::Response, JsValue> {
    match allow {
        Some(allow) => answer(
            status,
            &[("content-type", JSON), ("allow", allow)],
            Some(body),
        ),
        None => answer(status, &[("content-type", JSON)], Some(body)),
    }
}

/// Where and when a delivery arrived.
struct Ingest<'a> {
    env: &'a Env,
    ctx: &'a Context,
    /// The source's name as routed: not yet known to be configured.
    source: &'a str,
    now_ms: u64,
}

async fn ingest(
    req: &web_sys::Request,
    &Ingest {
        env,
        ctx,
        source,
        now_ms,
    }: &Ingest<'_>,
    token: Option<&str>,
    log: &mut Handled,
) -> Result<Outcome, Error> {
    let config = Config::get(env)?;
    let settings = &config.settings;
    if !config.has_source(source) {
        return Err(Error::NotFound);
    }
    log.source = Some(source.to_owned());
    let source_cfg = config.source(env, source).await?.ok_or(Error::NotFound)?;
    let provider = &*source_cfg.provider;
    log.provider = Some(provider.name());
    if token.is_some() && !provider.takes_path_token() {
        return Err(Error::NotFound);
    }
    // One Headers object for every read: each `req.headers()` is a crossing into JavaScript.
    let request_headers = req.headers();
    let body = read_body(req, &request_headers, settings.max_body_bytes).await?;
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
    let subtle = source_cfg.subtle.as_ref();
    let verified = verify(provider, subtle, &delivery, now_ms).await?;
    let envelope = normalize(source, provider, &verified, now_ms)?;
    log.id = Some(envelope.id.clone());
    if settings.forward_mode == ForwardMode::Discard {
        return Ok(Outcome::Accepted);
    }

    let kv = kv(env)?;
    let seen = kv_key("seen", source, &envelope.id);
    match kv.get(&seen).text().await {
        Ok(Some(_)) => return Ok(Outcome::Duplicate),
        Ok(None) => {}
        // Unknown: forward anyway. A duplicate at the origin is safe (it dedups on
        // webhook-id); a lost event is not.
        Err(e) => warn("seen_check_failed", source, &envelope.id, &e.to_string()),
    }
    let json = envelope.to_json();
    let event = Event {
        source,
        envelope: &envelope,
        json: &json,
        received_ms: now_ms,
    };
    let placed = hand_on(env, &config, &event).await?;
    log.filtered = placed.is_empty();
    // Handed on: the answer need not wait for the mark (CONTRACT §5 holds, it is written
    // after the hand-on). Until it lands, a resend of the same event is forwarded again,
    // and the origin dedups it on webhook-id.
    let mark = mark_seen(kv, seen, envelope.receivedat, settings.dedup_ttl_s);
    let (source, id) = (source.to_owned(), envelope.id);
    let after = future_to_promise(async move {
        if let Err(e) = mark.await {
            // The answer stays 202. A retry may forward it again.
            warn("mark_seen_failed", &source, &id, &e);
        }
        Ok(JsValue::UNDEFINED)
    });
    // The promise runs in any case; without waitUntil the isolate may end before it does.
    let _ = ctx.wait_until(&after);
    Ok(Outcome::Accepted)
}

/// Writes the seen mark of an envelope received at `received`.
async fn mark_seen(
    kv: worker::kv::KvStore,
    key: String,
    received: String,
    ttl_s: u64,
) -> Result<(), String> {
    kv.put(&key, received)
        .map_err(|e| e.to_string())?
        .expiration_ttl(ttl_s)
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// The body, refused with 413 past `max` bytes (by its declared length before reading it,
/// and by what arrived after).
async fn read_body(
    req: &web_sys::Request,
    headers: &web_sys::Headers,
    max: usize,
) -> Result<Vec<u8>, Error> {
    let too_large = Error::TooLarge { limit: max };
    let declared = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large);
    }
    let body = body_bytes(req).await.map_err(|e| {
        Error::malformed(format!("the body could not be read: {}", describe_js(&e)))
    })?;
    if body.len() > max {
        return Err(too_large);
    }
    Ok(body)
}
