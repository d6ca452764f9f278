//! `edgehook origin`: a small origin that checks what edgehook forwards the way a real one
//! should: verify the Standard Webhooks signature, drop repeats of a `webhook-id`, and show
//! each envelope. `fail_first` makes it answer 500 to its first requests, and `fail_percent`
//! to a share of all of them, to watch retries.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::runtime::Runtime;

use crate::signing::{WebhookKey, DEFAULT_TOLERANCE_S, HEADER_WEBHOOK_ID};

/// How the origin behaves.
#[derive(Debug, Clone)]
pub struct OriginOptions {
    /// The Standard Webhooks key shared with the Worker (`ORIGIN_SECRET`).
    pub key: WebhookKey,
    /// Answer 500 to this many requests first.
    pub fail_first: u32,
    /// Then answer 500 to this share of requests, in percent, picked pseudo-randomly (the
    /// same requests on every run): an unreliable origin.
    pub fail_percent: u8,
    /// Timestamp tolerance, seconds.
    pub tolerance_s: u64,
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Verified and new: the envelope, and its text as received.
    Accepted {
        envelope: serde_json::Value,
        raw: String,
    },
    /// Verified, but its `webhook-id` was seen before.
    Duplicate(String),
    /// Answered 500 on purpose (`fail_first`).
    FailedOnPurpose(u32),
    /// Refused: signature, timestamp, or not an envelope.
    Refused(String),
}

/// Counters and the accepted envelopes, shared with whoever started the origin.
#[derive(Debug, Default)]
pub struct OriginState {
    seen: Mutex<HashSet<String>>,
    accepted: Mutex<Vec<serde_json::Value>>,
    accepted_raw: Mutex<Vec<String>>,
    requests: AtomicU32,
    duplicates: AtomicU32,
    refused: AtomicU32,
}

impl OriginState {
    /// The envelopes accepted so far, in arrival order.
    pub fn accepted(&self) -> Vec<serde_json::Value> {
        self.accepted.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// The accepted bodies exactly as received, in arrival order.
    pub fn accepted_raw(&self) -> Vec<String> {
        self.accepted_raw
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
    /// Every request received, including failed and refused ones.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
    /// Requests whose `webhook-id` had been accepted before.
    pub fn duplicates(&self) -> u32 {
        self.duplicates.load(Ordering::SeqCst)
    }
    /// Requests refused (401 or 400).
    pub fn refused(&self) -> u32 {
        self.refused.load(Ordering::SeqCst)
    }
}

/// A running origin; stops when dropped.
pub struct Origin {
    pub addr: SocketAddr,
    pub state: Arc<OriginState>,
    /// Serves every connection as its own task, so a burst is answered at once.
    runtime: Option<Runtime>,
}

/// What each connection's task shares: the options, the state and the report callback
/// (behind a mutex, so that reports are never interleaved).
struct Shared<R> {
    options: OriginOptions,
    state: Arc<OriginState>,
    report: Mutex<R>,
}

impl Origin {
    /// Listens on `listen` (port 0 picks a free one) and serves until dropped, calling
    /// `report` with each request's verdict.
    pub fn start(
        listen: &str,
        options: OriginOptions,
        report: impl Fn(&Verdict) + Send + 'static,
    ) -> std::io::Result<Origin> {
        // Bound here, so a busy port is this call's error, not a background task's.
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("edgehook-origin")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let state = Arc::new(OriginState::default());
        let shared = Arc::new(Shared {
            options,
            state: state.clone(),
            report: Mutex::new(report),
        });
        runtime.spawn(accept_loop(listener, shared));
        Ok(Origin {
            addr,
            state,
            runtime: Some(runtime),
        })
    }

    /// `http://{addr}/events`.
    pub fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        // Drops the listener and every connection: the port is free when this returns.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Accepts connections until the runtime stops, each served by a task of its own.
async fn accept_loop<R>(listener: tokio::net::TcpListener, shared: Arc<Shared<R>>)
where
    R: Fn(&Verdict) + Send + 'static,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, request).await) }
            });
            // A client that hangs up mid-request is its own business.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads one request, judges it, reports the verdict and answers.
async fn answer<R>(shared: &Shared<R>, request: Request<Incoming>) -> Response<Full<Bytes>>
where
    R: Fn(&Verdict) + Send + 'static,
{
    let (options, state) = (&shared.options, &shared.state);
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let verdict = match request.into_body().collect().await {
        Err(e) => Verdict::Refused(format!("could not read the body: {e}")),
        Ok(_) if n <= options.fail_first || fails_by_chance(n, options.fail_percent) => {
            Verdict::FailedOnPurpose(n)
        }
        Ok(body) => judge(options, state, &headers, &body.to_bytes()),
    };
    let (status, text) = match &verdict {
        Verdict::Accepted { .. } => (StatusCode::OK, "{\"ok\":true}".to_owned()),
        Verdict::Duplicate(_) => (
            StatusCode::OK,
            "{\"ok\":true,\"duplicate\":true}".to_owned(),
        ),
        Verdict::FailedOnPurpose(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "{\"error\":\"failing on purpose (--fail, --fail-percent)\"}".to_owned(),
        ),
        Verdict::Refused(why) => (
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": why}).to_string(),
        ),
    };
    if let Ok(report) = shared.report.lock() {
        report(&verdict);
    }
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Whether request `n` is one of the `percent` in a hundred that fail: a multiplicative hash
/// of `n`, so the pattern looks random but is the same on every run.
fn fails_by_chance(n: u32, percent: u8) -> bool {
    let spread = n.wrapping_mul(0x9E37_79B1).rotate_right(16);
    spread % 100 < u32::from(percent)
}

/// An envelope as JSON. The Worker holds bodies to `nesting::MAX_DEPTH` and the envelope
/// adds two levels, past serde_json's own limit of 128, so that limit is lifted here for
/// texts no deeper than that (which also bounds the recursion).
fn parse_envelope(body: &[u8]) -> Result<serde_json::Value, String> {
    use serde::Deserialize;
    if crate::nesting::exceeds(body, crate::nesting::MAX_DEPTH + 2) {
        return Err(format!(
            "nested deeper than {} levels",
            crate::nesting::MAX_DEPTH + 2
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    de.disable_recursion_limit();
    let value = serde_json::Value::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

fn judge(
    options: &OriginOptions,
    state: &OriginState,
    headers: &[(String, String)],
    body: &[u8],
) -> Verdict {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    if let Err(e) = options.key.verify(header, body, now_s, options.tolerance_s) {
        state.refused.fetch_add(1, Ordering::SeqCst);
        return Verdict::Refused(format!("signature: {e}"));
    }
    let id = header(HEADER_WEBHOOK_ID).unwrap_or_default().to_owned();
    let envelope = match parse_envelope(body) {
        Ok(v) => v,
        Err(e) => {
            state.refused.fetch_add(1, Ordering::SeqCst);
            return Verdict::Refused(format!("not a JSON envelope: {e}"));
        }
    };
    let new = state
        .seen
        .lock()
        .map(|mut s| s.insert(id.clone()))
        .unwrap_or(true);
    if !new {
        state.duplicates.fetch_add(1, Ordering::SeqCst);
        return Verdict::Duplicate(id);
    }
    let raw = String::from_utf8_lossy(body).into_owned();
    if let Ok(mut a) = state.accepted.lock() {
        a.push(envelope.clone());
    }
    if let Ok(mut a) = state.accepted_raw.lock() {
        a.push(raw.clone());
    }
    Verdict::Accepted { envelope, raw }
}

impl Default for OriginOptions {
    fn default() -> Self {
        OriginOptions {
            key: WebhookKey::from_bytes(b"edgehook-default-origin-key").expect("a non-empty key"),
            fail_first: 0,
            fail_percent: 0,
            tolerance_s: DEFAULT_TOLERANCE_S,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(url: &str, headers: &[(&str, String)], body: &str) -> u16 {
        let mut req = ureq::post(url);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        match req.send_string(body) {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn envelopes_as_deep_as_the_worker_sends_are_read() {
        let deep = |levels: usize| {
            let body = format!("{}0{}", "[".repeat(levels), "]".repeat(levels));
            format!(r#"{{"id":"x","data":{{"payload":{body}}}}}"#)
        };
        let max = crate::nesting::MAX_DEPTH;
        assert!(parse_envelope(deep(max).as_bytes()).is_ok());
        assert!(parse_envelope(deep(max + 1).as_bytes()).is_err());
        assert!(parse_envelope(b"{} x").is_err());
    }

    #[test]
    fn a_share_of_requests_fails_by_chance() {
        let failed = (1..=10_000).filter(|&n| fails_by_chance(n, 30)).count();
        assert!((2_800..=3_200).contains(&failed), "{failed}");
        assert_eq!((1..=1000).filter(|&n| fails_by_chance(n, 0)).count(), 0);
        assert_eq!(
            (1..=1000).filter(|&n| fails_by_chance(n, 100)).count(),
            1000
        );
    }

    #[test]
    fn verifies_dedups_and_fails_on_purpose() {
        let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let opts = OriginOptions {
            key: key.clone(),
            fail_first: 1,
            fail_percent: 0,
            tolerance_s: 300,
        };
        let origin = Origin::start("127.0.0.1:0", opts, |_| {}).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let body = r#"{"id":"a"}"#;
        let signed: Vec<(&str, String)> =
            key.headers("a", now, body.as_bytes()).into_iter().collect();
        assert_eq!(
            post(&origin.url(), &signed, body),
            500,
            "first request fails on purpose"
        );
        assert_eq!(post(&origin.url(), &signed, body), 200);
        assert_eq!(post(&origin.url(), &signed, body), 200);
        assert_eq!(origin.state.duplicates(), 1);
        assert_eq!(post(&origin.url(), &signed, "{\"id\":\"b\"}"), 401);
        assert_eq!(
            origin.state.accepted(),
            vec![serde_json::json!({"id": "a"})]
        );
        assert_eq!((origin.state.requests(), origin.state.refused()), (4, 1));
    }

    /// A burst of new connections is served at once, not in rounds: 100 signed deliveries
    /// from 100 threads, released together, are all accepted and answered within 1 s.
    #[test]
    fn a_burst_of_100_deliveries_is_answered_within_a_second() {
        const N: usize = 100;
        let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let opts = OriginOptions {
            key: key.clone(),
            fail_first: 0,
            fail_percent: 0,
            tolerance_s: 300,
        };
        let origin = Origin::start("127.0.0.1:0", opts, |_| {}).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let start = Arc::new(std::sync::Barrier::new(N + 1));
        let threads: Vec<_> = (0..N)
            .map(|i| {
                let (url, start) = (origin.url(), start.clone());
                let body = format!("{{\"id\":\"burst-{i}\"}}");
                let id = format!("msg_burst_{i}");
                let signed: Vec<(&str, String)> =
                    key.headers(&id, now, body.as_bytes()).into_iter().collect();
                std::thread::spawn(move || {
                    // Each thread its own agent, so its own connection, which it keeps open
                    // after the answer as a pooling client (the Worker's fetch) does.
                    // A server that makes a new connection wait fails here, not by hanging.
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(5))
                        .build();
                    let mut req = agent.post(&url);
                    for (k, v) in &signed {
                        req = req.set(k, v);
                    }
                    start.wait();
                    let status = match req.send_string(&body) {
                        Ok(r) => {
                            let status = r.status();
                            // Read to the end, so the connection goes back to the pool.
                            let _ = r.into_string();
                            status
                        }
                        Err(ureq::Error::Status(s, _)) => s,
                        Err(e) => panic!("{e}"),
                    };
                    (status, agent)
                })
            })
            .collect();
        start.wait();
        let began = std::time::Instant::now();
        let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let took = began.elapsed();
        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, vec![200; N]);
        assert_eq!(origin.state.accepted().len(), N, "every delivery is new");
        assert_eq!(origin.state.requests(), N as u32);
        assert!(
            took < Duration::from_secs(1),
            "{N} deliveries took {took:?}"
        );
    }
}
