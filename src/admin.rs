//! The admin routes' decisions (CONTRACT §1), made without the runtime: which admin route a
//! request is for, its query and body parsed and validated, the admin token check, the KV
//! layout that lists dead letters newest first, and what a replay selects.
//!
//! KV layout of one dead letter (all in `SEEN`, none expiring):
//!
//! | key | value | metadata |
//! | --- | --- | --- |
//! | `dead:{source}:{id}` | the envelope as it would be delivered | [`DeadLetter`] |
//! | `dead-by-time:{inv}:{source}:{id}` | empty | [`DeadLetter`] |
//! | `dead-by-source:{source}:{inv}:{id}` | empty | [`DeadLetter`] |
//!
//! `inv` is [`INVERTED_FROM`] minus the death time in unix milliseconds, 13 digits, so KV's
//! ascending key order is newest first: all sources through `dead-by-time:`, one through
//! `dead-by-source:{source}:`. A listing reads only keys and metadata and passes KV's own
//! list cursor through; a replay `since` a time stops at the first older key.

use std::collections::BTreeSet;

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::forward::{kv_key, DeadLetter, KV_KEY_LIMIT};
use crate::secret::Secret;

/// Where the admin routes live.
pub const ADMIN_PREFIX: &str = "/admin/";
/// Listing page size when `limit` is not given.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// KV lists at most 1000 keys at a time.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// At most this many ids in one replay request.
pub const MAX_REPLAY_IDS: usize = 1000;
/// At most this many dead letters are replayed per request: each costs about six KV and
/// queue operations, and a Worker invocation may make 1000. The answer says `more: true`
/// when the selection went further; asking again continues (replayed ones are gone).
pub const MAX_REPLAY_PER_REQUEST: usize = 150;
/// Death times are stored as this minus the unix milliseconds (13 digits until 2286).
pub const INVERTED_FROM: u64 = 9_999_999_999_999;

const BY_TIME: &str = "dead-by-time:";
const BY_SOURCE: &str = "dead-by-source:";

/// An admin request, once the admin token is known to be set and presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `GET /admin/dead-letters[?source=S][&limit=N][&cursor=C]`.
    List(ListQuery),
    /// `GET /admin/dead-letters/{source}/{id}`.
    Show { source: String, id: String },
    /// `DELETE /admin/dead-letters/{source}/{id}`.
    Drop { source: String, id: String },
    /// `POST /admin/replay` (the body is parsed by [`ReplayRequest::parse`]).
    Replay,
}

/// A listing's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub source: Option<String>,
    pub limit: u32,
    pub cursor: Option<String>,
}

/// Why an admin request is not answered as asked. Each maps to the contract's JSON error
/// shape; none names the admin token or what was expected of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No `Authorization: Bearer` with the admin token (missing and wrong look the same).
    #[error("the admin routes need Authorization: Bearer <ADMIN_TOKEN>")]
    Unauthorized,
    /// No such admin route.
    #[error("no such route")]
    NotFound,
    /// No dead letter with this source and id.
    #[error("no such dead letter")]
    NoSuchDeadLetter,
    /// A known admin route asked with another method.
    #[error("{method} is not allowed here; use {allowed}")]
    MethodNotAllowed {
        method: String,
        allowed: &'static str,
    },
    /// A bad query or body: `reason` names the field.
    #[error("{message}")]
    BadRequest {
        reason: &'static str,
        message: String,
    },
    /// KV or the queue failed.
    #[error("{0}")]
    Unavailable(String),
    /// The Worker's configuration is wrong (a replay needs it to enqueue).
    #[error("{0}")]
    Config(String),
}

impl AdminError {
    fn bad(reason: &'static str, message: impl Into<String>) -> Self {
        AdminError::BadRequest {
            reason,
            message: message.into(),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::Unauthorized => 401,
            AdminError::NotFound | AdminError::NoSuchDeadLetter => 404,
            AdminError::MethodNotAllowed { .. } => 405,
            AdminError::BadRequest { .. } => 400,
            AdminError::Unavailable(_) => 503,
            AdminError::Config(_) => 500,
        }
    }

    /// The `reason` field: a stable name of what was wrong.
    pub fn reason(&self) -> &'static str {
        match self {
            AdminError::Unauthorized => "admin_token",
            AdminError::NotFound => "not_found",
            AdminError::NoSuchDeadLetter => "no_such_dead_letter",
            AdminError::MethodNotAllowed { .. } => "method_not_allowed",
            AdminError::BadRequest { reason, .. } => reason,
            AdminError::Unavailable(_) => "unavailable",
            AdminError::Config(_) => "config",
        }
    }

    /// `{"error":…,"reason":…,"message":…}`, as every other error answer.
    pub fn to_json(&self) -> String {
        let error = match self.status() {
            401 => "unauthorized",
            404 => "not_found",
            405 => "method_not_allowed",
            400 => "malformed",
            500 => "config",
            _ => "unavailable",
        };
        serde_json::json!({"error": error, "reason": self.reason(), "message": self.to_string()})
            .to_string()
    }
}

/// True when `authorization` is `Bearer <token>` (scheme case-insensitive), compared in
/// constant time. An empty token never matches (and the edge treats it as unset).
pub fn authorized(authorization: Option<&str>, token: &Secret) -> bool {
    let Some(value) = authorization.map(str::trim) else {
        return false;
    };
    let presented = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => return false,
    };
    !token.is_empty()
        && !presented.is_empty()
        && crate::providers::token_matches(presented, std::slice::from_ref(token))
}

/// Routes an admin request: `path` starts with `/admin` and may carry a query.
pub fn route(method: &str, path: &str) -> Result<AdminRoute, AdminError> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = path.split('#').next().unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    let wrong = |allowed| AdminError::MethodNotAllowed {
        method: method.to_owned(),
        allowed,
    };
    let rest = path
        .strip_prefix(ADMIN_PREFIX)
        .ok_or(AdminError::NotFound)?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["replay"] if method == "POST" => Ok(AdminRoute::Replay),
        ["replay"] => Err(wrong("POST")),
        ["dead-letters"] if method == "GET" => Ok(AdminRoute::List(ListQuery::parse(query)?)),
        ["dead-letters"] => Err(wrong("GET")),
        ["dead-letters", source, id] if !source.is_empty() && !id.is_empty() => {
            let (source, id) = (decode(source)?, decode(id)?);
            match method {
                "GET" => Ok(AdminRoute::Show { source, id }),
                "DELETE" => Ok(AdminRoute::Drop { source, id }),
                _ => Err(wrong("GET, DELETE")),
            }
        }
        _ => Err(AdminError::NotFound),
    }
}

fn decode(segment: &str) -> Result<String, AdminError> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| AdminError::bad("bad_path", "a path segment is not percent-encoded UTF-8"))
}

/// The query's pairs, percent-decoded (`+` is a space).
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, AdminError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let d = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| AdminError::bad("bad_query", "the query is not UTF-8"))
            };
            Ok((d(k)?, d(v)?))
        })
        .collect()
}

impl ListQuery {
    /// Parses `source`, `limit` (1 to 1000, default 100) and `cursor`; anything else is 400.
    pub fn parse(query: &str) -> Result<ListQuery, AdminError> {
        let mut q = ListQuery {
            source: None,
            limit: DEFAULT_LIST_LIMIT,
            cursor: None,
        };
        for (k, v) in query_pairs(query)? {
            match k.as_str() {
                "source" if !v.is_empty() => q.source = Some(v),
                "cursor" if !v.is_empty() => q.cursor = Some(v),
                "source" | "cursor" => {}
                "limit" => {
                    q.limit = v
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
                        .ok_or_else(|| {
                            AdminError::bad(
                                "bad_limit",
                                format!("limit must be a whole number from 1 to {MAX_LIST_LIMIT}"),
                            )
                        })?
                }
                _ => {
                    return Err(AdminError::bad(
                        "bad_query",
                        "unknown query parameter; known: source, limit, cursor",
                    ))
                }
            }
        }
        Ok(q)
    }

    /// The KV prefix to list.
    pub fn prefix(&self) -> String {
        list_prefix(self.source.as_deref())
    }
}

/// The index prefix listing one source's dead letters, or all of them, newest first.
pub fn list_prefix(source: Option<&str>) -> String {
    match source {
        Some(s) => format!("{BY_SOURCE}{s}:"),
        None => BY_TIME.to_owned(),
    }
}

/// The key holding a dead letter's envelope.
pub fn letter_key(source: &str, id: &str) -> String {
    kv_key("dead", source, id)
}

/// `{prefix}{tail}`, the tail replaced by its SHA-256 when the key would pass KV's limit.
fn bounded(prefix: String, tail: &str) -> String {
    if prefix.len() + tail.len() <= KV_KEY_LIMIT {
        return prefix + tail;
    }
    use sha2::Digest;
    prefix + "sha256:" + &hex::encode(sha2::Sha256::digest(tail.as_bytes()))
}

/// The two index keys of a dead letter that died at `dead_at_ms`.
pub fn index_keys(source: &str, id: &str, dead_at_ms: u64) -> [String; 2] {
    let inv = INVERTED_FROM.saturating_sub(dead_at_ms.min(INVERTED_FROM));
    [
        bounded(format!("{BY_TIME}{inv:013}:"), &format!("{source}:{id}")),
        bounded(format!("{BY_SOURCE}{source}:{inv:013}:"), id),
    ]
}

/// A dead letter's death time in unix milliseconds, from its record.
pub fn dead_at_ms(letter: &DeadLetter) -> Option<u64> {
    parse_time_ms(&letter.dead_at)
}

/// The index keys of a dead letter, from its record; `None` when its `dead_at` is not a
/// time (never, for records this Worker wrote).
pub fn index_keys_of(letter: &DeadLetter) -> Option<[String; 2]> {
    Some(index_keys(&letter.source, &letter.id, dead_at_ms(letter)?))
}

/// The death time an index key listed under `prefix` carries, in unix milliseconds.
pub fn index_key_time_ms(key: &str, prefix: &str) -> Option<u64> {
    let inv: u64 = key.strip_prefix(prefix)?.get(..13)?.parse().ok()?;
    INVERTED_FROM.checked_sub(inv)
}

/// An RFC 3339 time in unix milliseconds (times before 1970 count as 0).
fn parse_time_ms(s: &str) -> Option<u64> {
    let t = DateTime::parse_from_rfc3339(s.trim()).ok()?;
    Some(u64::try_from(t.timestamp_millis()).unwrap_or(0))
}

/// One entry of a listing: a dead letter's record, if its KV metadata is one.
pub fn listed(metadata: Option<serde_json::Value>, source: Option<&str>) -> Option<DeadLetter> {
    let letter: DeadLetter = serde_json::from_value(metadata?).ok()?;
    // A source prefix `a:` also matches a source named `a:b`: keep only the one asked for.
    match source {
        Some(s) if letter.source != s => None,
        _ => Some(letter),
    }
}

/// A listing's answer: `{"dead_letters":[…],"cursor":C|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAnswer {
    pub dead_letters: Vec<DeadLetter>,
    /// KV's cursor for the next page; `null` on the last.
    pub cursor: Option<String>,
}

/// The next page's cursor, from what KV said: none once the list is complete.
pub fn next_cursor(list_complete: bool, cursor: Option<String>) -> Option<String> {
    cursor.filter(|c| !list_complete && !c.is_empty())
}

/// A replay request: `{"source"?, "ids"?, "since"?}`, at least one of `ids`, `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRequest {
    pub source: Option<String>,
    pub ids: Option<BTreeSet<String>>,
    /// Dead letters that died at or after this time (unix ms).
    pub since_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    source: Option<String>,
    ids: Option<Vec<String>>,
    since: Option<String>,
}

/// What a scan of the index does with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Take,
    Skip,
    /// Older than `since`: this and everything after it.
    Stop,
}

impl ReplayRequest {
    /// Parses and validates a replay body; every problem is a 400 naming the field.
    pub fn parse(body: &[u8]) -> Result<ReplayRequest, AdminError> {
        let b: ReplayBody = serde_json::from_slice(body).map_err(|e| {
            AdminError::bad(
                "bad_json",
                format!("the body is not {{\"source\"?, \"ids\"?, \"since\"?}}: {e}"),
            )
        })?;
        let since_ms = match b.since.as_deref() {
            None => None,
            Some(s) => Some(parse_time_ms(s).ok_or_else(|| {
                AdminError::bad(
                    "bad_since",
                    "since is not an RFC 3339 time such as 2026-12-01T00:00:00Z",
                )
            })?),
        };
        let ids = match b.ids {
            None => None,
            Some(ids) if ids.is_empty() || ids.iter().any(|i| i.is_empty()) => {
                return Err(AdminError::bad("bad_ids", "ids must be non-empty strings"))
            }
            Some(ids) if ids.len() > MAX_REPLAY_IDS => {
                return Err(AdminError::bad(
                    "bad_ids",
                    format!("at most {MAX_REPLAY_IDS} ids per request"),
                ))
            }
            Some(ids) => Some(ids.into_iter().collect()),
        };
        if ids.is_none() && since_ms.is_none() {
            return Err(AdminError::bad(
                "missing_selector",
                "say which dead letters to replay: ids, since, or both",
            ));
        }
        let source = b.source.filter(|s| !s.is_empty());
        Ok(ReplayRequest {
            source,
            ids,
            since_ms,
        })
    }

    /// True when the dead letters can be read by key (a source and ids, no scan needed).
    pub fn is_direct(&self) -> bool {
        self.source.is_some() && self.ids.is_some() && self.since_ms.is_none()
    }

    /// The index prefix a scan lists.
    pub fn scan_prefix(&self) -> String {
        list_prefix(self.source.as_deref())
    }

    /// What a scan, newest first, does with the entry under `key` whose record is `letter`.
    pub fn step(&self, key: &str, letter: Option<&DeadLetter>) -> Step {
        let time = index_key_time_ms(key, &self.scan_prefix());
        if let (Some(since), Some(t)) = (self.since_ms, time) {
            if t < since {
                return Step::Stop;
            }
        }
        let Some(letter) = letter else {
            return Step::Skip;
        };
        let source_ok = self.source.as_ref().is_none_or(|s| *s == letter.source);
        let id_ok = self.ids.as_ref().is_none_or(|ids| ids.contains(&letter.id));
        if source_ok && id_ok {
            Step::Take
        } else {
            Step::Skip
        }
    }
}

/// One replay failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayFailure {
    pub id: String,
    pub error: String,
}

/// `202 {"replayed":n,"failed":[{"id","error"}],"more":bool}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayAnswer {
    pub replayed: usize,
    pub failed: Vec<ReplayFailure>,
    /// More dead letters matched than one request replays ([`MAX_REPLAY_PER_REQUEST`]):
    /// ask again to continue.
    #[serde(default)]
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(source: &str, id: &str, dead_at_ms: u64) -> DeadLetter {
        DeadLetter::new(source, id, dead_at_ms, 1, "origin answered 503")
    }

    #[test]
    fn admin_routes_and_refusals() {
        let list = |source: Option<&str>, limit, cursor: Option<&str>| {
            Ok(AdminRoute::List(ListQuery {
                source: source.map(Into::into),
                limit,
                cursor: cursor.map(Into::into),
            }))
        };
        assert_eq!(
            route("GET", "/admin/dead-letters"),
            list(None, DEFAULT_LIST_LIMIT, None)
        );
        assert_eq!(
            route(
                "GET",
                "/admin/dead-letters/?source=sky%20von&limit=5&cursor=a%2Bb+c"
            ),
            list(Some("sky von"), 5, Some("a+b c"))
        );
        assert_eq!(
            route("GET", "/admin/dead-letters/skyvern/skyvern%3Ar%2F1%3Adone"),
            Ok(AdminRoute::Show {
                source: "skyvern".into(),
                id: "skyvern:r/1:done".into()
            })
        );
        assert_eq!(
            route("DELETE", "/admin/dead-letters/s/i"),
            Ok(AdminRoute::Drop {
                source: "s".into(),
                id: "i".into()
            })
        );
        assert_eq!(route("POST", "/admin/replay"), Ok(AdminRoute::Replay));
        assert_eq!(route("GET", "/admin/replay").unwrap_err().status(), 405);
        assert_eq!(
            route("POST", "/admin/dead-letters").unwrap_err().status(),
            405
        );
        assert_eq!(
            route("PUT", "/admin/dead-letters/s/i")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(route("GET", "/admin/").unwrap_err().status(), 404);
        assert_eq!(
            route("GET", "/admin/dead-letters/s").unwrap_err().status(),
            404
        );
        assert_eq!(
            route("GET", "/admin/dead-letters/s/i/x")
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            route("GET", "/admin/dead-letters//i").unwrap_err().status(),
            404
        );
        assert_eq!(
            route("GET", "/admin/dead-letters/s/%ff")
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn list_queries_are_validated() {
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "limit=-1",
            "limit=",
            "sourc=a",
        ] {
            let e = ListQuery::parse(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
        }
        assert_eq!(
            ListQuery::parse("limit=0").unwrap_err().reason(),
            "bad_limit"
        );
        assert_eq!(ListQuery::parse("limit=1000").unwrap().limit, 1000);
        let q = ListQuery::parse("source=&cursor=").unwrap();
        assert_eq!((q.source, q.cursor), (None, None));
        let e: serde_json::Value =
            serde_json::from_str(&ListQuery::parse("limit=0").unwrap_err().to_json()).unwrap();
        assert_eq!(e["error"], "malformed");
        assert_eq!(e["reason"], "bad_limit");
    }

    #[test]
    fn the_admin_token_is_a_bearer_compared_whole() {
        let token = Secret::new("adm-s3cret");
        assert!(authorized(Some("Bearer adm-s3cret"), &token));
        assert!(authorized(Some("bearer  adm-s3cret "), &token));
        for bad in [
            None,
            Some(""),
            Some("adm-s3cret"),
            Some("Basic adm-s3cret"),
            Some("Bearer adm-s3cre"),
            Some("Bearer adm-s3cret2"),
            Some("Bearer "),
        ] {
            assert!(!authorized(bad, &token), "{bad:?}");
        }
        assert!(!authorized(Some("Bearer "), &Secret::new("")));
        let e = AdminError::Unauthorized.to_json();
        assert!(!e.contains("adm-s3cret"));
    }

    #[test]
    fn index_keys_sort_newest_first_and_carry_the_time() {
        let older = index_keys("sky", "skyvern:r:completed", 1_764_720_000_000);
        let newer = index_keys("sky", "skyvern:r:completed", 1_764_720_000_001);
        assert!(newer[0] < older[0] && newer[1] < older[1]);
        assert!(older[0].starts_with(&list_prefix(None)));
        assert!(older[1].starts_with(&list_prefix(Some("sky"))));
        assert_eq!(
            older[1],
            "dead-by-source:sky:8235279999999:skyvern:r:completed"
        );
        for k in older.iter().chain(newer.iter()) {
            assert!(k.len() <= KV_KEY_LIMIT);
        }
        let (all, sky) = (list_prefix(None), list_prefix(Some("sky")));
        assert_eq!(index_key_time_ms(&older[0], &all), Some(1_764_720_000_000));
        assert_eq!(index_key_time_ms(&older[1], &sky), Some(1_764_720_000_000));
        assert_eq!(index_key_time_ms(&older[1], &all), None);
        // A long id is hashed but the key still sorts by time.
        let long = index_keys("sky", &"r".repeat(600), 1_764_720_000_000);
        assert!(long.iter().all(|k| k.len() <= KV_KEY_LIMIT));
        assert_eq!(index_key_time_ms(&long[0], &all), Some(1_764_720_000_000));
        assert_eq!(index_key_time_ms(&long[1], &sky), Some(1_764_720_000_000));
        let l = letter("sky", "i", 1_764_720_000_000);
        assert_eq!(
            index_keys_of(&l),
            Some(index_keys("sky", "i", 1_764_720_000_000))
        );
        assert_eq!(letter_key("sky", "i"), "dead:sky:i");
    }

    #[test]
    fn listings_keep_only_the_source_asked_for() {
        let meta = serde_json::to_value(letter("a:b", "i", 1)).unwrap();
        assert!(listed(Some(meta.clone()), Some("a")).is_none());
        assert!(listed(Some(meta.clone()), Some("a:b")).is_some());
        assert!(listed(Some(meta), None).is_some());
        assert!(listed(None, None).is_none());
        assert!(listed(Some(serde_json::json!({"x": 1})), None).is_none());
        assert_eq!(next_cursor(true, Some("c".into())), None);
        assert_eq!(next_cursor(false, Some("c".into())), Some("c".into()));
        assert_eq!(next_cursor(false, Some(String::new())), None);
    }

    #[test]
    fn replay_requests_are_validated() {
        let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z"}"#).unwrap();
        assert_eq!(r.since_ms, Some(1_796_083_200_000));
        assert!(!r.is_direct());
        assert_eq!(r.scan_prefix(), "dead-by-time:");
        let r = ReplayRequest::parse(br#"{"source":"sky","ids":["a","b","a"]}"#).unwrap();
        assert!(r.is_direct());
        assert_eq!(r.ids.as_ref().unwrap().len(), 2);
        let r =
            ReplayRequest::parse(br#"{"since":"2026-12-01T01:00:00+01:00","source":"s"}"#).unwrap();
        assert_eq!(r.since_ms, Some(1_796_083_200_000));
        assert_eq!(r.scan_prefix(), "dead-by-source:s:");
        for (body, reason) in [
            (&br#"{"source":"s"}"#[..], "missing_selector"),
            (br#"{}"#, "missing_selector"),
            (br#"{"ids":[]}"#, "bad_ids"),
            (br#"{"ids":[""]}"#, "bad_ids"),
            (br#"{"since":"yesterday"}"#, "bad_since"),
            (br#"{"since":"2026-12-01"}"#, "bad_since"),
            (br#"{"since":5}"#, "bad_json"),
            (br#"{"ids":"a"}"#, "bad_json"),
            (br#"{"idz":["a"]}"#, "bad_json"),
            (b"not json", "bad_json"),
            (b"", "bad_json"),
        ] {
            let e = ReplayRequest::parse(body).unwrap_err();
            assert_eq!((e.status(), e.reason()), (400, reason), "{body:?}");
        }
        let many: Vec<String> = (0..=MAX_REPLAY_IDS).map(|i| i.to_string()).collect();
        let body = serde_json::json!({ "ids": many }).to_string();
        assert_eq!(
            ReplayRequest::parse(body.as_bytes()).unwrap_err().reason(),
            "bad_ids"
        );
    }

    #[test]
    fn a_scan_takes_what_matches_and_stops_at_since() {
        let t = 1_796_083_200_000;
        let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z","ids":["x"]}"#).unwrap();
        let at = |id: &str, ms| (index_keys("s", id, ms)[0].clone(), letter("s", id, ms));
        let (k, l) = at("x", t);
        assert_eq!(r.step(&k, Some(&l)), Step::Take);
        let (k, l) = at("y", t + 5);
        assert_eq!(r.step(&k, Some(&l)), Step::Skip);
        let (k, l) = at("x", t - 1);
        assert_eq!(r.step(&k, Some(&l)), Step::Stop);
        let (k, _) = at("x", t + 1);
        assert_eq!(r.step(&k, None), Step::Skip);
        let r = ReplayRequest::parse(br#"{"since":"2026-12-01T00:00:00Z","source":"o"}"#).unwrap();
        let (k, l) = at("x", t);
        assert_eq!(r.step(&k, Some(&l)), Step::Skip, "another source");
    }
}
