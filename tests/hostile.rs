//! Hostile input against the built Worker under `wrangler dev` (workerd, local KV and
//! Queues, a real origin on loopback): over 500 requests generated from a fixed seed, so a
//! failure reproduces. Random bytes, invalid UTF-8, truncated JSON, deep nesting, 10,000-digit
//! numbers, huge strings, `NaN`/`Infinity`, duplicate keys, a byte order mark; missing,
//! repeated, garbage and 10 KB headers; timestamps like `1e9`, `-1` and 20 digits; wrong
//! methods; odd paths and encoded slashes; the admin routes with good and bad tokens;
//! bodies at and one byte over `MAX_BODY_BYTES`.
//!
//! Every answer must be the contract's JSON with a contract status (never a 5xx), `/healthz`
//! must still answer afterwards, nothing may panic, and no answer and no log line of the
//! Worker may carry any configured secret or token.

mod common;

use std::time::Duration;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// A small limit keeps the at-the-limit bodies quick.
const MAX_BODY: usize = 65_536;
const SEED: u64 = 0x0005_EED0_0BAD_F00D;
const REQUESTS: usize = 600;
/// Opens the admin routes, so they are attacked too.
const ADMIN_TOKEN: &str = "adm-hostile-4f9c2e71b0";

/// xorshift64*: small, deterministic, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One request to make.
#[derive(Debug, Clone)]
struct Req {
    what: String,
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The headers that authenticate `body` for the quick-start source `source` (a path token
/// for `smartbrowse` is in the path instead).
fn signed(source: &str, body: &[u8], ts: i64) -> Vec<(String, String)> {
    let h = |k: &str, v: String| (k.to_owned(), v);
    match source {
        "browser-use" => {
            let mut canonical = Vec::new();
            let _ = edgehook::canonical::canonicalize(body, &mut canonical);
            let ts = ts.to_string();
            vec![
                h(
                    "X-Browser-Use-Signature",
                    hmac_hex(BROWSER_USE_SECRET, &[ts.as_bytes(), b".", &canonical]),
                ),
                h("X-Browser-Use-Timestamp", ts),
            ]
        }
        "skyvern" => vec![h("x-skyvern-signature", hmac_hex(SKYVERN_KEY, &[body]))],
        "smartbrowse-bearer" => vec![h("Authorization", format!("Bearer {SMARTBROWSE_TOKEN}"))],
        _ => vec![],
    }
}

/// The path of a delivery to `source`, with the token when it takes one in the path.
fn path_for(source: &str) -> String {
    match source {
        "smartbrowse" => format!("/in/smartbrowse/{SMARTBROWSE_TOKEN}"),
        s => format!("/in/{s}"),
    }
}

/// A body in the shape `source` sends, with `extra` (JSON text) in one more field.
fn body_for(source: &str, run: &str, extra: &str) -> String {
    match source {
        "browser-use" => format!(
            r#"{{"type":"agent.task.status_update","payload":{{"task_id":"{run}","status":"finished"}},"extra":{extra}}}"#
        ),
        "skyvern" => format!(r#"{{"run_id":"{run}","status":"completed","extra":{extra}}}"#),
        _ => format!(r#"{{"run_id":"{run}","event":"completed","extra":{extra}}}"#),
    }
}

fn nested(depth: usize) -> String {
    "[".repeat(depth) + &"]".repeat(depth)
}

const SOURCES_SIGNED: [&str; 4] = [
    "browser-use",
    "skyvern",
    "smartbrowse",
    "smartbrowse-bearer",
];

/// A signed delivery whose body carries `extra`, or is `raw` when given.
fn delivery(rng: &mut Rng, what: &str, extra: &str, raw: Option<Vec<u8>>) -> Req {
    let source = *rng.pick(&SOURCES_SIGNED);
    let run = format!("r{}", rng.next() % 1_000_000);
    let body = raw.unwrap_or_else(|| body_for(source, &run, extra).into_bytes());
    Req {
        what: format!("{what} ({source})"),
        method: "POST",
        path: path_for(source),
        headers: signed(source, &body, now_s()),
        body,
    }
}

/// The generated requests: every kind in turn, each drawn from the seeded generator.
fn requests() -> Vec<Req> {
    let mut rng = Rng(SEED);
    let mut out = Vec::new();
    let mut kind = 0;
    while out.len() < REQUESTS {
        kind += 1;
        let req = match kind % 17 {
            16 => {
                let auth = match rng.below(5) {
                    0 => None,
                    1 => Some(format!("Bearer {ADMIN_TOKEN}x")),
                    2 => Some(format!("bearer {}", &ADMIN_TOKEN[..8])),
                    3 => Some(format!("Basic {ADMIN_TOKEN}")),
                    _ => Some(format!("Bearer {ADMIN_TOKEN}")),
                };
                let (method, path) = rng
                    .pick(&[
                        ("GET", "/admin/dead-letters?limit=-1&cursor=%ff".to_owned()),
                        (
                            "GET",
                            format!("/admin/dead-letters?source={SMARTBROWSE_TOKEN}&limit=99999"),
                        ),
                        (
                            "GET",
                            format!("/admin/dead-letters/skyvern/{}", "%2F".repeat(50)),
                        ),
                        ("GET", "/admin/dead-letters/x/%ff%fe".to_owned()),
                        ("DELETE", "/admin/dead-letters/skyvern/nope".to_owned()),
                        ("POST", "/admin/replay".to_owned()),
                        ("PUT", "/admin/replay".to_owned()),
                        ("GET", "/admin/".to_owned()),
                    ])
                    .clone();
                let body = match rng.below(4) {
                    0 => rng.bytes(100),
                    1 => br#"{"ids":[1,2],"since":"yesterday"}"#.to_vec(),
                    2 => format!(r#"{{"ids":[{}]}}"#, vec!["\"a\""; 2000].join(",")).into_bytes(),
                    _ => br#"{"since":"2026-12-01T00:00:00Z","source":"skyvern"}"#.to_vec(),
                };
                Req {
                    what: format!("admin {method} {path} {auth:?}").replace(ADMIN_TOKEN, "<admin>"),
                    method,
                    path,
                    headers: auth
                        .map(|a| ("Authorization".to_owned(), a))
                        .into_iter()
                        .collect(),
                    body: if method == "POST" { body } else { vec![] },
                }
            }
            0 => {
                let n = rng.below(300);
                let body = rng.bytes(n);
                let source = *rng.pick(&SOURCES_SIGNED);
                let headers = if rng.below(2) == 0 {
                    signed(source, &body, now_s())
                } else {
                    vec![]
                };
                Req {
                    what: "random bytes".into(),
                    method: "POST",
                    path: path_for(source),
                    headers,
                    body,
                }
            }
            1 => {
                // Invalid UTF-8 inside a string, signed: it verifies, then is refused.
                let mut body = br#"{"run_id":"r","status":"completed","note":"x"}"#.to_vec();
                const BAD: [&[u8]; 4] = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82"];
                let bad = rng.pick(&BAD).to_vec();
                body.splice(44..44, bad);
                delivery(&mut rng, "invalid UTF-8", "", Some(body))
            }
            2 => {
                let full = body_for("skyvern", "r1", r#"{"a":[1,2,{"b":"c"}]}"#);
                let cut = 1 + rng.below(full.len() - 1);
                delivery(
                    &mut rng,
                    "truncated JSON",
                    "",
                    Some(full.as_bytes()[..cut].to_vec()),
                )
            }
            3 => {
                // The body's depth is one more than the extra's: at the limit and past it.
                let depth = *rng.pick(&[127, 128, 500, 20_000]);
                delivery(
                    &mut rng,
                    &format!("nesting {}", depth + 1),
                    &nested(depth),
                    None,
                )
            }
            4 => {
                let digits = "9".repeat(*rng.pick(&[4300, 4301, 10_000]));
                delivery(&mut rng, "long number", &digits, None)
            }
            5 => {
                let n = rng.below(MAX_BODY - 200);
                let s = format!("\"{}\"", "é".repeat(n / 2));
                delivery(&mut rng, "huge string", &s, None)
            }
            6 => {
                let lit = rng.pick(&["NaN", "Infinity", "-Infinity", "[NaN,1e999]"]);
                delivery(&mut rng, "NaN/Infinity", lit, None)
            }
            7 => {
                let body = br#"{"run_id":"a","run_id":"b","status":"completed","event":"completed","status":"failed","event":"failed"}"#;
                delivery(&mut rng, "duplicate keys", "", Some(body.to_vec()))
            }
            8 => {
                let mut d = delivery(&mut rng, "byte order mark", "1", None);
                d.body.splice(0..0, *b"\xEF\xBB\xBF");
                let source = d
                    .what
                    .rsplit('(')
                    .next()
                    .unwrap()
                    .trim_end_matches(')')
                    .to_owned();
                d.headers = signed(&source, &d.body, now_s());
                d
            }
            9 => {
                // Headers: missing, repeated, garbage, 10 KB.
                let mut d = delivery(&mut rng, "headers", "0", None);
                match rng.below(4) {
                    0 => d.headers.clear(),
                    1 => {
                        let again = d.headers.clone();
                        d.headers
                            .extend(again.into_iter().map(|(k, _)| (k, "0".repeat(64))));
                    }
                    2 => {
                        for h in &mut d.headers {
                            h.1 = String::from_utf8_lossy(&rng.bytes(40))
                                .chars()
                                .filter(|c| c.is_ascii_graphic())
                                .collect();
                        }
                    }
                    _ => d.headers.push(("X-Junk".into(), "j".repeat(10_240))),
                }
                d.what = format!(
                    "{} {:?}",
                    d.what,
                    d.headers.iter().map(|h| h.1.len()).collect::<Vec<_>>()
                );
                d
            }
            10 => {
                let ts = *rng.pick(&["1e9", "-1", "99999999999999999999", "", "0x10", "1.7e9"]);
                let body = body_for("browser-use", "r", "0").into_bytes();
                let mut headers = signed("browser-use", &body, now_s());
                headers[1].1 = ts.to_owned();
                Req {
                    what: format!("timestamp {ts:?}"),
                    method: "POST",
                    path: "/in/browser-use".into(),
                    headers,
                    body,
                }
            }
            11 => {
                let method = *rng.pick(&["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]);
                let path = rng
                    .pick(&["/in/skyvern", "/in/smartbrowse/x", "/in/nope", "/nope"])
                    .to_string();
                Req {
                    what: format!("{method} {path}"),
                    method,
                    path,
                    headers: vec![],
                    body: vec![],
                }
            }
            12 => {
                let t = SMARTBROWSE_TOKEN;
                let path = rng
                    .pick(&[
                        format!("/in/smartbrowse%2F{t}"),
                        format!("/in/smartbrowse%2f{t}"),
                        format!("/in/smartbrowse/{t}/extra"),
                        format!("/in/smartbrowse/{t}/"),
                        format!("/in/smartbrowse//{t}"),
                        format!("/in/smartbrowse/{t}%2Fx"),
                        format!("/in/no-such/{t}"),
                        format!("/in/skyvern/{t}"),
                        format!("/in/smartbrowse/{t}?a={t}"),
                        format!("/IN/smartbrowse/{t}"),
                        format!("/in/%ff/{t}"),
                        format!("/in/smart%62rowse/{t}x"),
                        "/in/".into(),
                        "/in".into(),
                        "//in//skyvern".into(),
                        "/in/../healthz".into(),
                        format!("/in/{}", "a".repeat(3000)),
                        "/in/%".into(),
                    ])
                    .clone();
                Req {
                    what: format!("odd path {}", path.replace(t, "<token>")),
                    method: "POST",
                    path,
                    headers: vec![],
                    body: body_for("smartbrowse", "r", "0").into_bytes(),
                }
            }
            13 => {
                // At the limit (any answer but 413) and one byte over (413).
                let target = MAX_BODY + rng.below(2);
                let run = format!("r{}", rng.next() % 1000);
                let pad = target - body_for("skyvern", &run, "\"\"").len();
                let body = body_for("skyvern", &run, &format!("\"{}\"", "x".repeat(pad)));
                let body = body.into_bytes();
                assert_eq!(body.len(), target);
                Req {
                    what: format!("body of {} bytes (limit {MAX_BODY})", body.len()),
                    method: "POST",
                    path: "/in/skyvern".into(),
                    headers: signed("skyvern", &body, now_s()),
                    body,
                }
            }
            14 => {
                // A valid delivery now and then (accepted, then duplicates).
                let source = *rng.pick(&SOURCES_SIGNED);
                let body = body_for(
                    source,
                    &format!("ok{}", rng.below(20)),
                    "{\"k\":[1,2.50,\"\\u00e9\"]}",
                )
                .into_bytes();
                Req {
                    what: format!("valid ({source})"),
                    method: "POST",
                    path: path_for(source),
                    headers: signed(source, &body, now_s()),
                    body,
                }
            }
            _ => {
                // Wrong secrets and tokens, near misses of the real ones.
                let source = *rng.pick(&SOURCES_SIGNED);
                let body = body_for(source, "r", "0").into_bytes();
                let mut headers = signed(source, &body, now_s());
                let path = match source {
                    "smartbrowse" => format!("/in/smartbrowse/{SMARTBROWSE_TOKEN}x"),
                    s => format!("/in/{s}"),
                };
                for h in &mut headers {
                    if !h.0.ends_with("Timestamp") {
                        h.1.push('0');
                    }
                }
                Req {
                    what: format!("wrong credential ({source})"),
                    method: "POST",
                    path,
                    headers,
                    body,
                }
            }
        };
        out.push(req);
    }
    out
}

/// Sends `req`; returns the status and the body.
fn send(base: &str, req: &Req) -> (u16, String) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut r = agent.request(req.method, &format!("{base}{}", req.path));
    for (k, v) in &req.headers {
        r = r.set(k, v);
    }
    let result = if req.body.is_empty() && req.method != "POST" {
        r.call()
    } else {
        r.send_bytes(&req.body)
    };
    match result {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(status, resp)) => (status, resp.into_string().unwrap_or_default()),
        Err(e) => panic!("{}: the Worker did not answer: {e}", req.what),
    }
}

/// The answer is the contract's: its status, and JSON saying the same.
fn check_answer(req: &Req, status: u16, body: &str) -> Result<(), String> {
    if req.path.starts_with("/admin/") {
        // The admin routes' answers (CONTRACT §1), with the right token or not.
        return match status {
            204 if body.is_empty() => Ok(()),
            200 | 202 | 400 | 401 | 404 | 405 => serde_json::from_str::<Value>(body)
                .map(|_| ())
                .map_err(|e| format!("{status}, not JSON ({e}): {body}")),
            _ => Err(format!("admin answered {status}: {body}")),
        };
    }
    let json: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))?;
    let want_error = match status {
        200 | 202 => {
            let word = if status == 200 {
                "duplicate"
            } else {
                "accepted"
            };
            if json["status"] != word || !json["id"].is_string() {
                return Err(format!("{status} without status {word} and an id: {body}"));
            }
            return Ok(());
        }
        400 => "malformed",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "too_large",
        _ => {
            return Err(format!(
                "status {status} is not one the contract gives a delivery: {body}"
            ))
        }
    };
    if json["error"] != want_error || !json["reason"].is_string() {
        return Err(format!(
            "{status} with {body}, wanted error {want_error} and a reason"
        ));
    }
    if req.what.starts_with("body of") {
        let over = req.body.len() > MAX_BODY;
        if over != (status == 413) {
            return Err(format!("{} bytes answered {status}", req.body.len()));
        }
    }
    Ok(())
}

#[test]
fn hostile_requests_get_contract_answers_and_leak_no_secret() {
    let origin = start_origin(0);
    let mut setup = Setup::new(&origin.url());
    setup.vars = vec![("MAX_BODY_BYTES", MAX_BODY.to_string())];
    setup.secrets.push(("ADMIN_TOKEN", ADMIN_TOKEN.into()));
    let worker = Worker::start(&setup);

    let reqs = requests();
    assert!(reqs.len() >= 500);
    let secrets: Vec<(&str, String)> = setup.secrets.clone();
    let mut problems = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for (i, req) in reqs.iter().enumerate() {
        let (status, body) = send(&worker.base, req);
        *statuses.entry(status).or_insert(0) += 1;
        if let Err(p) = check_answer(req, status, &body) {
            problems.push(format!("#{i} {}: {p}", req.what));
        }
        for (name, value) in &secrets {
            if body.contains(value.as_str()) {
                problems.push(format!(
                    "#{i} {}: the answer carries secret {name}",
                    req.what
                ));
            }
        }
    }

    // Still up, and nothing panicked.
    let (status, body) = send(
        &worker.base,
        &Req {
            what: "healthz".into(),
            method: "GET",
            path: "/healthz".into(),
            headers: vec![],
            body: vec![],
        },
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_secs(2));
    let logs = worker.logs();
    for bad in ["panicked", "RuntimeError", "unreachable executed"] {
        if logs.contains(bad) {
            problems.push(format!("the log shows `{bad}`"));
        }
    }
    // Every line the Worker logged (its JSON lines, and anything else it printed), but not
    // wrangler's own access lines, which print each request's URL as it came.
    for line in logs.lines().filter(|l| !l.contains("[wrangler:info]")) {
        for (name, value) in &secrets {
            if line.contains(value.as_str()) {
                problems.push(format!("a log line carries secret {name}: {line}"));
            }
        }
    }
    println!("{} requests, answers by status: {statuses:?}", reqs.len());
    assert!(
        problems.is_empty(),
        "{} problems (seed {SEED:#x}):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        statuses.get(&202).copied().unwrap_or(0) > 0
            && statuses.get(&413).copied().unwrap_or(0) > 0,
        "the mix lost its accepted or too-large cases: {statuses:?}"
    );
}
