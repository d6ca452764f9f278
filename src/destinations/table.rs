//! `[vars.DESTINATIONS.<name>]` tables, read and validated into [`Destinations`]: every
//! problem is a [`ConfigError::Destination`] naming the destination and the key, so that a
//! wrong table answers `500 config` and no delivery is accepted that could not be routed.
//! Without `DESTINATIONS` there is one destination, [`DEFAULT_DESTINATION`]: `ORIGIN_URL`
//! signed with `ORIGIN_SECRET`, on `RETRY_SCHEDULE_S` (today's behaviour, unchanged).
//!
//! Lookups are closures, as in [`crate::config`]: the edge passes the runtime's secrets and
//! bindings, tests pass maps.

use std::collections::BTreeMap;

use serde_json::Value;

use super::filter::known_types;
use super::{
    url_origin, Destination, Destinations, Filter, Kind, DEFAULT_DESTINATION, DEFAULT_TIMEOUT_MS,
    MAX_DESTINATIONS, MAX_NAME_LEN, MAX_TIMEOUT_MS,
};
use crate::config::{names, parse_retry_schedule, ConfigError, Settings};
use crate::secret::Secret;
use crate::signing::WebhookKey;
use crate::status::Status;

/// The keys a destination table may set.
const KEYS: [&str; 8] = [
    "url",
    "secret",
    "timeout_ms",
    "queue",
    "sources",
    "statuses",
    "types",
    "retry_schedule_s",
];

/// What the tables are checked against.
pub struct Lookups<'a> {
    /// A Worker secret by name.
    pub secret: &'a dyn Fn(&str) -> Option<Secret>,
    /// Whether a queue producer binding of this name exists.
    pub queue_bound: &'a dyn Fn(&str) -> bool,
    /// Whether a source of this name is configured.
    pub source_exists: &'a dyn Fn(&str) -> bool,
}

/// The destinations: `DESTINATIONS` (JSON text of the tables) when set, else the one
/// destination `origin` from `ORIGIN_URL` and `ORIGIN_SECRET`.
pub fn destinations(
    tables: Option<&str>,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Destinations, ConfigError> {
    let Some(tables) = tables.filter(|t| !t.trim().is_empty()) else {
        return default_destination(settings, lookups).map(|d| Destinations(vec![d]));
    };
    let var_error = |problem: String| ConfigError::Var {
        name: names::DESTINATIONS,
        problem,
    };
    let tables: BTreeMap<String, Value> = serde_json::from_str(tables).map_err(|e| {
        var_error(format!(
            "not a table of destinations ([vars.DESTINATIONS.<name>]): {e}"
        ))
    })?;
    if tables.is_empty() {
        return Err(var_error(
            "no destinations: events need somewhere to go (add a [vars.DESTINATIONS.<name>] \
             table, or remove DESTINATIONS to use ORIGIN_URL)"
                .into(),
        ));
    }
    if tables.len() > MAX_DESTINATIONS {
        return Err(var_error(format!(
            "{} destinations; at most {MAX_DESTINATIONS}",
            tables.len()
        )));
    }
    let list = tables
        .iter()
        .map(|(name, table)| destination(name, table, settings, lookups))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Destinations(list))
}

/// `ORIGIN_URL` + `ORIGIN_SECRET` as the destination `origin`.
fn default_destination(settings: &Settings, lookups: &Lookups) -> Result<Destination, ConfigError> {
    let url = settings.origin_url.clone().ok_or(ConfigError::Var {
        name: names::ORIGIN_URL,
        problem: "not set: events need somewhere to go (set ORIGIN_URL, or add \
                  [vars.DESTINATIONS.<name>] tables)"
            .into(),
    })?;
    let secret = (lookups.secret)(names::ORIGIN_SECRET).ok_or(ConfigError::Var {
        name: names::ORIGIN_SECRET,
        problem: "not set: wrangler secret put ORIGIN_SECRET (a whsec_<base64> key)".into(),
    })?;
    let key = WebhookKey::from_secret(&secret).map_err(|e| ConfigError::Var {
        name: names::ORIGIN_SECRET,
        problem: format!("{e}; expected whsec_<base64>"),
    })?;
    Ok(Destination {
        name: DEFAULT_DESTINATION.into(),
        kind: Kind::Url {
            url,
            secret: names::ORIGIN_SECRET.into(),
            key,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        },
        filter: Filter::default(),
        retry_schedule_s: settings.retry_schedule_s.clone(),
    })
}

/// One table, validated key by key.
fn destination(
    name: &str,
    table: &Value,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Destination, ConfigError> {
    let err = |key: &'static str, problem: String| ConfigError::Destination {
        name: name.to_owned(),
        key,
        problem,
    };
    check_name(name).map_err(|p| err("name", p))?;
    let table = table
        .as_object()
        .ok_or_else(|| err("name", "is not a table of keys".into()))?;
    if let Some(unknown) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(
            "name",
            format!(
                "`{unknown}` is not a destination key; known: {}",
                KEYS.join(", ")
            ),
        ));
    }
    let text = |key: &'static str| -> Result<Option<String>, ConfigError> {
        match table.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(err(key, "must be a non-empty string".into())),
        }
    };
    let kind = match (text("url")?, text("queue")?) {
        (Some(url), None) => url_kind(url, text("secret")?, table.get("timeout_ms"), lookups)
            .map_err(|(key, p)| err(key, p))?,
        (None, Some(binding)) => {
            for key in ["secret", "timeout_ms"] {
                if table.contains_key(key) {
                    return Err(err(
                        "queue",
                        format!("`{key}` does not apply to a queue destination"),
                    ));
                }
            }
            if !(lookups.queue_bound)(&binding) {
                return Err(err(
                    "queue",
                    format!(
                        "`{binding}` is not a queue producer binding of this Worker: add \
                         [[queues.producers]] binding = \"{binding}\""
                    ),
                ));
            }
            Kind::Queue { binding }
        }
        (Some(_), Some(_)) => {
            return Err(err(
                "url",
                "set exactly one of `url` and `queue`, not both".into(),
            ))
        }
        (None, None) => return Err(err("url", "set one of `url` or `queue`".into())),
    };
    Ok(Destination {
        name: name.to_owned(),
        kind,
        filter: filter(table, lookups).map_err(|(key, p)| err(key, p))?,
        retry_schedule_s: match table.get("retry_schedule_s") {
            None | Some(Value::Null) => settings.retry_schedule_s.clone(),
            Some(v) => schedule(v).map_err(|p| err("retry_schedule_s", p))?,
        },
    })
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if !name.is_empty() && name.len() <= MAX_NAME_LEN && name.bytes().all(ok) {
        Ok(())
    } else {
        Err(format!(
            "a destination's name is [a-z0-9-], 1 to {MAX_NAME_LEN} bytes (it is part of KV \
             keys and log labels)"
        ))
    }
}

type KeyProblem = (&'static str, String);

fn url_kind(
    url: String,
    secret: Option<String>,
    timeout: Option<&Value>,
    lookups: &Lookups,
) -> Result<Kind, KeyProblem> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err((
            "url",
            format!("`{}` is not an http:// or https:// URL", url_origin(&url)),
        ));
    }
    let secret = secret.unwrap_or_else(|| names::ORIGIN_SECRET.to_owned());
    let value = (lookups.secret)(&secret)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            (
                "secret",
                format!(
                    "secret `{secret}` is not set (wrangler secret put {secret}; locally, a line \
                 in .dev.vars)"
                ),
            )
        })?;
    let key = WebhookKey::from_secret(&value).map_err(|e| {
        (
            "secret",
            format!("secret `{secret}`: {e}; expected whsec_<base64>"),
        )
    })?;
    let timeout_ms = match timeout {
        None | Some(Value::Null) => DEFAULT_TIMEOUT_MS,
        Some(v) => whole_number(v)
            .filter(|t| (1..=MAX_TIMEOUT_MS).contains(t))
            .ok_or_else(|| {
                (
                    "timeout_ms",
                    format!("must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}"),
                )
            })?,
    };
    Ok(Kind::Url {
        url,
        secret,
        key,
        timeout_ms,
    })
}

/// A number written as a number or as text.
fn whole_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn filter(table: &serde_json::Map<String, Value>, lookups: &Lookups) -> Result<Filter, KeyProblem> {
    let sources = list(table, "sources")?;
    if let Some(s) = sources.iter().find(|s| !(lookups.source_exists)(s)) {
        return Err(("sources", format!("`{s}` is not a configured source")));
    }
    let statuses = list(table, "statuses")?
        .iter()
        .map(|s| s.parse::<Status>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|p| ("statuses", p))?;
    let types = list(table, "types")?;
    let known = known_types();
    if let Some(t) = types.iter().find(|t| !known.contains(t)) {
        return Err((
            "types",
            format!(
                "`{t}` is not an envelope type; use one of {}",
                known.join(", ")
            ),
        ));
    }
    Ok(Filter {
        sources,
        statuses,
        types,
    })
}

/// A list of strings; absent is empty.
fn list(
    table: &serde_json::Map<String, Value>,
    key: &'static str,
) -> Result<Vec<String>, KeyProblem> {
    let bad = || {
        (
            key,
            "must be a list of strings, such as [\"a\", \"b\"]".to_owned(),
        )
    };
    match table.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// `retry_schedule_s` as text (`"5,60,300"`, `"none"`) or a list of numbers.
fn schedule(v: &Value) -> Result<Vec<u32>, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => {
            return Err("an empty list: write \"none\" for no retries".into())
        }
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Number(n) => Ok(n.to_string()),
                _ => Err("a list of retry delays holds whole numbers of seconds".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        _ => return Err("must be text such as \"5,60,300\" (or \"none\")".into()),
    };
    parse_retry_schedule(Some(&text))
}

#[cfg(test)]
mod tests;
