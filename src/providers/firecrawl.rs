//! Firecrawl preset (`hmac`): `X-Firecrawl-Signature: sha256=<hex>` of the raw body
//! (HMAC-SHA256 with the account's webhook secret, sent only when one is set), no timestamp;
//! the natural id is the body's `webhookId`, the same on each of its retries; the status word
//! is `type` (`crawl.completed`, `batch_scrape.page`, `extract.failed`, `agent.cancelled`, …).

use super::preset::{statuses, text, Preset};
use crate::config::SourceConfig;

/// The name in `provider = "firecrawl"`.
pub const NAME: &str = "firecrawl";

/// Firecrawl's settings.
pub const PRESET: Preset = Preset {
    name: NAME,
    base: super::hmac::NAME,
    user_keys: &["statuses", "test_events"],
    settings,
};

fn settings() -> SourceConfig {
    SourceConfig {
        signature_header: text("X-Firecrawl-Signature"),
        signature_prefix: text("sha256="),
        id_from: text("webhookId"),
        event_from: text("type"),
        run_id_from: text("id"),
        error_from: text("error"),
        statuses: statuses(&[
            ("started", "running"),
            ("page", "running"),
            ("action", "running"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("cancelled", "canceled"),
        ]),
        ..SourceConfig::default()
    }
}
