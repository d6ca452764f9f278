//! `standard-webhooks`: Standard Webhooks v1, as Browserbase, OpenAI, Clerk, Resend and
//! Replicate sign (and Svix delivers). `webhook-signature` is a space-separated list of
//! `v1,<base64>` entries, any of which may match, each an HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{raw body}` keyed with the `whsec_<base64>` secret's
//! bytes; the timestamp must be within the tolerance (300 s) either way. The same three
//! headers named `svix-*` are accepted too. The natural id is `webhook-id`; the event's
//! facts come from [`EventFields`] (status word from `type` unless configured).

use base64::Engine;

use super::fields::{self, EventFields};
use super::hmac::{decode_secret, SecretEncoding};
use super::{check_timestamp, Delivery, Facts, HmacKeys, Prepared, Provider, Verified};
use crate::config::SourceConfig;
use crate::error::Error;
use crate::secret::Secret;

/// The name in `provider = "standard-webhooks"`.
pub const NAME: &str = "standard-webhooks";
/// Tolerance when `tolerance_s` is not set (the reference libraries' five minutes).
pub const DEFAULT_TOLERANCE_S: u64 = 300;

/// One family of the three headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub id: &'static str,
    pub timestamp: &'static str,
    pub signature: &'static str,
}

/// The standard's own header names.
pub const WEBHOOK: Family = Family {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
/// The same headers as Svix (Clerk, Resend) names them.
pub const SVIX: Family = Family {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// The keys a standard-webhooks source may set besides `provider` and `secrets`.
pub fn keys() -> Vec<&'static str> {
    let mut keys = vec!["tolerance_s"];
    keys.extend(fields::KEYS);
    keys
}

/// A standard-webhooks source's verifier.
#[derive(Debug)]
pub struct StandardWebhooks {
    name: &'static str,
    keys: HmacKeys,
    tolerance_s: u64,
    fields: EventFields,
}

impl StandardWebhooks {
    /// Builds the verifier named `name` (`standard-webhooks`, or a preset's name). Each
    /// secret must be `whsec_<base64>` (the prefix optional) of at least one byte.
    pub fn new(name: &'static str, cfg: &SourceConfig, secrets: &[Secret]) -> Result<Self, String> {
        cfg.only(name, &keys())?;
        let keys: Vec<Secret> = secrets
            .iter()
            .zip(&cfg.secrets)
            .map(|(s, n)| decode_secret(SecretEncoding::Whsec, s, n))
            .collect::<Result<_, _>>()?;
        Ok(StandardWebhooks {
            name,
            keys: HmacKeys::new(&keys)?,
            tolerance_s: cfg.tolerance_s.unwrap_or(DEFAULT_TOLERANCE_S),
            fields: EventFields::from_config(cfg)?,
        })
    }
}

/// The family a delivery uses: `webhook-*` if any of those is there, else `svix-*` if any
/// of those is, else `webhook-*` (so errors name the standard's headers).
fn family(delivery: &Delivery<'_>) -> Family {
    let h = delivery.headers;
    let any = |f: Family| {
        [f.id, f.timestamp, f.signature]
            .iter()
            .any(|n| h.get(n).is_some())
    };
    if !any(WEBHOOK) && any(SVIX) {
        SVIX
    } else {
        WEBHOOK
    }
}

/// The 32-byte tags of a signature header's `v1,<base64>` entries; other versions (`v1a`
/// for asymmetric keys) and entries that do not decode are skipped, as the reference
/// libraries do.
pub(crate) fn v1_tags(header: &str) -> Vec<[u8; 32]> {
    header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, sig)| base64::engine::general_purpose::STANDARD.decode(sig).ok())
        .filter_map(|tag| <[u8; 32]>::try_from(tag.as_slice()).ok())
        .collect()
}

impl Provider for StandardWebhooks {
    fn name(&self) -> &'static str {
        self.name
    }

    fn headers_read(&self) -> Vec<&str> {
        let mut h = vec![
            WEBHOOK.id,
            WEBHOOK.timestamp,
            WEBHOOK.signature,
            SVIX.id,
            SVIX.timestamp,
            SVIX.signature,
        ];
        h.extend(self.fields.headers());
        h
    }

    fn mac_keys(&self) -> Option<&HmacKeys> {
        Some(&self.keys)
    }

    fn prepare<'a>(&self, delivery: &Delivery<'a>, now_ms: u64) -> Result<Prepared<'a>, Error> {
        let f = family(delivery);
        let h = delivery.headers;
        let signature = h.get(f.signature).ok_or(Error::MissingSignature {
            header: f.signature,
        })?;
        // The id is part of what is signed: without it there is nothing to verify.
        let id = h
            .get(f.id)
            .ok_or(Error::MissingSignature { header: f.id })?;
        let timestamp = h.get(f.timestamp);
        check_timestamp(timestamp, f.timestamp, self.tolerance_s, now_ms)?;
        let timestamp = timestamp.unwrap_or_default();
        let mut message = Vec::with_capacity(id.len() + timestamp.len() + 2 + delivery.body.len());
        message.extend_from_slice(id.as_bytes());
        message.push(b'.');
        message.extend_from_slice(timestamp.as_bytes());
        message.push(b'.');
        message.extend_from_slice(delivery.body);
        Ok(Prepared::signed(
            delivery.body,
            v1_tags(signature),
            f.signature,
            Some(message),
        )
        .with_id(id)
        .with_headers(self.fields.capture(h)))
    }

    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        self.fields.describe(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_v1_entries_that_decode_to_32_bytes_are_tags() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let header = format!("v1a,{good} v1,!!! v1,AAAA  v1,{good} v2,{good} junk");
        assert_eq!(v1_tags(&header), vec![[7u8; 32]]);
        assert!(v1_tags("").is_empty());
    }
}
