//! `edgehook origin`: a small origin that checks what edgehook forwards the way a real one
//! should: verify the Standard Webhooks signature, drop repeats of a `webhook-id`, and show
//! each envelope. `fail_first` makes it answer 500 to its first requests, to watch retries.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tiny_http::{Header, Response, Server};

use crate::signing::{WebhookKey, DEFAULT_TOLERANCE_S, HEADER_WEBHOOK_ID};

/// How the origin behaves.
#[derive(Debug, Clone)]
pub struct OriginOptions {
    /// The Standard Webhooks key shared with the Worker (`ORIGIN_SECRET`).
    pub key: WebhookKey,
    /// Answer 500 to this many requests first.
    pub fail_first: u32,
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
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl Origin {
    /// Listens on `listen` (port 0 picks a free one) and serves until dropped, calling
    /// `report` with each request's verdict.
    pub fn start(
        listen: &str,
        options: OriginOptions,
        report: impl Fn(&Verdict) + Send + 'static,
    ) -> std::io::Result<Origin> {
        let server = Arc::new(Server::http(listen).map_err(std::io::Error::other)?);
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
        let state = Arc::new(OriginState::default());
        let thread = {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut body = Vec::new();
                    let read = request.as_reader().read_to_end(&mut body);
                    let headers: Vec<(String, String)> = request
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_ascii_lowercase(),
                                h.value.as_str().to_owned(),
                            )
                        })
                        .collect();
                    let verdict = match read {
                        Err(e) => Verdict::Refused(format!("could not read the body: {e}")),
                        Ok(_) if n <= options.fail_first => Verdict::FailedOnPurpose(n),
                        Ok(_) => judge(&options, &state, &headers, &body),
                    };
                    let (status, text) = match &verdict {
                        Verdict::Accepted { .. } => (200, "{\"ok\":true}".to_owned()),
                        Verdict::Duplicate(_) => {
                            (200, "{\"ok\":true,\"duplicate\":true}".to_owned())
                        }
                        Verdict::FailedOnPurpose(_) => (
                            500,
                            "{\"error\":\"failing on purpose (--fail)\"}".to_owned(),
                        ),
                        Verdict::Refused(why) => {
                            (401, serde_json::json!({"error": why}).to_string())
                        }
                    };
                    report(&verdict);
                    let mut response = Response::from_string(text).with_status_code(status);
                    if let Ok(h) = Header::from_bytes("content-type", "application/json") {
                        response.add_header(h);
                    }
                    let _ = request.respond(response);
                }
            })
        };
        Ok(Origin {
            addr,
            state,
            server,
            thread: Some(thread),
        })
    }

    /// `http://{addr}/events`.
    pub fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
    let envelope: serde_json::Value = match serde_json::from_slice(body) {
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
    fn verifies_dedups_and_fails_on_purpose() {
        let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let opts = OriginOptions {
            key: key.clone(),
            fail_first: 1,
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
}
