//! Skyvern: `x-skyvern-signature` is hex HMAC-SHA256 of the raw body keyed with the API key,
//! optionally prefixed `sha256=`. Its `x-skyvern-timestamp` is not signed, so it is only
//! checked when the source sets `tolerance_s`; the seen-ID set is the replay guard. The
//! natural id is `{run_id}:{status}`.

use serde::Deserialize;

use super::{check_timestamp, first_of, Delivery, Facts, HmacKeys, Prepared, Provider, Verified};
use crate::config::SourceConfig;
use crate::error::Error;
use crate::secret::Secret;
use crate::status::Status;

/// The name in `provider = "skyvern"`.
pub const NAME: &str = "skyvern";
/// Carries the hex signature.
pub const SIGNATURE_HEADER: &str = "x-skyvern-signature";
/// Carries a unix-seconds timestamp that the signature does not cover.
pub const TIMESTAMP_HEADER: &str = "x-skyvern-timestamp";

/// A skyvern source's verifier.
#[derive(Debug)]
pub struct Skyvern {
    keys: HmacKeys,
    tolerance_s: Option<u64>,
}

impl Skyvern {
    /// Builds the verifier, refusing options that do not apply.
    pub fn new(cfg: &SourceConfig, secrets: &[Secret]) -> Result<Self, String> {
        cfg.only(NAME, &["tolerance_s"])?;
        Ok(Skyvern {
            keys: HmacKeys::new(secrets)?,
            tolerance_s: cfg.tolerance_s,
        })
    }
}

#[derive(Deserialize)]
struct Body {
    run_id: Option<String>,
    task_id: Option<String>,
    workflow_run_id: Option<String>,
    status: Option<String>,
    run_type: Option<String>,
    failure_reason: Option<serde_json::Value>,
    timestamp: Option<String>,
    finished_at: Option<String>,
    modified_at: Option<String>,
}

/// Skyvern's run statuses in the shared vocabulary.
pub fn status(word: &str) -> Status {
    match word {
        "created" | "queued" => Status::Queued,
        "running" => Status::Running,
        "paused" => Status::Paused,
        "completed" => Status::Completed,
        "failed" => Status::Failed,
        "terminated" | "canceled" => Status::Canceled,
        "timed_out" => Status::TimedOut,
        _ => Status::Unknown,
    }
}

impl Provider for Skyvern {
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
        if let Some(tolerance_s) = self.tolerance_s {
            check_timestamp(
                h.get(TIMESTAMP_HEADER),
                TIMESTAMP_HEADER,
                tolerance_s,
                now_ms,
            )?;
        }
        let signature = signature.strip_prefix("sha256=").unwrap_or(signature);
        Prepared::signed_body(delivery.body, signature, SIGNATURE_HEADER)
    }

    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        let body: Body = verified.parse()?;
        let run_id = first_of(&[&body.run_id, &body.task_id, &body.workflow_run_id])
            .ok_or(Error::MissingField { field: "run_id" })?;
        let word = body.status.ok_or(Error::MissingField { field: "status" })?;
        Ok(Facts {
            natural_id: format!("{run_id}:{word}"),
            test: false,
            run_id: Some(run_id),
            status: status(&word),
            provider_status: Some(word),
            provider_event: body.run_type,
            time: first_of(&[&body.timestamp, &body.finished_at, &body.modified_at]),
            error: body.failure_reason.filter(|v| !v.is_null()),
            // The parse above read all of the body.
            body_is_json: true,
        })
    }
}
