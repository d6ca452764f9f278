//! The providers, one file each behind the small [`Provider`] trait, built from a source's
//! configuration by [`build`]. Adding a provider is one new file, its name in [`BUILT_IN`] and
//! one arm in `build_base`; adding a preset of a generic provider (`standard-webhooks`, `hmac`,
//! `token`) is one new file holding a [`Preset`] and its name in [`PRESETS`].
//!
//! A provider does two things: it decides whether a delivery is authentic and fresh
//! ([`Provider::prepare`], finished by [`Provider::verify`] or the edge; the only way to get a
//! [`Verified`]), and [`Provider::describe`] reads from a verified body the facts the envelope
//! needs.
//!
//! Verifying is split so that the hashing can be done elsewhere: [`Provider::prepare`] checks
//! all that needs no hashing and says what to hash; the HMACs and the digest are computed
//! (natively with RustCrypto in [`Provider::verify`]; in the Worker with `crypto.subtle`,
//! which runs on the runtime's native code where wasm has no SHA instructions); then the
//! crate-private `Prepared::check` and `Authentic::finish` decide.

pub mod anchor;
pub mod apify;
pub mod browser_use;
pub mod browserbase;
pub mod fields;
pub mod firecrawl;
pub mod hmac;
pub mod preset;
pub mod skyvern;
pub mod smartbrowse;
pub mod standard_webhooks;
pub mod token;

use ::hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{resolve_secrets, ConfigError, SourceConfig};
use crate::error::Error;
use crate::secret::Secret;
use crate::status::Status;
pub use preset::Preset;

/// The providers with a file of their own, by the name used in `provider = "…"`.
pub const BUILT_IN: [&str; 6] = [
    browser_use::NAME,
    skyvern::NAME,
    smartbrowse::NAME,
    standard_webhooks::NAME,
    hmac::NAME,
    token::NAME,
];

/// The presets: a generic provider's settings filled in for one sender.
pub const PRESETS: [Preset; 4] = [
    browserbase::PRESET,
    firecrawl::PRESET,
    anchor::PRESET,
    apify::PRESET,
];

/// Every name [`build`] knows: [`BUILT_IN`], then [`PRESETS`].
pub fn known() -> Vec<&'static str> {
    BUILT_IN
        .into_iter()
        .chain(PRESETS.iter().map(|p| p.name))
        .collect()
}

/// What every provider can do.
pub trait Provider: Send + Sync {
    /// The name used in configuration and in envelope ids (`browser-use`, …).
    fn name(&self) -> &'static str;

    /// The request headers `verify` reads; the edge copies in only these, since each
    /// header fetched from the runtime is a crossing into JavaScript.
    fn headers_read(&self) -> Vec<&str>;

    /// Whether this source is authenticated by a token in its path (`/in/{source}/{token}`);
    /// for the others such a path is not a route.
    fn takes_path_token(&self) -> bool {
        false
    }

    /// Checks, at `now_ms` (unix milliseconds), all of the delivery's authenticity and
    /// freshness that needs no hashing (token, timestamp, the signature's form, the signed
    /// message's form), and says what must be hashed to finish.
    fn prepare<'a>(&self, delivery: &Delivery<'a>, now_ms: u64) -> Result<Prepared<'a>, Error>;

    /// The keys a delivery's HMAC may be made with, in the order of the source's `secrets`
    /// (`None` for providers that authenticate by token).
    fn mac_keys(&self) -> Option<&HmacKeys> {
        None
    }

    /// Checks the delivery's authenticity (and freshness, where the provider signs a
    /// timestamp) at `now_ms`, hashing with RustCrypto. Only this (or the edge doing the
    /// same steps with `crypto.subtle`) makes a [`Verified`].
    fn verify<'a>(&self, delivery: &Delivery<'a>, now_ms: u64) -> Result<Verified<'a>, Error> {
        self.prepare(delivery, now_ms)?
            .hash_natively(self.mac_keys())
    }

    /// Reads the event's facts from a verified body.
    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error>;
}

/// Builds source `source_name`'s provider from its table, resolving its secrets through
/// `secret`. Every problem is a [`ConfigError`] naming the source (and the key at fault).
pub fn build(
    source_name: &str,
    cfg: &SourceConfig,
    secret: impl Fn(&str) -> Option<Secret>,
) -> Result<Box<dyn Provider>, ConfigError> {
    let problem = |problem: String| ConfigError::Source {
        source_name: source_name.to_owned(),
        problem,
    };
    let name = cfg.provider.as_str();
    let preset = PRESETS.iter().find(|p| p.name == name);
    let Some(built_in) = BUILT_IN
        .into_iter()
        .find(|n| *n == name)
        .or(preset.map(|p| p.name))
    else {
        return Err(problem(format!(
            "unknown provider `{name}`; known: {}",
            known().join(", ")
        )));
    };
    let secrets = resolve_secrets(source_name, &cfg.secrets, secret)?;
    match preset {
        Some(p) => p.build(cfg, &secrets),
        None => build_base(built_in, built_in, cfg, &secrets),
    }
    .map_err(problem)
}

/// Builds provider `base` from a complete table, named `name` (a preset's name, or `base`).
pub(crate) fn build_base(
    base: &str,
    name: &'static str,
    cfg: &SourceConfig,
    secrets: &[Secret],
) -> Result<Box<dyn Provider>, String> {
    Ok(match base {
        browser_use::NAME => Box::new(browser_use::BrowserUse::new(cfg, secrets)?),
        skyvern::NAME => Box::new(skyvern::Skyvern::new(cfg, secrets)?),
        smartbrowse::NAME => Box::new(smartbrowse::SmartBrowse::new(cfg, secrets.to_vec())?),
        standard_webhooks::NAME => Box::new(standard_webhooks::StandardWebhooks::new(
            name, cfg, secrets,
        )?),
        hmac::NAME => Box::new(hmac::HmacProvider::new(name, cfg, secrets)?),
        token::NAME => Box::new(token::Token::new(name, cfg, secrets.to_vec())?),
        other => return Err(format!("`{other}` is not a provider a preset can build on")),
    })
}

/// A name from configuration (a header or field) as the `&'static str` that errors carry.
/// Each distinct name is kept once for the life of the process; only configuration reaches
/// here (when a provider is built), never a delivery, so there are a handful.
pub(crate) fn intern(name: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(kept) = names.get(name) {
        return kept;
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

/// Request headers, looked up without regard to case. The edge copies them in; the core
/// never sees the runtime's own header type.
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of header `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Headers(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// One delivery as received: headers, the body bytes exactly as sent, and the token path
/// segment of `/in/{source}/{token}` when there was one.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub headers: &'a Headers,
    pub body: &'a [u8],
    pub path_token: Option<&'a str>,
}

/// A delivery that passed every check that needs no hashing, and what is left to hash: an
/// HMAC-SHA256 of [`Prepared::message`] under each of the provider's keys, which
/// `Prepared::check` compares with each presented signature (any may match).
#[derive(Debug)]
pub struct Prepared<'a> {
    body: &'a [u8],
    /// The presented MACs and the header they came in; `None` when the provider checked a
    /// token, or finished a MAC the Worker cannot hash with `crypto.subtle` itself.
    tags: Option<(Vec<[u8; 32]>, &'static str)>,
    /// The signed message when it is not the body (browser-use: `{timestamp}.{canonical}`).
    message: Option<Vec<u8>>,
    /// Where in the message the natural id's digest input starts, when the id is a digest.
    digest_from: Option<usize>,
    fields: Vec<Option<&'a [u8]>>,
    body_is_json: bool,
    /// The natural id, when a header carries it (standard-webhooks: `webhook-id`).
    id: Option<&'a str>,
    /// Header values the provider's `describe` reads, in the order it asked for them.
    headers: Vec<Option<&'a str>>,
}

impl<'a> Prepared<'a> {
    /// A delivery authenticated already (by token, or by a MAC finished natively): nothing
    /// to hash.
    pub(crate) fn authenticated(body: &'a [u8]) -> Self {
        Prepared {
            body,
            tags: None,
            message: None,
            digest_from: None,
            fields: Vec::new(),
            body_is_json: false,
            id: None,
            headers: Vec::new(),
        }
    }

    /// A delivery whose body is signed as it is, with a hex HMAC-SHA256 in `header`.
    pub(crate) fn signed_body(
        body: &'a [u8],
        signature_hex: &str,
        header: &'static str,
    ) -> Result<Self, Error> {
        Ok(Self::signed(
            body,
            vec![decode_tag(signature_hex, header)?],
            header,
            None,
        ))
    }

    /// A delivery signed over `message` (the body when `None`), presenting `tags` in
    /// `header`: it is authentic when any of them is the MAC under any key. No tag at all
    /// (none could be decoded) refuses it as a bad signature.
    pub(crate) fn signed(
        body: &'a [u8],
        tags: Vec<[u8; 32]>,
        header: &'static str,
        message: Option<Vec<u8>>,
    ) -> Self {
        Prepared {
            tags: Some((tags, header)),
            message,
            ..Self::authenticated(body)
        }
    }

    /// A delivery whose signed `message` is made from the body (browser-use), with what the
    /// pass that made it learned: the natural id is the digest of `message[digest_from..]`,
    /// `fields` are raw values found in the body.
    pub(crate) fn signed_message(
        body: &'a [u8],
        signature_hex: &str,
        header: &'static str,
        message: Vec<u8>,
        digest_from: usize,
        fields: Vec<Option<&'a [u8]>>,
        body_is_json: bool,
    ) -> Result<Self, Error> {
        Ok(Prepared {
            digest_from: Some(digest_from),
            fields,
            body_is_json,
            ..Self::signed(
                body,
                vec![decode_tag(signature_hex, header)?],
                header,
                Some(message),
            )
        })
    }

    /// With the natural id a header carries.
    pub(crate) fn with_id(self, id: &'a str) -> Self {
        Prepared {
            id: Some(id),
            ..self
        }
    }

    /// With the header values the provider's `describe` will read.
    pub(crate) fn with_headers(self, headers: Vec<Option<&'a str>>) -> Self {
        Prepared { headers, ..self }
    }

    /// Whether a MAC must be computed (else `Prepared::check` takes no MACs).
    pub fn needs_mac(&self) -> bool {
        self.tags.is_some()
    }

    /// The bytes the provider signed.
    pub fn message(&self) -> &[u8] {
        self.message.as_deref().unwrap_or(self.body)
    }

    /// What the natural id is the SHA-256 digest of, when it is one (browser-use).
    pub fn digest_input(&self) -> Option<&[u8]> {
        self.digest_from.map(|from| &self.message()[from..])
    }

    /// Whether one of `macs` is one of the presented MACs (compared in constant time, every
    /// pair); true when there is none to compare.
    pub(crate) fn matches(&self, macs: &[[u8; 32]]) -> bool {
        match &self.tags {
            None => true,
            Some((tags, _)) => macs
                .iter()
                .flat_map(|mac| tags.iter().map(move |tag| mac.ct_eq(tag)))
                .fold(subtle::Choice::from(0), |acc, eq| acc | eq)
                .into(),
        }
    }

    /// Finishes with RustCrypto: the HMACs under `keys` (the provider's
    /// [`Provider::mac_keys`]), the check, and the digest if the delivery is authentic.
    pub(crate) fn hash_natively(self, keys: Option<&HmacKeys>) -> Result<Verified<'a>, Error> {
        let macs = match keys {
            Some(keys) if self.needs_mac() => keys.macs(self.message()),
            _ => Vec::new(),
        };
        let authentic = self.check(&macs)?;
        let digest = authentic.digest_input().map(sha256);
        authentic.finish(digest)
    }

    /// Compares the presented MACs, in constant time, with `macs`: the HMAC-SHA256 of
    /// [`Prepared::message`] under each key. Crate-private: passing a presented tag back
    /// in would forge a [`Verified`].
    pub(crate) fn check(self, macs: &[[u8; 32]]) -> Result<Authentic<'a>, Error> {
        if let Some((_, header)) = &self.tags {
            if !self.matches(macs) {
                return Err(Error::BadSignature { header });
            }
        }
        Ok(Authentic(self))
    }
}

/// An authentic delivery whose natural id may still need its digest.
#[derive(Debug)]
pub struct Authentic<'a>(Prepared<'a>);

impl<'a> Authentic<'a> {
    /// What the natural id is the SHA-256 digest of, when it is one (browser-use).
    pub fn digest_input(&self) -> Option<&[u8]> {
        self.0.digest_input()
    }

    /// Seals the delivery, with the SHA-256 of [`Authentic::digest_input`] when there is one.
    pub(crate) fn finish(self, digest: Option<[u8; 32]>) -> Result<Verified<'a>, Error> {
        let natural_id = match (self.0.digest_from, digest) {
            (None, _) => self.0.id.map(str::to_owned),
            (Some(_), Some(d)) => Some(hex::encode(d)),
            (Some(_), None) => {
                return Err(Error::Unavailable {
                    detail: "the natural id's digest was not computed".into(),
                })
            }
        };
        let p = self.0;
        let mut verified = Verified::with_fields(p.body, natural_id, p.fields, p.body_is_json)?;
        verified.headers = p.headers;
        Ok(verified)
    }
}

/// A hex HMAC-SHA256 signature as bytes.
fn decode_tag(signature_hex: &str, header: &'static str) -> Result<[u8; 32], Error> {
    let mut tag = [0u8; 32];
    hex::decode_to_slice(signature_hex, &mut tag)
        .map_err(|_| Error::MalformedSignature { header })?;
    Ok(tag)
}

/// A delivery a provider has verified. Its fields are private and it has no public
/// constructor: normalization and forwarding take only this, so they cannot be reached
/// with an unverified body.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    body: &'a str,
    /// A natural id the verifier already computed (browser-use: the canonical digest).
    natural_id: Option<String>,
    /// Raw JSON values the verifier already found in its own pass over the body, in the
    /// order its provider asked for them (browser-use: from the canonical pass).
    fields: Vec<Option<&'a [u8]>>,
    /// The verifier's pass established that the body is standard JSON text.
    body_is_json: bool,
    /// Header values the provider asked to keep, in its order.
    headers: Vec<Option<&'a str>>,
}

impl<'a> Verified<'a> {
    /// Seals a verified body, with what the verifier's own pass found: raw values of the
    /// fields its provider needs, and whether the body is standard JSON. The body must be
    /// UTF-8 JSON text for the envelope, so a body that is not is refused here, after the
    /// signature check, and so is one nested deeper than [`crate::nesting::MAX_DEPTH`].
    pub(crate) fn with_fields(
        body: &'a [u8],
        natural_id: Option<String>,
        fields: Vec<Option<&'a [u8]>>,
        body_is_json: bool,
    ) -> Result<Self, Error> {
        let body =
            std::str::from_utf8(body).map_err(|e| Error::malformed(format!("not UTF-8: {e}")))?;
        // json.loads skips a UTF-8 byte order mark, and so may the provider's signer.
        let body = body.strip_prefix('\u{feff}').unwrap_or(body);
        // One nesting limit for every provider, checked here where every verifier passes.
        crate::nesting::check(body.as_bytes())?;
        Ok(Verified {
            body,
            natural_id,
            fields,
            body_is_json,
            headers: Vec::new(),
        })
    }

    /// The body text as received (less a byte order mark).
    pub fn body(&self) -> &'a str {
        self.body
    }

    /// The natural id computed during verification, if any.
    pub fn natural_id(&self) -> Option<&str> {
        self.natural_id.as_deref()
    }

    /// Header value `i` the provider kept (in the order it asked), if it was sent.
    pub fn header(&self, i: usize) -> Option<&'a str> {
        self.headers.get(i).copied().flatten()
    }

    /// Whether verification already proved the body standard JSON text.
    pub fn body_is_json(&self) -> bool {
        self.body_is_json
    }

    /// Field `i` found during verification, decoded: `Ok(None)` when absent or null, an
    /// error naming `name` when it is not a string.
    pub(crate) fn field(&self, i: usize, name: &'static str) -> Result<Option<String>, Error> {
        match self.fields.get(i).copied().flatten() {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(raw)
                .map_err(|e| Error::malformed(format!("`{name}` is not a string: {e}"))),
        }
    }

    /// Parses the body into a provider's struct of the fields it needs (a full pass, which
    /// also proves the body is JSON).
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        // The body is at most `nesting::MAX_DEPTH` deep (checked when it was sealed), so
        // serde_json's own limit (128 levels with the value's own) must not refuse it first.
        let mut de = serde_json::Deserializer::from_str(self.body);
        de.disable_recursion_limit();
        let value = T::deserialize(&mut de).map_err(Error::malformed)?;
        de.end().map_err(Error::malformed)?;
        Ok(value)
    }
}

/// What a provider reads from a verified body: all the envelope needs besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Unique per source for one event (the seen-ID); retries of one event share it.
    pub natural_id: String,
    /// A provider's test ping rather than a run event.
    pub test: bool,
    /// The run (task, workflow run) the event is about.
    pub run_id: Option<String>,
    /// The normalized status.
    pub status: Status,
    /// The provider's own status word.
    pub provider_status: Option<String>,
    /// The provider's event or run type.
    pub provider_event: Option<String>,
    /// The provider's event time, as it wrote it.
    pub time: Option<String>,
    /// The provider's error or failure reason.
    pub error: Option<serde_json::Value>,
    /// Whether the body is known to be standard JSON text (a full parse or the canonical
    /// pass saw all of it); when not, normalization checks it before embedding it.
    pub body_is_json: bool,
}

/// HMAC-SHA256 keys built once from a source's secrets, the key schedule done up front.
/// The secrets are kept too, for the edge to import into `crypto.subtle`.
#[derive(Clone)]
pub struct HmacKeys(Vec<(Secret, Hmac<Sha256>)>);

impl std::fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKeys({} keys, <redacted>)", self.0.len())
    }
}

impl HmacKeys {
    pub(crate) fn new(secrets: &[Secret]) -> Result<Self, String> {
        secrets
            .iter()
            .map(|s| {
                if s.is_empty() {
                    return Err("an empty secret cannot key an HMAC".to_owned());
                }
                let mac = Hmac::<Sha256>::new_from_slice(s.expose()).map_err(|e| e.to_string())?;
                Ok((s.clone(), mac))
            })
            .collect::<Result<_, _>>()
            .map(HmacKeys)
    }

    /// The secrets, in order.
    #[cfg_attr(
        not(target_arch = "wasm32"),
        expect(dead_code, reason = "the edge imports them into crypto.subtle")
    )]
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter().map(|(s, _)| s)
    }

    /// HMAC-SHA256 of `message` under each key, in order.
    pub(crate) fn macs(&self, message: &[u8]) -> Vec<[u8; 32]> {
        self.0
            .iter()
            .map(|(_, key)| {
                let mut mac = key.clone();
                mac.update(message);
                mac.finalize().into_bytes().into()
            })
            .collect()
    }
}

/// Compares a presented token with each secret in constant time. Both sides are hashed
/// first so that neither the length nor the content of a secret shows in the timing.
pub(crate) fn token_matches(presented: &str, secrets: &[Secret]) -> bool {
    use sha2::Digest;
    let p = Sha256::digest(presented.as_bytes());
    secrets
        .iter()
        .fold(subtle::Choice::from(0), |acc, s| {
            acc | Sha256::digest(s.expose()).ct_eq(&p)
        })
        .into()
}

/// Checks a unix-seconds timestamp header against `now_ms`, `tolerance_s` either way.
/// Parsing and arithmetic cannot overflow: a huge or negative value is just very stale or
/// very future.
pub(crate) fn check_timestamp(
    value: Option<&str>,
    header: &'static str,
    tolerance_s: u64,
    now_ms: u64,
) -> Result<(), Error> {
    let value = value.ok_or(Error::MissingTimestamp { header })?;
    let ts: i64 = value
        .parse()
        .map_err(|_| Error::MalformedTimestamp { header })?;
    let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    let diff = now_s.saturating_sub(ts);
    if diff > 0 && diff.unsigned_abs() > tolerance_s {
        return Err(Error::StaleTimestamp {
            age_s: diff.unsigned_abs(),
            tolerance_s,
        });
    }
    if diff < 0 && diff.unsigned_abs() > tolerance_s {
        return Err(Error::FutureTimestamp {
            ahead_s: diff.unsigned_abs(),
            tolerance_s,
        });
    }
    Ok(())
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(bytes).into()
}

/// The first of the named string fields that is present.
pub(crate) fn first_of(fields: &[&Option<String>]) -> Option<String> {
    fields.iter().find_map(|f| f.as_ref()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A browser-use provider with two keys (rotation) and a delivery signed by the second.
    fn rotated() -> (Box<dyn Provider>, Headers, Vec<u8>) {
        let cfg = SourceConfig {
            provider: browser_use::NAME.into(),
            secrets: vec!["NEW".into(), "OLD".into()],
            ..SourceConfig::default()
        };
        let p = build("bu", &cfg, |n| Some(Secret::new(format!("{n}-secret")))).unwrap();
        let body = br#"{"type":"t","payload":{"task_id":"x","status":"finished"},"b":1.0}"#;
        let mut signed = b"1700000000.".to_vec();
        crate::canonical::canonicalize(body, &mut signed).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"OLD-secret").unwrap();
        mac.update(&signed);
        let headers: Headers = [
            (
                browser_use::SIGNATURE_HEADER,
                hex::encode(mac.finalize().into_bytes()),
            ),
            (browser_use::TIMESTAMP_HEADER, "1700000000".into()),
        ]
        .into_iter()
        .collect();
        (p, headers, body.to_vec())
    }

    #[test]
    fn hashing_elsewhere_decides_as_verify_does() {
        let (p, headers, body) = rotated();
        let d = Delivery {
            headers: &headers,
            body: &body,
            path_token: None,
        };
        let now = 1_700_000_000_000;
        let native = p.verify(&d, now).unwrap();

        // As the edge does it: prepare, hash each key and the digest input, check, finish.
        let prepared = p.prepare(&d, now).unwrap();
        assert!(prepared.needs_mac());
        let macs = p.mac_keys().unwrap().macs(prepared.message());
        assert_eq!(macs.len(), 2);
        assert!(prepared.matches(&macs));
        let digest = prepared.digest_input().map(sha256);
        let elsewhere = prepared.check(&macs).unwrap().finish(digest).unwrap();
        assert_eq!(elsewhere.natural_id(), native.natural_id());
        assert_eq!(elsewhere.body(), native.body());
        assert_eq!(p.describe(&elsewhere), p.describe(&native));

        // Only the MACs decide: none, or only the wrong key's, refuse.
        let bad = Err(Error::BadSignature {
            header: browser_use::SIGNATURE_HEADER,
        });
        assert_eq!(p.prepare(&d, now).unwrap().check(&[]).map(|_| ()), bad);
        assert_eq!(
            p.prepare(&d, now).unwrap().check(&macs[..1]).map(|_| ()),
            bad
        );
        // A digest that was never computed is an error, not an empty id.
        let authentic = p.prepare(&d, now).unwrap().check(&macs).unwrap();
        assert!(authentic.finish(None).is_err());
    }

    #[test]
    fn timestamps_are_checked_both_ways_at_the_tolerance_edge() {
        let now_ms = 1_700_000_000_000;
        let h = "X-Ts";
        assert_eq!(check_timestamp(Some("1699999700"), h, 300, now_ms), Ok(()));
        assert_eq!(
            check_timestamp(Some("1699999699"), h, 300, now_ms),
            Err(Error::StaleTimestamp {
                age_s: 301,
                tolerance_s: 300
            })
        );
        assert_eq!(check_timestamp(Some("1700000300"), h, 300, now_ms), Ok(()));
        assert_eq!(
            check_timestamp(Some("1700000301"), h, 300, now_ms),
            Err(Error::FutureTimestamp {
                ahead_s: 301,
                tolerance_s: 300
            })
        );
        assert_eq!(
            check_timestamp(Some("-9223372036854775808"), h, 300, now_ms),
            Err(Error::StaleTimestamp {
                age_s: 9_223_372_036_854_775_807,
                tolerance_s: 300
            })
        );
        assert!(matches!(
            check_timestamp(Some("9223372036854775807"), h, 300, now_ms),
            Err(Error::FutureTimestamp { .. })
        ));
        assert_eq!(
            check_timestamp(Some("99999999999999999999"), h, 300, now_ms),
            Err(Error::MalformedTimestamp { header: h })
        );
        assert_eq!(
            check_timestamp(Some("1.7e9"), h, 300, now_ms),
            Err(Error::MalformedTimestamp { header: h })
        );
        assert_eq!(
            check_timestamp(None, h, 300, now_ms),
            Err(Error::MissingTimestamp { header: h })
        );
    }

    #[test]
    fn tokens_compare_against_every_secret() {
        let secrets = [Secret::new("old"), Secret::new("new")];
        assert!(token_matches("new", &secrets));
        assert!(token_matches("old", &secrets));
        assert!(!token_matches("ne", &secrets));
        assert!(!token_matches("", &secrets));
    }

    #[test]
    fn headers_are_case_insensitive_and_blank_is_absent() {
        let h: Headers = [("X-Browser-Use-Signature", " ab "), ("x-empty", " ")]
            .into_iter()
            .collect();
        assert_eq!(h.get("x-browser-use-signature"), Some("ab"));
        assert_eq!(h.get("X-Empty"), None);
    }

    #[test]
    fn unknown_provider_and_bad_options_are_config_errors() {
        let cfg = |provider: &str, auth: Option<&str>| SourceConfig {
            provider: provider.into(),
            secrets: vec!["S".into()],
            auth: auth.map(|a| a.parse().unwrap()),
            ..SourceConfig::default()
        };
        let secret = |_: &str| Some(Secret::new("k"));
        let err = build("x", &cfg("stripe", None), secret)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "source `x`: unknown provider `stripe`; known: browser-use, skyvern, smartbrowse, \
             standard-webhooks, hmac, token, browserbase, firecrawl, anchor, apify"
        );
        let err = build("sb", &cfg("smartbrowse", None), secret)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("needs `auth`"), "{err}");
        let err = build("bu", &cfg("browser-use", Some("bearer")), secret)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "source `bu`: `auth` does not apply to browser-use sources"
        );
        assert!(build("sb", &cfg("smartbrowse", Some("path")), secret).is_ok());
    }
}
