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
