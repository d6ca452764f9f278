//! `edgehook send`: build a delivery as a provider would, sign it exactly as that provider
//! does, post it, and report the answer.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::CliError;
use crate::canonical::canonicalize;
use crate::config::TokenAuth;
use crate::providers::{browser_use, skyvern, smartbrowse};

/// What authenticates the delivery.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An HMAC key: browser-use's webhook secret, skyvern's API key.
    Secret(String),
    /// A smartbrowse token, placed as `auth` says.
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
        skyvern::NAME => "completed",
        _ => "completed",
    }
}

fn check_provider(provider: &str) -> Result<(), CliError> {
    if crate::providers::KNOWN.contains(&provider) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "unknown provider `{provider}`; known: {}",
            crate::providers::KNOWN.join(", ")
        )))
    }
}

/// A realistic body for `provider` reporting `status` on run `run_id` at `now_s`: the
/// fields the provider really sends, with non-ASCII text, floats and a big integer so
/// that the canonical form is exercised.
pub fn sample_body(
    provider: &str,
    status: &str,
    run_id: &str,
    now_s: i64,
) -> Result<String, CliError> {
    check_provider(provider)?;
    let when = crate::envelope::rfc3339_ms(u64::try_from(now_s).unwrap_or_default() * 1000);
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
            let failure = if status == "failed" {
                r#""element not found""#
            } else {
                "null"
            };
            format!(
                r#"{{"run_id": "{run_id}", "status": "{status}", "run_type": "task_v2", "output": {{"title": "Café crème — prix: 3.50 €", "items": [1, 2.5, 1e21]}}, "failure_reason": {failure}, "created_at": "{when}", "modified_at": "{when}", "finished_at": "{when}"}}"#
            )
        }
        _ => serde_json::json!({
            "event": format!("{}{status}", smartbrowse::EVENT_PREFIX),
            "run_id": run_id,
            "timestamp": when,
            "result": {"pages": 3, "summary": "Zürich → Genève"},
        })
        .to_string(),
    };
    Ok(body)
}

/// Signs `body` as `provider` does and says where it goes. `url` is the Worker's source
/// URL (`…/in/{source}`); a smartbrowse path token is appended to it.
pub fn prepare(
    provider: &str,
    url: &str,
    credential: &Credential,
    body: Vec<u8>,
    now_s: i64,
) -> Result<Prepared, CliError> {
    check_provider(provider)?;
    let url = url.trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "--url `{url}` is not an http:// or https:// URL"
        )));
    }
    let hmac_hex = |key: &str, parts: &[&[u8]]| -> Result<String, CliError> {
        if key.is_empty() {
            return Err(CliError::Usage("the secret is empty".into()));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        for p in parts {
            mac.update(p);
        }
        Ok(hex::encode(mac.finalize().into_bytes()))
    };
    let ts = now_s.to_string();
    match (provider, credential) {
        (browser_use::NAME, Credential::Secret(key)) => {
            let mut message = format!("{ts}.").into_bytes();
            canonicalize(&body, &mut message).map_err(|e| {
                CliError::Usage(format!("the body is not JSON Browser Use could sign: {e}"))
            })?;
            let signature = hmac_hex(key, &[&message])?;
            Ok(Prepared {
                url,
                headers: vec![
                    (browser_use::SIGNATURE_HEADER.into(), signature),
                    (browser_use::TIMESTAMP_HEADER.into(), ts),
                    ("content-type".into(), "application/json".into()),
                ],
                body,
            })
        }
        (skyvern::NAME, Credential::Secret(key)) => {
            let signature = hmac_hex(key, &[&body])?;
            Ok(Prepared {
                url,
                headers: vec![
                    (skyvern::SIGNATURE_HEADER.into(), signature),
                    (skyvern::TIMESTAMP_HEADER.into(), ts),
                    ("content-type".into(), "application/json".into()),
                ],
                body,
            })
        }
        (smartbrowse::NAME, Credential::Token { token, auth }) => {
            if token.is_empty() {
                return Err(CliError::Usage("the token is empty".into()));
            }
            let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
            let url = match auth {
                TokenAuth::Path => format!(
                    "{url}/{}",
                    percent_encoding::utf8_percent_encode(
                        token,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                ),
                TokenAuth::Bearer => {
                    headers.push(("authorization".into(), format!("Bearer {token}")));
                    url
                }
                TokenAuth::Header(name) => {
                    headers.push((name.clone(), token.clone()));
                    url
                }
            };
            Ok(Prepared { url, headers, body })
        }
        (smartbrowse::NAME, Credential::Secret(_)) => Err(CliError::Usage(
            "smartbrowse deliveries carry a token: use --token".into(),
        )),
        (_, Credential::Token { .. }) => Err(CliError::Usage(format!(
            "{provider} deliveries are signed with a secret: use --secret"
        ))),
        _ => unreachable!("check_provider accepted an unknown provider"),
    }
}

/// Changes one character of the run id after signing (or of the token, for smartbrowse),
/// keeping the body valid JSON, so the Worker's refusal shows as 401 rather than 400.
pub fn tamper(prepared: &mut Prepared, provider: &str, run_id: &str) {
    if provider == smartbrowse::NAME {
        let flip = |s: &mut String| {
            if let Some(c) = s.pop() {
                s.push(if c == 'x' { 'y' } else { 'x' });
            }
        };
        if let Some((_, v)) = prepared
            .headers
            .iter_mut()
            .find(|(n, _)| !n.eq_ignore_ascii_case("content-type"))
        {
            flip(v);
        } else {
            flip(&mut prepared.url);
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
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let prefix = match provider {
        browser_use::NAME => "task",
        skyvern::NAME => "tsk",
        _ => "sb",
    };
    format!("{prefix}_{:x}{:x}", nanos as u64, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{self, Delivery, Headers};
    use crate::{accept, Secret};

    /// What `send` signs, the Worker's core accepts; tampered, it refuses.
    #[test]
    fn every_sample_verifies_with_the_core_and_tampering_is_refused() {
        let now_s = 1_700_000_000;
        for (provider, credential, auth) in [
            ("browser-use", Credential::Secret("k".into()), None),
            ("skyvern", Credential::Secret("k".into()), None),
            (
                "smartbrowse",
                Credential::Token {
                    token: "k".into(),
                    auth: TokenAuth::Bearer,
                },
                Some(TokenAuth::Bearer),
            ),
        ] {
            let cfg = crate::config::SourceConfig {
                provider: provider.into(),
                secrets: vec!["S".into()],
                tolerance_s: None,
                auth,
            };
            let p = providers::build("s", &cfg, |_| Some(Secret::new("k"))).unwrap();
            let body = sample_body(provider, default_status(provider), "run_1", now_s).unwrap();
            let prepared = prepare(
                provider,
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
            assert!(env.data.terminal, "{provider}");
            assert_eq!(env.data.run_id.as_deref(), Some("run_1"));

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
            prepare("browser-use", "http://x", &c, b"nope".to_vec(), 0),
            Err(CliError::Usage(_))
        ));
    }
}
