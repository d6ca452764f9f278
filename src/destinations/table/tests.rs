use super::*;
use crate::destinations::Facts;

const APP_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_vars(|n| map.get(n).cloned()).unwrap()
}

fn secret(name: &str) -> Option<Secret> {
    match name {
        "ORIGIN_SECRET" | "FAILURES_SECRET" => Some(Secret::new(APP_SECRET)),
        "EMPTY" => Some(Secret::new("")),
        "NOT_WHSEC" => Some(Secret::new("not base64 !")),
        _ => None,
    }
}

fn load(tables: &str) -> Result<Destinations, ConfigError> {
    let lookups = Lookups {
        secret: &secret,
        queue_bound: &|b| b == "AGENT_EVENTS",
        source_exists: &|s| ["skyvern", "browser-use", "smartbrowse"].contains(&s),
    };
    destinations(Some(tables), &settings(&[]), &lookups)
}

/// The contract's example (§7), as wrangler hands `[vars.DESTINATIONS.*]` over: JSON.
const THREE: &str = r#"{
    "app": {"url": "https://app.example.com/hooks/edgehook", "secret": "ORIGIN_SECRET",
            "timeout_ms": 15000},
    "failures": {"url": "https://hooks.slack.example/T/B/secret-path", "secret": "FAILURES_SECRET",
                 "statuses": ["failed", "timed_out"], "sources": ["skyvern", "browser-use"],
                 "retry_schedule_s": "5,60,300"},
    "agents": {"queue": "AGENT_EVENTS", "types": ["run.completed", "run.failed"]}
}"#;

#[test]
fn the_contracts_three_destinations_route_as_it_says() {
    let d = load(THREE).unwrap();
    let names: Vec<&str> = d.all().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["agents", "app", "failures"]);
    let route = |source, status: Status, event_type| -> Vec<String> {
        let facts = Facts {
            source,
            status,
            event_type,
        };
        d.matching(&facts).iter().map(|d| d.name.clone()).collect()
    };
    assert_eq!(
        route("skyvern", Status::Failed, "run.failed"),
        ["agents", "app", "failures"]
    );
    assert_eq!(
        route("smartbrowse", Status::Failed, "run.failed"),
        ["agents", "app"]
    );
    assert_eq!(
        route("skyvern", Status::Completed, "run.completed"),
        ["agents", "app"]
    );
    assert_eq!(route("skyvern", Status::Running, "run.running"), ["app"]);

    let failures = d.get("failures").unwrap();
    assert_eq!(failures.retry_schedule_s, [5, 60, 300]);
    assert_eq!(failures.target(), "https://hooks.slack.example");
    assert_eq!(failures.kind_name(), "url");
    let app = d.get("app").unwrap();
    assert_eq!(
        app.retry_schedule_s,
        crate::config::DEFAULT_RETRY_SCHEDULE_S
    );
    let agents = d.get("agents").unwrap();
    assert_eq!(
        (agents.kind_name(), agents.target().as_str()),
        ("queue", "AGENT_EVENTS")
    );
    assert_eq!(d.longest_schedule_s(), 106_565);
}

#[test]
fn without_destinations_origin_url_is_the_one_destination() {
    let lookups = Lookups {
        secret: &secret,
        queue_bound: &|_| false,
        source_exists: &|_| true,
    };
    let s = settings(&[
        ("ORIGIN_URL", "http://127.0.0.1:9000/events"),
        ("RETRY_SCHEDULE_S", "1,2"),
    ]);
    let d = destinations(None, &s, &lookups).unwrap();
    let [origin] = d.all() else {
        panic!("one destination: {d:?}")
    };
    assert_eq!(origin.name, DEFAULT_DESTINATION);
    assert_eq!(origin.retry_schedule_s, [1, 2]);
    assert!(
        matches!(&origin.kind, Kind::Url { url, timeout_ms: 15_000, .. }
        if url == "http://127.0.0.1:9000/events")
    );
    assert!(origin.filter.matches(&Facts {
        source: "any",
        status: Status::Unknown,
        event_type: "webhook.test"
    }));

    let err = destinations(None, &settings(&[]), &lookups).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Var {
                name: "ORIGIN_URL",
                ..
            }
        ),
        "{err}"
    );
    let no_secret = Lookups {
        secret: &|_| None,
        ..lookups
    };
    let s = settings(&[("ORIGIN_URL", "http://o/")]);
    let err = destinations(None, &s, &no_secret).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Var {
                name: "ORIGIN_SECRET",
                ..
            }
        ),
        "{err}"
    );
}

/// The error a table gives, as the answer's message says it.
fn error(tables: &str) -> String {
    load(tables).unwrap_err().to_string()
}

#[test]
fn each_wrong_table_names_the_destination_and_the_key() {
    let cases = [
        (
            r#"{"a":{"url":"http://x/","queue":"AGENT_EVENTS"}}"#,
            "destination `a`: `url` set exactly one of `url` and `queue`, not both",
        ),
        (
            r#"{"a":{"statuses":["failed"]}}"#,
            "destination `a`: `url` set one of `url` or `queue`",
        ),
        (
            r#"{"a":{"url":"http://x/","statuses":["failed","done"]}}"#,
            "destination `a`: `statuses` `done` is not a status; use one of queued,",
        ),
        (
            r#"{"Bad_Name":{"url":"http://x/"}}"#,
            "destination `Bad_Name`: `name` a destination's name is [a-z0-9-], 1 to 32 bytes",
        ),
        (
            &format!(r#"{{"{}":{{"url":"http://x/"}}}}"#, "a".repeat(33)),
            "`name` a destination's name is [a-z0-9-]",
        ),
        (
            r#"{"a":{"queue":"NOT_BOUND"}}"#,
            "destination `a`: `queue` `NOT_BOUND` is not a queue producer binding of this Worker",
        ),
        (
            r#"{"a":{"url":"http://x/","secret":"UNSET"}}"#,
            "destination `a`: `secret` secret `UNSET` is not set (wrangler secret put UNSET",
        ),
        (
            r#"{"a":{"url":"http://x/","secret":"EMPTY"}}"#,
            "`secret` secret `EMPTY` is not set",
        ),
        (
            r#"{"a":{"url":"http://x/","secret":"NOT_WHSEC"}}"#,
            "destination `a`: `secret` secret `NOT_WHSEC`:",
        ),
        (
            r#"{"a":{"url":"ftp://x/token"}}"#,
            "destination `a`: `url` `ftp://x` is not an http:// or https:// URL",
        ),
        (
            r#"{"a":{"url":"http://x/","timeout_ms":0}}"#,
            "destination `a`: `timeout_ms` must be a whole number of milliseconds from 1 to",
        ),
        (
            r#"{"a":{"queue":"AGENT_EVENTS","secret":"ORIGIN_SECRET"}}"#,
            "destination `a`: `queue` `secret` does not apply to a queue destination",
        ),
        (
            r#"{"a":{"url":"http://x/","types":["run.done"]}}"#,
            "destination `a`: `types` `run.done` is not an envelope type",
        ),
        (
            r#"{"a":{"url":"http://x/","sources":["skyvren"]}}"#,
            "destination `a`: `sources` `skyvren` is not a configured source",
        ),
        (
            r#"{"a":{"url":"http://x/","sources":"skyvern"}}"#,
            "destination `a`: `sources` must be a list of strings",
        ),
        (
            r#"{"a":{"url":"http://x/","retry_schedule_s":"5,99999"}}"#,
            "destination `a`: `retry_schedule_s` 99999 is over 43200 s",
        ),
        (
            r#"{"a":{"url":"http://x/","retry_schedule_s":[]}}"#,
            "`retry_schedule_s` an empty list: write \"none\"",
        ),
        (
            r#"{"a":{"url":"http://x/","filter":{}}}"#,
            "destination `a`: `name` `filter` is not a destination key; known: url, secret,",
        ),
        (
            r#"{}"#,
            "DESTINATIONS: no destinations: events need somewhere to go",
        ),
        (r#"[1]"#, "DESTINATIONS: not a table of destinations"),
    ];
    for (tables, want) in cases {
        let got = error(tables);
        assert!(got.contains(want), "{tables}:\n  got  {got}\n  want {want}");
    }
    // A URL in an error stops before its path, which may hold a token.
    assert!(!error(r#"{"a":{"url":"ftp://x/token"}}"#).contains("token"));
}

#[test]
fn schedules_and_timeouts_may_be_written_as_numbers_or_text() {
    let d = load(
        r#"{"a":{"url":"http://x/","timeout_ms":"2500","retry_schedule_s":[1,2,3]},
            "b":{"url":"http://x/","retry_schedule_s":"none"}}"#,
    )
    .unwrap();
    let a = d.get("a").unwrap();
    assert!(matches!(
        a.kind,
        Kind::Url {
            timeout_ms: 2500,
            ..
        }
    ));
    assert_eq!(a.retry_schedule_s, [1, 2, 3]);
    assert!(d.get("b").unwrap().retry_schedule_s.is_empty());
    assert!(matches!(
        &d.get("b").unwrap().kind,
        Kind::Url { secret, .. } if secret == "ORIGIN_SECRET"
    ));
}
