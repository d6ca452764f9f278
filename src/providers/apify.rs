//! Apify preset (`token`): Apify does not sign, so the source is authenticated by a token in
//! the webhook URL (`auth = "path"`, the default) or in a header its `headersTemplate` adds;
//! the natural id is the `X-Apify-Webhook-Dispatch-Id` header, the same on each of its
//! retries; the status word is `eventType` (`ACTOR.RUN.SUCCEEDED`, `ACTOR.BUILD.TIMED_OUT`,
//! …), the run `resource.id`; `TEST` is its test ping.

use super::preset::{statuses, text, Preset};
use crate::config::{SourceConfig, TokenAuth};

/// The name in `provider = "apify"`.
pub const NAME: &str = "apify";
/// Carries the dispatch id, stable across retries.
pub const DISPATCH_ID_HEADER: &str = "X-Apify-Webhook-Dispatch-Id";

/// Apify's settings.
pub const PRESET: Preset = Preset {
    name: NAME,
    base: super::token::NAME,
    user_keys: &["auth", "statuses", "test_events"],
    settings,
};

fn settings() -> SourceConfig {
    SourceConfig {
        auth: Some(TokenAuth::Path),
        id_from: text(&format!("header:{DISPATCH_ID_HEADER}")),
        event_from: text("eventType"),
        run_id_from: text("resource.id"),
        time_from: text("createdAt"),
        statuses: statuses(&[
            ("CREATED", "queued"),
            ("RESURRECTED", "running"),
            ("SUCCEEDED", "completed"),
            ("FAILED", "failed"),
            ("ABORTED", "canceled"),
            ("TIMED_OUT", "timed_out"),
            ("TIMED-OUT", "timed_out"),
        ]),
        test_events: Some(vec!["TEST".into()]),
        ..SourceConfig::default()
    }
}
