//! Admin queries: percent-decoded pairs, the dead-letter listing's query, and RFC 3339
//! times. Anything unknown is a 400 naming what is known.

use chrono::DateTime;

use super::AdminError;

/// Listing page size when `limit` is not given.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// KV lists at most 1000 keys at a time.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// A dead-letter listing's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub source: Option<String>,
    pub destination: Option<String>,
    pub limit: u32,
    pub cursor: Option<String>,
}

/// The query's pairs, percent-decoded (`+` is a space).
pub(crate) fn query_pairs(query: &str) -> Result<Vec<(String, String)>, AdminError> {
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
    /// Parses `source`, `destination`, `limit` (1 to 1000, default 100) and `cursor`;
    /// anything else is 400.
    pub fn parse(query: &str) -> Result<ListQuery, AdminError> {
        let mut q = ListQuery {
            source: None,
            destination: None,
            limit: DEFAULT_LIST_LIMIT,
            cursor: None,
        };
        for (k, v) in query_pairs(query)? {
            let v = Some(v).filter(|v| !v.is_empty());
            match k.as_str() {
                "source" => q.source = v,
                "destination" => q.destination = v,
                "cursor" => q.cursor = v,
                "limit" => q.limit = limit(v.as_deref())?,
                _ => {
                    return Err(AdminError::bad(
                        "bad_query",
                        "unknown query parameter; known: source, destination, limit, cursor",
                    ))
                }
            }
        }
        Ok(q)
    }

    /// The KV prefix to list.
    pub fn prefix(&self) -> String {
        super::list_prefix(self.source.as_deref())
    }
}

fn limit(v: Option<&str>) -> Result<u32, AdminError> {
    v.and_then(|v| v.parse::<u32>().ok())
        .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
        .ok_or_else(|| {
            AdminError::bad(
                "bad_limit",
                format!("limit must be a whole number from 1 to {MAX_LIST_LIMIT}"),
            )
        })
}

/// A query that may name a `destination` and nothing else.
pub fn destination_only(query: &str) -> Result<Option<String>, AdminError> {
    let mut destination = None;
    for (k, v) in query_pairs(query)? {
        match k.as_str() {
            "destination" => destination = Some(v).filter(|v| !v.is_empty()),
            _ => {
                return Err(AdminError::bad(
                    "bad_query",
                    "unknown query parameter; known: destination",
                ))
            }
        }
    }
    Ok(destination)
}

/// An RFC 3339 time in unix milliseconds (times before 1970 count as 0).
pub fn parse_time_ms(s: &str) -> Option<u64> {
    let t = DateTime::parse_from_rfc3339(s.trim()).ok()?;
    Some(u64::try_from(t.timestamp_millis()).unwrap_or(0))
}
