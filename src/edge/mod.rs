//! The Workers runtime side, and the only module that touches `worker`, one file per
//! concern: [`fetch`] (route, verify, dedup in KV, hand on, mark seen, answer, log),
//! [`hand_on`] (to every destination an event matches), [`deliver`] (one attempt to one
//! destination), [`queue`] (sending messages, and the consumer that attempts each on its
//! destination's schedule), [`messages`] (a queued message as received), [`held`]
//! (pauses, held events, drains), [`dead_letters`] (what a destination never took),
//! [`store`] (KV listing and writing), [`config`] (the configuration, read once per
//! isolate), [`crypto`] (`crypto.subtle` hashing and signing), [`http`] (bodies and
//! answers), [`admin`] (the admin routes) and [`cron`] (the Cron Trigger).
//!
//! Everything it decides is decided by the pure modules; this folder moves bytes between them
//! and the runtime's KV, Queues and `fetch`, and reads the clock.

mod admin;
mod config;
mod cron;
mod crypto;
mod dead_letters;
mod deliver;
mod enqueue;
mod fetch;
mod hand_on;
mod held;
mod http;
mod messages;
mod queue;
mod store;

use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{console_log, event, Env};

use crate::error::Error;
use crate::forward::LogLine;
use crate::secret::Secret;

/// The KV namespace holding seen IDs, oversize envelopes and dead letters.
const SEEN_BINDING: &str = "SEEN";
/// The queue producer events are handed to.
const EVENTS_BINDING: &str = "EVENTS";

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The clock, in unix milliseconds: `Date.now()` (a static call; `worker::Date::now()`
/// allocates a JavaScript `Date` first).
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A `[vars]` value as the runtime holds it: text, or an object for a wrangler.toml table.
fn raw_var(env: &Env, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// A `[vars]` value as text; a number or boolean written without quotes in wrangler.toml
/// is taken as its text too.
fn var(env: &Env, name: &str) -> Option<String> {
    let value = raw_var(env, name)?;
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    js_sys::JSON::stringify(&value).ok().map(String::from)
}

/// Reads a Worker secret, wrapped at once so it cannot be printed.
fn secret(env: &Env, name: &str) -> Option<Secret> {
    env.secret(name).ok().map(|s| Secret::new(s.to_string()))
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

/// The `SEEN` namespace, or 503 when it is not bound.
fn kv(env: &Env) -> Result<worker::kv::KvStore, Error> {
    env.kv(SEEN_BINDING)
        .map_err(|_| unavailable("KV namespace SEEN", "not bound"))
}

/// One warning log line: something went wrong that did not change the answer.
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
