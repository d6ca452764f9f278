//! Browserbase preset (`standard-webhooks`): Standard Webhooks with the `whsec_` secret its
//! API returns when the webhook is created; the natural id is `webhook-id` (stable across
//! retries); the status word is `type` (`functions.invocations.completed`,
//! `functions.builds.failed`, …), the run `resourceId`.

use super::preset::{statuses, text, Preset};
use crate::config::SourceConfig;

/// The name in `provider = "browserbase"`.
pub const NAME: &str = "browserbase";

/// Browserbase's settings.
pub const PRESET: Preset = Preset {
    name: NAME,
    base: super::standard_webhooks::NAME,
    user_keys: &["tolerance_s", "statuses", "test_events"],
    settings,
};

fn settings() -> SourceConfig {
    SourceConfig {
        event_from: text("type"),
        run_id_from: text("resourceId"),
        error_from: text("data.error"),
        statuses: statuses(&[
            ("pending", "queued"),
            ("running", "running"),
            ("completed", "completed"),
            ("failed", "failed"),
        ]),
        ..SourceConfig::default()
    }
}
