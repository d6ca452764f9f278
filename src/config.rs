//! The Worker's configuration: wrangler.toml `[vars]` and secret names, parsed and validated.
//!
//! Lookups are closures, so this module never sees the runtime: the edge passes
//! `|name| env.var(name)`, tests pass a map. Every problem is a [`ConfigError`] that names
//! the variable or source at fault; the edge answers it with `500 {"error":"config"}`.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Deserialize;

use crate::secret::Secret;

/// How long a seen ID is kept, when `DEDUP_TTL_S` is not set: 7 days, longer than any
/// provider retries.
pub const DEFAULT_DEDUP_TTL_S: u64 = 604_800;
/// KV refuses an `expiration_ttl` under 60 s.
pub const MIN_DEDUP_TTL_S: u64 = 60;
/// Largest body accepted, when `MAX_BODY_BYTES` is not set.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1_048_576;
/// Inline forward timeout in origin mode, when `ORIGIN_TIMEOUT_MS` is not set.
pub const DEFAULT_ORIGIN_TIMEOUT_MS: u64 = 5_000;
/// Providers give up on a delivery after about 10 s, so an inline forward must end sooner.
pub const MAX_ORIGIN_TIMEOUT_MS: u64 = 9_000;
/// The queue's retry schedule when `RETRY_SCHEDULE_S` is not set: the delay before each
/// retry, in seconds. Eight retries over 29.6 h, so an origin down for a day (a deploy gone
/// wrong, a night, most of a weekend day) loses nothing; the Standard Webhooks spec
/// recommends retrying for 24 h, Svix and Browserbase retry for ~28 h.
pub const DEFAULT_RETRY_SCHEDULE_S: [u32; 8] = [5, 60, 300, 1_800, 7_200, 18_000, 36_000, 43_200];
/// Queues refuse a retry delay over 12 hours.
pub const MAX_RETRY_DELAY_S: u32 = 43_200;

/// The names the configuration is read from.
pub mod names {
    pub const FORWARD_MODE: &str = "FORWARD_MODE";
    pub const ORIGIN_URL: &str = "ORIGIN_URL";
    pub const ORIGIN_SECRET: &str = "ORIGIN_SECRET";
    pub const ORIGIN_TIMEOUT_MS: &str = "ORIGIN_TIMEOUT_MS";
    pub const DEDUP_TTL_S: &str = "DEDUP_TTL_S";
    pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
    pub const RETRY_SCHEDULE_S: &str = "RETRY_SCHEDULE_S";
    pub const SOURCES: &str = "SOURCES";
    /// `[vars.DESTINATIONS.<name>]` tables (CONTRACT §7); without it, `ORIGIN_URL`.
    pub const DESTINATIONS: &str = "DESTINATIONS";
    /// The secret that opens the admin routes; without it they do not exist.
    pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
}

/// A configuration problem. The message names what to fix, never a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `SOURCES` is not a JSON object of source tables.
    #[error("SOURCES is not a table of sources ([vars.SOURCES.<name>]): {0}")]
    Sources(String),
    /// One source's table is wrong.
    #[error("source `{source_name}`: {problem}")]
    Source {
        source_name: String,
        problem: String,
    },
    /// A secret a source names is not bound.
    #[error(
        "source `{source_name}`: secret `{secret}` is not set \
         (wrangler secret put {secret}; locally, a line in .dev.vars)"
    )]
    MissingSecret { source_name: String, secret: String },
    /// One destination's table is wrong: `key` names the key at fault (`name` for the
    /// table's name itself).
    #[error("destination `{name}`: `{key}` {problem}")]
    Destination {
        name: String,
        key: &'static str,
        problem: String,
    },
    /// A `[vars]` entry or secret outside the sources is wrong.
    #[error("{name}: {problem}")]
    Var { name: &'static str, problem: String },
}

/// Where forwarded events go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMode {
    /// Enqueue on `EVENTS`; the queue consumer delivers to the origin with retries.
    Queue,
    /// Deliver to the origin inline; on failure fall back to the queue, else answer 503.
    Origin,
    /// Verify and normalize only, then answer 202: no KV, no forwarding. For dry runs and
    /// for benchmarking the verification path alone.
    Discard,
}

/// The `[vars]` that apply to every source.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `FORWARD_MODE`: `queue` (default), `origin`, or `discard` (verify only).
    pub forward_mode: ForwardMode,
    /// `ORIGIN_URL`: where normalized, signed events are POSTed (http or https), when
    /// `DESTINATIONS` is not set (it is then the one destination, `origin`).
    pub origin_url: Option<String>,
    /// `ORIGIN_TIMEOUT_MS`: inline forward timeout in origin mode (default 5000, at most 9000).
    pub origin_timeout_ms: u64,
    /// `DEDUP_TTL_S`: how long a seen ID is remembered (default 604800, at least 60).
    pub dedup_ttl_s: u64,
    /// `MAX_BODY_BYTES`: larger deliveries get 413 (default 1048576).
    pub max_body_bytes: usize,
    /// `RETRY_SCHEDULE_S`: the delay before each queue retry, in seconds, comma-separated
    /// (default [`DEFAULT_RETRY_SCHEDULE_S`]; each at most 43200). When it is used up the
    /// event is kept as a dead letter.
    pub retry_schedule_s: Vec<u32>,
}

impl Settings {
    /// Reads and validates the settings; `var` returns a `[vars]` value by name.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let forward_mode = match var(names::FORWARD_MODE).as_deref().map(str::trim) {
            None | Some("") | Some("queue") => ForwardMode::Queue,
            Some("origin") => ForwardMode::Origin,
            Some("discard") => ForwardMode::Discard,
            Some(other) => {
                return Err(ConfigError::Var {
                    name: names::FORWARD_MODE,
                    problem: format!("`{other}` is not `queue`, `origin` or `discard`"),
                })
            }
        };
        let origin_url = var(names::ORIGIN_URL)
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if let Some(url) = &origin_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Var {
                    name: names::ORIGIN_URL,
                    problem: format!("`{url}` is not an http:// or https:// URL"),
                });
            }
        }
        let dedup_ttl_s = number(&var, names::DEDUP_TTL_S, DEFAULT_DEDUP_TTL_S)?;
        if dedup_ttl_s < MIN_DEDUP_TTL_S {
            return Err(ConfigError::Var {
                name: names::DEDUP_TTL_S,
                problem: format!(
                    "{dedup_ttl_s} is under {MIN_DEDUP_TTL_S}, the shortest expiry KV allows"
                ),
            });
        }
        let max_body_bytes = number(&var, names::MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)?;
        if max_body_bytes == 0 {
            return Err(ConfigError::Var {
                name: names::MAX_BODY_BYTES,
                problem: "0 would refuse every delivery".into(),
            });
        }
        let origin_timeout_ms = number(&var, names::ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS)?;
        if origin_timeout_ms == 0 || origin_timeout_ms > MAX_ORIGIN_TIMEOUT_MS {
            return Err(ConfigError::Var {
                name: names::ORIGIN_TIMEOUT_MS,
                problem: format!(
                    "{origin_timeout_ms} must be between 1 and {MAX_ORIGIN_TIMEOUT_MS}: \
                     providers stop waiting after about 10 s"
                ),
            });
        }
        let retry_schedule_s = parse_retry_schedule(var(names::RETRY_SCHEDULE_S).as_deref())
            .map_err(|problem| ConfigError::Var {
                name: names::RETRY_SCHEDULE_S,
                problem,
            })?;
        Ok(Settings {
            forward_mode,
            origin_url,
            origin_timeout_ms,
            dedup_ttl_s,
            max_body_bytes,
            retry_schedule_s,
        })
    }
}

/// Parses a retry schedule (`RETRY_SCHEDULE_S`, a destination's `retry_schedule_s`): whole
/// seconds separated by commas, each at most 12 h; unset or empty is the default; `none`
/// retries nothing (the first failure is a dead letter).
pub fn parse_retry_schedule(value: Option<&str>) -> Result<Vec<u32>, String> {
    let value = match value.map(str::trim) {
        None | Some("") => return Ok(DEFAULT_RETRY_SCHEDULE_S.to_vec()),
        Some("none") => return Ok(Vec::new()),
        Some(v) => v,
    };
    value
        .split(',')
        .map(|d| match d.trim().parse::<u32>() {
            Ok(d) if d <= MAX_RETRY_DELAY_S => Ok(d),
            Ok(d) => Err(format!(
                "{d} is over {MAX_RETRY_DELAY_S} s, the longest delay Queues allows"
            )),
            Err(_) => Err(format!(
                "`{}` is not a whole number of seconds (expected e.g. \"5,60,300\", or \"none\")",
                d.trim()
            )),
        })
        .collect()
}

fn number<T: FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Var {
            name,
            problem: format!("`{v}` is not a whole number"),
        }),
    }
}

/// Where a token source (smartbrowse, token, apify) finds its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAuth {
    /// `POST /in/{source}/{token}`.
    Path,
    /// `Authorization: Bearer {token}`.
    Bearer,
    /// A header of the given name carries the token.
    Header(String),
}

impl FromStr for TokenAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "path" => Ok(TokenAuth::Path),
            "bearer" => Ok(TokenAuth::Bearer),
            _ => match s.strip_prefix("header:").map(str::trim) {
                Some(name) if !name.is_empty() && name.bytes().all(is_header_name_byte) => {
                    Ok(TokenAuth::Header(name.to_owned()))
                }
                _ => Err(format!(
                    "auth `{s}` is not `path`, `bearer` or `header:<Header-Name>`"
                )),
            },
        }
    }
}

fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl<'de> Deserialize<'de> for TokenAuth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One `[vars.SOURCES.<name>]` table. Which keys apply depends on the provider; a key that
/// does not apply is refused when the provider is built, naming the source and the key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Which provider's scheme authenticates this source: `browser-use`, `skyvern`,
    /// `smartbrowse`, `standard-webhooks`, `hmac`, `token`, or a preset (`browserbase`,
    /// `firecrawl`, `anchor`, `apify`).
    pub provider: String,
    /// Names of the Worker secrets holding this source's keys or tokens. Several: a
    /// delivery matching any of them is accepted (key rotation).
    pub secrets: Vec<String>,
    /// Timestamp tolerance in seconds, past or future. browser-use, standard-webhooks and
    /// an hmac source that signs a timestamp: 300 when unset (anchor: 120). skyvern, and an
    /// hmac source whose timestamp header is not signed: not enforced unless set.
    #[serde(default)]
    pub tolerance_s: Option<u64>,
    /// smartbrowse and token (required there), apify (default `path`): where the token is,
    /// `path`, `bearer` or `header:<Header-Name>`.
    #[serde(default)]
    pub auth: Option<TokenAuth>,
    /// hmac, required: the header carrying the signature (`X-Hub-Signature-256`).
    #[serde(default)]
    pub signature_header: Option<String>,
    /// hmac: the MAC's hash, `sha256` (default), `sha1` or `sha512`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// hmac: how the signature is written, `hex` (default, either case), `base64` or
    /// `base64url`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// hmac: text before the signature, stripped when present (`sha256=`, `v0=`).
    #[serde(default)]
    pub signature_prefix: Option<String>,
    /// hmac: `plain` (default: the header holds one signature) or `pairs`
    /// (`t=<unix s>,v1=<sig>[,v1=<sig>…]`, as Stripe and Anchor send; any `v1` may match).
    #[serde(default)]
    pub signature_format: Option<String>,
    /// hmac: the signed message, a template of `{body}` (required, once), `{timestamp}` and
    /// `{id}` (the `id_from` header) around literal text. Default `{body}`.
    #[serde(default)]
    pub message: Option<String>,
    /// hmac: the header carrying the unix-seconds timestamp (with `pairs`, `t=` is used when
    /// this is unset).
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// hmac: how a secret's text becomes the key, `utf8` (default: the text's bytes, as
    /// GitHub, Stripe and Slack use it), `base64`, or `whsec` (`whsec_<base64>`).
    #[serde(default)]
    pub secret_encoding: Option<String>,
    /// standard-webhooks, hmac, token: where the natural event id is, `header:<Name>` or a
    /// body field (a dotted path such as `data.id`). Default: standard-webhooks its
    /// `webhook-id`; hmac and token the SHA-256 of the body.
    #[serde(default)]
    pub id_from: Option<String>,
    /// standard-webhooks, hmac, token: where the word mapped to a status is, `header:<Name>`
    /// or a body field. Default `type`.
    #[serde(default)]
    pub event_from: Option<String>,
    /// standard-webhooks, hmac, token: where the run id (the envelope's `subject`) is,
    /// `header:<Name>` or a body field. Default: none.
    #[serde(default)]
    pub run_id_from: Option<String>,
    /// standard-webhooks, hmac, token: the body field with the event's RFC 3339 time.
    /// Default: the first of `timestamp`, `created_at`, `finished_at`, `modified_at`.
    #[serde(default)]
    pub time_from: Option<String>,
    /// standard-webhooks, hmac, token: the body field with the event's error, if any.
    #[serde(default)]
    pub error_from: Option<String>,
    /// standard-webhooks, hmac, token and the presets: the provider's words and the status
    /// each means (`queued`, `running`, `paused`, `completed`, `failed`, `canceled`,
    /// `timed_out`, `unknown`). A word is looked up whole, then by its last `.`-separated
    /// part (`crawl.completed` finds `completed`). A preset's own table is extended by this.
    #[serde(default)]
    pub statuses: Option<BTreeMap<String, String>>,
    /// standard-webhooks, hmac, token and the presets: event words that are the provider's
    /// test ping (the envelope's `type` is then `webhook.test`).
    #[serde(default)]
    pub test_events: Option<Vec<String>>,
}

impl SourceConfig {
    /// The optional keys this table sets, by their names in the table.
    pub fn keys_set(&self) -> Vec<&'static str> {
        let c = self;
        [
            ("tolerance_s", c.tolerance_s.is_some()),
            ("auth", c.auth.is_some()),
            ("signature_header", c.signature_header.is_some()),
            ("algorithm", c.algorithm.is_some()),
            ("encoding", c.encoding.is_some()),
            ("signature_prefix", c.signature_prefix.is_some()),
            ("signature_format", c.signature_format.is_some()),
            ("message", c.message.is_some()),
            ("timestamp_header", c.timestamp_header.is_some()),
            ("secret_encoding", c.secret_encoding.is_some()),
            ("id_from", c.id_from.is_some()),
            ("event_from", c.event_from.is_some()),
            ("run_id_from", c.run_id_from.is_some()),
            ("time_from", c.time_from.is_some()),
            ("error_from", c.error_from.is_some()),
            ("statuses", c.statuses.is_some()),
            ("test_events", c.test_events.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    /// Refuses the keys this table sets that `provider` does not take (`allowed`), naming
    /// the first one.
    pub fn only(&self, provider: &str, allowed: &[&str]) -> Result<(), String> {
        match self.keys_set().into_iter().find(|k| !allowed.contains(k)) {
            None => Ok(()),
            Some(key) => Err(format!("`{key}` does not apply to {provider} sources")),
        }
    }
}

/// Checks that `name` can be an HTTP header name, for keys naming headers.
pub fn header_name(key: &str, name: &str) -> Result<String, String> {
    let name = name.trim();
    if !name.is_empty() && name.bytes().all(is_header_name_byte) {
        Ok(name.to_owned())
    } else {
        Err(format!("`{key}` = `{name}` is not a header name"))
    }
}

/// The `SOURCES` table: source name to its (not yet validated) table. Each source is
/// validated when a delivery for it arrives, so one broken source does not stop the others.
#[derive(Debug, Clone, Default)]
pub struct Sources(BTreeMap<String, serde_json::Value>);

impl Sources {
    /// Parses `SOURCES` as JSON (wrangler turns `[vars.SOURCES.*]` tables into a JSON object).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(json)
            .map(Sources)
            .map_err(|e| ConfigError::Sources(e.to_string()))
    }

    /// Takes an already-parsed `SOURCES` object.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        serde_json::from_value(value)
            .map(Sources)
            .map_err(|e| ConfigError::Sources(e.to_string()))
    }

    /// Whether a source of this name is configured (its table may still be wrong).
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The validated table of source `name`: `None` when there is no such source.
    pub fn get(&self, name: &str) -> Option<Result<SourceConfig, ConfigError>> {
        let table = self.0.get(name)?;
        Some(
            SourceConfig::deserialize(table).map_err(|e| ConfigError::Source {
                source_name: name.to_owned(),
                problem: e.to_string(),
            }),
        )
    }
}

/// Resolves each secret name of a source through `lookup`, refusing a missing or empty one.
pub fn resolve_secrets(
    source_name: &str,
    names: &[String],
    lookup: impl Fn(&str) -> Option<Secret>,
) -> Result<Vec<Secret>, ConfigError> {
    if names.is_empty() {
        return Err(ConfigError::Source {
            source_name: source_name.to_owned(),
            problem: "`secrets` is empty: name at least one secret binding".into(),
        });
    }
    names
        .iter()
        .map(|n| match lookup(n) {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(ConfigError::Source {
                source_name: source_name.to_owned(),
                problem: format!("secret `{n}` is empty"),
            }),
            None => Err(ConfigError::MissingSecret {
                source_name: source_name.to_owned(),
                secret: n.clone(),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const URL: (&str, &str) = ("ORIGIN_URL", "http://127.0.0.1:9000/events");

    #[test]
    fn defaults_apply_when_vars_are_unset() {
        let s = Settings::from_vars(vars(&[URL])).unwrap();
        assert_eq!(s.forward_mode, ForwardMode::Queue);
        assert_eq!(s.dedup_ttl_s, DEFAULT_DEDUP_TTL_S);
        assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(s.origin_timeout_ms, DEFAULT_ORIGIN_TIMEOUT_MS);
    }

    #[test]
    fn each_bad_var_is_named() {
        let err = |pairs: &[(&str, &str)]| Settings::from_vars(vars(pairs)).unwrap_err();
        assert!(matches!(
            err(&[URL, ("DEDUP_TTL_S", "59")]),
            ConfigError::Var {
                name: "DEDUP_TTL_S",
                ..
            }
        ));
        assert!(matches!(
            err(&[URL, ("DEDUP_TTL_S", "soon")]),
            ConfigError::Var {
                name: "DEDUP_TTL_S",
                ..
            }
        ));
        assert!(matches!(
            err(&[URL, ("FORWARD_MODE", "pigeon")]),
            ConfigError::Var {
                name: "FORWARD_MODE",
                ..
            }
        ));
        // Without ORIGIN_URL the settings stand (DESTINATIONS may route the events; without
        // either, the destinations are refused: destinations::table's tests).
        assert_eq!(Settings::from_vars(vars(&[])).unwrap().origin_url, None);
        assert!(matches!(
            err(&[("ORIGIN_URL", "ftp://x")]),
            ConfigError::Var {
                name: "ORIGIN_URL",
                ..
            }
        ));
        assert!(matches!(
            err(&[URL, ("ORIGIN_TIMEOUT_MS", "15000")]),
            ConfigError::Var {
                name: "ORIGIN_TIMEOUT_MS",
                ..
            }
        ));
        assert_eq!(
            err(&[URL, ("DEDUP_TTL_S", "59")]).to_string(),
            "DEDUP_TTL_S: 59 is under 60, the shortest expiry KV allows"
        );
    }

    #[test]
    fn the_retry_schedule_is_the_whole_policy() {
        let s = Settings::from_vars(vars(&[URL])).unwrap();
        assert_eq!(s.retry_schedule_s, DEFAULT_RETRY_SCHEDULE_S);
        let total: u32 = DEFAULT_RETRY_SCHEDULE_S.iter().sum();
        assert!(
            total >= 24 * 3600,
            "the default covers a day's outage: {total} s"
        );
        assert!(DEFAULT_RETRY_SCHEDULE_S
            .iter()
            .all(|&d| d <= MAX_RETRY_DELAY_S));
        let s = Settings::from_vars(vars(&[URL, ("RETRY_SCHEDULE_S", " 1, 2 ,4")])).unwrap();
        assert_eq!(s.retry_schedule_s, [1, 2, 4]);
        let s = Settings::from_vars(vars(&[URL, ("RETRY_SCHEDULE_S", "none")])).unwrap();
        assert!(s.retry_schedule_s.is_empty());
        let err = |v: &str| {
            Settings::from_vars(vars(&[URL, ("RETRY_SCHEDULE_S", v)]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("5,43201"),
            "RETRY_SCHEDULE_S: 43201 is over 43200 s, the longest delay Queues allows"
        );
        assert!(err("5,,6").starts_with("RETRY_SCHEDULE_S: `` is not a whole number"));
        assert!(err("1h").contains("`1h`"));
    }

    #[test]
    fn sources_parse_and_validate_one_at_a_time() {
        let s = Sources::from_json(
            r#"{"bu":{"provider":"browser-use","secrets":["A"],"tolerance_s":60},
                "sb":{"provider":"smartbrowse","secrets":["T"],"auth":"header:X-Token"},
                "bad":{"provider":"skyvern","secrets":["K"],"auth":"carrier pigeon"},
                "typo":{"provider":"skyvern","secret":["K"]}}"#,
        )
        .unwrap();
        let bu = s.get("bu").unwrap().unwrap();
        assert_eq!(
            (bu.provider.as_str(), bu.tolerance_s),
            ("browser-use", Some(60))
        );
        assert_eq!(
            s.get("sb").unwrap().unwrap().auth,
            Some(TokenAuth::Header("X-Token".into()))
        );
        assert!(s.get("nope").is_none());
        let bad = s.get("bad").unwrap().unwrap_err().to_string();
        assert!(
            bad.starts_with("source `bad`: auth `carrier pigeon` is not"),
            "{bad}"
        );
        let typo = s.get("typo").unwrap().unwrap_err().to_string();
        assert!(typo.contains("unknown field `secret`"), "{typo}");
        assert!(matches!(
            Sources::from_json("[1]"),
            Err(ConfigError::Sources(_))
        ));
    }

    #[test]
    fn secrets_must_exist_and_not_be_empty() {
        let lookup = |n: &str| match n {
            "SET" => Some(Secret::new("k")),
            "EMPTY" => Some(Secret::new("")),
            _ => None,
        };
        assert_eq!(
            resolve_secrets("s", &["SET".into()], lookup).unwrap().len(),
            1
        );
        let missing = resolve_secrets("s", &["SET".into(), "GONE".into()], lookup).unwrap_err();
        assert_eq!(
            missing,
            ConfigError::MissingSecret {
                source_name: "s".into(),
                secret: "GONE".into()
            }
        );
        assert!(missing.to_string().contains("wrangler secret put GONE"));
        assert!(resolve_secrets("s", &["EMPTY".into()], lookup).is_err());
        assert!(resolve_secrets("s", &[], lookup).is_err());
    }
}
