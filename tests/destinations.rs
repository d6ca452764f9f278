//! Destinations (CONTRACT §7) in workerd: fan-out with filters to two HTTP origins and a
//! user's own queue (read by a consumer Worker of the tests' own, run beside edgehook in
//! the same `wrangler dev`), a destination down that never holds up the others, pause and
//! resume across a restart, an envelope too large for the user's queue, configuration
//! errors, and an existing single-origin deployment with its old dead letters.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use edgehook::cli::dead_letters::{Admin, Replay, Selection};
use edgehook::cli::origin::{Origin, OriginOptions, Verdict};
use edgehook::cli::send;
use edgehook::signing::WebhookKey;
use edgehook::Status;

const ADMIN_TOKEN: &str = "adm-destinations-7c1d";
const FAILURES_SECRET: &str = "whsec_ZmFpbHVyZXMtZGVzdGluYXRpb24tc2VjcmV0";
const CONSUMER_SECRET: &str = "whsec_dXNlci1xdWV1ZS1jb25zdW1lci1zZWNyZXQ=";
/// How long a test waits for the queue to bring events to an origin; each wait ends as
/// soon as everything has arrived.
const WAIT: Duration = Duration::from_secs(60);

/// An origin verifying with `key`, recording when each event first arrived.
struct Recorder {
    origin: Origin,
    arrived: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Recorder {
    fn start(listen: &str, key: &str) -> Recorder {
        let arrived = Arc::new(Mutex::new(HashMap::new()));
        let seen = arrived.clone();
        let options = OriginOptions {
            key: WebhookKey::from_whsec(key).unwrap(),
            fail_first: 0,
            fail_percent: 0,
            tolerance_s: 300,
        };
        let origin = Origin::start(listen, options, move |v| {
            if let Verdict::Accepted { envelope, .. } = v {
                let id = envelope["id"].as_str().unwrap_or_default().to_owned();
                seen.lock().unwrap().entry(id).or_insert_with(Instant::now);
            }
        })
        .expect("origin");
        Recorder { origin, arrived }
    }

    fn url(&self) -> String {
        self.origin.url()
    }

    /// The ids accepted so far, in arrival order.
    fn ids(&self) -> Vec<String> {
        let got = self.origin.state.accepted();
        got.iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits until `n` events arrived (or the wait is over), then their ids in order.
    fn wait_for(&self, n: usize) -> Vec<String> {
        wait_for_envelopes(&self.origin, n, WAIT);
        self.ids()
    }

    /// Each accepted envelope's text, by id.
    fn raw_by_id(&self) -> BTreeMap<String, String> {
        self.origin
            .state
            .accepted_raw()
            .into_iter()
            .map(|raw| {
                let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
                (v["id"].as_str().unwrap().to_owned(), raw)
            })
            .collect()
    }
}

/// One delivery that was accepted: its id, the facts filters see, and its body.
#[derive(Clone, Debug)]
struct Sent {
    id: String,
    source: &'static str,
    status: Status,
    body: String,
    at: Instant,
}

impl Sent {
    fn event_type(&self) -> String {
        format!("run.{}", self.status.as_str())
    }
}

/// Each provider's words for a few statuses, and what they normalize to (CONTRACT §4).
fn words(provider: &str) -> &'static [(&'static str, Status)] {
    match provider {
        "browser-use" => &[
            ("finished", Status::Completed),
            ("error", Status::Failed),
            ("timed_out", Status::TimedOut),
            ("started", Status::Running),
        ],
        "skyvern" => &[
            ("completed", Status::Completed),
            ("failed", Status::Failed),
            ("timed_out", Status::TimedOut),
            ("running", Status::Running),
        ],
        _ => &[
            ("completed", Status::Completed),
            ("failed", Status::Failed),
            ("cancelled", Status::Canceled),
        ],
    }
}

/// Sends `per_provider` deliveries from each of the three providers, statuses mixed, one
/// at a time; every one must be accepted.
fn send_mixed(worker: &Worker, per_provider: usize, run: &str) -> Vec<Sent> {
    let mut sent = Vec::new();
    for i in 0..per_provider {
        for provider in ["browser-use", "skyvern", "smartbrowse"] {
            let (word, status) = words(provider)[i % words(provider).len()];
            let d = delivery(worker, provider, word, &format!("{run}-{provider}-{i}"));
            let reply = post(&d);
            assert_eq!(reply.status, 202, "{provider} {word}: {}", reply.body);
            sent.push(Sent {
                id: json(&reply)["id"].as_str().unwrap().to_owned(),
                source: provider,
                status,
                body: String::from_utf8(d.body.clone()).unwrap(),
                at: Instant::now(),
            });
        }
    }
    sent
}

fn ids_where(sent: &[Sent], keep: impl Fn(&Sent) -> bool) -> BTreeSet<String> {
    sent.iter()
        .filter(|s| keep(s))
        .map(|s| s.id.clone())
        .collect()
}

fn is_failure(s: &Sent) -> bool {
    matches!(s.status, Status::Failed | Status::TimedOut)
        && ["skyvern", "browser-use"].contains(&s.source)
}

fn is_completed(s: &Sent) -> bool {
    s.event_type() == "run.completed"
}

/// The contract's three destinations: everything to `app`; only failed and timed-out runs
/// of two sources to `failures` (its own secret and a short schedule); only
/// `run.completed` into the user's queue `AGENT_EVENTS`, whose consumer Worker (beside
/// edgehook) hands each message to `agents_origin`.
fn three_destinations(app: &str, failures: &str, agents_origin: &str) -> Setup {
    let mut setup = Setup::new("http://127.0.0.1:9/unused");
    setup.destinations = format!(
        r#"
[vars.DESTINATIONS.app]
url = "{app}"
secret = "ORIGIN_SECRET"
timeout_ms = 5000

[vars.DESTINATIONS.failures]
url = "{failures}"
secret = "FAILURES_SECRET"
statuses = ["failed", "timed_out"]
sources = ["skyvern", "browser-use"]
retry_schedule_s = "1,1"

[vars.DESTINATIONS.agents]
queue = "AGENT_EVENTS"
types = ["run.completed"]
"#
    );
    setup.extra_toml =
        "\n[[queues.producers]]\nbinding = \"AGENT_EVENTS\"\nqueue = \"edgehook-test-agents\"\n"
            .into();
    setup.beside.push(consumer_toml(agents_origin));
    setup
        .secrets
        .push(("FAILURES_SECRET", FAILURES_SECRET.into()));
    setup.secrets.push(("ADMIN_TOKEN", ADMIN_TOKEN.into()));
    setup
}

/// The user's consumer Worker (tests/fixtures/agent-consumer.js), reading the user queue.
fn consumer_toml(forward_url: &str) -> String {
    format!(
        "name = \"agent-consumer\"\nmain = \"{ROOT}/tests/fixtures/agent-consumer.js\"\n\
         compatibility_date = \"2026-04-20\"\n\n[vars]\nFORWARD_URL = \"{forward_url}\"\n\
         CONSUMER_SECRET = \"{CONSUMER_SECRET}\"\n\n[[queues.consumers]]\n\
         queue = \"edgehook-test-agents\"\nmax_batch_size = 10\nmax_batch_timeout = 1\n\
         max_retries = 10\nretry_delay = 1\n"
    )
}

fn admin(worker: &Worker) -> Admin {
    Admin::new(&worker.base, ADMIN_TOKEN, Duration::from_secs(60))
}

/// Asserts an origin received exactly `want` (by `webhook-id`), once each, each envelope
/// carrying its delivery's body byte for byte.
fn assert_received(name: &str, r: &Recorder, want: &BTreeSet<String>, sent: &[Sent]) {
    let got = r.wait_for(want.len());
    let got_set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(&got_set, want, "{name}: the set its filter selects");
    assert_eq!(got.len(), want.len(), "{name}: each once");
    assert_eq!(r.origin.state.duplicates(), 0, "{name}: no duplicates");
    assert_eq!(
        r.origin.state.refused(),
        0,
        "{name}: every signature verified"
    );
    let bodies: HashMap<&str, &str> = sent
        .iter()
        .map(|s| (s.id.as_str(), s.body.as_str()))
        .collect();
    for (id, raw) in r.raw_by_id() {
        assert_eq!(
            payload_text(&raw),
            bodies[id.as_str()],
            "{name}: {id} byte for byte"
        );
    }
}

#[test]
fn three_destinations_each_receive_exactly_what_their_filters_select() {
    let (app, failures, agents) = (
        Recorder::start("127.0.0.1:0", ORIGIN_SECRET),
        Recorder::start("127.0.0.1:0", FAILURES_SECRET),
        Recorder::start("127.0.0.1:0", CONSUMER_SECRET),
    );
    let worker = Worker::start(&three_destinations(
        &app.url(),
        &failures.url(),
        &agents.url(),
    ));
    let sent = send_mixed(&worker, 20, "fan");
    assert_eq!(sent.len(), 60);

    let all = ids_where(&sent, |_| true);
    let to_failures = ids_where(&sent, is_failure);
    let to_agents = ids_where(&sent, is_completed);
    assert!(
        to_failures.len() >= 10 && to_agents.len() >= 10,
        "the mix exercises each filter"
    );
    assert_received("app", &app, &all, &sent);
    assert_received("failures", &failures, &to_failures, &sent);
    assert_received("agents", &agents, &to_agents, &sent);

    // Every destination got the same envelope bytes for an event.
    let app_raw = app.raw_by_id();
    for (id, raw) in failures.raw_by_id().into_iter().chain(agents.raw_by_id()) {
        assert_eq!(
            raw, app_raw[&id],
            "{id}: one envelope for every destination"
        );
    }
    // Nothing matched nowhere: no dead letters, and the listing says whose is whose.
    let dead = admin(&worker).list(&Selection::default(), None).unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    let listed = admin(&worker).destinations().unwrap();
    let kinds: Vec<(&str, &str, &str)> = listed
        .iter()
        .map(|d| (d.name.as_str(), d.kind.as_str(), d.target.as_str()))
        .collect();
    let host = |r: &Recorder| format!("http://{}", r.origin.addr);
    assert_eq!(
        kinds,
        [
            ("agents", "queue", "AGENT_EVENTS"),
            ("app", "url", host(&app).as_str()),
            ("failures", "url", host(&failures).as_str()),
        ]
    );
}

/// Seconds from sending to arrival, for the events of `sent` that `r` received.
fn latencies(r: &Recorder, sent: &[Sent]) -> Vec<f64> {
    let arrived = r.arrived.lock().unwrap();
    let mut l: Vec<f64> = sent
        .iter()
        .filter_map(|s| {
            arrived
                .get(&s.id)
                .map(|t| t.duration_since(s.at).as_secs_f64())
        })
        .collect();
    l.sort_by(f64::total_cmp);
    l
}

fn median(l: &[f64]) -> f64 {
    l.get(l.len() / 2).copied().unwrap_or(f64::NAN)
}

#[test]
fn a_destination_down_holds_up_no_other_and_only_its_events_become_its_dead_letters() {
    let (app, agents) = (
        Recorder::start("127.0.0.1:0", ORIGIN_SECRET),
        Recorder::start("127.0.0.1:0", CONSUMER_SECRET),
    );
    let failures = Recorder::start("127.0.0.1:0", FAILURES_SECRET);
    let failures_addr = failures.origin.addr.to_string();
    let worker = Worker::start(&three_destinations(
        &app.url(),
        &failures.url(),
        &agents.url(),
    ));

    // A healthy run first, for the latency to compare with.
    let healthy = send_mixed(&worker, 5, "healthy");
    assert_received("app", &app, &ids_where(&healthy, |_| true), &healthy);
    assert_received(
        "failures",
        &failures,
        &ids_where(&healthy, is_failure),
        &healthy,
    );
    let healthy_latency = latencies(&app, &healthy);

    // `failures` goes down (nothing listens on its port) for the whole second run.
    drop(failures);
    let down = send_mixed(&worker, 10, "down");
    let mut want_app = ids_where(&healthy, |_| true);
    want_app.extend(ids_where(&down, |_| true));
    let mut both = healthy.clone();
    both.extend(down.iter().cloned());
    assert_received("app", &app, &want_app, &both);
    let mut want_agents = ids_where(&healthy, is_completed);
    want_agents.extend(ids_where(&down, is_completed));
    assert_received("agents", &agents, &want_agents, &both);
    let down_latency = latencies(&app, &down);
    eprintln!(
        "app latency, healthy run: median {:.2} s, max {:.2} s; with `failures` down: median \
         {:.2} s, max {:.2} s",
        median(&healthy_latency),
        healthy_latency.last().unwrap(),
        median(&down_latency),
        down_latency.last().unwrap(),
    );
    assert!(
        median(&down_latency) <= 2.0 * median(&healthy_latency) + 1.0,
        "the healthy destinations wait on the down one: {down_latency:?} against {healthy_latency:?}"
    );

    // Only `failures` dead-letters, and only its own events (1 + 2 retries, then dead).
    let want_dead = ids_where(&down, is_failure);
    let dead = wait_for_dead(&worker, want_dead.len());
    let dead_ids: BTreeSet<String> = dead.iter().map(|l| l.id.clone()).collect();
    assert_eq!(dead_ids, want_dead);
    assert!(
        dead.iter()
            .all(|l| l.destination == "failures" && l.attempts == 3),
        "{dead:?}"
    );
    assert!(
        dead.iter()
            .all(|l| l.last_error.starts_with("origin unreachable")),
        "{dead:?}"
    );
    let only_failures = Selection {
        destination: Some("failures".into()),
        ..Selection::default()
    };
    assert_eq!(
        admin(&worker).list(&only_failures, None).unwrap().len(),
        dead.len()
    );
    let app_only = Selection {
        destination: Some("app".into()),
        ..Selection::default()
    };
    assert!(admin(&worker).list(&app_only, None).unwrap().is_empty());

    // Back up on the same port: replaying that destination delivers each once, to it alone.
    let failures = Recorder::start(&failures_addr, FAILURES_SECRET);
    let app_before = app.ids().len();
    let answer = admin(&worker)
        .replay(&Replay {
            destination: Some("failures".into()),
            since: Some("2000-01-01T00:00:00Z".into()),
            ..Replay::default()
        })
        .unwrap();
    assert_eq!(
        (answer.replayed, answer.failed.len()),
        (want_dead.len(), 0),
        "{answer:?}"
    );
    assert_received("failures, replayed", &failures, &want_dead, &down);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        app.ids().len(),
        app_before,
        "a replay for one destination reaches no other"
    );
    assert!(admin(&worker)
        .list(&Selection::default(), None)
        .unwrap()
        .is_empty());
}

/// Waits until the Worker lists `n` dead letters.
fn wait_for_dead(worker: &Worker, n: usize) -> Vec<edgehook::forward::DeadLetter> {
    let deadline = Instant::now() + WAIT;
    loop {
        let dead = admin(worker).list(&Selection::default(), None).unwrap();
        if dead.len() >= n || Instant::now() > deadline {
            return dead;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn destination(worker: &Worker, name: &str) -> edgehook::admin::DestinationView {
    admin(worker)
        .destinations()
        .unwrap()
        .into_iter()
        .find(|d| d.name == name)
        .unwrap()
}

#[test]
fn a_pause_holds_events_across_a_restart_and_a_resume_delivers_them_oldest_first_once() {
    let app = Recorder::start("127.0.0.1:0", ORIGIN_SECRET);
    let other = Recorder::start("127.0.0.1:0", FAILURES_SECRET);
    let mut setup = Setup::new("http://127.0.0.1:9/unused");
    setup.destinations = format!(
        "\n[vars.DESTINATIONS.app]\nurl = \"{}\"\n\n[vars.DESTINATIONS.other]\nurl = \"{}\"\n\
         secret = \"FAILURES_SECRET\"\n",
        app.url(),
        other.url()
    );
    setup
        .secrets
        .push(("FAILURES_SECRET", FAILURES_SECRET.into()));
    setup.secrets.push(("ADMIN_TOKEN", ADMIN_TOKEN.into()));
    let mut worker = Worker::start(&setup);

    let paused = admin(&worker).set_paused("app", true).unwrap();
    assert!(paused.paused);
    let sent = send_mixed(&worker, 4, "held");
    // The other destination takes them at once; app is held, not attempted.
    assert_eq!(other.wait_for(sent.len()).len(), sent.len());
    let deadline = Instant::now() + WAIT;
    while destination(&worker, "app").held < sent.len() as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
    }
    let app_state = destination(&worker, "app");
    assert_eq!(
        (app_state.paused, app_state.held),
        (true, sent.len() as u64)
    );
    assert_eq!(
        app.origin.state.requests(),
        0,
        "no request reaches a paused destination"
    );

    // A restart on the same state: still paused, still holding everything.
    worker.restart();
    let app_state = destination(&worker, "app");
    assert_eq!(
        (app_state.paused, app_state.held),
        (true, sent.len() as u64)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(app.origin.state.requests(), 0);

    let resumed = admin(&worker).set_paused("app", false).unwrap();
    assert!(!resumed.paused);
    let got = app.wait_for(sent.len());
    let in_order: Vec<String> = sent.iter().map(|s| s.id.clone()).collect();
    assert_eq!(got, in_order, "every held event, oldest first, once");
    assert_eq!(app.origin.state.duplicates(), 0);
    assert_eq!(destination(&worker, "app").held, 0);
    // New events flow again.
    let more = send_mixed(&worker, 1, "after");
    assert_eq!(
        app.wait_for(sent.len() + more.len()).len(),
        sent.len() + more.len()
    );
}

#[test]
fn an_envelope_too_large_for_the_users_queue_is_its_dead_letter_and_reaches_the_origins() {
    let (app, failures, agents) = (
        Recorder::start("127.0.0.1:0", ORIGIN_SECRET),
        Recorder::start("127.0.0.1:0", FAILURES_SECRET),
        Recorder::start("127.0.0.1:0", CONSUMER_SECRET),
    );
    let worker = Worker::start(&three_destinations(
        &app.url(),
        &failures.url(),
        &agents.url(),
    ));
    let filler = "x".repeat(200_000);
    let body = format!(r#"{{"run_id":"big-1","status":"completed","log":"{filler}"}}"#);
    let d = send::prepare(
        "skyvern",
        &worker.url("/in/skyvern"),
        &credential("skyvern"),
        body.clone().into_bytes(),
        now_s(),
    )
    .unwrap();
    let reply = post(&d);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = json(&reply)["id"].as_str().unwrap().to_owned();

    let got = app.wait_for(1);
    assert_eq!(got, std::slice::from_ref(&id));
    assert_eq!(payload_text(&app.origin.state.accepted_raw()[0]), body);
    let dead = wait_for_dead(&worker, 1);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0].id.as_str(), dead[0].destination.as_str()),
        (id.as_str(), "agents")
    );
    assert_eq!(dead[0].attempts, 1, "no retry can mend it");
    assert!(
        dead[0].last_error.contains("over the") && dead[0].last_error.contains("AGENT_EVENTS"),
        "{}",
        dead[0].last_error
    );
    assert!(agents.ids().is_empty());
    // Two destinations took a 200 KB envelope: written to KV once, not twice.
    assert_eq!(worker.kv_keys("body:").len(), 1);
    let shown = admin(&worker).show("skyvern", &id, Some("agents")).unwrap();
    assert_eq!(payload_text(&shown), body);
}

#[test]
fn each_wrong_destination_table_is_named_and_nothing_is_accepted() {
    let origin = start_origin(0);
    let url = origin.url();
    let cases = [
        (
            format!(r#"{{"a":{{"url":"{url}","queue":"AGENT_EVENTS"}}}}"#),
            "destination `a`: `url` set exactly one of `url` and `queue`",
        ),
        (
            r#"{"a":{"types":["run.failed"]}}"#.to_owned(),
            "destination `a`: `url` set one of",
        ),
        (
            format!(r#"{{"a":{{"url":"{url}","statuses":["done"]}}}}"#),
            "destination `a`: `statuses` `done` is not a status",
        ),
        (
            format!(r#"{{"App":{{"url":"{url}"}}}}"#),
            "destination `App`: `name`",
        ),
        (
            r#"{"a":{"queue":"NOT_BOUND"}}"#.to_owned(),
            "destination `a`: `queue` `NOT_BOUND` is not a queue producer binding",
        ),
        (
            format!(r#"{{"a":{{"url":"{url}","secret":"UNSET_SECRET"}}}}"#),
            "destination `a`: `secret` secret `UNSET_SECRET` is not set",
        ),
    ];
    for (tables, want) in cases {
        let mut setup = Setup::new(&url);
        setup.cli_vars.push(("DESTINATIONS", tables.clone()));
        let worker = Worker::start(&setup);
        let reply = post(&delivery(&worker, "skyvern", "completed", "cfg"));
        assert_eq!(reply.status, 500, "{tables}: {}", reply.body);
        let answer = json(&reply);
        assert_eq!(answer["error"], "config");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains(want),
            "{tables}:\n  got  {message}\n  want {want}"
        );
        worker.wait_for_log("the refusal", WAIT, |l| {
            l["outcome"] == "refused" && l["message"].as_str().is_some_and(|m| m.contains(want))
        });
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(origin.state.requests(), 0, "nothing was accepted");
}

/// Writes `value` with `metadata` under `key` in the Worker's local KV, as `wrangler kv`
/// does (the Worker must be stopped).
fn kv_put(dir: &std::path::Path, key: &str, value: &str, metadata: &serde_json::Value) {
    // Through a file: wrangler takes no empty value on its command line.
    let file = dir.join("kv-value");
    std::fs::write(&file, value).unwrap();
    let status = Command::new(format!("{ROOT}/node_modules/.bin/wrangler"))
        .current_dir(dir)
        .args([
            "kv",
            "key",
            "put",
            "--binding",
            "SEEN",
            "--local",
            "--persist-to",
            "state",
        ])
        .args(["--metadata", &metadata.to_string(), key, "--path"])
        .arg(&file)
        .env("WRANGLER_SEND_METRICS", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("wrangler kv key put");
    assert!(status.success());
}

#[test]
fn a_single_origin_deployment_and_its_dead_letters_from_before_destinations_work_unchanged() {
    let origin = Recorder::start("127.0.0.1:0", ORIGIN_SECRET);
    let mut setup = Setup::new(&origin.url());
    setup.secrets.push(("ADMIN_TOKEN", ADMIN_TOKEN.into()));
    let mut worker = Worker::start(&setup);

    // Today's behaviour: no DESTINATIONS, ORIGIN_URL is the one destination `origin`.
    let sent = send_mixed(&worker, 2, "single");
    assert_received("origin", &origin, &ids_where(&sent, |_| true), &sent);
    let listed = admin(&worker).destinations().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].kind.as_str()),
        ("origin", "url")
    );

    // A dead letter as the previous version kept it: the old keys, a record without
    // `destination`. Its envelope is one the Worker made (the first delivery's).
    let envelope = origin.raw_by_id()[&sent[0].id].clone();
    let id = "skyvern:legacy-run:failed";
    let envelope = envelope.replace(&sent[0].id, id);
    let record = serde_json::json!({"source":"skyvern","id":id,
        "dead_at":"2026-12-01T00:00:00.000Z","attempts":9,"last_error":"origin answered 503"});
    worker.while_stopped(|dir| {
        kv_put(dir, &format!("dead:skyvern:{id}"), &envelope, &record);
        kv_put(
            dir,
            &format!("dead-by-time:8203916799999:skyvern:{id}"),
            "",
            &record,
        );
        kv_put(
            dir,
            &format!("dead-by-source:skyvern:8203916799999:{id}"),
            "",
            &record,
        );
    });
    let dead = admin(&worker).list(&Selection::default(), None).unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0].id.as_str(), dead[0].destination.as_str()),
        (id, "origin")
    );
    let origin_only = Selection {
        destination: Some("origin".into()),
        ..Selection::default()
    };
    assert_eq!(admin(&worker).list(&origin_only, None).unwrap().len(), 1);
    let answer = admin(&worker)
        .replay(&Replay {
            source: Some("skyvern".into()),
            ids: Some(vec![id.into()]),
            ..Replay::default()
        })
        .unwrap();
    assert_eq!((answer.replayed, answer.failed.len()), (1, 0), "{answer:?}");
    let got = origin.wait_for(sent.len() + 1);
    assert_eq!(got.last().map(String::as_str), Some(id));
    assert!(admin(&worker)
        .list(&Selection::default(), None)
        .unwrap()
        .is_empty());
    assert!(worker.kv_keys("dead").is_empty(), "every key of it removed");
}

#[test]
fn origin_mode_tries_each_url_destination_inline_and_queues_each_failure_on_its_own() {
    let app = Recorder::start("127.0.0.1:0", ORIGIN_SECRET);
    let down = free_port();
    let mut setup = Setup::new("http://127.0.0.1:9/unused");
    setup.forward_mode = "origin";
    setup.destinations = format!(
        "\n[vars.DESTINATIONS.app]\nurl = \"{}\"\n\n[vars.DESTINATIONS.failures]\n\
         url = \"http://127.0.0.1:{down}/events\"\nsecret = \"FAILURES_SECRET\"\n\
         retry_schedule_s = \"1\"\n",
        app.url()
    );
    setup
        .secrets
        .push(("FAILURES_SECRET", FAILURES_SECRET.into()));
    setup.secrets.push(("ADMIN_TOKEN", ADMIN_TOKEN.into()));
    let worker = Worker::start(&setup);
    let sent = send_mixed(&worker, 1, "inline");
    // Delivered inline: at the origin before the provider had its answer.
    let ids: BTreeSet<String> = app.ids().into_iter().collect();
    assert_eq!(ids, ids_where(&sent, |_| true));
    // The down one went to the queue on its own, and dead-letters there after its schedule.
    let dead = wait_for_dead(&worker, sent.len());
    assert_eq!(dead.len(), sent.len(), "{dead:?}");
    assert!(dead.iter().all(|l| l.destination == "failures"));
    assert_eq!(
        app.origin.state.requests() as usize,
        sent.len(),
        "app was tried once each"
    );

    // Without a queue, a failure is a 503 and nothing is marked seen.
    setup.with_queue = false;
    let worker = Worker::start(&setup);
    let d = delivery(&worker, "skyvern", "completed", "no-queue");
    let reply = post(&d);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(json(&reply)["message"]
        .as_str()
        .unwrap()
        .contains("failures: origin unreachable"));
    let again = post(&d);
    assert_eq!(
        again.status, 503,
        "not answered duplicate: it was never marked seen"
    );
}
