//! Anchor Browser preset (`hmac`): `Anchor-Signature: t=<unix s>,v1=<hex>`, HMAC-SHA256 over
//! `v0:{t}:{raw body}`, refused when more than 120 s off (its docs: "more than 2 minutes
//! old"); the natural id is the body's `id` (`evt_…`); the status word is `type`
//! (`task.completed`, `session.failed`, `batch.completed`, …).

use super::preset::{statuses, text, Preset};
use crate::config::SourceConfig;

/// The name in `provider = "anchor"`.
pub const NAME: &str = "anchor";
/// Anchor's own tolerance.
pub const TOLERANCE_S: u64 = 120;

/// Anchor's settings.
pub const PRESET: Preset = Preset {
    name: NAME,
    base: super::hmac::NAME,
    user_keys: &["tolerance_s", "statuses", "test_events"],
    settings,
};

fn settings() -> SourceConfig {
    SourceConfig {
        signature_header: text("Anchor-Signature"),
        signature_format: text("pairs"),
        message: text("v0:{timestamp}:{body}"),
        tolerance_s: Some(TOLERANCE_S),
        id_from: text("id"),
        event_from: text("type"),
        time_from: text("created"),
        error_from: text("data.error"),
        statuses: statuses(&[
            ("started", "running"),
            ("running", "running"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("cancelled", "canceled"),
        ]),
        ..SourceConfig::default()
    }
}
