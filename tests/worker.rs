//! The built Worker, run by workerd under `wrangler dev` with its local KV and Queues, checked
//! from outside: deliveries sent as the providers send them (`edgehook send`'s library) and
//! received by a real origin on loopback (`edgehook origin`'s library).

mod common;

use std::time::Duration;

use common::*;
use edgehook::cli::origin::{Origin, OriginOptions};
use edgehook::cli::send::{self, Prepared};
use serde_json::Value;

const PROVIDERS: [&str; 3] = ["browser-use", "skyvern", "smartbrowse"];
/// How long a test waits for the queue to bring events to the origin: the consumer's batch
/// timeout (1 s) many times over, for a busy machine. Measured here, every wait ended
/// after ~1 s. The wait ends as soon as everything has arrived.
const QUEUE_WAIT: Duration = Duration::from_secs(15);

fn reason(reply: &send::Reply) -> String {
    json(reply)["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn vectors() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/fixtures/providers.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn queue_mode_accepts_refuses_dedups_and_delivers_signed_envelopes() {
    let origin = start_origin(0);
    let worker = Worker::start(&Setup::new(&origin.url()));

    // Each provider, signed as the provider signs: 202, and it reaches the origin.
    let mut ids = Vec::new();
    for provider in PROVIDERS {
        let d = delivery(
            &worker,
            provider,
            send::default_status(provider),
            &format!("run-{provider}"),
        );
        let reply = post(&d);
        assert_eq!(reply.status, 202, "{provider}: {}", reply.body);
        let answer = json(&reply);
        assert_eq!(answer["status"], "accepted");
        ids.push(answer["id"].as_str().unwrap().to_owned());

        // The same delivery again: a duplicate, not forwarded twice.
        let again = post(&d);
        assert_eq!(again.status, 200, "{provider}: {}", again.body);
        assert_eq!(json(&again)["status"], "duplicate");
        assert_eq!(json(&again)["id"], answer["id"]);

        // Tampered after signing: 401 with the reason.
        let mut bad = d.clone();
        send::tamper(&mut bad, provider, &format!("run-{provider}"));
        let refused = post(&bad);
        assert_eq!(refused.status, 401, "{provider}: {}", refused.body);
        let want = if provider == "smartbrowse" {
            "bad_token"
        } else {
            "bad_signature"
        };
        assert_eq!(reason(&refused), want, "{provider}");
        assert_eq!(json(&refused)["error"], "unauthorized");
    }
    assert_eq!(ids[1], "skyvern:run-skyvern:completed");
    assert_eq!(ids[2], "smartbrowse:run-smartbrowse:smartbrowse.completed");

    let got = wait_for_envelopes(&origin, 3, QUEUE_WAIT);
    let mut got_ids: Vec<String> = got
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    got_ids.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got_ids, want, "the origin got each event once");
    assert_eq!(
        origin.state.refused(),
        0,
        "every forwarded signature verified"
    );
    for e in &got {
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["type"], "run.completed");
        assert_eq!(e["data"]["terminal"], true);
        assert_eq!(e["datacontenttype"], "application/json");
    }
    // Nothing more arrives: the duplicates were not forwarded.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(origin.state.requests(), 3);

    // A stale browser-use timestamp.
    let now = now_s();
    let body = send::sample_body("browser-use", "finished", "stale", now).unwrap();
    let stale = send::prepare(
        "browser-use",
        &worker.url("/in/browser-use"),
        &credential("browser-use"),
        body.into_bytes(),
        now - 301,
    )
    .unwrap();
    let reply = post(&stale);
    assert_eq!(
        (reply.status, reason(&reply).as_str()),
        (401, "stale_timestamp"),
        "{}",
        reply.body
    );

    // Missing signature, bad input, routes.
    let url = worker.url("/in/skyvern");
    let reply = post(&raw(url.clone(), &[], b"{}"));
    assert_eq!(
        (reply.status, reason(&reply).as_str()),
        (401, "missing_signature")
    );
    let reply = post(&raw(
        worker.url("/in/browser-use"),
        &[
            ("X-Browser-Use-Signature", "00"),
            ("X-Browser-Use-Timestamp", &now.to_string()),
        ],
        b"<xml/>",
    ));
    assert_eq!(
        (reply.status, json(&reply)["error"].as_str()),
        (400, Some("malformed")),
        "{}",
        reply.body
    );
    let too_big = vec![b' '; 1_048_577];
    let reply = post(&raw(url.clone(), &[], &too_big));
    assert_eq!(reply.status, 413, "{}", reply.body);
    let reply = post(&raw(worker.url("/in/no-such-source"), &[], b"{}"));
    assert_eq!(
        (reply.status, json(&reply)["error"].as_str()),
        (404, Some("not_found"))
    );
    let reply = post(&raw(worker.url("/in/skyvern/some-token"), &[], b"{}"));
    assert_eq!(reply.status, 404, "skyvern takes no path token");
    let get = ureq::get(&url).call();
    assert!(
        matches!(get, Err(ureq::Error::Status(405, _))),
        "GET on a source is 405"
    );
    let health: Value = serde_json::from_str(
        &ureq::get(&worker.url("/healthz"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        health,
        serde_json::json!({"ok": true, "version": env!("CARGO_PKG_VERSION")})
    );

    // Each refusal wrote a log line naming its reason; no line carries a secret or a body.
    let logs = worker.logs();
    for secret in [
        BROWSER_USE_SECRET,
        SKYVERN_KEY,
        SMARTBROWSE_TOKEN,
        ORIGIN_SECRET,
    ] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    assert!(!logs.contains("München"), "a body reached the log");
    // The HMACs and digests were computed by crypto.subtle: no fallback to wasm hashing.
    assert!(
        !logs.contains("subtle_"),
        "crypto.subtle was not used: {logs}"
    );
    let lines = worker.log_lines();
    assert!(lines
        .iter()
        .any(|l| l["reason"] == "stale_timestamp" && l["status"] == 401));
    assert!(lines
        .iter()
        .any(|l| l["outcome"] == "duplicate" && l["provider"] == "skyvern"));
}

#[test]
fn provider_vectors_unicode_floats_big_ints_and_large_bodies_arrive_byte_exact() {
    let origin = start_origin(0);
    let worker = Worker::start(&Setup::new(&origin.url()));
    let v = vectors();
    let mut sent_bodies = Vec::new();
    // Browser Use vectors, signed by Browser Use's own code (old timestamps: a source with a
    // wide tolerance takes them; its first secret is a rotated-out one).
    for vector in v["browser-use"].as_array().unwrap() {
        let body = vector["body"].as_str().unwrap();
        let p = raw(
            worker.url("/in/browser-use-vectors"),
            &[
                (
                    "X-Browser-Use-Signature",
                    vector["signature"].as_str().unwrap(),
                ),
                (
                    "X-Browser-Use-Timestamp",
                    vector["timestamp"].as_str().unwrap(),
                ),
            ],
            body.as_bytes(),
        );
        let reply = post(&p);
        assert_eq!(reply.status, 202, "{}: {}", vector["note"], reply.body);
        sent_bodies.push(body.to_owned());
    }
    for vector in v["skyvern"].as_array().unwrap() {
        let body = vector["body"].as_str().unwrap();
        let p = raw(
            worker.url("/in/skyvern"),
            &[(
                "x-skyvern-signature",
                vector["headers"]["x-skyvern-signature"].as_str().unwrap(),
            )],
            body.as_bytes(),
        );
        let reply = post(&p);
        assert_eq!(reply.status, 202, "{}: {}", vector["note"], reply.body);
        sent_bodies.push(body.to_owned());
    }
    // A large delivery (~600 KB, non-ASCII): too big for a queue message, so it travels
    // through KV by reference.
    let big_note = "Grüße aus München 😀 ".repeat(25_000);
    let big = format!(
        r#"{{"run_id":"big_1","status":"completed","output":{{"note":"{big_note}","n":[1.0,1e-7,123456789012345678901234567890]}}}}"#
    );
    let p = send::prepare(
        "skyvern",
        &worker.url("/in/skyvern"),
        &credential("skyvern"),
        big.clone().into_bytes(),
        now_s(),
    )
    .unwrap();
    let reply = post(&p);
    assert_eq!(reply.status, 202, "{}", reply.body);
    sent_bodies.push(big);

    let n = sent_bodies.len();
    wait_for_envelopes(&origin, n, QUEUE_WAIT);
    let raw_envelopes = origin.state.accepted_raw();
    assert_eq!(raw_envelopes.len(), n, "every event arrived");
    let payloads: Vec<String> = raw_envelopes.iter().map(|e| payload_text(e)).collect();
    for body in &sent_bodies {
        assert!(
            payloads.contains(body),
            "payload not byte-exact for a body starting {:?}",
            &body[..60.min(body.len())]
        );
    }
    let retries: Vec<Value> = worker
        .log_lines()
        .into_iter()
        .filter(|l| l["outcome"] == "retry")
        .collect();
    assert!(
        retries.is_empty(),
        "no delivery needed a retry: {retries:?}"
    );
}

#[test]
fn deliveries_in_flight_at_once_all_arrive_once() {
    let origin = start_origin(0);
    let worker = Worker::start(&Setup::new(&origin.url()));
    let prepared: Vec<Prepared> = (0..24)
        .map(|i| {
            let provider = PROVIDERS[i % 3];
            delivery(
                &worker,
                provider,
                send::default_status(provider),
                &format!("par-{i}"),
            )
        })
        .collect();
    // Each delivery twice, all at once: 24 accepted, the rest accepted or duplicate (two
    // copies racing may both pass the seen check: the origin dedups on webhook-id).
    let handles: Vec<_> = prepared
        .iter()
        .chain(prepared.iter())
        .cloned()
        .map(|p| std::thread::spawn(move || post(&p)))
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        replies.iter().all(|r| r.status == 202 || r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    assert!(accepted >= 24, "only {accepted} accepted");
    let got = wait_for_envelopes(&origin, 24, QUEUE_WAIT);
    let mut ids: Vec<&str> = got.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24, "each event reached the origin");
    assert_eq!(origin.state.refused(), 0);
}

#[test]
fn a_failing_origin_is_retried_until_it_succeeds() {
    let origin = start_origin(2);
    let worker = Worker::start(&Setup::new(&origin.url()));
    let reply = post(&delivery(&worker, "skyvern", "failed", "retry-1"));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let got = wait_for_envelopes(&origin, 1, Duration::from_secs(60));
    assert_eq!(
        got.len(),
        1,
        "delivered after the failures:\n{}",
        worker.logs()
    );
    assert_eq!(got[0]["id"], "skyvern:retry-1:failed");
    assert_eq!(got[0]["type"], "run.failed");
    assert_eq!(origin.state.requests(), 3, "two failures, then success");
    let retries: Vec<Value> = worker
        .log_lines()
        .into_iter()
        .filter(|l| l["outcome"] == "retry")
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0]["message"]
        .as_str()
        .unwrap()
        .contains("origin answered 500"));
    // The delay grows: 1 s after the first attempt, 2 s after the second.
    assert!(
        retries[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("next attempt in 1 s"),
        "{retries:?}"
    );
    assert!(
        retries[1]["message"]
            .as_str()
            .unwrap()
            .ends_with("next attempt in 2 s"),
        "{retries:?}"
    );
    worker.wait_for_log("the delivery", Duration::from_secs(5), |l| {
        l["outcome"] == "delivered" && l["attempts"] == 3
    });
}

#[test]
fn an_outage_shorter_than_the_schedule_is_delivered_when_the_origin_is_back() {
    // Nothing listens on the origin's port at first; it comes up after ~3 s, within the
    // schedule (1 + 2 + 4 s), and the event arrives with no action from anyone.
    let port = free_port();
    let worker = Worker::start(&Setup::new(&format!("http://127.0.0.1:{port}/events")));
    let reply = post(&delivery(&worker, "skyvern", "completed", "outage-1"));
    assert_eq!(reply.status, 202, "{}", reply.body);
    worker.wait_for_log("a failed attempt", Duration::from_secs(30), |l| {
        l["event"] == "forward" && l["outcome"] == "retry"
    });
    std::thread::sleep(Duration::from_secs(2));
    let options = OriginOptions {
        key: origin_key(),
        fail_first: 0,
        fail_percent: 0,
        tolerance_s: 300,
    };
    let origin = Origin::start(&format!("127.0.0.1:{port}"), options, |_| {}).expect("origin");
    let got = wait_for_envelopes(&origin, 1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "delivered once back:\n{}", worker.logs());
    assert_eq!(got[0]["id"], "skyvern:outage-1:completed");
    assert!(worker.kv_keys("dead:").is_empty());
}

#[test]
fn an_outage_longer_than_the_schedule_is_kept_as_a_dead_letter_with_why() {
    let dead = format!("http://127.0.0.1:{}/events", free_port());
    let mut setup = Setup::new(&dead);
    setup.retry_schedule_s = "1,1".into();
    let worker = Worker::start(&setup);
    let reply = post(&delivery(&worker, "browser-use", "stopped", "dlq-1"));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = json(&reply)["id"].as_str().unwrap().to_owned();
    let line = worker.wait_for_log("the dead letter", Duration::from_secs(60), |l| {
        l["event"] == "forward" && l["outcome"].as_str().unwrap_or("").starts_with("dead")
    });
    assert_eq!(line["outcome"], "dead_lettered", "{line}");
    assert_eq!(line["id"], id.as_str());
    assert_eq!(line["source"], "browser-use");
    assert_eq!(
        line["attempts"], 3,
        "one attempt and the schedule's two retries"
    );
    let retries = worker
        .log_lines()
        .into_iter()
        .filter(|l| l["event"] == "forward" && l["outcome"] == "retry")
        .count();
    assert_eq!(retries, 2);
    let keys = worker.kv_keys("dead:");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["name"], format!("dead:browser-use:{id}"));
    let meta = &keys[0]["metadata"];
    assert_eq!(meta["attempts"], 3, "{meta}");
    assert_eq!(meta["id"], id.as_str());
    assert!(
        meta["last_error"]
            .as_str()
            .unwrap()
            .contains("origin unreachable"),
        "{meta}"
    );
    assert!(meta["dead_at"].as_str().unwrap().ends_with('Z'), "{meta}");
}

#[test]
fn the_queues_max_retries_is_only_a_safety_net_and_keeps_dead_letters_too() {
    // A schedule longer than the queue allows: the runtime's dead-letter queue catches it,
    // and its consumer keeps the dead letter like the Worker would.
    let dead = format!("http://127.0.0.1:{}/events", free_port());
    let mut setup = Setup::new(&dead);
    setup.retry_schedule_s = "1,1,1,1".into();
    setup.max_retries = 1;
    let worker = Worker::start(&setup);
    let reply = post(&delivery(&worker, "skyvern", "failed", "net-1"));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let line = worker.wait_for_log("the dead letter", Duration::from_secs(60), |l| {
        l["event"] == "dead_letter"
    });
    assert_eq!(line["outcome"], "dead_lettered", "{line}");
    let keys = worker.kv_keys("dead:skyvern:");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0]["metadata"]["last_error"]
        .as_str()
        .unwrap()
        .contains("max_retries"));
}

#[test]
fn origin_mode_forwards_inline_and_answers_503_without_a_queue() {
    // Inline, with a queue bound as fallback: each provider straight to the origin.
    let origin = start_origin(0);
    let mut setup = Setup::new(&origin.url());
    setup.forward_mode = "origin";
    let worker = Worker::start(&setup);
    for provider in PROVIDERS {
        let reply = post(&delivery(
            &worker,
            provider,
            send::default_status(provider),
            "inline-1",
        ));
        assert_eq!(reply.status, 202, "{provider}: {}", reply.body);
        // Inline: the origin has it by the time the answer comes back.
        assert!(
            origin
                .state
                .accepted()
                .iter()
                .any(|e| e["id"] == json(&reply)["id"]),
            "{provider}"
        );
    }
    drop(worker);

    // No queue bound and the origin down: 503, and nothing marked seen, so the provider's
    // retry succeeds once the origin is back.
    let port = free_port();
    let mut setup = Setup::new(&format!("http://127.0.0.1:{port}/events"));
    setup.forward_mode = "origin";
    setup.with_queue = false;
    let worker = Worker::start(&setup);
    let d = delivery(&worker, "skyvern", "completed", "down-1");
    let reply = post(&d);
    assert_eq!(
        (reply.status, json(&reply)["error"].as_str()),
        (503, Some("unavailable")),
        "{}",
        reply.body
    );
    let back = edgehook::cli::origin::Origin::start(
        &format!("127.0.0.1:{port}"),
        edgehook::cli::origin::OriginOptions {
            key: origin_key(),
            fail_first: 0,
            fail_percent: 0,
            tolerance_s: 300,
        },
        |_| {},
    )
    .unwrap();
    let reply = post(&d);
    assert_eq!(
        reply.status, 202,
        "the retry is accepted, not a duplicate: {}",
        reply.body
    );
    assert_eq!(back.state.accepted().len(), 1);
}

#[test]
fn configuration_errors_are_named_and_nothing_is_accepted() {
    let origin = start_origin(0);
    let mut setup = Setup::new(&origin.url());
    setup.sources.push_str(
        "\n[vars.SOURCES.typo]\nprovider = \"browser-usee\"\nsecrets = [\"BROWSER_USE_WEBHOOK_SECRET\"]\n\
         \n[vars.SOURCES.nosecret]\nprovider = \"skyvern\"\nsecrets = [\"NOT_SET_ANYWHERE\"]\n\
         \n[vars.SOURCES.noauth]\nprovider = \"smartbrowse\"\nsecrets = [\"SMARTBROWSE_TOKEN\"]\n",
    );
    let worker = Worker::start(&setup);
    let expect = |path: &str, needle: &str| {
        let reply = post(&raw(worker.url(path), &[], b"{}"));
        assert_eq!(
            (reply.status, json(&reply)["error"].as_str()),
            (500, Some("config")),
            "{path}: {}",
            reply.body
        );
        let message = json(&reply)["message"].as_str().unwrap().to_owned();
        assert!(message.contains(needle), "{path}: {message}");
    };
    expect("/in/typo", "unknown provider `browser-usee`");
    expect("/in/nosecret", "secret `NOT_SET_ANYWHERE` is not set");
    expect("/in/noauth", "needs `auth`");
    // The well-configured sources keep working.
    assert_eq!(
        post(&delivery(&worker, "skyvern", "completed", "ok-1")).status,
        202
    );
    assert_eq!(wait_for_envelopes(&origin, 1, QUEUE_WAIT).len(), 1);
    assert!(worker
        .log_lines()
        .iter()
        .any(|l| l["reason"] == "config" && l["source"] == "typo"));
    drop(worker);

    // A bad global setting stops every source.
    let mut setup = Setup::new(&origin.url());
    setup.vars.push(("DEDUP_TTL_S", "30".into()));
    let worker = Worker::start(&setup);
    let reply = post(&delivery(&worker, "skyvern", "completed", "ttl-1"));
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert!(
        json(&reply)["message"]
            .as_str()
            .unwrap()
            .contains("DEDUP_TTL_S"),
        "{}",
        reply.body
    );
    assert_eq!(
        origin.state.requests(),
        1,
        "only the well-configured delivery was forwarded"
    );
}

#[test]
fn sources_given_as_json_text_work() {
    // As from the dashboard or `wrangler dev --var SOURCES:'{…}'`: text, not a table.
    let origin = start_origin(0);
    let mut setup = Setup::new(&origin.url());
    setup.sources = String::new();
    setup.cli_vars.push((
        "SOURCES",
        r#"{"skyvern":{"provider":"skyvern","secrets":["SKYVERN_API_KEY"]}}"#.into(),
    ));
    let worker = Worker::start(&setup);
    let reply = post(&delivery(&worker, "skyvern", "completed", "text-1"));
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(wait_for_envelopes(&origin, 1, QUEUE_WAIT).len(), 1);
    let reply = post(&delivery(&worker, "browser-use", "finished", "text-2"));
    assert_eq!(reply.status, 404, "not configured: {}", reply.body);
}

#[test]
fn a_path_token_never_reaches_an_answer_or_a_log_line() {
    let origin = start_origin(0);
    let worker = Worker::start(&Setup::new(&origin.url()));
    for path in [
        format!("/in/smartbrowse/{SMARTBROWSE_TOKEN}/extra"),
        format!("/in/smartbrowse%2F{SMARTBROWSE_TOKEN}"),
        format!("/in/skyvern/{SMARTBROWSE_TOKEN}"),
        format!("/in/{SMARTBROWSE_TOKEN}"),
    ] {
        let reply = post(&raw(worker.url(&path), &[], b"{}"));
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert!(
            !reply.body.contains(SMARTBROWSE_TOKEN),
            "{path}: {}",
            reply.body
        );
    }
    for line in worker.wait_for_lines(4, Duration::from_secs(10)) {
        assert!(!line.to_string().contains(SMARTBROWSE_TOKEN), "{line}");
        let source = line["source"].as_str().unwrap_or("skyvern");
        assert!(["skyvern", "smartbrowse"].contains(&source), "{line}");
    }
}
