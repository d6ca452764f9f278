//! SmartBrowse: deliveries are unsigned, so the source is authenticated by a secret token in
//! the path (`/in/{source}/{token}`), a `Bearer` token, or a named header, compared in
//! constant time with each configured secret. No freshness check exists; the seen-ID set is
//! the replay guard. The natural id is `{run_id}:{event}`.

use serde::Deserialize;

use super::{sha256, token, Delivery, Facts, Prepared, Provider, Verified};
use crate::config::{SourceConfig, TokenAuth};
use crate::error::Error;
use crate::secret::Secret;
use crate::status::Status;

/// The name in `provider = "smartbrowse"`.
pub const NAME: &str = "smartbrowse";
/// Event names may carry this prefix (`smartbrowse.completed`).
pub const EVENT_PREFIX: &str = "smartbrowse.";

/// A smartbrowse source's verifier.
#[derive(Debug)]
pub struct SmartBrowse {
    secrets: Vec<Secret>,
    auth: TokenAuth,
}

impl SmartBrowse {
    /// Builds the verifier: `auth` is required, `tolerance_s` has nothing to apply to.
    pub fn new(cfg: &SourceConfig, secrets: Vec<Secret>) -> Result<Self, String> {
        if cfg.tolerance_s.is_some() {
            return Err("`tolerance_s` does not apply: smartbrowse sends no timestamp".into());
        }
        cfg.only(NAME, &["auth"])?;
        let auth = cfg.auth.clone().ok_or(
            "smartbrowse sends no signature, so the source needs `auth` = \"path\", \
             \"bearer\" or \"header:<Header-Name>\"",
        )?;
        Ok(SmartBrowse { secrets, auth })
    }
}

#[derive(Deserialize)]
struct Body {
    run_id: Option<String>,
    event: Option<String>,
    timestamp: Option<String>,
    finished_at: Option<String>,
    error: Option<serde_json::Value>,
}

/// SmartBrowse's events in the shared vocabulary, with or without the `smartbrowse.` prefix.
pub fn status(event: &str) -> Status {
    match event.strip_prefix(EVENT_PREFIX).unwrap_or(event) {
        "completed" => Status::Completed,
        "failed" => Status::Failed,
        "cancelled" => Status::Canceled,
        _ => Status::Unknown,
    }
}

fn is_test(event: &str) -> bool {
    matches!(
        event.strip_prefix(EVENT_PREFIX).unwrap_or(event),
        "test" | "ping"
    )
}

impl Provider for SmartBrowse {
    fn name(&self) -> &'static str {
        NAME
    }

    fn headers_read(&self) -> Vec<&str> {
        token::header_of(&self.auth).into_iter().collect()
    }

    fn takes_path_token(&self) -> bool {
        self.auth == TokenAuth::Path
    }

    fn prepare<'a>(&self, delivery: &Delivery<'a>, _now_ms: u64) -> Result<Prepared<'a>, Error> {
        token::check(&self.auth, delivery, &self.secrets)?;
        Ok(Prepared::authenticated(delivery.body))
    }

    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        let body: Body = verified.parse()?;
        let event = body.event.ok_or(Error::MissingField { field: "event" })?;
        let test = is_test(&event);
        let natural_id = match (&body.run_id, test) {
            (Some(run), _) => format!("{run}:{event}"),
            // A dashboard's test ping may name no run: its content identifies it.
            (None, true) => format!("test:{}", hex::encode(sha256(verified.body().as_bytes()))),
            (None, false) => return Err(Error::MissingField { field: "run_id" }),
        };
        Ok(Facts {
            natural_id,
            test,
            run_id: body.run_id,
            status: status(&event),
            provider_status: Some(event.clone()),
            provider_event: Some(event),
            time: body.timestamp.or(body.finished_at),
            error: body.error.filter(|v| !v.is_null()),
            // The parse above read all of the body.
            body_is_json: true,
        })
    }
}
