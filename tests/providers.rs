//! The three providers against vectors computed with the providers' own signing code
//! (`tests/fixtures/providers.json`, a copy of `../shared/vectors/providers.json`) and with
//! our own Python reference (`tests/fixtures/generated.json`), plus the negative cases.

use edgehook::config::{SourceConfig, TokenAuth};
use edgehook::providers::{self, Delivery, Headers, Provider};
use edgehook::{accept, Envelope, Error, Secret, Status};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn all_vectors() -> Vec<(String, Value)> {
    let mut v = Vec::new();
    for file in ["providers.json", "generated.json"] {
        let f = fixture(file);
        for (provider, list) in f.as_object().unwrap() {
            for vector in list.as_array().unwrap() {
                v.push((provider.clone(), vector.clone()));
            }
        }
    }
    v
}

fn provider(
    name: &str,
    secrets: &[&str],
    tolerance_s: Option<u64>,
    auth: Option<&str>,
) -> Box<dyn Provider> {
    let cfg = SourceConfig {
        provider: name.into(),
        secrets: (0..secrets.len()).map(|i| format!("S{i}")).collect(),
        tolerance_s,
        auth: auth.map(|a| a.parse::<TokenAuth>().unwrap()),
        ..SourceConfig::default()
    };
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    providers::build("src", &cfg, |n: &str| {
        let i: usize = n[1..].parse().ok()?;
        Some(Secret::new(secrets[i].clone()))
    })
    .unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().map(|(k, v)| (*k, *v)).collect()
}

fn bu_headers(sig: &str, ts: &str) -> Headers {
    headers(&[
        ("X-Browser-Use-Signature", sig),
        ("X-Browser-Use-Timestamp", ts),
    ])
}

fn run(
    p: &dyn Provider,
    h: &Headers,
    body: &[u8],
    token: Option<&str>,
    now_ms: u64,
) -> Result<Envelope, Error> {
    let d = Delivery {
        headers: h,
        body,
        path_token: token,
    };
    accept("src", p, &d, now_ms)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// The vendored copy must be the shared one, so the tests cannot drift from the contract.
#[test]
fn vendored_vectors_match_shared() {
    let shared = format!(
        "{}/../shared/vectors/providers.json",
        env!("CARGO_MANIFEST_DIR")
    );
    if let Ok(text) = std::fs::read_to_string(&shared) {
        let ours = std::fs::read_to_string(format!("{FIXTURES}/providers.json")).unwrap();
        assert_eq!(
            text, ours,
            "tests/fixtures/providers.json differs from {shared}: copy it again"
        );
    }
}

#[test]
fn every_vector_verifies_and_its_canonical_form_matches() {
    let vectors = all_vectors();
    assert!(vectors.len() >= 15, "only {} vectors", vectors.len());
    for (name, v) in &vectors {
        let body = s(&v["body"]).as_bytes();
        let secret = s(&v["secret"]);
        match name.as_str() {
            "browser-use" => {
                let ts = s(&v["timestamp"]);
                let mut msg = format!("{ts}.").into_bytes();
                edgehook::canonical::canonicalize(body, &mut msg).unwrap();
                assert_eq!(
                    String::from_utf8(msg).unwrap(),
                    s(&v["signed_message"]),
                    "{}",
                    v["note"]
                );
                let p = provider(name, &[secret], None, None);
                let now_ms = ts.parse::<u64>().unwrap() * 1000;
                let env = run(&*p, &bu_headers(s(&v["signature"]), ts), body, None, now_ms)
                    .unwrap_or_else(|e| panic!("{}: {e}", v["note"]));
                assert!(env.id.starts_with("browser-use:"), "{}", env.id);
            }
            "skyvern" => {
                let p = provider(name, &[secret], None, None);
                let h = &v["headers"];
                let hs = headers(&[
                    ("x-skyvern-signature", s(&h["x-skyvern-signature"])),
                    ("x-skyvern-timestamp", s(&h["x-skyvern-timestamp"])),
                ]);
                // The timestamp is years old: not enforced by default.
                let env = run(&*p, &hs, body, None, 4_000_000_000_000)
                    .unwrap_or_else(|e| panic!("{}: {e}", v["note"]));
                assert!(env.id.starts_with("skyvern:"), "{}", env.id);
            }
            other => panic!("no test for provider {other}"),
        }
    }
}

fn shared_bu(i: usize) -> (String, String, String, String) {
    let v = &fixture("providers.json")["browser-use"][i];
    (
        s(&v["secret"]).into(),
        s(&v["timestamp"]).into(),
        s(&v["body"]).into(),
        s(&v["signature"]).into(),
    )
}

#[test]
fn browser_use_refusals_name_the_problem() {
    let (secret, ts, body, sig) = shared_bu(1);
    let p = provider("browser-use", &[&secret], None, None);
    let now = ts.parse::<u64>().unwrap() * 1000;
    let b = body.as_bytes();
    let sig_h = "X-Browser-Use-Signature";
    let ts_h = "X-Browser-Use-Timestamp";

    let only_ts = headers(&[(ts_h, &ts)]);
    assert_eq!(
        run(&*p, &only_ts, b, None, now).unwrap_err(),
        Error::MissingSignature { header: sig_h }
    );
    let only_sig = headers(&[(sig_h, &sig)]);
    assert_eq!(
        run(&*p, &only_sig, b, None, now).unwrap_err(),
        Error::MissingTimestamp { header: ts_h }
    );
    assert_eq!(
        run(&*p, &bu_headers(&sig[..40], &ts), b, None, now).unwrap_err(),
        Error::MalformedSignature { header: sig_h }
    );
    let mut flipped = sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        run(
            &*p,
            &bu_headers(std::str::from_utf8(&flipped).unwrap(), &ts),
            b,
            None,
            now
        )
        .unwrap_err(),
        Error::BadSignature { header: sig_h }
    );
    // Same signature, another timestamp: the timestamp is signed.
    let ts2 = (ts.parse::<u64>().unwrap() + 1).to_string();
    assert_eq!(
        run(&*p, &bu_headers(&sig, &ts2), b, None, now).unwrap_err(),
        Error::BadSignature { header: sig_h }
    );
    // Tolerance ±1 s around 300.
    let h = bu_headers(&sig, &ts);
    assert!(run(&*p, &h, b, None, now + 300_000).is_ok());
    assert_eq!(
        run(&*p, &h, b, None, now + 301_000).unwrap_err(),
        Error::StaleTimestamp {
            age_s: 301,
            tolerance_s: 300
        }
    );
    assert!(run(&*p, &h, b, None, now - 300_000).is_ok());
    assert_eq!(
        run(&*p, &h, b, None, now - 301_000).unwrap_err(),
        Error::FutureTimestamp {
            ahead_s: 301,
            tolerance_s: 300
        }
    );
    // A byte changed in a string value changes the canonical form.
    let tampered = body.replace("t1", "t2");
    assert_eq!(
        run(&*p, &h, tampered.as_bytes(), None, now).unwrap_err(),
        Error::BadSignature { header: sig_h }
    );
    // Re-formatting that does not change the data still verifies: that is the point.
    let reformatted =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    assert!(run(&*p, &h, reformatted.as_bytes(), None, now).is_ok());
    // Not JSON: 400, not 401.
    assert!(matches!(
        run(&*p, &h, b"not json", None, now).unwrap_err(),
        Error::Malformed { .. }
    ));
    // Uppercase hex is the same signature.
    assert!(run(&*p, &bu_headers(&sig.to_uppercase(), &ts), b, None, now).is_ok());
}

#[test]
fn key_rotation_accepts_any_configured_secret() {
    let (secret, ts, body, sig) = shared_bu(0);
    let now = ts.parse::<u64>().unwrap() * 1000;
    let h = bu_headers(&sig, &ts);
    for secrets in [
        vec!["new-key", secret.as_str()],
        vec![secret.as_str(), "new-key"],
    ] {
        let p = provider("browser-use", &secrets, None, None);
        assert!(run(&*p, &h, body.as_bytes(), None, now).is_ok());
    }
    let p = provider("browser-use", &["new-key", "other"], None, None);
    assert!(matches!(
        run(&*p, &h, body.as_bytes(), None, now),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn browser_use_envelope_follows_the_contract() {
    let (secret, ts, body, sig) = shared_bu(1);
    let p = provider("browser-use", &[&secret], Some(10), None);
    let now = ts.parse::<u64>().unwrap() * 1000 + 1_234;
    let env = run(&*p, &bu_headers(&sig, &ts), body.as_bytes(), None, now).unwrap();
    let mut canonical = Vec::new();
    edgehook::canonical::canonicalize(body.as_bytes(), &mut canonical).unwrap();
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(&canonical));
    assert_eq!(env.id, format!("browser-use:{digest}"));
    assert_eq!(env.event_type, "run.completed");
    assert_eq!(env.source, "/in/src");
    assert_eq!(env.subject.as_deref(), Some("t1"));
    assert_eq!(env.time, "2025-05-25T09:22:22.269116Z");
    assert_eq!(env.receivedat, "2023-11-14T22:13:21.234Z");
    assert_eq!(env.data.status, Status::Completed);
    assert_eq!(env.data.provider_status.as_deref(), Some("finished"));
    assert_eq!(
        env.data.provider_event.as_deref(),
        Some("agent.task.status_update")
    );
    assert!(env.data.terminal);
    assert_eq!(
        env.data.payload.get(),
        body,
        "the payload is the body, byte for byte"
    );
    // The envelope is valid JSON and round-trips.
    let json: Value = serde_json::from_str(&env.to_json()).unwrap();
    assert_eq!(json["specversion"], "1.0");
    assert_eq!(json["datacontenttype"], "application/json");
    assert_eq!(json["data"]["error"], Value::Null);
    assert_eq!(
        json["data"]["payload"]["payload"]["metadata"]["city"],
        "München"
    );

    // The test ping.
    let (secret, ts, body, sig) = shared_bu(0);
    let p = provider("browser-use", &[&secret], None, None);
    let env = run(
        &*p,
        &bu_headers(&sig, &ts),
        body.as_bytes(),
        None,
        ts.parse::<u64>().unwrap() * 1000,
    )
    .unwrap();
    assert_eq!(env.event_type, "webhook.test");
    assert_eq!(env.subject, None);
    assert!(!env.data.terminal);
}

#[test]
fn browser_use_status_vocabulary() {
    use edgehook::providers::browser_use::status;
    let cases = [
        ("initializing", Status::Queued),
        ("started", Status::Running),
        ("running", Status::Running),
        ("paused", Status::Paused),
        ("finished", Status::Completed),
        ("stopped", Status::Canceled),
        // v3 session statuses (browser-use-sdk 3.x `BuAgentSessionStatus`).
        ("created", Status::Queued),
        ("idle", Status::Completed),
        ("error", Status::Failed),
        ("timed_out", Status::TimedOut),
        ("exploded", Status::Unknown),
    ];
    for (word, want) in cases {
        assert_eq!(status(word), want, "{word}");
    }
}

fn sky_sign(key: &str, body: &str) -> String {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(body.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

#[test]
fn skyvern_signature_prefix_timestamp_and_refusals() {
    let key = "sk_test";
    let body = r#"{"run_id":"tsk_123","status":"completed","run_type":"task_v2","finished_at":"2024-03-01T10:05:23"}"#;
    let sig = sky_sign(key, body);
    let p = provider("skyvern", &[key], None, None);
    let now = 1_709_287_524_120;
    let h = headers(&[("x-skyvern-signature", &sig)]);
    let env = run(&*p, &h, body.as_bytes(), None, now).unwrap();
    assert_eq!(env.id, "skyvern:tsk_123:completed");
    assert_eq!(env.event_type, "run.completed");
    assert_eq!(env.subject.as_deref(), Some("tsk_123"));
    assert_eq!(env.time, "2024-03-01T10:05:23Z");
    assert_eq!(env.data.provider_event.as_deref(), Some("task_v2"));
    assert_eq!(env.receivedat, "2024-03-01T10:05:24.120Z");

    let prefixed = format!("sha256={sig}");
    assert!(run(
        &*p,
        &headers(&[("X-Skyvern-Signature", &prefixed)]),
        body.as_bytes(),
        None,
        now
    )
    .is_ok());
    assert_eq!(
        run(&*p, &headers(&[]), body.as_bytes(), None, now).unwrap_err(),
        Error::MissingSignature {
            header: "x-skyvern-signature"
        }
    );
    // The raw bytes are signed: re-formatting breaks the signature.
    let spaced = body.replace(',', ", ");
    assert!(matches!(
        run(&*p, &h, spaced.as_bytes(), None, now),
        Err(Error::BadSignature { .. })
    ));
    // The stale, unsigned timestamp is ignored by default ...
    let old = headers(&[
        ("x-skyvern-signature", &sig),
        ("x-skyvern-timestamp", "1000"),
    ]);
    assert!(run(&*p, &old, body.as_bytes(), None, now).is_ok());
    // ... and enforced when tolerance_s opts in.
    let strict = provider("skyvern", &[key], Some(60), None);
    assert!(matches!(
        run(&*strict, &old, body.as_bytes(), None, now),
        Err(Error::StaleTimestamp { .. })
    ));
    assert_eq!(
        run(&*strict, &h, body.as_bytes(), None, now).unwrap_err(),
        Error::MissingTimestamp {
            header: "x-skyvern-timestamp"
        }
    );
}

#[test]
fn skyvern_fields_and_fallbacks() {
    let key = "k";
    let p = provider("skyvern", &[key], None, None);
    let go = |body: &str| {
        let h = headers(&[("x-skyvern-signature", &sky_sign(key, body))]);
        run(&*p, &h, body.as_bytes(), None, 1_700_000_000_000)
    };
    let env = go(r#"{"task_id":"tsk_9","status":"terminated","failure_reason":"stopped by user"}"#)
        .unwrap();
    assert_eq!(env.id, "skyvern:tsk_9:terminated");
    assert_eq!(env.data.status, Status::Canceled);
    assert_eq!(
        env.data.error,
        Some(Value::String("stopped by user".into()))
    );
    let env = go(r#"{"run_id":"wr_1","status":"warming_up"}"#).unwrap();
    assert_eq!(
        (env.event_type.as_str(), env.data.status),
        ("run.unknown", Status::Unknown)
    );
    assert_eq!(env.data.provider_status.as_deref(), Some("warming_up"));
    assert_eq!(
        go(r#"{"status":"completed"}"#).unwrap_err(),
        Error::MissingField { field: "run_id" }
    );
    assert_eq!(
        go(r#"{"run_id":"r"}"#).unwrap_err(),
        Error::MissingField { field: "status" }
    );
    assert!(matches!(go("[1,2]"), Err(Error::Malformed { .. })));
    assert!(matches!(go("{\"run_id\":"), Err(Error::Malformed { .. })));
    use edgehook::providers::skyvern::status;
    for (w, want) in [
        ("created", Status::Queued),
        ("queued", Status::Queued),
        ("running", Status::Running),
        ("paused", Status::Paused),
        ("completed", Status::Completed),
        ("failed", Status::Failed),
        ("terminated", Status::Canceled),
        ("canceled", Status::Canceled),
        ("timed_out", Status::TimedOut),
    ] {
        assert_eq!(status(w), want, "{w}");
    }
}

#[test]
fn smartbrowse_token_in_path_bearer_or_header() {
    let body =
        r#"{"event":"smartbrowse.completed","run_id":"sb_1","timestamp":"2024-03-01T10:05:23Z"}"#;
    let b = body.as_bytes();
    let now = 1_709_287_524_000;
    let none = headers(&[]);

    let path = provider("smartbrowse", &["tok-old", "tok-new"], None, Some("path"));
    assert!(path.takes_path_token());
    let env = run(&*path, &none, b, Some("tok-new"), now).unwrap();
    assert_eq!(env.id, "smartbrowse:sb_1:smartbrowse.completed");
    assert_eq!(
        (env.event_type.as_str(), env.data.terminal),
        ("run.completed", true)
    );
    assert!(run(&*path, &none, b, Some("tok-old"), now).is_ok());
    assert_eq!(
        run(&*path, &none, b, Some("tok"), now).unwrap_err(),
        Error::BadToken
    );
    assert!(matches!(
        run(&*path, &none, b, None, now),
        Err(Error::MissingToken { .. })
    ));

    let bearer = provider("smartbrowse", &["tok"], None, Some("bearer"));
    assert!(!bearer.takes_path_token());
    assert!(run(
        &*bearer,
        &headers(&[("Authorization", "Bearer tok")]),
        b,
        None,
        now
    )
    .is_ok());
    assert!(run(
        &*bearer,
        &headers(&[("authorization", "bearer  tok")]),
        b,
        None,
        now
    )
    .is_ok());
    assert_eq!(
        run(
            &*bearer,
            &headers(&[("Authorization", "Bearer nope")]),
            b,
            None,
            now
        )
        .unwrap_err(),
        Error::BadToken
    );
    assert!(matches!(
        run(
            &*bearer,
            &headers(&[("Authorization", "Basic dG9r")]),
            b,
            None,
            now
        ),
        Err(Error::MissingToken { .. })
    ));

    let header = provider(
        "smartbrowse",
        &["tok"],
        None,
        Some("header:X-SmartBrowse-Token"),
    );
    assert!(run(
        &*header,
        &headers(&[("x-smartbrowse-token", "tok")]),
        b,
        None,
        now
    )
    .is_ok());
    let err = run(&*header, &none, b, None, now).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no token: this source expects it in the X-SmartBrowse-Token header"
    );
}

#[test]
fn smartbrowse_events_and_required_fields() {
    let p = provider("smartbrowse", &["t"], None, Some("path"));
    let go = |body: &str| {
        run(
            &*p,
            &headers(&[]),
            body.as_bytes(),
            Some("t"),
            1_700_000_000_000,
        )
    };
    let env = go(r#"{"event":"cancelled","run_id":"r","error":{"code":"user"}}"#).unwrap();
    assert_eq!(
        (env.data.status, env.event_type.as_str()),
        (Status::Canceled, "run.canceled")
    );
    assert_eq!(env.data.error, Some(serde_json::json!({"code": "user"})));
    assert_eq!(
        go(r#"{"event":"failed","run_id":"r"}"#)
            .unwrap()
            .data
            .status,
        Status::Failed
    );
    assert_eq!(
        go(r#"{"event":"progress","run_id":"r"}"#)
            .unwrap()
            .data
            .status,
        Status::Unknown
    );
    let ping = go(r#"{"event":"smartbrowse.test"}"#).unwrap();
    assert_eq!(ping.event_type, "webhook.test");
    assert!(ping.id.starts_with("smartbrowse:test:"));
    assert_eq!(
        go(r#"{"run_id":"r"}"#).unwrap_err(),
        Error::MissingField { field: "event" }
    );
    assert_eq!(
        go(r#"{"event":"completed"}"#).unwrap_err(),
        Error::MissingField { field: "run_id" }
    );
}

#[test]
fn nothing_panics_on_hostile_input() {
    let p = provider("browser-use", &["k"], None, None);
    let sky = provider("skyvern", &["k"], None, None);
    let inputs: [&[u8]; 9] = [
        b"",
        b"\xff\xfe",
        b"{",
        b"[[[[[[",
        b"\"\\ud800\"",
        b"1e999999",
        b"{\"a\":NaN}",
        b"\x00",
        &[b'['; 100_000],
    ];
    for input in inputs {
        for (sig, ts) in [
            ("00", "1"),
            ("zz", "-1"),
            ("", ""),
            (&"a".repeat(64)[..], "99999999999999999999999"),
        ] {
            let _ = run(&*p, &bu_headers(sig, ts), input, None, 0);
            let _ = run(&*p, &bu_headers(sig, ts), input, None, u64::MAX);
            let _ = run(
                &*sky,
                &headers(&[("x-skyvern-signature", sig)]),
                input,
                None,
                0,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The providers of the second round: vectors made by each sender's own code or official
// library (`tests/fixtures/senders.json`, from `tests/fixtures/make_sender_vectors.py`),
// then each trusted verifier's negative cases.

/// A source built from its table as JSON (as in SOURCES), with `secrets` bound as S0, S1, …
fn source(table: &Value, secrets: &[&str]) -> Result<Box<dyn Provider>, String> {
    let mut table = table.clone();
    table["secrets"] = (0..secrets.len()).map(|i| format!("S{i}")).collect();
    let cfg: SourceConfig = serde_json::from_value(table).map_err(|e| e.to_string())?;
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    providers::build("src", &cfg, |n: &str| {
        let i: usize = n[1..].parse().ok()?;
        Some(Secret::new(secrets[i].clone()))
    })
    .map_err(|e| e.to_string())
}

fn sender_vectors() -> Vec<(String, Value)> {
    let f = fixture("senders.json");
    f.as_object()
        .unwrap()
        .iter()
        .flat_map(|(case, list)| {
            list.as_array()
                .unwrap()
                .iter()
                .map(move |v| (case.clone(), v.clone()))
        })
        .collect()
}

/// A change to a request's headers.
type Edit = dyn Fn(&mut Vec<(String, String)>);

/// One vector's request, with `edit` applied to its headers.
fn vector_run(
    v: &Value,
    p: &dyn Provider,
    edit: impl Fn(&mut Vec<(String, String)>),
    now_s: i64,
) -> Result<Envelope, Error> {
    let mut pairs: Vec<(String, String)> = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), s(v).to_owned()))
        .collect();
    edit(&mut pairs);
    let h: Headers = pairs.into_iter().collect();
    run(
        p,
        &h,
        s(&v["body"]).as_bytes(),
        v["path_token"].as_str(),
        u64::try_from(now_s).unwrap() * 1000,
    )
}

fn vector_provider(v: &Value) -> Box<dyn Provider> {
    let secrets: Vec<&str> = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    source(&v["source"], &secrets).unwrap_or_else(|e| panic!("{}: {e}", v["note"]))
}

#[test]
fn every_sender_vector_verifies_and_normalizes_as_expected() {
    let vectors = sender_vectors();
    let cases: std::collections::BTreeSet<_> = vectors.iter().map(|(c, _)| c.as_str()).collect();
    for want in [
        "browser-use",
        "standard-webhooks",
        "browserbase",
        "stripe",
        "github",
        "slack",
        "shopify",
        "firecrawl",
        "anchor",
        "apify",
    ] {
        assert!(cases.contains(want), "no {want} vectors");
    }
    for (case, v) in &vectors {
        let p = vector_provider(v);
        let env = vector_run(v, &*p, |_| {}, v["now"].as_i64().unwrap())
            .unwrap_or_else(|e| panic!("{case} {}: {e}", v["note"]));
        let e = &v["expect"];
        let what = format!("{case} {}", v["note"]);
        assert_eq!(env.id, s(&e["id"]), "{what}");
        assert_eq!(env.data.status.as_str(), s(&e["status"]), "{what}");
        assert_eq!(
            env.data.provider_status.as_deref(),
            e["provider_status"].as_str(),
            "{what}"
        );
        assert_eq!(env.data.run_id.as_deref(), e["run_id"].as_str(), "{what}");
        assert_eq!(env.event_type, format!("run.{}", s(&e["status"])), "{what}");
        assert_eq!(env.data.payload.get(), s(&v["body"]), "{what}");
        // A byte changed in the body: refused, unless the source is unsigned.
        let mut tampered = s(&v["body"]).to_owned();
        tampered.insert(1, ' ');
        let h: Headers = v["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), s(x).to_owned()))
            .collect();
        let now_ms = v["now"].as_u64().unwrap() * 1000;
        let refused = run(
            &*p,
            &h,
            tampered.as_bytes(),
            v["path_token"].as_str(),
            now_ms,
        );
        match case.as_str() {
            "apify" => assert!(refused.is_ok(), "{what}"),
            // Browser Use signs the canonical form: whitespace does not change it.
            "browser-use" => assert!(refused.is_ok(), "{what}"),
            _ => assert!(
                matches!(refused, Err(Error::BadSignature { .. })),
                "{what}: {refused:?}"
            ),
        }
    }
}

fn first(case: &str, note: &str) -> Value {
    sender_vectors()
        .into_iter()
        .find(|(c, v)| c == case && v["note"].as_str().unwrap().contains(note))
        .unwrap_or_else(|| panic!("no {case} vector {note}"))
        .1
}

fn without(name: &'static str) -> impl Fn(&mut Vec<(String, String)>) {
    move |h| h.retain(|(k, _)| !k.eq_ignore_ascii_case(name))
}

fn set(name: &'static str, value: String) -> impl Fn(&mut Vec<(String, String)>) {
    move |h| {
        h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        h.push((name.to_owned(), value.clone()));
    }
}

/// Flips one character of a signature's last hex/base64 digit, keeping it well-formed.
fn flip_last(sig: &str) -> String {
    let mut s = sig.to_owned();
    let c = s.pop().unwrap();
    s.push(if c == 'a' || c == 'A' { 'b' } else { 'a' });
    if sig.ends_with('=') {
        // base64 padding: flip the character before it instead.
        let mut s = sig.trim_end_matches('=').to_owned();
        let c = s.pop().unwrap();
        s.push(if c == 'A' { 'B' } else { 'A' });
        return s + &"=".repeat(sig.len() - sig.trim_end_matches('=').len());
    }
    s
}

#[test]
fn standard_webhooks_refusals_follow_the_reference_verifiers() {
    let v = first("standard-webhooks", "webhook-* headers");
    let p = vector_provider(&v);
    let now = v["now"].as_i64().unwrap();
    let sig = s(&v["headers"]["webhook-signature"]).to_owned();
    let go = |edit: &Edit, now: i64| vector_run(&v, &*p, edit, now).map(|e| e.id);
    assert_eq!(go(&|_| {}, now), Ok("standard-webhooks:msg_1".into()));
    // Each header missing.
    assert_eq!(
        go(&without("webhook-signature"), now),
        Err(Error::MissingSignature {
            header: "webhook-signature"
        })
    );
    assert_eq!(
        go(&without("webhook-id"), now),
        Err(Error::MissingSignature {
            header: "webhook-id"
        })
    );
    assert_eq!(
        go(&without("webhook-timestamp"), now),
        Err(Error::MissingTimestamp {
            header: "webhook-timestamp"
        })
    );
    // A wrong signature, one of another version only, none decodable.
    let bad = Err(Error::BadSignature {
        header: "webhook-signature",
    });
    assert_eq!(go(&set("webhook-signature", flip_last(&sig)), now), bad);
    assert_eq!(
        go(&set("webhook-signature", sig.replace("v1,", "v1a,")), now),
        bad
    );
    assert_eq!(go(&set("webhook-signature", "v1,???".into()), now), bad);
    // The id and timestamp are signed.
    assert_eq!(go(&set("webhook-id", "msg_2".into()), now), bad);
    // Several signatures, one matching, in either order.
    let other = format!("v1,{}", "A".repeat(43) + "=");
    assert!(go(&set("webhook-signature", format!("{other} {sig}")), now).is_ok());
    assert!(go(&set("webhook-signature", format!("{sig} {other}")), now).is_ok());
    // Tolerance 300 s both ways, ±1 s.
    assert!(go(&|_| {}, now + 300).is_ok());
    assert_eq!(
        go(&|_| {}, now + 301),
        Err(Error::StaleTimestamp {
            age_s: 301,
            tolerance_s: 300
        })
    );
    assert!(go(&|_| {}, now - 300).is_ok());
    assert_eq!(
        go(&|_| {}, now - 301),
        Err(Error::FutureTimestamp {
            ahead_s: 301,
            tolerance_s: 300
        })
    );
    // The svix-* family: its headers are named in the errors when it is the one used.
    let svix = first("standard-webhooks", "svix-* headers");
    let p2 = vector_provider(&svix);
    let now2 = svix["now"].as_i64().unwrap();
    assert!(vector_run(&svix, &*p2, |_| {}, now2).is_ok());
    assert_eq!(
        vector_run(&svix, &*p2, without("svix-signature"), now2).map(|e| e.id),
        Err(Error::MissingSignature {
            header: "svix-signature"
        })
    );
    // Rotation: the svix vector's table has the rotated-out key first; alone it refuses.
    let old_only = source(&svix["source"], &[svix["secrets"][0].as_str().unwrap()]).unwrap();
    assert_eq!(
        vector_run(&svix, &*old_only, |_| {}, now2).map(|e| e.id),
        Err(Error::BadSignature {
            header: "svix-signature"
        })
    );
}

#[test]
fn standard_webhooks_secrets_must_be_whsec_and_not_empty() {
    let table = serde_json::json!({"provider": "standard-webhooks"});
    let err = source(&table, &[""]).err().unwrap();
    assert_eq!(err, "source `src`: secret `S0` is empty");
    let err = source(&table, &["whsec_"]).err().unwrap();
    assert_eq!(err, "source `src`: secret `S0` decodes to no bytes");
    let err = source(&table, &["whsec_not base64!"]).err().unwrap();
    assert!(err.starts_with("source `src`: secret `S0` is not"), "{err}");
    assert!(!err.contains("not base64!"), "the secret leaked: {err}");
    let browserbase = serde_json::json!({"provider": "browserbase"});
    assert!(source(&browserbase, &["whsec_"]).is_err());
}

#[test]
fn hmac_pairs_refusals_as_stripe_verifies() {
    let v = first("stripe", "payment_intent.succeeded");
    let p = vector_provider(&v);
    let now = v["now"].as_i64().unwrap();
    let header = s(&v["headers"]["Stripe-Signature"]).to_owned();
    let (t, v1) = header.split_once(',').unwrap();
    let go = |edit: &Edit, now: i64| vector_run(&v, &*p, edit, now).map(|e| e.id);
    assert!(go(&|_| {}, now).is_ok());
    assert_eq!(
        go(&without("Stripe-Signature"), now),
        Err(Error::MissingSignature {
            header: "Stripe-Signature"
        })
    );
    // No t= pair: the timestamp is missing (it is in the signed message).
    assert_eq!(
        go(&set("Stripe-Signature", v1.to_owned()), now),
        Err(Error::MissingTimestamp {
            header: "Stripe-Signature"
        })
    );
    let bad = Err(Error::BadSignature {
        header: "Stripe-Signature",
    });
    assert_eq!(
        go(
            &set("Stripe-Signature", format!("{t},{}", flip_last(v1))),
            now
        ),
        bad
    );
    // Only a v0 signature: Stripe's verifier ignores it.
    assert_eq!(
        go(
            &set(
                "Stripe-Signature",
                format!("{t},{}", v1.replace("v1=", "v0="))
            ),
            now
        ),
        bad
    );
    // Tolerance 300 s (stripe-python's default) both ways, ±1 s.
    assert!(go(&|_| {}, now + 300).is_ok());
    assert!(matches!(
        go(&|_| {}, now + 301),
        Err(Error::StaleTimestamp { age_s: 301, .. })
    ));
    assert!(go(&|_| {}, now - 300).is_ok());
    assert!(matches!(
        go(&|_| {}, now - 301),
        Err(Error::FutureTimestamp { ahead_s: 301, .. })
    ));
    // Rotation: another key first, the right one second.
    let secret = v["secrets"][0].as_str().unwrap();
    let rotated = source(&v["source"], &["whsec_new_one", secret]).unwrap();
    assert!(vector_run(&v, &*rotated, |_| {}, now).is_ok());
    let wrong = source(&v["source"], &["whsec_new_one"]).unwrap();
    assert_eq!(vector_run(&v, &*wrong, |_| {}, now).map(|e| e.id), bad);
    // Several v1 signatures, one matching: the "canceled" vector carries three entries.
    let several = first("stripe", "payment_intent.canceled");
    assert!(
        s(&several["headers"]["Stripe-Signature"])
            .matches("v1=")
            .count()
            == 2
    );
    let p = vector_provider(&several);
    assert!(vector_run(&several, &*p, |_| {}, now).is_ok());
}

#[test]
fn hmac_plain_refusals_as_github_and_slack_verify() {
    let v = first("github", "success");
    let p = vector_provider(&v);
    let now = v["now"].as_i64().unwrap();
    let sig = s(&v["headers"]["X-Hub-Signature-256"]).to_owned();
    let go = |edit: &Edit| vector_run(&v, &*p, edit, now).map(|e| e.id);
    assert_eq!(
        go(&without("X-Hub-Signature-256")),
        Err(Error::MissingSignature {
            header: "X-Hub-Signature-256"
        })
    );
    assert_eq!(
        go(&set("X-Hub-Signature-256", flip_last(&sig))),
        Err(Error::BadSignature {
            header: "X-Hub-Signature-256"
        })
    );
    // Uppercase hex and no prefix are the same signature.
    assert!(go(&set(
        "X-Hub-Signature-256",
        sig.to_uppercase().replace("SHA256=", "sha256=")
    ))
    .is_ok());
    assert!(go(&set(
        "X-Hub-Signature-256",
        sig["sha256=".len()..].to_owned()
    ))
    .is_ok());
    // A truncated signature is not one.
    assert_eq!(
        go(&set("X-Hub-Signature-256", sig[..40].to_owned())),
        Err(Error::BadSignature {
            header: "X-Hub-Signature-256"
        })
    );
    // The id header is where the event id is: without it, 400 naming it.
    assert_eq!(
        go(&without("X-GitHub-Delivery")),
        Err(Error::MissingHeader {
            header: "X-GitHub-Delivery"
        })
    );
    // No timestamp is signed: none is checked, however old the delivery.
    assert!(vector_run(&v, &*p, |_| {}, 4_000_000_000).is_ok());
    // SHA-1 (the legacy header) is finished natively: wrong signature refused too.
    let legacy = first("github", "legacy");
    let lp = vector_provider(&legacy);
    assert!(lp.mac_keys().is_none());
    let lsig = s(&legacy["headers"]["X-Hub-Signature"]).to_owned();
    assert_eq!(
        vector_run(&legacy, &*lp, set("X-Hub-Signature", flip_last(&lsig)), now).map(|e| e.id),
        Err(Error::BadSignature {
            header: "X-Hub-Signature"
        })
    );

    // Slack: the timestamp header is signed and checked, 300 s both ways.
    let v = first("slack", "Events API");
    let p = vector_provider(&v);
    let ts = s(&v["headers"]["X-Slack-Request-Timestamp"])
        .parse::<i64>()
        .unwrap();
    let go = |edit: &Edit, now: i64| vector_run(&v, &*p, edit, now).map(|e| e.id);
    assert!(go(&|_| {}, ts + 300).is_ok());
    assert!(matches!(
        go(&|_| {}, ts + 301),
        Err(Error::StaleTimestamp { .. })
    ));
    assert!(go(&|_| {}, ts - 300).is_ok());
    assert!(matches!(
        go(&|_| {}, ts - 301),
        Err(Error::FutureTimestamp { .. })
    ));
    assert_eq!(
        go(&without("X-Slack-Request-Timestamp"), ts),
        Err(Error::MissingTimestamp {
            header: "X-Slack-Request-Timestamp"
        })
    );
    assert_eq!(
        go(&without("X-Slack-Signature"), ts),
        Err(Error::MissingSignature {
            header: "X-Slack-Signature"
        })
    );
    // Same signature, the timestamp moved by one second: it is signed.
    assert_eq!(
        go(&set("X-Slack-Request-Timestamp", (ts + 1).to_string()), ts),
        Err(Error::BadSignature {
            header: "X-Slack-Signature"
        })
    );
}

#[test]
fn firecrawl_and_anchor_presets_refuse_as_their_docs_say() {
    let v = first("firecrawl", "crawl.completed");
    let p = vector_provider(&v);
    let now = v["now"].as_i64().unwrap();
    let sig = s(&v["headers"]["X-Firecrawl-Signature"]).to_owned();
    let h = "X-Firecrawl-Signature";
    assert_eq!(
        vector_run(&v, &*p, without(h), now).map(|e| e.id),
        Err(Error::MissingSignature { header: h })
    );
    assert_eq!(
        vector_run(&v, &*p, set(h, flip_last(&sig)), now).map(|e| e.id),
        Err(Error::BadSignature { header: h })
    );
    // Firecrawl sends no timestamp: any age verifies (the seen-ID set guards replays).
    assert!(vector_run(&v, &*p, |_| {}, 4_000_000_000).is_ok());
    let secret = v["secrets"][0].as_str().unwrap();
    let rotated = source(&v["source"], &["fc-new", secret]).unwrap();
    assert!(vector_run(&v, &*rotated, |_| {}, now).is_ok());

    let v = first("anchor", "task.completed");
    let p = vector_provider(&v);
    let ts = s(&v["headers"]["Anchor-Timestamp"]).parse::<i64>().unwrap();
    let h = "Anchor-Signature";
    let header = s(&v["headers"][h]).to_owned();
    let (t, v1) = header.split_once(',').unwrap();
    let go = |edit: &Edit, now: i64| vector_run(&v, &*p, edit, now).map(|e| e.id);
    // 120 s, both ways, ±1 s.
    assert!(go(&|_| {}, ts + 120).is_ok());
    assert_eq!(
        go(&|_| {}, ts + 121),
        Err(Error::StaleTimestamp {
            age_s: 121,
            tolerance_s: 120
        })
    );
    assert!(go(&|_| {}, ts - 120).is_ok());
    assert_eq!(
        go(&|_| {}, ts - 121),
        Err(Error::FutureTimestamp {
            ahead_s: 121,
            tolerance_s: 120
        })
    );
    assert_eq!(
        go(&without(h), ts),
        Err(Error::MissingSignature { header: h })
    );
    assert_eq!(
        go(&set(h, v1.to_owned()), ts),
        Err(Error::MissingTimestamp { header: h })
    );
    assert_eq!(
        go(&set(h, format!("{t},{}", flip_last(v1))), ts),
        Err(Error::BadSignature { header: h })
    );
    // Several v1 entries, one matching.
    assert!(go(&set(h, format!("{t},v1={},{v1}", "0".repeat(64))), ts).is_ok());
    // The user may widen the tolerance; nothing else of the preset.
    let wide = source(
        &serde_json::json!({"provider": "anchor", "tolerance_s": 600}),
        &[v["secrets"][0].as_str().unwrap()],
    )
    .unwrap();
    assert!(vector_run(&v, &*wide, |_| {}, ts + 600).is_ok());
    let err = source(
        &serde_json::json!({"provider": "anchor", "algorithm": "sha1"}),
        &["k"],
    )
    .err()
    .unwrap();
    assert_eq!(
        err,
        "source `src`: `algorithm` does not apply to anchor sources"
    );
}

#[test]
fn token_and_apify_find_the_token_and_the_id_where_configured() {
    let v = first("apify", "ACTOR.RUN.SUCCEEDED");
    let p = vector_provider(&v);
    assert!(p.takes_path_token());
    let body = s(&v["body"]).as_bytes();
    let h: Headers = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, x)| (k.clone(), s(x).to_owned()))
        .collect();
    let now = 1_700_000_000_000;
    assert_eq!(
        run(&*p, &h, body, Some("wrong"), now).unwrap_err(),
        Error::BadToken
    );
    assert!(matches!(
        run(&*p, &h, body, None, now),
        Err(Error::MissingToken { .. })
    ));
    let no_id = headers(&[]);
    assert_eq!(
        run(&*p, &no_id, body, Some("apify-url-token"), now).unwrap_err(),
        Error::MissingHeader {
            header: "X-Apify-Webhook-Dispatch-Id"
        }
    );
    // Apify's test event.
    let test = br#"{"eventType":"TEST","createdAt":"2026-01-01T00:00:00Z"}"#;
    let env = run(&*p, &h, test, Some("apify-url-token"), now).unwrap();
    assert_eq!(env.event_type, "webhook.test");
    // A header token instead (Apify's headersTemplate), rotation across two tokens.
    let hp = source(
        &serde_json::json!({"provider": "apify", "auth": "header:X-Edgehook-Token"}),
        &["old", "new"],
    )
    .unwrap();
    assert!(!hp.takes_path_token());
    let mut with = h.clone();
    with.insert("X-Edgehook-Token", "old");
    assert!(run(&*hp, &with, body, None, now).is_ok());
    assert!(matches!(
        run(&*hp, &h, body, None, now),
        Err(Error::MissingToken { .. })
    ));

    // A generic token source: bearer, id and status from body fields, an unknown word kept.
    let t = source(
        &serde_json::json!({"provider": "token", "auth": "bearer", "id_from": "job.id",
            "event_from": "job.state", "run_id_from": "job.id",
            "statuses": {"done": "completed"}, "error_from": "job.error"}),
        &["tok"],
    )
    .unwrap();
    let auth = headers(&[("Authorization", "Bearer tok")]);
    let env = run(
        &*t,
        &auth,
        br#"{"job":{"id":42,"state":"done","error":null}}"#,
        None,
        now,
    )
    .unwrap();
    assert_eq!(
        (env.id.as_str(), env.data.status, env.data.run_id.as_deref()),
        ("token:42", Status::Completed, Some("42"))
    );
    let env = run(
        &*t,
        &auth,
        br#"{"job":{"id":"j","state":"warming","error":{"x":1}}}"#,
        None,
        now,
    )
    .unwrap();
    assert_eq!(env.data.status, Status::Unknown);
    assert_eq!(env.data.provider_status.as_deref(), Some("warming"));
    assert_eq!(env.data.error, Some(serde_json::json!({"x": 1})));
    assert_eq!(
        run(&*t, &auth, br#"{"job":{}}"#, None, now).unwrap_err(),
        Error::MissingField { field: "job.id" }
    );
    assert!(matches!(
        run(&*t, &auth, b"not json", None, now),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn configuration_errors_name_the_source_and_the_key() {
    let err = |table: Value| source(&table, &["k"]).err().unwrap();
    let hmac = |extra: Value| {
        let mut t = serde_json::json!({"provider": "hmac", "signature_header": "X-Sig"});
        t.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        t
    };
    assert_eq!(
        err(hmac(serde_json::json!({"algorithm": "md5"}))),
        "source `src`: `algorithm` = `md5` is not `sha256`, `sha1` or `sha512`"
    );
    assert_eq!(
        err(hmac(serde_json::json!({"message": "{timestamp}.{id}"}))),
        "source `src`: `message` = `{timestamp}.{id}` must contain `{body}` exactly once"
    );
    assert_eq!(
        err(hmac(serde_json::json!({"statuses": {"done": "finished"}}))),
        "source `src`: `statuses`.`done`: `finished` is not a status; use one of queued, \
         running, paused, completed, failed, canceled, timed_out, unknown"
    );
    assert_eq!(
        err(hmac(serde_json::json!({"encoding": "base32"}))),
        "source `src`: `encoding` = `base32` is not `hex`, `base64` or `base64url`"
    );
    assert_eq!(
        err(serde_json::json!({"provider": "hmac"})),
        "source `src`: `signature_header` is required: the header carrying the signature"
    );
    assert!(
        err(hmac(serde_json::json!({"message": "{timestamp}.{body}"})))
            .contains("`message` uses `{timestamp}`")
    );
    assert!(
        err(hmac(serde_json::json!({"message": "{id}.{body}"}))).contains("`message` uses `{id}`")
    );
    assert!(err(hmac(serde_json::json!({"signature_format": "list"})))
        .contains("`signature_format` = `list`"));
    assert!(
        err(hmac(serde_json::json!({"id_from": "header:bad header"})))
            .contains("`id_from` = `bad header` is not a header name")
    );
    assert_eq!(
        err(serde_json::json!({"provider": "browser-use", "statuses": {}})),
        "source `src`: `statuses` does not apply to browser-use sources"
    );
    assert_eq!(
        err(serde_json::json!({"provider": "token"})),
        "source `src`: token deliveries are unsigned, so the source needs `auth` = \"path\", \
         \"bearer\" or \"header:<Header-Name>\""
    );
    assert_eq!(
        err(serde_json::json!({"provider": "firecrawl", "signature_header": "X"})),
        "source `src`: `signature_header` does not apply to firecrawl sources"
    );
    // Presets' own statuses can be extended, and their values are checked the same way.
    assert!(source(
        &serde_json::json!({"provider": "firecrawl", "statuses": {"monitor.page": "running"}}),
        &["k"]
    )
    .is_ok());
    assert!(
        err(serde_json::json!({"provider": "apify", "statuses": {"X": "ok"}}))
            .contains("`statuses`.`X`: `ok` is not a status")
    );
}

#[test]
fn one_broken_source_leaves_the_others_working() {
    let sources = edgehook::config::Sources::from_json(
        r#"{"good":{"provider":"firecrawl","secrets":["S0"]},
            "bad":{"provider":"hmac","secrets":["S0"],"signature_header":"X","algorithm":"md5"},
            "typo":{"provider":"hmac","secrets":["S0"],"signature_heder":"X"}}"#,
    )
    .unwrap();
    let lookup = |_: &str| Some(Secret::new("k"));
    let build =
        |name: &str| providers::build(name, &sources.get(name).unwrap()?, lookup).map(|p| p.name());
    assert_eq!(build("good"), Ok("firecrawl"));
    let bad = build("bad").unwrap_err().to_string();
    assert!(
        bad.starts_with("source `bad`: `algorithm` = `md5`"),
        "{bad}"
    );
    let typo = build("typo").unwrap_err().to_string();
    assert!(
        typo.starts_with("source `typo`: unknown field `signature_heder`"),
        "{typo}"
    );
    assert_eq!(build("good"), Ok("firecrawl"));
}

#[test]
fn every_preset_builds_and_its_statuses_are_in_the_vocabulary() {
    for preset in providers::PRESETS {
        let secret = if preset.base == "standard-webhooks" {
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        } else {
            "k"
        };
        let p = source(&serde_json::json!({"provider": preset.name}), &[secret])
            .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
        assert_eq!(p.name(), preset.name);
        assert!(providers::known().contains(&preset.name));
    }
}

#[test]
fn nothing_panics_on_hostile_input_to_the_new_providers() {
    let providers: Vec<Box<dyn Provider>> = vec![
        source(
            &serde_json::json!({"provider": "browserbase"}),
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        )
        .unwrap(),
        source(&serde_json::json!({"provider": "anchor"}), &["k"]).unwrap(),
        source(&serde_json::json!({"provider": "firecrawl"}), &["k"]).unwrap(),
        source(&serde_json::json!({"provider": "apify"}), &["k"]).unwrap(),
        source(
            &serde_json::json!({"provider": "hmac", "signature_header": "S", "algorithm": "sha512",
                "encoding": "base64", "message": "{id}{timestamp}{body}", "timestamp_header": "T",
                "id_from": "header:I"}),
            &["k"],
        )
        .unwrap(),
    ];
    let inputs: [&[u8]; 6] = [
        b"",
        b"\xff\xfe",
        b"{",
        b"{\"type\":[1]}",
        b"{\"webhookId\":{}}",
        &[b'['; 10_000],
    ];
    let values = [
        "",
        "v1,",
        "t=,v1=",
        "t=-99999999999999999999,v1=zz",
        "sha256=",
        "v1,==== v1,AAAA",
    ];
    for p in &providers {
        for input in inputs {
            for value in values {
                let h: Headers = p
                    .headers_read()
                    .into_iter()
                    .map(|n| (n.to_owned(), value.to_owned()))
                    .collect();
                let _ = run(&**p, &h, input, Some(value), 0);
                let _ = run(&**p, &h, input, Some(value), u64::MAX);
            }
        }
    }
}
