//! Browser Use: `X-Browser-Use-Signature` is lowercase hex HMAC-SHA256 over
//! `{X-Browser-Use-Timestamp}.{canonical}`, canonical being CPython's
//! `json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)`; the timestamp must
//! be within the tolerance either way. The natural id is the canonical body's digest.

use super::{check_timestamp, Delivery, Facts, HmacKeys, Prepared, Provider, Verified};
use crate::canonical::Canonicalizer;
use crate::config::SourceConfig;
use crate::error::Error;
use crate::secret::Secret;
use crate::status::Status;

/// The name in `provider = "browser-use"`.
pub const NAME: &str = "browser-use";
/// Carries the hex signature.
pub const SIGNATURE_HEADER: &str = "X-Browser-Use-Signature";
/// Carries the unix-seconds timestamp that is part of the signed message.
pub const TIMESTAMP_HEADER: &str = "X-Browser-Use-Timestamp";
/// Tolerance when `tolerance_s` is not set.
pub const DEFAULT_TOLERANCE_S: u64 = 300;
/// The `type` of Browser Use's test ping.
pub const TEST_TYPE: &str = "test";

/// A browser-use source's verifier.
#[derive(Debug)]
pub struct BrowserUse {
    keys: HmacKeys,
    tolerance_s: u64,
}

impl BrowserUse {
    /// Builds the verifier, refusing options that do not apply.
    pub fn new(cfg: &SourceConfig, secrets: &[Secret]) -> Result<Self, String> {
        cfg.only(NAME, &["tolerance_s"])?;
        Ok(BrowserUse {
            keys: HmacKeys::new(secrets)?,
            tolerance_s: cfg.tolerance_s.unwrap_or(DEFAULT_TOLERANCE_S),
        })
    }
}

thread_local! {
    /// The canonicalizer's buffers, kept between deliveries (a Worker isolate runs one
    /// thread; natively each thread gets its own).
    static CANONICALIZER: std::cell::RefCell<Canonicalizer> = Default::default();
}

/// The fields the envelope needs, found during the canonical pass (no second parse).
const FIELDS: [&[&str]; 4] = [
    &["type"],
    &["timestamp"],
    &["payload", "task_id"],
    &["payload", "status"],
];
const TYPE: usize = 0;
const TIMESTAMP: usize = 1;
const TASK_ID: usize = 2;
const STATUS: usize = 3;

/// Browser Use's statuses in the shared vocabulary: the v2 task words (`initializing`,
/// `started`, `paused`, `finished`, `stopped`) and the v3 session words (`created`, `running`,
/// `idle`, `stopped`, `timed_out`, `error`; `idle` is how v3 reports a finished task, the
/// session then waiting for the next one).
pub fn status(word: &str) -> Status {
    match word {
        "initializing" | "created" => Status::Queued,
        "started" | "running" => Status::Running,
        "paused" => Status::Paused,
        "finished" | "idle" => Status::Completed,
        "stopped" => Status::Canceled,
        "error" => Status::Failed,
        "timed_out" => Status::TimedOut,
        _ => Status::Unknown,
    }
}

impl Provider for BrowserUse {
    fn name(&self) -> &'static str {
        NAME
    }

    fn headers_read(&self) -> Vec<&str> {
        vec![SIGNATURE_HEADER, TIMESTAMP_HEADER]
    }

    fn mac_keys(&self) -> Option<&HmacKeys> {
        Some(&self.keys)
    }

    fn prepare<'a>(&self, delivery: &Delivery<'a>, now_ms: u64) -> Result<Prepared<'a>, Error> {
        let h = delivery.headers;
        let signature = h.get(SIGNATURE_HEADER).ok_or(Error::MissingSignature {
            header: SIGNATURE_HEADER,
        })?;
        let timestamp = h.get(TIMESTAMP_HEADER);
        check_timestamp(timestamp, TIMESTAMP_HEADER, self.tolerance_s, now_ms)?;
        let timestamp = timestamp.unwrap_or_default();
        let mut message = Vec::with_capacity(timestamp.len() + 1 + delivery.body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.push(b'.');
        let mut found = [None, None, None, None];
        let scan = CANONICALIZER
            .with_borrow_mut(|c| {
                c.canonicalize_capturing(delivery.body, &mut message, &FIELDS, &mut found)
            })
            .map_err(Error::from)?;
        let fields = found
            .into_iter()
            .map(|r| r.map(|r| &delivery.body[r]))
            .collect();
        Prepared::signed_message(
            delivery.body,
            signature,
            SIGNATURE_HEADER,
            message,
            timestamp.len() + 1,
            fields,
            scan.standard_json,
        )
    }

    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        let kind = verified
            .field(TYPE, "type")?
            .ok_or(Error::MissingField { field: "type" })?;
        let word = verified.field(STATUS, "payload.status")?;
        Ok(Facts {
            natural_id: verified.natural_id().unwrap_or_default().to_owned(),
            test: kind == TEST_TYPE,
            run_id: verified.field(TASK_ID, "payload.task_id")?,
            status: word.as_deref().map_or(Status::Unknown, status),
            provider_status: word,
            provider_event: Some(kind),
            time: verified.field(TIMESTAMP, "timestamp")?,
            error: None,
            body_is_json: verified.body_is_json(),
        })
    }
}
