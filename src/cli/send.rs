//! `edgehook send`: build a delivery as a provider would, sign it exactly as that provider
//! does, post it, and report the answer.

use std::time::Duration;

use super::CliError;
use crate::canonical::canonicalize;
use crate::config::{SourceConfig, TokenAuth};
use crate::providers::hmac::{decode_secret, Algorithm, Encoding, SecretEncoding, Template};
use crate::providers::{
    anchor, apify, browser_use, browserbase, firecrawl, hmac, skyvern, smartbrowse,
    standard_webhooks, token,
};
use crate::secret::Secret;
use crate::signing::WebhookKey;

/// What authenticates the delivery.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An HMAC key: browser-use's webhook secret, skyvern's API key, a `whsec_` secret
    /// (standard-webhooks, browserbase), firecrawl's or anchor's secret, an hmac source's key.
    Secret(String),
    /// A token (smartbrowse, token, apify), placed as `auth` says.
    Token { token: String, auth: TokenAuth },
}

/// A delivery ready to post.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The answer to a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// The default `--status` of each provider: its usual terminal event.
pub fn default_status(provider: &str) -> &'static str {
    match provider {
        browser_use::NAME => "finished",
        apify::NAME => "SUCCEEDED",
        _ => "completed",
    }
}

fn check_provider(provider: &str) -> Result<(), CliError> {
    let known = crate::providers::known();
    if known.contains(&provider) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "unknown provider `{provider}`; known: {}",
            known.join(", ")
        )))
    }
}

/// Whether `provider`'s deliveries carry a token rather than a signature.
pub fn takes_token(provider: &str) -> bool {
    [smartbrowse::NAME, token::NAME, apify::NAME].contains(&provider)
}

/// A realistic body for `provider` reporting `status` on run `run_id` at `now_s`: the
/// fields the provider really sends, with non-ASCII text, floats and a big integer so
/// that the canonical form is exercised. Presets' words are built from `status`
/// (`crawl.{status}`, `ACTOR.RUN.{status}`, …).
pub fn sample_body(
    provider: &str,
    status: &str,
    run_id: &str,
    now_s: i64,
) -> Result<String, CliError> {
    check_provider(provider)?;
    let when = crate::envelope::rfc3339_ms(u64::try_from(now_s).unwrap_or_default() * 1000);
    let failed = status.eq_ignore_ascii_case("failed");
    let body = match provider {
        browser_use::NAME if status == browser_use::TEST_TYPE => serde_json::json!({
            "type": "test",
            "timestamp": when,
            "payload": {"test": "ok"},
        })
        .to_string(),
        // Written by hand to keep 1.0 and the big integer as Python would send them.
        browser_use::NAME => format!(
            r#"{{"type": "agent.task.status_update", "timestamp": "{when}", "payload": {{"session_id": "ses_{run_id}", "task_id": "{run_id}", "status": "{status}", "metadata": {{"city": "München", "note": "日本語 ✓ 😀", "score": 1.0, "ratio": 1e-7, "order_id": 12345678901234567890123}}}}}}"#
        ),
        skyvern::NAME => {
            let failure = if failed {
                r#""element not found""#
            } else {
                "null"
            };
            format!(
                r#"{{"run_id": "{run_id}", "status": "{status}", "run_type": "task_v2", "output": {{"title": "Café crème — prix: 3.50 €", "items": [1, 2.5, 1e21]}}, "failure_reason": {failure}, "created_at": "{when}", "modified_at": "{when}", "finished_at": "{when}"}}"#
            )
        }
        smartbrowse::NAME => serde_json::json!({
            "event": format!("{}{status}", smartbrowse::EVENT_PREFIX),
            "run_id": run_id,
            "timestamp": when,
            "result": {"pages": 3, "summary": "Zürich → Genève"},
        })
        .to_string(),
        _ => generic_body(provider, status, run_id, &when),
    };
    Ok(body)
}

/// The body of a provider of the second round (its documented shape), or of a generic
/// `hmac` or `token` source (which read `type` by default).
fn generic_body(provider: &str, status: &str, run_id: &str, when: &str) -> String {
    let failed = status.eq_ignore_ascii_case("failed");
    let body = match provider {
        // Browserbase's envelope (its docs): id, type, resourceId, data.
        standard_webhooks::NAME | browserbase::NAME => serde_json::json!({
            "id": fresh_id("evt"),
            "type": format!("functions.invocations.{status}"),
            "resourceId": run_id,
            "data": {"invocationId": run_id, "output": {"title": "Zürich → Genève", "score": 0.5}},
        }),
        // Firecrawl's delivery (apps/api/src/services/webhook): webhookId is new per event.
        firecrawl::NAME => serde_json::json!({
            "success": !failed,
            "type": format!("crawl.{status}"),
            "id": run_id,
            "webhookId": fresh_id("wh"),
            "data": [{"markdown": "# Café — 3.50 €", "metadata": {"statusCode": 200}}],
            "metadata": {},
            "error": if failed { "crawl failed".into() } else { serde_json::Value::Null },
        }),
        // Anchor's envelope (its docs): id, type, created, project_id, text, data.
        anchor::NAME => serde_json::json!({
            "id": fresh_id("evt"),
            "type": format!("task.{status}"),
            "created": when,
            "project_id": "prj_edgehook",
            "text": format!("✅ Task `{run_id}` {status}"),
            "data": {"task_id": run_id, "duration_s": 4.2},
        }),
        // Apify's default payload template.
        apify::NAME => serde_json::json!({
            "userId": "usr_edgehook",
            "createdAt": when,
            "eventType": format!("ACTOR.RUN.{status}"),
            "eventData": {"actorId": "act_edgehook", "actorRunId": run_id},
            "resource": {"id": run_id, "status": status.replace('_', "-"), "finishedAt": when},
        }),
        // hmac and token sources read `type` by default.
        _ => serde_json::json!({
            "id": run_id,
            "type": status,
            "timestamp": when,
            "data": {"note": "Zürich → Genève", "n": 2.5},
        }),
    };
    body.to_string()
}

fn url_of(url: &str) -> Result<String, CliError> {
    let url = url.trim_end_matches('/').to_owned();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(CliError::Usage(format!(
            "--url `{url}` is not an http:// or https:// URL"
        )))
    }
}

fn content_type() -> (String, String) {
    ("content-type".into(), "application/json".into())
}

/// Signs `body` as `provider` does and says where it goes. `url` is the Worker's source
/// URL (`…/in/{source}`); a path token is appended to it. For `hmac` use [`prepare_with`].
pub fn prepare(
    provider: &str,
    url: &str,
    credential: &Credential,
    body: Vec<u8>,
    now_s: i64,
) -> Result<Prepared, CliError> {
    prepare_with(provider, None, url, credential, body, now_s)
}

/// As [`prepare`], with the source's table for a generic provider (`hmac`: which header,
/// hash, encoding, message; `token`: none needed).
pub fn prepare_with(
    provider: &str,
    table: Option<&SourceConfig>,
    url: &str,
    credential: &Credential,
    body: Vec<u8>,
    now_s: i64,
) -> Result<Prepared, CliError> {
    check_provider(provider)?;
    let url = url_of(url)?;
    match credential {
        Credential::Token { token, auth } if takes_token(provider) => {
            Ok(with_token(provider, url, token, auth, body))
        }
        Credential::Token { .. } => Err(CliError::Usage(format!(
            "{provider} deliveries are signed with a secret: use --secret"
        ))),
        Credential::Secret(_) if takes_token(provider) => Err(CliError::Usage(format!(
            "{provider} deliveries carry a token: use --token"
        ))),
        Credential::Secret(key) if key.is_empty() => {
            Err(CliError::Usage("the secret is empty".into()))
        }
        Credential::Secret(key) => {
            let mut headers = signed(provider, table, key, &body, now_s)?;
            headers.push(content_type());
            Ok(Prepared { url, headers, body })
        }
    }
}

/// The headers a signing provider sends with `body` at `now_s`.
fn signed(
    provider: &str,
    table: Option<&SourceConfig>,
    key: &str,
    body: &[u8],
    now_s: i64,
) -> Result<Vec<(String, String)>, CliError> {
    let hex_mac = |message: &[u8]| hex::encode(Algorithm::Sha256.mac(key.as_bytes(), message));
    let ts = now_s.to_string();
    Ok(match provider {
        browser_use::NAME => {
            let mut message = format!("{ts}.").into_bytes();
            canonicalize(body, &mut message).map_err(|e| {
                CliError::Usage(format!("the body is not JSON Browser Use could sign: {e}"))
            })?;
            vec![
                (browser_use::SIGNATURE_HEADER.into(), hex_mac(&message)),
                (browser_use::TIMESTAMP_HEADER.into(), ts),
            ]
        }
        skyvern::NAME => vec![
            (skyvern::SIGNATURE_HEADER.into(), hex_mac(body)),
            (skyvern::TIMESTAMP_HEADER.into(), ts),
        ],
        standard_webhooks::NAME | browserbase::NAME => {
            let key = WebhookKey::from_whsec(key)
                .map_err(|e| CliError::Usage(format!("the secret is not whsec_<base64>: {e}")))?;
            key.headers(&fresh_id("msg"), now_s, body)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        }
        // Firecrawl: `sha256=` + hex HMAC of the body it sends.
        firecrawl::NAME => vec![(
            "X-Firecrawl-Signature".into(),
            format!("sha256={}", hex_mac(body)),
        )],
        // Anchor: `t=<ts>,v1=<hex>` over `v0:{ts}:{body}`, and its other headers.
        anchor::NAME => {
            let mut message = format!("v0:{ts}:").into_bytes();
            message.extend_from_slice(body);
            let event = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_owned))
                .unwrap_or_default();
            vec![
                (
                    "Anchor-Signature".into(),
                    format!("t={ts},v1={}", hex_mac(&message)),
                ),
                ("Anchor-Timestamp".into(), ts),
                ("Anchor-Delivery-Id".into(), fresh_id("dlv")),
                ("Anchor-Event".into(), event),
            ]
        }
        hmac::NAME => {
            let table = table.ok_or_else(|| {
                CliError::Usage(
                    "an hmac source signs as its table says: give --config with the source's \
                     table as JSON (signature_header, …)"
                        .into(),
                )
            })?;
            sign_by_table(table, key, body, now_s).map_err(CliError::Usage)?
        }
        other => {
            return Err(CliError::Usage(format!(
                "{other} deliveries are not signed with a secret"
            )))
        }
    })
}

/// The headers an `hmac` source with `table` verifies: what a sender configured the same way
/// sends.
pub fn sign_by_table(
    table: &SourceConfig,
    key: &str,
    body: &[u8],
    now_s: i64,
) -> Result<Vec<(String, String)>, String> {
    let header = table
        .signature_header
        .clone()
        .ok_or("the table has no `signature_header`")?;
    let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_owned());
    let algorithm: Algorithm = or(&table.algorithm, "sha256").parse()?;
    let encoding: Encoding = or(&table.encoding, "hex").parse()?;
    let template: Template = or(&table.message, "{body}").parse()?;
    let secret_encoding: SecretEncoding = or(&table.secret_encoding, "utf8").parse()?;
    let key = decode_secret(secret_encoding, &Secret::new(key), "--secret")?;
    let ts = now_s.to_string();
    let id_header = table
        .id_from
        .as_deref()
        .and_then(|i| i.strip_prefix("header:"));
    let id = fresh_id("dlv");
    let message = template.render(body, &ts, &id);
    let mac = algorithm.mac(key.expose(), message.as_deref().unwrap_or(body));
    let signature = format!(
        "{}{}",
        table.signature_prefix.as_deref().unwrap_or_default(),
        encoding.encode(&mac)
    );
    let mut headers = match table.signature_format.as_deref() {
        Some("pairs") => vec![(header, format!("t={ts},v1={signature}"))],
        _ => vec![(header, signature)],
    };
    if let Some(th) = &table.timestamp_header {
        headers.push((th.clone(), ts));
    }
    if let Some(ih) = id_header {
        headers.push((ih.to_owned(), id));
    }
    Ok(headers)
}

/// A token delivery: the token where `auth` says (a header first in the list, so that
/// [`tamper`] finds it), and the provider's other headers.
fn with_token(
    provider: &str,
    url: String,
    token: &str,
    auth: &TokenAuth,
    body: Vec<u8>,
) -> Prepared {
    let mut headers = Vec::new();
    let url = match auth {
        TokenAuth::Path => {
            headers.push(content_type());
            format!(
                "{url}/{}",
                percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)
            )
        }
        TokenAuth::Bearer => {
            headers.push(("authorization".into(), format!("Bearer {token}")));
            url
        }
        TokenAuth::Header(name) => {
            headers.push((name.clone(), token.to_owned()));
            url
        }
    };
    if !headers.iter().any(|(n, _)| n == "content-type") {
        headers.push(content_type());
    }
    if provider == apify::NAME {
        headers.push((apify::DISPATCH_ID_HEADER.into(), fresh_id("dsp")));
        headers.push(("X-Apify-Webhook".into(), "edgehook-test".into()));
    }
    Prepared { url, headers, body }
}

/// Changes one character of the run id after signing (or of the token, for smartbrowse),
/// keeping the body valid JSON, so the Worker's refusal shows as 401 rather than 400.
pub fn tamper(prepared: &mut Prepared, provider: &str, run_id: &str) {
    if takes_token(provider) {
        let flip = |s: &mut String| {
            if let Some(c) = s.pop() {
                s.push(if c == 'x' { 'y' } else { 'x' });
            }
        };
        // The token is in the first header, unless that is content-type (a path token).
        match prepared.headers.first_mut() {
            Some((n, v)) if !n.eq_ignore_ascii_case("content-type") => flip(v),
            _ => flip(&mut prepared.url),
        }
        return;
    }
    let needle = run_id.as_bytes();
    if let Some(at) = prepared
        .body
        .windows(needle.len().max(1))
        .position(|w| w == needle)
    {
        let i = at + needle.len() - 1;
        prepared.body[i] = if prepared.body[i] == b'x' { b'y' } else { b'x' };
    } else if let Some(b) = prepared
        .body
        .iter_mut()
        .rev()
        .find(|b| b.is_ascii_alphanumeric())
    {
        *b = if *b == b'x' { b'y' } else { b'x' };
    }
}

/// Posts a prepared delivery; any answer is a [`Reply`], only a failure to reach the
/// Worker is an error.
pub fn post(prepared: &Prepared, timeout: Duration) -> Result<Reply, CliError> {
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let mut req = agent.post(&prepared.url);
    for (name, value) in &prepared.headers {
        req = req.set(name, value);
    }
    match req.send_bytes(&prepared.body) {
        Ok(resp) => Ok(Reply {
            status: resp.status(),
            body: resp.into_string().unwrap_or_default(),
        }),
        Err(ureq::Error::Status(status, resp)) => Ok(Reply {
            status,
            body: resp.into_string().unwrap_or_default(),
        }),
        Err(ureq::Error::Transport(t)) => {
            Err(CliError::Unreachable(format!("{}: {t}", prepared.url)))
        }
    }
}

/// A run id that differs between invocations, so that each `send` is a new event.
pub fn fresh_run_id(provider: &str) -> String {
    let prefix = match provider {
        browser_use::NAME => "task",
        skyvern::NAME => "tsk",
        smartbrowse::NAME => "sb",
        _ => "run",
    };
    fresh_id(prefix)
}

/// An id that differs between calls (a delivery, message or event id).
pub fn fresh_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{:x}{:x}{n:x}", nanos as u64, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{self, Delivery, Headers};
    use crate::{accept, Secret};

    /// The table of a GitHub-style hmac source, for the tests.
    fn github_table() -> SourceConfig {
        SourceConfig {
            provider: "hmac".into(),
            secrets: vec!["S".into()],
            signature_header: Some("X-Hub-Signature-256".into()),
            signature_prefix: Some("sha256=".into()),
            id_from: Some("header:X-GitHub-Delivery".into()),
            run_id_from: Some("id".into()),
            statuses: Some([("completed".to_owned(), "completed".to_owned())].into()),
            ..SourceConfig::default()
        }
    }

    /// What `send` signs, the Worker's core accepts; tampered, it refuses.
    #[test]
    fn every_sample_verifies_with_the_core_and_tampering_is_refused() {
        let now_s = 1_700_000_000;
        let secret = |provider: &str| match provider {
            "standard-webhooks" | "browserbase" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            _ => "k",
        };
        for provider in crate::providers::known() {
            let mut cfg = match provider {
                "hmac" => github_table(),
                _ => SourceConfig {
                    provider: provider.into(),
                    secrets: vec!["S".into()],
                    ..SourceConfig::default()
                },
            };
            let credential = if takes_token(provider) {
                cfg.auth = Some(TokenAuth::Bearer);
                Credential::Token {
                    token: secret(provider).into(),
                    auth: TokenAuth::Bearer,
                }
            } else {
                Credential::Secret(secret(provider).into())
            };
            if ["standard-webhooks", "token"].contains(&provider) {
                cfg.statuses = Some(
                    [
                        ("completed".to_owned(), "completed".to_owned()),
                        ("SUCCEEDED".to_owned(), "completed".to_owned()),
                    ]
                    .into(),
                );
                cfg.run_id_from = Some("id".into());
            }
            if provider == "standard-webhooks" {
                cfg.run_id_from = Some("resourceId".into());
            }
            let p = providers::build("s", &cfg, |_| Some(Secret::new(secret(provider))))
                .unwrap_or_else(|e| panic!("{provider}: {e}"));
            let body = sample_body(provider, default_status(provider), "run_1", now_s).unwrap();
            let prepared = prepare_with(
                provider,
                Some(&cfg),
                "http://127.0.0.1:1/in/s",
                &credential,
                body.into_bytes(),
                now_s,
            )
            .unwrap();
            // Only the headers the provider says it reads, as the edge copies them.
            let read = p.headers_read();
            let headers: Headers = prepared
                .headers
                .iter()
                .filter(|(k, _)| read.iter().any(|r| r.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let d = Delivery {
                headers: &headers,
                body: &prepared.body,
                path_token: None,
            };
            let env = accept("s", &*p, &d, now_s as u64 * 1000)
                .unwrap_or_else(|e| panic!("{provider}: {e}"));
            assert!(env.data.terminal, "{provider}: {:?}", env.data.status);
            // Anchor's per-event `data` fields are not documented: its preset names no run.
            let run = (provider != "anchor").then_some("run_1");
            assert_eq!(env.data.run_id.as_deref(), run, "{provider}");
            assert_eq!(env.provider, provider);

            let mut bad = prepared.clone();
            tamper(&mut bad, provider, "run_1");
            let headers: Headers = bad
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let d = Delivery {
                headers: &headers,
                body: &bad.body,
                path_token: None,
            };
            let err = accept("s", &*p, &d, now_s as u64 * 1000).unwrap_err();
            assert_eq!(err.status(), 401, "{provider}: {err}");
        }
    }

    /// The table-driven signer writes what each documented scheme's verifier expects.
    #[test]
    fn sign_by_table_writes_pairs_prefixes_and_extra_headers() {
        let slack = SourceConfig {
            signature_header: Some("X-Slack-Signature".into()),
            signature_prefix: Some("v0=".into()),
            message: Some("v0:{timestamp}:{body}".into()),
            timestamp_header: Some("X-Slack-Request-Timestamp".into()),
            ..SourceConfig::default()
        };
        let h = sign_by_table(&slack, "k", b"{}", 17).unwrap();
        let mac = hex::encode(Algorithm::Sha256.mac(b"k", b"v0:17:{}"));
        assert_eq!(
            h,
            vec![
                ("X-Slack-Signature".to_owned(), format!("v0={mac}")),
                ("X-Slack-Request-Timestamp".to_owned(), "17".to_owned())
            ]
        );
        let stripe = SourceConfig {
            signature_header: Some("Stripe-Signature".into()),
            signature_format: Some("pairs".into()),
            message: Some("{timestamp}.{body}".into()),
            ..SourceConfig::default()
        };
        let h = sign_by_table(&stripe, "k", b"{}", 17).unwrap();
        let mac = hex::encode(Algorithm::Sha256.mac(b"k", b"17.{}"));
        assert_eq!(h[0].1, format!("t=17,v1={mac}"));
        let github = github_table();
        let h = sign_by_table(&github, "k", b"{}", 17).unwrap();
        assert_eq!(h[1].0, "X-GitHub-Delivery");
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        let c = Credential::Secret("k".into());
        assert!(matches!(
            prepare("stripe", "http://x", &c, vec![], 0),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            prepare("skyvern", "localhost:8787", &c, vec![], 0),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            prepare("smartbrowse", "http://x", &c, vec![], 0),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            prepare("apify", "http://x", &c, vec![], 0),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            prepare("hmac", "http://x", &c, vec![], 0),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            prepare("browserbase", "http://x", &c, vec![], 0),
            Err(CliError::Usage(_))
        ));
        let t = Credential::Token {
            token: "t".into(),
            auth: TokenAuth::Path,
        };
        assert!(matches!(
            prepare("firecrawl", "http://x", &t, vec![], 0),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            prepare("browser-use", "http://x", &c, b"nope".to_vec(), 0),
            Err(CliError::Usage(_))
        ));
    }
}
