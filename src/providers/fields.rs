//! Where a configurable provider (`standard-webhooks`, `hmac`, `token` and their presets)
//! finds an event's facts: its id, its status word and the table mapping that word into the
//! vocabulary, its run, time and error, each in a header or a body field, as the source's
//! table says.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{intern, sha256, Facts, Headers, Verified};
use crate::config::{header_name, SourceConfig};
use crate::error::Error;
use crate::status::Status;

/// The keys of a source table that [`EventFields`] reads.
pub const KEYS: [&str; 7] = [
    "id_from",
    "event_from",
    "run_id_from",
    "time_from",
    "error_from",
    "statuses",
    "test_events",
];

/// The field the status word is read from when `event_from` is not set.
pub const DEFAULT_EVENT_FIELD: &str = "type";
/// The fields tried, in order, for the event's time when `time_from` is not set.
pub const DEFAULT_TIME_FIELDS: [&str; 4] =
    ["timestamp", "created_at", "finished_at", "modified_at"];

/// Where one value is: `header:<Name>`, or a body field by its dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    Header(&'static str),
    Body(&'static str),
}

impl FieldRef {
    /// Parses the value of key `key`: `header:<Name>` or a dotted path (`data.id`).
    pub fn parse(key: &str, value: &str) -> Result<Self, String> {
        if let Some(name) = value.strip_prefix("header:") {
            return Ok(FieldRef::Header(intern(&header_name(key, name)?)));
        }
        if value.is_empty() || value.split('.').any(str::is_empty) {
            return Err(format!(
                "`{key}` = `{value}` is neither `header:<Name>` nor a field path such as `data.id`"
            ));
        }
        Ok(FieldRef::Body(intern(value)))
    }

    /// The value in `body` at this path (`None` for a header).
    fn in_body<'v>(&self, body: &'v Value) -> Option<&'v Value> {
        match self {
            FieldRef::Header(_) => None,
            FieldRef::Body(path) => path
                .split('.')
                .try_fold(body, |v, part| v.get(part))
                .filter(|v| !v.is_null()),
        }
    }
}

/// A provider's words mapped into the status vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusTable(BTreeMap<String, Status>);

impl StatusTable {
    /// The table of a source's `statuses`, each value checked against the vocabulary.
    pub fn parse(table: &BTreeMap<String, String>) -> Result<Self, String> {
        table
            .iter()
            .map(|(word, status)| {
                status
                    .parse()
                    .map(|s| (word.clone(), s))
                    .map_err(|e| format!("`statuses`.`{word}`: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(StatusTable)
    }

    /// `word`'s status: looked up whole, then by its last `.`-separated part
    /// (`crawl.completed` finds `completed`); `Unknown` when neither is in the table.
    pub fn status(&self, word: &str) -> Status {
        self.0
            .get(word)
            .or_else(|| {
                let (_, last) = word.rsplit_once('.')?;
                self.0.get(last)
            })
            .copied()
            .unwrap_or(Status::Unknown)
    }
}

/// Where a configurable provider finds an event's facts.
#[derive(Debug, Clone)]
pub struct EventFields {
    /// The natural id; `None`: the one the verifier found (standard-webhooks' `webhook-id`),
    /// else the body's SHA-256.
    id: Option<FieldRef>,
    event: FieldRef,
    run_id: Option<FieldRef>,
    time: Vec<FieldRef>,
    error: Option<FieldRef>,
    statuses: StatusTable,
    test_events: Vec<String>,
    /// The headers the fields above name, in the order the verifier keeps them.
    headers: Vec<&'static str>,
}

impl EventFields {
    /// Reads the [`KEYS`] of a source table, with the defaults where unset.
    pub fn from_config(cfg: &SourceConfig) -> Result<Self, String> {
        let field = |key: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| FieldRef::parse(key, v))
                .transpose()
        };
        let id = field("id_from", &cfg.id_from)?;
        let event =
            field("event_from", &cfg.event_from)?.unwrap_or(FieldRef::Body(DEFAULT_EVENT_FIELD));
        let run_id = field("run_id_from", &cfg.run_id_from)?;
        let time = match field("time_from", &cfg.time_from)? {
            Some(FieldRef::Header(_)) => {
                return Err("`time_from` must be a body field, not a header".into())
            }
            Some(f) => vec![f],
            None => DEFAULT_TIME_FIELDS.map(FieldRef::Body).to_vec(),
        };
        let error = field("error_from", &cfg.error_from)?;
        let statuses = match &cfg.statuses {
            Some(t) => StatusTable::parse(t)?,
            None => StatusTable::default(),
        };
        let mut headers = Vec::new();
        for f in [&id, &Some(event.clone()), &run_id, &error]
            .into_iter()
            .flatten()
        {
            if let FieldRef::Header(h) = f {
                if !headers.contains(h) {
                    headers.push(*h);
                }
            }
        }
        Ok(EventFields {
            id,
            event,
            run_id,
            time,
            error,
            statuses,
            test_events: cfg.test_events.clone().unwrap_or_default(),
            headers,
        })
    }

    /// The headers `describe` reads, for the provider's `headers_read`.
    pub fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    /// The values of [`EventFields::headers`] in a delivery, for `Prepared::with_headers`.
    pub fn capture<'a>(&self, headers: &'a Headers) -> Vec<Option<&'a str>> {
        self.headers.iter().map(|h| headers.get(h)).collect()
    }

    /// The text at `field`: a header kept by the verifier, or a body string or number.
    fn text(
        &self,
        field: &FieldRef,
        verified: &Verified<'_>,
        body: &Value,
    ) -> Result<Option<String>, Error> {
        match field {
            FieldRef::Header(h) => {
                let i = self.headers.iter().position(|x| x == h);
                Ok(i.and_then(|i| verified.header(i)).map(str::to_owned))
            }
            FieldRef::Body(path) => match field.in_body(body) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
                Some(_) => Err(Error::malformed(format!(
                    "`{path}` is not a string or a number"
                ))),
            },
        }
    }

    /// The facts of a verified delivery. The body must be JSON (the envelope embeds it).
    pub fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        let body: Value = verified.parse()?;
        let natural_id = match &self.id {
            Some(f) => self.text(f, verified, &body)?.ok_or(match f {
                FieldRef::Header(header) => Error::MissingHeader { header },
                FieldRef::Body(field) => Error::MissingField { field },
            })?,
            None => match verified.natural_id() {
                Some(id) => id.to_owned(),
                None => hex::encode(sha256(verified.body().as_bytes())),
            },
        };
        let word = self.text(&self.event, verified, &body)?;
        let run_id = match &self.run_id {
            Some(f) => self.text(f, verified, &body)?,
            None => None,
        };
        let time = self
            .time
            .iter()
            .find_map(|f| f.in_body(&body).and_then(Value::as_str))
            .map(str::to_owned);
        let error = self.error.as_ref().and_then(|f| f.in_body(&body)).cloned();
        Ok(Facts {
            natural_id,
            test: word.as_ref().is_some_and(|w| self.test_events.contains(w)),
            run_id,
            status: word
                .as_deref()
                .map_or(Status::Unknown, |w| self.statuses.status(w)),
            provider_status: word.clone(),
            provider_event: word,
            time,
            error,
            // The parse above read all of the body.
            body_is_json: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_refs_parse_headers_and_paths() {
        assert_eq!(
            FieldRef::parse("id_from", "header:X-Delivery"),
            Ok(FieldRef::Header("X-Delivery"))
        );
        assert_eq!(
            FieldRef::parse("id_from", "data.id"),
            Ok(FieldRef::Body("data.id"))
        );
        assert!(FieldRef::parse("id_from", "header:bad name").is_err());
        let err = FieldRef::parse("run_id_from", "data..id").unwrap_err();
        assert!(
            err.starts_with("`run_id_from` = `data..id` is neither"),
            "{err}"
        );
        assert!(FieldRef::parse("id_from", "").is_err());
    }

    #[test]
    fn statuses_look_up_the_whole_word_then_its_last_part() {
        let table: BTreeMap<String, String> = [
            ("completed", "completed"),
            ("crawl.page", "running"),
            ("TIMED_OUT", "timed_out"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let t = StatusTable::parse(&table).unwrap();
        assert_eq!(t.status("crawl.completed"), Status::Completed);
        assert_eq!(t.status("completed"), Status::Completed);
        assert_eq!(t.status("crawl.page"), Status::Running);
        assert_eq!(t.status("batch.page"), Status::Unknown);
        assert_eq!(t.status("ACTOR.RUN.TIMED_OUT"), Status::TimedOut);
        assert_eq!(t.status("Completed"), Status::Unknown);
        let mut bad = table.clone();
        bad.insert("done".into(), "finished".into());
        let err = StatusTable::parse(&bad).unwrap_err();
        assert!(
            err.starts_with("`statuses`.`done`: `finished` is not a status"),
            "{err}"
        );
    }
}
