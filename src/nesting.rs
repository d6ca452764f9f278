//! The one nesting limit for every provider's body, and the cheap scan that enforces it.
//!
//! A body is forwarded inside the envelope two levels deeper (`{"data":{"payload":BODY}}`),
//! and the origin must be able to parse that envelope. CPython 3.11's `json.loads` at its
//! defaults (recursion limit 1000) parses 994 levels when called from the top of the stack,
//! fewer from inside a web framework's call stack, and its pure-Python scanner (used when
//! the `_json` accelerator is missing) stops at 497. serde_json stops at 128 and Ruby's
//! `JSON.parse` at 100 by default. So the limit is [`MAX_DEPTH`] = 128, the lowest the
//! contract allows: no webhook body comes near it, and every level above it only widens
//! the set of origins that could not parse the envelope.
//!
//! Depth counts open arrays and objects: `1` and `"x"` are 0 deep, `[]` and `{"a":1}` 1,
//! `{"a":[1]}` 2. [`check`] runs on every verified body (see
//! [`crate::providers::Verified`]); the canonical pass of browser-use stops at the same
//! limit, so every provider refuses the same bodies with the same answer,
//! [`Error::TooDeep`].

use crate::error::Error;

/// Deepest nesting of arrays and objects accepted in a body, for every provider.
pub const MAX_DEPTH: usize = 128;

/// Refuses `body` with [`Error::TooDeep`] when its arrays and objects nest deeper than
/// [`MAX_DEPTH`]. Brackets inside strings do not count. It checks nothing else: a body
/// that is not JSON passes here and is refused by the parse that reads it.
pub fn check(body: &[u8]) -> Result<(), Error> {
    if exceeds(body, MAX_DEPTH) {
        return Err(Error::TooDeep { limit: MAX_DEPTH });
    }
    Ok(())
}

/// Whether `body`'s arrays and objects nest deeper than `limit`: one pass, eight bytes a
/// step past text that cannot change the depth.
pub fn exceeds(body: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    let n = body.len();
    while i < n {
        // Outside strings: skip to the next quote or bracket.
        i += skip(&body[i..], structural);
        let Some(&b) = body.get(i) else { break };
        i += 1;
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {
                // A string: skip to its closing quote, past escapes.
                loop {
                    i += skip(body.get(i..).unwrap_or_default(), quote_or_backslash);
                    match body.get(i) {
                        Some(b'\\') => i += 2,
                        Some(_) => {
                            i += 1;
                            break;
                        }
                        None => return false,
                    }
                }
            }
        }
    }
    false
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks, in its high bit, each byte of `x` equal to `b`. Borrows can only mark bytes
/// above a marked one, so the lowest mark is exact.
fn equal(x: u64, b: u8) -> u64 {
    let v = x ^ (ONES * u64::from(b));
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// `"`, `[`, `]`, `{` or `}` (the brackets differ from each other by 0x20).
fn structural(x: u64) -> u64 {
    let folded = x | (ONES * 0x20);
    equal(x, b'"') | equal(folded, b'{') | equal(folded, b'}')
}

fn quote_or_backslash(x: u64) -> u64 {
    equal(x, b'"') | equal(x, b'\\')
}

/// How many bytes at the start of `s` are not marked by `stop`.
fn skip(s: &[u8], stop: fn(u64) -> u64) -> usize {
    let mut i = 0;
    while let Some(word) = s.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let m = stop(w);
        if m != 0 {
            return i + m.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if stop(u64::from(b)) & 0x80 != 0 {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The depth as a plain byte loop computes it: the definition the scan must match.
    fn slow_depth(body: &[u8]) -> usize {
        let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0, false, false);
        for &b in body {
            if in_str {
                match (esc, b) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        max
    }

    fn nested(n: usize) -> String {
        "{\"a\":[".repeat(n / 2) + &"[".repeat(n % 2) + &"]".repeat(n % 2) + &"]}".repeat(n / 2)
    }

    #[test]
    fn the_limit_is_inclusive() {
        assert_eq!(check(nested(MAX_DEPTH).as_bytes()), Ok(()));
        assert_eq!(
            check(nested(MAX_DEPTH + 1).as_bytes()),
            Err(Error::TooDeep { limit: MAX_DEPTH })
        );
        assert_eq!(slow_depth(nested(MAX_DEPTH).as_bytes()), MAX_DEPTH);
    }

    /// Each provider, through verify and normalize, with a body `depth` deep (a required
    /// field's sibling holds the nesting), signed or tokened as the provider does.
    fn accept_at(provider: &str, depth: usize) -> Result<crate::Envelope, Error> {
        use crate::config::SourceConfig;
        use crate::providers::{browser_use, build, Delivery, Headers};
        use hmac::{Hmac, Mac};
        let inner = nested(depth - 1);
        let body = match provider {
            "browser-use" => format!(
                r#"{{"type":"agent.task.status_update","payload":{{"task_id":"t","status":"finished"}},"x":{inner}}}"#
            ),
            "skyvern" => format!(r#"{{"run_id":"r","status":"completed","x":{inner}}}"#),
            "smartbrowse" => format!(r#"{{"run_id":"r","event":"completed","x":{inner}}}"#),
            _ => format!(r#"{{"run_id":"r","type":"run.completed","x":{inner}}}"#),
        };
        assert_eq!(slow_depth(body.as_bytes()), depth);
        let cfg = SourceConfig {
            provider: provider.into(),
            secrets: vec!["S".into()],
            auth: matches!(provider, "smartbrowse" | "token").then(|| "bearer".parse().unwrap()),
            id_from: (provider == "token").then(|| "run_id".into()),
            ..Default::default()
        };
        let key = if provider == "standard-webhooks" {
            WHSEC
        } else {
            "k3y"
        };
        let p = build("src", &cfg, |_| Some(crate::Secret::new(key))).unwrap();
        let mac = |msg: &[u8]| {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
            m.update(msg);
            hex::encode(m.finalize().into_bytes())
        };
        let now_ms = 1_700_000_000_000;
        let mut headers = Headers::new();
        match provider {
            "browser-use" => {
                let mut msg = b"1700000000.".to_vec();
                // Past the limit the canonical pass refuses it before any signature.
                let _ = crate::canonical::canonicalize(body.as_bytes(), &mut msg);
                headers.insert(browser_use::SIGNATURE_HEADER, mac(&msg));
                headers.insert(browser_use::TIMESTAMP_HEADER, "1700000000");
            }
            "skyvern" => headers.insert("x-skyvern-signature", mac(body.as_bytes())),
            "standard-webhooks" => {
                let key = crate::signing::WebhookKey::from_whsec(WHSEC).unwrap();
                for (name, value) in key.headers("msg_1", 1_700_000_000, body.as_bytes()) {
                    headers.insert(name, value);
                }
            }
            _ => headers.insert("Authorization", "Bearer k3y"),
        }
        let d = Delivery {
            headers: &headers,
            body: body.as_bytes(),
            path_token: None,
        };
        crate::accept("src", p.as_ref(), &d, now_ms)
    }

    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn every_provider_accepts_the_limit_and_refuses_one_past_it() {
        // The generic providers (and so their presets) pass through the same check.
        for provider in [
            "browser-use",
            "skyvern",
            "smartbrowse",
            "standard-webhooks",
            "token",
        ] {
            let at = accept_at(provider, MAX_DEPTH);
            assert!(at.is_ok(), "{provider} at {MAX_DEPTH}: {at:?}");
            let past = accept_at(provider, MAX_DEPTH + 1).map(|_| ());
            assert_eq!(
                past,
                Err(Error::TooDeep { limit: MAX_DEPTH }),
                "{provider} at {}",
                MAX_DEPTH + 1
            );
            let e = past.unwrap_err();
            assert_eq!(
                (e.status(), e.kind(), e.reason()),
                (400, "malformed", "too_deep")
            );
        }
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        let body = format!(
            "{{\"k\":\"{}\\\"{}\",\"[\":\"\\\\\"}}",
            "[".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(check(body.as_bytes()), Ok(()));
        assert_eq!(slow_depth(body.as_bytes()), 1);
    }

    #[test]
    fn the_scan_matches_the_definition_everywhere_in_a_word() {
        // Every interesting byte at every offset within and across 8-byte words.
        let alphabet: &[u8] = b"[]{}\"\\ a\xC3\xA9";
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let d = slow_depth(&body);
            for limit in [d.saturating_sub(1), d] {
                assert_eq!(exceeds(&body, limit), d > limit, "{body:?} at {limit}");
            }
        }
    }
}
