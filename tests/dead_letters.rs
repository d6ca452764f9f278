//! Dead letters you can see and replay, against the built Worker under `wrangler dev`
//! (workerd with local KV and Queues): the origin stays down past a one-attempt retry
//! schedule, the admin routes list the dead letters through `edgehook dead-letters` (its
//! library and its binary), a replay brings them to the origin (back on the same port)
//! exactly once with their original `webhook-id`, and the admin token guards it all.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use edgehook::cli::dead_letters::{Admin, Replay, Selection};
use edgehook::cli::origin::{Origin, OriginOptions, Verdict};
use edgehook::cli::send;
use edgehook::cli::CliError;
use edgehook::forward::DeadLetter;

/// A listing of one source's dead letters.
fn by_source(source: &str) -> Selection {
    Selection {
        source: Some(source.into()),
        destination: None,
    }
}

const ADMIN_TOKEN: &str = "adm-test-t0ken-5f3c9a1e";

/// A Worker whose origin (on `port`) is down, that dead-letters at the first failure, with
/// the admin routes open.
fn start(port: u16, admin: bool) -> Worker {
    let mut setup = Setup::new(&format!("http://127.0.0.1:{port}/events"));
    setup.retry_schedule_s = "none".into();
    if admin {
        setup.secrets.push(("ADMIN_TOKEN", ADMIN_TOKEN.into()));
    }
    Worker::start(&setup)
}

fn admin(worker: &Worker) -> Admin {
    Admin::new(&worker.base, ADMIN_TOKEN, Duration::from_secs(60))
}

/// An origin (`edgehook origin`'s library) that verifies each request and records every
/// verified one, duplicates included, as (`webhook-id`, body), so a test can count arrivals.
struct Recorder {
    _origin: Origin,
    got: Arc<Mutex<Vec<(String, String)>>>,
}

impl Recorder {
    fn start(port: u16) -> Recorder {
        let got = Arc::new(Mutex::new(Vec::new()));
        let record = got.clone();
        let options = OriginOptions {
            key: origin_key(),
            fail_first: 0,
            fail_percent: 0,
            tolerance_s: 300,
        };
        let origin = Origin::start(&format!("127.0.0.1:{port}"), options, move |v| {
            let arrival = match v {
                Verdict::Accepted { envelope, raw } => (
                    envelope["id"].as_str().unwrap_or("").to_owned(),
                    raw.clone(),
                ),
                Verdict::Duplicate(id) => (id.clone(), String::new()),
                _ => return,
            };
            record.lock().unwrap().push(arrival);
        })
        .expect("origin");
        Recorder {
            _origin: origin,
            got,
        }
    }

    fn got(&self) -> Vec<(String, String)> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived, then a little longer to catch any extra.
    fn wait_for(&self, n: usize, timeout: Duration) -> Vec<(String, String)> {
        let deadline = Instant::now() + timeout;
        while self.got().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(3));
        self.got()
    }
}

/// Waits until the Worker lists `n` dead letters.
fn wait_for_dead(worker: &Worker, n: usize) -> Vec<DeadLetter> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let listed = admin(worker)
            .list(&Selection::default(), None)
            .expect("listing");
        if listed.len() >= n || Instant::now() > deadline {
            assert_eq!(listed.len(), n, "{listed:?}\n{}", worker.logs());
            return listed;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `edgehook dead-letters …` run as a user would; (exit code, stdout, stderr).
fn cli(worker: &Worker, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_edgehook"))
        .arg("dead-letters")
        .args(args)
        .args(["--url", &worker.base])
        .env("EDGEHOOK_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("run edgehook");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An admin request as anyone could send it: (status, content type, body).
fn raw_admin(
    worker: &Worker,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut req = ureq::request(method, &worker.url(path)).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.set("authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = resp.status();
    let ct = resp.header("content-type").unwrap_or_default().to_owned();
    (status, ct, resp.into_string().unwrap_or_default())
}

#[test]
fn fifty_dead_letters_are_listed_then_replayed_since_a_time_and_arrive_once() {
    let port = free_port();
    let worker = start(port, true);
    let since = edgehook::envelope::rfc3339_ms(now_ms() - 1000);
    let mut ids = BTreeSet::new();
    for i in 0..50 {
        let reply = post(&delivery(&worker, "skyvern", "failed", &format!("dl-{i}")));
        assert_eq!(reply.status, 202, "{}", reply.body);
        ids.insert(json(&reply)["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 50);

    // All fifty listed, newest first, each with why it died.
    let listed = wait_for_dead(&worker, 50);
    let listed_ids: BTreeSet<String> = listed.iter().map(|l| l.id.clone()).collect();
    assert_eq!(listed_ids, ids);
    for l in &listed {
        assert_eq!((l.source.as_str(), l.attempts), ("skyvern", 1), "{l:?}");
        assert!(l.last_error.contains("origin unreachable"), "{l:?}");
    }
    assert!(
        listed.windows(2).all(|w| w[0].dead_at >= w[1].dead_at),
        "newest first"
    );
    // Pages follow KV's cursor; the per-source listing and --limit agree.
    let page = admin(&worker)
        .list_page(&Selection::default(), 20, None)
        .unwrap();
    assert_eq!(page.dead_letters.len(), 20);
    assert!(page.cursor.is_some());
    let rest = admin(&worker)
        .list_page(&Selection::default(), 1000, page.cursor.as_deref())
        .unwrap();
    assert_eq!(rest.dead_letters.len(), 30);
    assert_eq!(rest.cursor, None);
    let first_30 = admin(&worker)
        .list(&by_source("skyvern"), Some(30))
        .unwrap();
    assert_eq!(first_30.len(), 30);
    assert!(admin(&worker)
        .list(&by_source("browser-use"), None)
        .unwrap()
        .is_empty());

    // The binary: a table by default, JSON on request.
    let (code, out, err) = cli(&worker, &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("50 dead letter(s)"), "{out}");
    assert!(out.contains("origin unreachable"), "{out}");
    let (code, out, err) = cli(&worker, &["list", "--json", "--source", "skyvern"]);
    assert_eq!(code, 0, "{err}");
    let from_cli: Vec<DeadLetter> = serde_json::from_str(&out).unwrap();
    assert_eq!(from_cli.len(), 50);

    // The origin is back: replay everything since before the outage, with the binary.
    let origin = Recorder::start(port);
    let (code, out, err) = cli(&worker, &["replay", "--since", &since]);
    assert_eq!(code, 0, "{out}{err}\n{}", worker.logs());
    assert!(out.contains("replayed 50, failed 0"), "{out}");
    let got = origin.wait_for(50, Duration::from_secs(90));
    assert_eq!(got.len(), 50, "each exactly once:\n{}", worker.logs());
    let arrived: BTreeSet<String> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(arrived, ids, "the original webhook-ids");
    for (webhook_id, body) in &got {
        let envelope: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(envelope["id"], webhook_id.as_str());
    }
    assert!(admin(&worker)
        .list(&Selection::default(), None)
        .unwrap()
        .is_empty());
    assert!(worker.kv_keys("dead").is_empty(), "no index entry left");
}

#[test]
fn one_id_a_seen_event_and_a_large_envelope_replay_and_bad_requests_are_refused() {
    let port = free_port();
    let worker = start(port, true);
    let a = post(&delivery(&worker, "skyvern", "failed", "one-a"));
    let b = post(&delivery(&worker, "skyvern", "failed", "one-b"));
    let (a, b) = (
        json(&a)["id"].as_str().unwrap().to_owned(),
        json(&b)["id"].as_str().unwrap().to_owned(),
    );
    // An envelope over the queue message limit travels by reference, and dies like any other.
    let big_body = format!(
        r#"{{"run_id":"big-1","status":"failed","notes":"{}","city":"München"}}"#,
        "ü→x".repeat(30_000)
    );
    assert!(big_body.len() > 130_000);
    let now = now_s();
    let big = send::prepare(
        "skyvern",
        &worker.url("/in/skyvern"),
        &credential("skyvern"),
        big_body.clone().into_bytes(),
        now,
    )
    .unwrap();
    let reply = post(&big);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let big_id = json(&reply)["id"].as_str().unwrap().to_owned();
    wait_for_dead(&worker, 3);

    // Wrong or missing token: 401 with no hint, on any admin path.
    let wrong = Admin::new(&worker.base, "adm-wrong", Duration::from_secs(30));
    assert!(
        matches!(wrong.list(&Selection::default(), None), Err(CliError::Refused(m)) if m.starts_with("401"))
    );
    for (method, path) in [
        ("GET", "/admin/dead-letters"),
        ("POST", "/admin/replay"),
        ("DELETE", "/admin/dead-letters/skyvern/x"),
        ("GET", "/admin/no-such-thing"),
    ] {
        for token in [None, Some("adm-wrong"), Some("")] {
            let (status, _, body) = raw_admin(&worker, method, path, token, None);
            assert_eq!(status, 401, "{method} {path} {token:?}: {body}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"], "unauthorized");
        }
    }
    // Bad input: 400 in the usual error shape; a known path, another method: 405.
    let t = Some(ADMIN_TOKEN);
    for (method, path, body, reason) in [
        ("POST", "/admin/replay", Some("{}"), "missing_selector"),
        ("POST", "/admin/replay", Some("not json"), "bad_json"),
        (
            "POST",
            "/admin/replay",
            Some(r#"{"since":"yesterday"}"#),
            "bad_since",
        ),
        ("GET", "/admin/dead-letters?limit=0", None, "bad_limit"),
        ("GET", "/admin/dead-letters?limit=5000", None, "bad_limit"),
        (
            "GET",
            "/admin/dead-letters?sourc=skyvern",
            None,
            "bad_query",
        ),
    ] {
        let (status, _, answer) = raw_admin(&worker, method, path, t, body);
        assert_eq!(status, 400, "{path} {body:?}: {answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(
            (answer["error"].as_str(), answer["reason"].as_str()),
            (Some("malformed"), Some(reason))
        );
    }
    assert_eq!(raw_admin(&worker, "PUT", "/admin/replay", t, None).0, 405);
    assert_eq!(
        raw_admin(&worker, "GET", "/admin/dead-letters/skyvern/nope", t, None).0,
        404
    );

    // Show: the envelope as it would be delivered.
    let path = format!("/admin/dead-letters/skyvern/{}", big_id.replace(':', "%3A"));
    let (status, ct, shown) = raw_admin(&worker, "GET", &path, t, None);
    assert_eq!(status, 200);
    assert_eq!(ct, "application/cloudevents+json; charset=utf-8");
    assert_eq!(
        shown,
        admin(&worker).show("skyvern", &big_id, None).unwrap()
    );
    assert!(shown.contains(&big_body), "the payload byte for byte");

    // One id, already marked seen at the edge: replayed and delivered, not a duplicate.
    let origin = Recorder::start(port);
    let what = Replay {
        source: Some("skyvern".into()),
        ids: Some(vec![a.clone()]),
        since: None,
        destination: None,
    };
    let answer = admin(&worker).replay(&what).unwrap();
    assert_eq!((answer.replayed, answer.failed.len()), (1, 0), "{answer:?}");
    let got = origin.wait_for(1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "{}", worker.logs());
    assert_eq!(got[0].0, a);
    let again = post(&delivery(&worker, "skyvern", "failed", "one-a"));
    assert_eq!(json(&again)["status"], "duplicate", "it was seen all along");
    let left: BTreeSet<String> = admin(&worker)
        .list(&Selection::default(), None)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(left, BTreeSet::from([b.clone(), big_id.clone()]));

    // The large one by id, no source given (found through the index): byte-exact.
    let (code, out, err) = cli(&worker, &["replay", "--id", &big_id, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["replayed"], 1);
    let got = origin.wait_for(2, Duration::from_secs(60));
    assert_eq!(got.len(), 2, "{}", worker.logs());
    assert_eq!(got[1].0, big_id);
    assert_eq!(got[1].1, shown, "delivered byte for byte as kept");

    // An id that is not a dead letter is reported, and the command says so.
    let (code, out, _) = cli(
        &worker,
        &["replay", "--source", "skyvern", "--id", "skyvern:nope"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("skyvern:nope: no such dead letter"), "{out}");

    // Drop: gone from the listing, then 404.
    admin(&worker).drop("skyvern", &b, None).unwrap();
    assert!(admin(&worker)
        .list(&Selection::default(), None)
        .unwrap()
        .is_empty());
    assert!(
        matches!(admin(&worker).drop("skyvern", &b, None), Err(CliError::Refused(m)) if m.starts_with("404"))
    );
    let (code, _, err) = cli(&worker, &["show", "skyvern", &b]);
    assert_eq!(code, 1, "{err}");
    assert!(worker.kv_keys("dead").is_empty());

    // One log line per admin request; the token in none of them, nor anywhere else.
    let admin_lines = worker
        .log_lines()
        .into_iter()
        .filter(|l| l["event"] == "admin")
        .count();
    assert!(admin_lines > 20, "{admin_lines}");
    assert!(!worker.logs().contains(ADMIN_TOKEN));
}

#[test]
fn without_an_admin_token_the_admin_routes_do_not_exist() {
    let worker = start(free_port(), false);
    for (method, path) in [
        ("GET", "/admin/dead-letters"),
        ("GET", "/admin/dead-letters/skyvern/x"),
        ("DELETE", "/admin/dead-letters/skyvern/x"),
        ("POST", "/admin/replay"),
        ("PUT", "/admin/replay"),
    ] {
        for token in [None, Some(ADMIN_TOKEN)] {
            let body = Some("{}").filter(|_| method == "POST" || method == "PUT");
            let (status, _, body) = raw_admin(&worker, method, path, token, body);
            assert_eq!(status, 404, "{method} {path}: {body}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"], "not_found");
        }
    }
    let (code, _, err) = cli(&worker, &["list"]);
    assert_eq!(code, 1);
    assert!(err.contains("ADMIN_TOKEN"), "{err}");
}
