//! `hmac`: a configurable HMAC verifier for the many senders that sign one message built
//! from the body (GitHub, Stripe, Slack, Shopify, Firecrawl, Anchor, Scrapfly, …): the
//! signature header, the hash (sha256, sha1, sha512), the encoding (hex in either case,
//! base64, base64url), a prefix (`sha256=`) or `t=…,v1=…` pairs, the message template over
//! `{body}`, `{timestamp}` and `{id}`, the timestamp header and tolerance, and where the event's
//! facts are ([`EventFields`]).
//!
//! SHA-256 MACs are left to the caller (the Worker hashes them with `crypto.subtle`); SHA-1
//! and SHA-512 MACs, which the Worker's subtle path does not cover, are finished here in
//! `prepare` with RustCrypto.

use std::str::FromStr;

use ::hmac::{Hmac, Mac};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use sha1::Sha1;
use sha2::Sha512;
use subtle::ConstantTimeEq;

use super::fields::{self, EventFields};
use super::{check_timestamp, intern, Delivery, Facts, HmacKeys, Prepared, Provider, Verified};
use crate::config::{header_name, SourceConfig};
use crate::error::Error;
use crate::secret::Secret;

/// The name in `provider = "hmac"`.
pub const NAME: &str = "hmac";
/// Tolerance when the message signs a timestamp and `tolerance_s` is not set.
pub const DEFAULT_TOLERANCE_S: u64 = 300;
/// The `whsec_` prefix of Standard Webhooks secrets.
pub const WHSEC_PREFIX: &str = "whsec_";

/// Base64 with or without padding, as senders and their secrets vary.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The keys an hmac source may set besides `provider` and `secrets`.
pub fn keys() -> Vec<&'static str> {
    let mut keys = vec![
        "tolerance_s",
        "signature_header",
        "algorithm",
        "encoding",
        "signature_prefix",
        "signature_format",
        "message",
        "timestamp_header",
        "secret_encoding",
    ];
    keys.extend(fields::KEYS);
    keys
}

/// The MAC's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The MAC's length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// HMAC of `message` under `key` (not empty), as a sender computes it; for
    /// `edgehook send` and tests (verification keeps its keys scheduled once).
    pub fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn one<M: Mac + ::hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            // HMAC takes a key of any length: this never fails.
            let Ok(mut m) = <M as Mac>::new_from_slice(key) else {
                return Vec::new();
            };
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Algorithm::Sha1 => one::<Hmac<Sha1>>(key, message),
            Algorithm::Sha256 => one::<Hmac<sha2::Sha256>>(key, message),
            Algorithm::Sha512 => one::<Hmac<Sha512>>(key, message),
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sha1" => Ok(Algorithm::Sha1),
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(format!(
                "`algorithm` = `{s}` is not `sha256`, `sha1` or `sha512`"
            )),
        }
    }
}

/// How a signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hex, either case.
    Hex,
    Base64,
    Base64Url,
}

impl FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hex" => Ok(Encoding::Hex),
            "base64" => Ok(Encoding::Base64),
            "base64url" => Ok(Encoding::Base64Url),
            _ => Err(format!(
                "`encoding` = `{s}` is not `hex`, `base64` or `base64url`"
            )),
        }
    }
}

impl Encoding {
    /// `bytes` written in this encoding (hex in lowercase, base64url unpadded), as a sender
    /// writes its signature; for `edgehook send` and tests.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
            Encoding::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// The bytes of a presented signature; `None` when it is not in this encoding.
    pub fn decode(self, s: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => hex::decode(s).ok(),
            Encoding::Base64 => BASE64.decode(s).ok(),
            Encoding::Base64Url => BASE64URL.decode(s).ok(),
        }
    }
}

/// How a secret's text becomes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretEncoding {
    /// The text's bytes.
    Utf8,
    Base64,
    /// `whsec_<base64>` (the prefix optional), as Standard Webhooks secrets are written.
    Whsec,
}

impl FromStr for SecretEncoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "utf8" => Ok(SecretEncoding::Utf8),
            "base64" => Ok(SecretEncoding::Base64),
            "whsec" => Ok(SecretEncoding::Whsec),
            _ => Err(format!(
                "`secret_encoding` = `{s}` is not `utf8`, `base64` or `whsec`"
            )),
        }
    }
}

/// The key bytes of secret `name` under `encoding`. Errors name the secret, never its value.
pub(crate) fn decode_secret(
    encoding: SecretEncoding,
    secret: &Secret,
    name: &str,
) -> Result<Secret, String> {
    let decoded = match encoding {
        SecretEncoding::Utf8 => return Ok(secret.clone()),
        SecretEncoding::Base64 => BASE64.decode(secret.expose().trim_ascii()),
        SecretEncoding::Whsec => {
            let text = secret.expose().trim_ascii();
            BASE64.decode(text.strip_prefix(WHSEC_PREFIX.as_bytes()).unwrap_or(text))
        }
    }
    .map_err(|_| format!("secret `{name}` is not {encoding:?} text (whsec_<base64> or base64)"))?;
    if decoded.is_empty() {
        return Err(format!("secret `{name}` decodes to no bytes"));
    }
    Ok(Secret::new(decoded))
}

/// One piece of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Body,
    Timestamp,
    Id,
}

/// The signed message: literal text around `{body}`, `{timestamp}` and `{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl FromStr for Template {
    type Err = String;
    fn from_str(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .map(|c| c + open)
                .ok_or(format!("`message` = `{template}` has a `{{` without `}}`"))?;
            parts.push(match &rest[open + 1..close] {
                "body" => Part::Body,
                "timestamp" => Part::Timestamp,
                "id" => Part::Id,
                other => {
                    return Err(format!(
                        "`message` = `{template}`: `{{{other}}}` is not `{{body}}`, `{{timestamp}}` or `{{id}}`"
                    ))
                }
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        if parts.iter().filter(|p| **p == Part::Body).count() != 1 {
            return Err(format!(
                "`message` = `{template}` must contain `{{body}}` exactly once"
            ));
        }
        Ok(Template(parts))
    }
}

impl Template {
    fn uses(&self, part: &Part) -> bool {
        self.0.contains(part)
    }

    /// The message, or `None` when it is the body itself.
    pub fn render(&self, body: &[u8], timestamp: &str, id: &str) -> Option<Vec<u8>> {
        if self.0 == [Part::Body] {
            return None;
        }
        let mut out = Vec::with_capacity(body.len() + 64);
        for part in &self.0 {
            out.extend_from_slice(match part {
                Part::Text(t) => t.as_bytes(),
                Part::Body => body,
                Part::Timestamp => timestamp.as_bytes(),
                Part::Id => id.as_bytes(),
            });
        }
        Some(out)
    }
}

/// Where the signature header's signatures (and maybe timestamp) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The header is one signature (after the prefix, if any).
    Plain,
    /// `t=<unix s>,v1=<sig>[,v1=<sig>…]`: any `v1` may match.
    Pairs,
}

/// The keys, by hash: SHA-256 keys go to `crypto.subtle` in the Worker, the others are
/// hashed here.
#[derive(Clone)]
enum Keys {
    Sha256(HmacKeys),
    Sha1(Vec<Hmac<Sha1>>),
    Sha512(Vec<Hmac<Sha512>>),
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

fn native<M: Mac + ::hmac::digest::KeyInit>(secrets: &[Secret]) -> Result<Vec<M>, String> {
    secrets
        .iter()
        .map(|s| <M as Mac>::new_from_slice(s.expose()).map_err(|e| e.to_string()))
        .collect()
}

/// Whether any presented tag is the MAC of `message` under any key, every pair compared.
fn any_native<M: Mac + Clone>(keys: &[M], message: &[u8], tags: &[Vec<u8>]) -> bool {
    keys.iter()
        .map(|k| {
            let mut m = k.clone();
            m.update(message);
            m.finalize().into_bytes()
        })
        .flat_map(|mac| {
            tags.iter()
                .map(|t| mac.as_slice().ct_eq(t))
                .collect::<Vec<_>>()
        })
        .fold(subtle::Choice::from(0), |acc, eq| acc | eq)
        .into()
}

/// The timestamp's header, and the tolerance it is checked with (`None`: not checked).
/// A signed timestamp is checked, 300 s unless `tolerance_s` says; an unsigned one only when
/// `tolerance_s` opts in.
fn timestamp_settings(
    cfg: &SourceConfig,
    format: Format,
    template: &Template,
) -> Result<(Option<&'static str>, Option<u64>), String> {
    let header = cfg
        .timestamp_header
        .as_deref()
        .map(|h| header_name("timestamp_header", h).map(|h| intern(&h)))
        .transpose()?;
    let has_timestamp = header.is_some() || format == Format::Pairs;
    let signs_timestamp = template.uses(&Part::Timestamp);
    if signs_timestamp && !has_timestamp {
        return Err("`message` uses `{timestamp}`: set `timestamp_header`, or \
                    `signature_format = \"pairs\"` for a `t=` pair"
            .into());
    }
    if cfg.tolerance_s.is_some() && !has_timestamp {
        return Err("`tolerance_s` needs a timestamp: set `timestamp_header`".into());
    }
    let tolerance_s = match (cfg.tolerance_s, signs_timestamp) {
        (Some(t), _) => Some(t),
        (None, true) => Some(DEFAULT_TOLERANCE_S),
        (None, false) => None,
    };
    Ok((header, tolerance_s))
}

/// The header `{id}` is read from, when the message uses it: `id_from` must name one.
fn id_header(cfg: &SourceConfig, template: &Template) -> Result<Option<&'static str>, String> {
    if !template.uses(&Part::Id) {
        return Ok(None);
    }
    match cfg
        .id_from
        .as_deref()
        .and_then(|i| i.strip_prefix("header:"))
    {
        Some(name) => Ok(Some(intern(&header_name("id_from", name)?))),
        None => Err("`message` uses `{id}`: set `id_from = \"header:<Name>\"`".into()),
    }
}

/// The source's keys: each secret (named `names[i]`) decoded, scheduled for `algorithm`.
fn keys_of(
    algorithm: Algorithm,
    encoding: SecretEncoding,
    names: &[String],
    secrets: &[Secret],
) -> Result<Keys, String> {
    let keys: Vec<Secret> = secrets
        .iter()
        .zip(names)
        .map(|(s, n)| decode_secret(encoding, s, n))
        .collect::<Result<_, _>>()?;
    if keys.iter().any(Secret::is_empty) {
        return Err("an empty secret cannot key an HMAC".into());
    }
    Ok(match algorithm {
        Algorithm::Sha256 => Keys::Sha256(HmacKeys::new(&keys)?),
        Algorithm::Sha1 => Keys::Sha1(native(&keys)?),
        Algorithm::Sha512 => Keys::Sha512(native(&keys)?),
    })
}

/// An hmac source's verifier.
#[derive(Debug)]
pub struct HmacProvider {
    name: &'static str,
    header: &'static str,
    algorithm: Algorithm,
    encoding: Encoding,
    prefix: Option<String>,
    format: Format,
    template: Template,
    timestamp_header: Option<&'static str>,
    /// `Some` when the timestamp is checked.
    tolerance_s: Option<u64>,
    /// The header `{id}` is read from.
    id_header: Option<&'static str>,
    keys: Keys,
    fields: EventFields,
}

impl HmacProvider {
    /// Builds the verifier named `name` (`hmac`, or a preset's name) from a source table.
    pub fn new(name: &'static str, cfg: &SourceConfig, secrets: &[Secret]) -> Result<Self, String> {
        cfg.only(name, &keys())?;
        let header = cfg
            .signature_header
            .as_deref()
            .ok_or("`signature_header` is required: the header carrying the signature")?;
        let header = intern(&header_name("signature_header", header)?);
        let parse = |v: &Option<String>, default: &str| v.as_deref().unwrap_or(default).to_owned();
        let algorithm: Algorithm = parse(&cfg.algorithm, "sha256").parse()?;
        let encoding: Encoding = parse(&cfg.encoding, "hex").parse()?;
        let format = match cfg.signature_format.as_deref().unwrap_or("plain") {
            "plain" => Format::Plain,
            "pairs" => Format::Pairs,
            other => {
                return Err(format!(
                    "`signature_format` = `{other}` is not `plain` or `pairs`"
                ))
            }
        };
        let template: Template = parse(&cfg.message, "{body}").parse()?;
        let (timestamp_header, tolerance_s) = timestamp_settings(cfg, format, &template)?;
        let id_header = id_header(cfg, &template)?;
        let fields = EventFields::from_config(cfg)?;
        let secret_encoding: SecretEncoding = parse(&cfg.secret_encoding, "utf8").parse()?;
        let keys = keys_of(algorithm, secret_encoding, &cfg.secrets, secrets)?;
        Ok(HmacProvider {
            name,
            header,
            algorithm,
            encoding,
            prefix: cfg.signature_prefix.clone().filter(|p| !p.is_empty()),
            format,
            template,
            timestamp_header,
            tolerance_s,
            id_header,
            keys,
            fields,
        })
    }

    /// Finishes a SHA-1 or SHA-512 MAC here with RustCrypto (the Worker's subtle path hashes
    /// SHA-256 only): authentic when any presented tag is the MAC under any key.
    fn finish_natively<'a, M: Mac + Clone>(
        &self,
        keys: &[M],
        body: &'a [u8],
        message: Option<Vec<u8>>,
        tags: &[Vec<u8>],
    ) -> Result<Prepared<'a>, Error> {
        if any_native(keys, message.as_deref().unwrap_or(body), tags) {
            Ok(Prepared::authenticated(body))
        } else {
            Err(Error::BadSignature {
                header: self.header,
            })
        }
    }

    /// The presented signatures (undecoded) and the `t=` pair, if any.
    fn presented<'h>(&self, value: &'h str) -> (Vec<&'h str>, Option<&'h str>) {
        let strip = |s: &'h str| match &self.prefix {
            Some(p) => s.strip_prefix(p.as_str()).unwrap_or(s),
            None => s,
        };
        match self.format {
            Format::Plain => (vec![strip(value)], None),
            Format::Pairs => {
                let mut signatures = Vec::new();
                let mut timestamp = None;
                for (k, v) in value.split(',').filter_map(|p| p.split_once('=')) {
                    match k.trim() {
                        "v1" => signatures.push(strip(v.trim())),
                        "t" => timestamp = Some(v.trim()),
                        _ => {}
                    }
                }
                (signatures, timestamp)
            }
        }
    }
}

impl Provider for HmacProvider {
    fn name(&self) -> &'static str {
        self.name
    }

    fn headers_read(&self) -> Vec<&str> {
        let mut h = vec![self.header];
        h.extend(self.timestamp_header);
        h.extend(self.id_header);
        h.extend(self.fields.headers());
        h
    }

    fn mac_keys(&self) -> Option<&HmacKeys> {
        match &self.keys {
            Keys::Sha256(k) => Some(k),
            _ => None,
        }
    }

    fn prepare<'a>(&self, delivery: &Delivery<'a>, now_ms: u64) -> Result<Prepared<'a>, Error> {
        let h = delivery.headers;
        let value = h.get(self.header).ok_or(Error::MissingSignature {
            header: self.header,
        })?;
        let (signatures, pair_ts) = self.presented(value);
        let (timestamp, ts_header) = match self.timestamp_header {
            Some(th) => (h.get(th), th),
            None => (pair_ts, self.header),
        };
        if let Some(tolerance_s) = self.tolerance_s {
            check_timestamp(timestamp, ts_header, tolerance_s, now_ms)?;
        }
        let timestamp = match timestamp {
            None if self.template.uses(&Part::Timestamp) => {
                return Err(Error::MissingTimestamp { header: ts_header })
            }
            t => t.unwrap_or_default(),
        };
        let id = match self.id_header {
            Some(ih) => h.get(ih).ok_or(Error::MissingHeader { header: ih })?,
            None => "",
        };
        let message = self.template.render(delivery.body, timestamp, id);
        let len = self.algorithm.output_len();
        let tags: Vec<Vec<u8>> = signatures
            .iter()
            .filter_map(|s| self.encoding.decode(s))
            .filter(|t| t.len() == len)
            .collect();
        let prepared = match &self.keys {
            Keys::Sha256(_) => {
                let tags = tags
                    .iter()
                    .filter_map(|t| t.as_slice().try_into().ok())
                    .collect();
                Prepared::signed(delivery.body, tags, self.header, message)
            }
            Keys::Sha1(keys) => self.finish_natively(keys, delivery.body, message, &tags)?,
            Keys::Sha512(keys) => self.finish_natively(keys, delivery.body, message, &tags)?,
        };
        Ok(prepared.with_headers(self.fields.capture(h)))
    }

    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        self.fields.describe(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_need_the_body_once_and_known_placeholders() {
        let t: Template = "v0:{timestamp}:{body}".parse().unwrap();
        assert_eq!(t.render(b"{}", "17", "").unwrap(), b"v0:17:{}".to_vec());
        assert_eq!(
            "{body}".parse::<Template>().unwrap().render(b"x", "", ""),
            None
        );
        let err = "{timestamp}.".parse::<Template>().unwrap_err();
        assert_eq!(
            err,
            "`message` = `{timestamp}.` must contain `{body}` exactly once"
        );
        assert!("{body}{body}".parse::<Template>().is_err());
        let err = "{ts}.{body}".parse::<Template>().unwrap_err();
        assert!(err.contains("`{ts}` is not `{body}`"), "{err}");
        assert!("{body".parse::<Template>().is_err());
    }

    #[test]
    fn encodings_decode_what_senders_write() {
        assert_eq!(Encoding::Hex.decode("0aFF"), Some(vec![10, 255]));
        assert_eq!(Encoding::Base64.decode("+/8="), Some(vec![251, 255]));
        assert_eq!(Encoding::Base64.decode("+/8"), Some(vec![251, 255]));
        assert_eq!(Encoding::Base64Url.decode("-_8"), Some(vec![251, 255]));
        assert_eq!(Encoding::Base64.decode("-_8"), None);
        assert_eq!(Encoding::Hex.decode("zz"), None);
    }

    #[test]
    fn secrets_decode_and_errors_name_only_the_secret() {
        let s = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let k = decode_secret(SecretEncoding::Whsec, &s, "K").unwrap();
        assert_eq!(k.expose().len(), 24);
        let err = decode_secret(SecretEncoding::Whsec, &Secret::new("whsec_!!!"), "K").unwrap_err();
        assert!(err.starts_with("secret `K` is not"), "{err}");
        assert!(!err.contains("!!!"));
        let err = decode_secret(SecretEncoding::Base64, &Secret::new("whsec_"), "K");
        assert!(err.is_err());
        assert_eq!(
            decode_secret(SecretEncoding::Utf8, &Secret::new("whsec_x"), "K").unwrap(),
            Secret::new("whsec_x")
        );
    }
}
