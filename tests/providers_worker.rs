//! The second round's providers through the built Worker under `wrangler dev` (workerd with
//! local KV and Queues): a delivery made as `edgehook send` makes it, accepted, forwarded
//! through the queue to a real origin on 127.0.0.1 that verifies the Standard Webhooks
//! signature, with the envelope's `status` checked; then the same delivery tampered with is
//! refused. One test per provider; they take turns, since each starts its own Worker.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::*;
use edgehook::cli::send::{self, Credential, Prepared};
use edgehook::config::{SourceConfig, TokenAuth};

/// One Worker at a time: each test starts its own, and the machine is small.
static TURN: Mutex<()> = Mutex::new(());

/// What one provider's test sends and expects.
struct Case {
    /// The provider `edgehook send` signs as.
    provider: &'static str,
    /// The source's name (its route is `/in/{source}`).
    source: &'static str,
    credential: Credential,
    /// `--config`, for an hmac source.
    table: Option<&'static str>,
    /// `--status`.
    status: &'static str,
    /// The envelope's `data.status`.
    want: &'static str,
}

fn secret(s: &str) -> Credential {
    Credential::Secret(s.into())
}

fn sign(case: &Case, worker: &Worker, run_id: &str) -> Prepared {
    let now = now_s();
    let body = send::sample_body(case.provider, case.status, run_id, now).unwrap();
    let table: Option<SourceConfig> = case.table.map(|t| {
        let mut v: serde_json::Value = serde_json::from_str(t).unwrap();
        v["provider"] = "hmac".into();
        v["secrets"] = serde_json::json!([]);
        serde_json::from_value(v).unwrap()
    });
    send::prepare_with(
        case.provider,
        table.as_ref(),
        &worker.url(&format!("/in/{}", case.source)),
        &case.credential,
        body.into_bytes(),
        now,
    )
    .unwrap()
}

fn check(case: Case) {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let origin = start_origin(0);
    let worker = Worker::start(&setup_with_new_providers(&origin.url()));
    let run_id = format!("run-{}", case.source);
    let d = sign(&case, &worker, &run_id);
    let reply = post(&d);
    assert_eq!(
        reply.status,
        202,
        "{}: {}\n{}",
        case.source,
        reply.body,
        worker.logs()
    );
    let id = json(&reply)["id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with(&format!("{}:", case.provider)),
        "{}: id {id}",
        case.source
    );
    let again = post(&d);
    assert_eq!(again.status, 200, "{}: {}", case.source, again.body);
    assert_eq!(json(&again)["status"], "duplicate");

    let mut bad = d.clone();
    send::tamper(&mut bad, case.provider, &run_id);
    let refused = post(&bad);
    assert_eq!(refused.status, 401, "{}: {}", case.source, refused.body);

    let got = wait_for_envelopes(&origin, 1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "{}: {}", case.source, worker.logs());
    let env = &got[0];
    assert_eq!(env["id"], id.as_str());
    assert_eq!(env["provider"], case.provider);
    assert_eq!(env["source"], format!("/in/{}", case.source));
    assert_eq!(env["data"]["status"], case.want, "{}: {env}", case.source);
    assert_eq!(env["type"], format!("run.{}", case.want));
    // Anchor's per-event `data` fields are not documented: its preset names no run.
    if case.provider != "anchor" {
        assert_eq!(
            env["data"]["run_id"],
            run_id.as_str(),
            "{}: {env}",
            case.source
        );
    }
    // The origin verified the Standard Webhooks signature: nothing refused.
    assert_eq!(origin.state.refused(), 0);
    // crypto.subtle took the keys and hashed (no fallback to wasm was needed).
    let fallbacks: Vec<_> = worker
        .log_lines()
        .into_iter()
        .filter(|l| {
            l["outcome"]
                .as_str()
                .is_some_and(|o| o.starts_with("subtle_"))
        })
        .collect();
    assert!(fallbacks.is_empty(), "{}: {fallbacks:?}", case.source);
}

#[test]
fn standard_webhooks_source_in_workerd() {
    check(Case {
        provider: "standard-webhooks",
        source: "standard-webhooks",
        credential: secret(BROWSERBASE_SECRET),
        table: None,
        status: "completed",
        want: "completed",
    });
}

#[test]
fn browserbase_preset_in_workerd() {
    check(Case {
        provider: "browserbase",
        source: "browserbase",
        credential: secret(BROWSERBASE_SECRET),
        table: None,
        status: "failed",
        want: "failed",
    });
}

#[test]
fn hmac_source_configured_as_github_in_workerd() {
    check(Case {
        provider: "hmac",
        source: "hmac",
        credential: secret(GITHUB_SECRET),
        table: Some(GITHUB_TABLE),
        status: "completed",
        want: "completed",
    });
}

#[test]
fn hmac_sha1_source_hashed_natively_in_workerd() {
    check(Case {
        provider: "hmac",
        source: "hmac-sha1",
        credential: secret(GITHUB_SECRET),
        table: Some(
            r#"{"signature_header":"X-Hub-Signature","signature_prefix":"sha1=","algorithm":"sha1"}"#,
        ),
        status: "failed",
        want: "failed",
    });
}

#[test]
fn token_source_in_workerd() {
    check(Case {
        provider: "token",
        source: "token",
        credential: Credential::Token {
            token: APIFY_TOKEN.into(),
            auth: TokenAuth::Header("X-Edgehook-Token".into()),
        },
        table: None,
        status: "completed",
        want: "completed",
    });
}

#[test]
fn firecrawl_preset_in_workerd() {
    check(Case {
        provider: "firecrawl",
        source: "firecrawl",
        credential: secret(FIRECRAWL_SECRET),
        table: None,
        status: "completed",
        want: "completed",
    });
}

#[test]
fn anchor_preset_in_workerd() {
    check(Case {
        provider: "anchor",
        source: "anchor",
        credential: secret(ANCHOR_SECRET),
        table: None,
        status: "cancelled",
        want: "canceled",
    });
}

#[test]
fn apify_preset_in_workerd() {
    check(Case {
        provider: "apify",
        source: "apify",
        credential: Credential::Token {
            token: APIFY_TOKEN.into(),
            auth: TokenAuth::Path,
        },
        table: None,
        status: "TIMED_OUT",
        want: "timed_out",
    });
}

#[test]
fn browser_use_v3_idle_is_completed_in_workerd() {
    check(Case {
        provider: "browser-use",
        source: "browser-use",
        credential: secret(BROWSER_USE_SECRET),
        table: None,
        status: "idle",
        want: "completed",
    });
}

/// A broken source answers 500 naming the source and the key; the others still work.
#[test]
fn a_broken_source_names_its_key_and_leaves_the_others_in_workerd() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let origin = start_origin(0);
    let worker = Worker::start(&setup_with_new_providers(&origin.url()));
    let broken = post(&raw(
        worker.url("/in/broken-hmac"),
        &[("X-Sig", "00")],
        b"{}",
    ));
    assert_eq!(broken.status, 500, "{}", broken.body);
    let answer = json(&broken);
    assert_eq!(answer["error"], "config");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("source `broken-hmac`: `message` = `{timestamp}`"),
        "{message}"
    );
    let case = Case {
        provider: "firecrawl",
        source: "firecrawl",
        credential: secret(FIRECRAWL_SECRET),
        table: None,
        status: "completed",
        want: "completed",
    };
    let reply = post(&sign(&case, &worker, "run-after-broken"));
    assert_eq!(reply.status, 202, "{}", reply.body);
}
