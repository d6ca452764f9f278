//! A preset: one sender's settings for a generic provider (`standard-webhooks`, `hmac`,
//! `token`), so that a user writes `provider = "firecrawl"` and a secret name and nothing
//! else. The preset's table is built like any source's, so what it sets is what a user
//! would write for an `hmac` or `token` source of their own.

use std::collections::BTreeMap;

use super::{build_base, Provider};
use crate::config::SourceConfig;
use crate::secret::Secret;

/// One sender's settings for a generic provider.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The name in `provider = "…"`, and in envelope ids.
    pub name: &'static str,
    /// The generic provider it fills in.
    pub base: &'static str,
    /// The keys a user may still set (besides `provider` and `secrets`). `statuses` and
    /// `test_events` add to the preset's own.
    pub user_keys: &'static [&'static str],
    /// The generic provider's table, less `provider` and `secrets`.
    pub settings: fn() -> SourceConfig,
}

impl Preset {
    /// The preset's table with the user's `secrets` and allowed keys merged in.
    pub fn table(&self, user: &SourceConfig) -> Result<SourceConfig, String> {
        user.only(self.name, self.user_keys)?;
        let mut cfg = (self.settings)();
        cfg.provider = self.base.to_owned();
        cfg.secrets = user.secrets.clone();
        cfg.tolerance_s = user.tolerance_s.or(cfg.tolerance_s);
        cfg.auth = user.auth.clone().or(cfg.auth);
        if let Some(extra) = &user.statuses {
            cfg.statuses
                .get_or_insert_with(BTreeMap::new)
                .extend(extra.clone());
        }
        if let Some(extra) = &user.test_events {
            cfg.test_events
                .get_or_insert_with(Vec::new)
                .extend(extra.iter().cloned());
        }
        Ok(cfg)
    }

    /// Builds the provider of a source whose table names this preset.
    pub fn build(
        &self,
        user: &SourceConfig,
        secrets: &[Secret],
    ) -> Result<Box<dyn Provider>, String> {
        build_base(self.base, self.name, &self.table(user)?, secrets)
    }
}

/// A `statuses` table from word/status pairs, for presets to write briefly.
pub fn statuses(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(w, s)| ((*w).to_owned(), (*s).to_owned()))
            .collect(),
    )
}

/// `Some(text)`, for presets to write briefly.
pub fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}
