//! One attempt to hand an envelope to one destination: a signed POST to a `url`
//! destination, or the envelope's bytes as a text message on a `queue` destination's own
//! queue. What follows the attempt is [`crate::destinations::after_attempt`]'s to say.

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::JsValue;
use worker::{
    AbortController, Delay, Env, Fetch, Method, QueueContentType, RawMessageBuilder, Request,
    RequestInit,
};

use super::config::Config;
use super::{describe_js, warn};
use crate::destinations::{Destination, Failure, Kind};
use crate::forward::{origin_request, origin_request_signed, OriginRequest, INLINE_MESSAGE_LIMIT};
use crate::signing::WebhookKey;

/// How long an attempt may take: the destination's `timeout_ms` on the queue path, or
/// `ORIGIN_TIMEOUT_MS` inline (a provider is waiting).
#[derive(Debug, Clone, Copy)]
pub(super) enum Wait {
    Queued,
    Inline,
}

/// Hands `envelope_json` (the envelope of event `id`) to `destination`, signed now.
pub(super) async fn attempt(
    env: &Env,
    config: &Config,
    destination: &Destination,
    id: &str,
    envelope_json: &str,
    wait: Wait,
) -> Result<(), Failure> {
    match &destination.kind {
        Kind::Url {
            url,
            key,
            timeout_ms,
            ..
        } => {
            let timeout_ms = match wait {
                Wait::Queued => *timeout_ms,
                Wait::Inline => config.settings.origin_timeout_ms,
            };
            let now_s = (super::now_ms() / 1000) as i64;
            let to = (destination, url.as_str(), key);
            let req = signed(config, to, id, envelope_json, now_s).await;
            post(req, timeout_ms).await
        }
        Kind::Queue { binding } => send_to_queue(env, binding, envelope_json).await,
    }
}

/// The request for a `url` destination, signed at `now_s` by `crypto.subtle`, or in wasm
/// if that is not to be had.
async fn signed<'a>(
    config: &Config,
    (destination, url, key): (&Destination, &str, &WebhookKey),
    id: &str,
    json: &'a str,
    now_s: i64,
) -> OriginRequest<'a> {
    if let Some(signer) = config.signer(destination).await {
        match signer.sign(id, now_s, json.as_bytes()).await {
            Ok(signature) => return origin_request_signed(url, id, json, now_s, signature),
            Err(e) => warn("subtle_failed", "", id, &describe_js(&e)),
        }
    }
    origin_request(url, key, id, json, now_s)
}

/// POSTs a signed envelope; `Ok` on a 2xx answer within `timeout_ms`, else why not (the
/// origin's status, a timeout, or why it could not be reached).
pub(super) async fn post(req: OriginRequest<'_>, timeout_ms: u64) -> Result<(), Failure> {
    let unreachable = |e: String| Failure::transient(format!("origin unreachable: {e}"), None);
    let headers = worker::Headers::new();
    for (name, value) in &req.headers {
        headers
            .set(name, value)
            .map_err(|e| unreachable(e.to_string()))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        // As bytes: one copy out of wasm, where a JavaScript string would be decoded from
        // the UTF-8 and encoded back by `fetch`.
        .with_body(Some(Uint8Array::from(req.body.as_bytes()).into()));
    let request =
        Request::new_with_init(&req.url, &init).map_err(|e| unreachable(e.to_string()))?;
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
            status => Err(Failure::transient(
                format!("origin answered {status}"),
                Some(status),
            )),
        },
        Either::Left((Err(e), _)) => Err(unreachable(e.to_string())),
        Either::Right(_) => {
            controller.abort();
            Err(Failure::transient(
                format!("origin did not answer within {timeout_ms} ms"),
                None,
            ))
        }
    }
}

/// Sends the envelope's bytes as a text message on the queue bound as `binding`; one too
/// large for a queue message can never go, and says so.
async fn send_to_queue(env: &Env, binding: &str, envelope_json: &str) -> Result<(), Failure> {
    if envelope_json.len() > INLINE_MESSAGE_LIMIT {
        return Err(Failure::permanent(format!(
            "the envelope is {} bytes, over the {INLINE_MESSAGE_LIMIT} bytes a message on \
             queue {binding} may carry (Queues' limit is 128 KB)",
            envelope_json.len()
        )));
    }
    let queue = env
        .queue(binding)
        .map_err(|_| Failure::transient(format!("queue {binding} is not bound"), None))?;
    let message = RawMessageBuilder::new(JsValue::from_str(envelope_json))
        .build_with_content_type(QueueContentType::Text);
    queue
        .send_raw(message)
        .await
        .map_err(|e| Failure::transient(format!("queue {binding}: {e}"), None))
}
