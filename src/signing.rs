//! Standard Webhooks signing of what goes to the origin, and the verifier an origin written
//! in Rust can call. Any Standard Webhooks library verifies the same headers.
//!
//! The signed message is `{webhook-id}.{webhook-timestamp}.{body}`; the signature header is
//! `v1,<base64 HMAC-SHA256>`, several space-separated during key rotation.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// Carries the message id (the envelope id).
pub const HEADER_WEBHOOK_ID: &str = "webhook-id";
/// Carries the unix-seconds signing time.
pub const HEADER_WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Carries `v1,<base64>` signatures, space-separated.
pub const HEADER_WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from the verifier's clock, either way.
pub const DEFAULT_TOLERANCE_S: u64 = 300;

/// Why a secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not base64 after the `whsec_` prefix")]
    NotBase64,
    #[error("the key is empty")]
    Empty,
}

/// Why a signed request did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no {0} header")]
    MissingHeader(&'static str),
    #[error("the webhook-timestamp header is not a unix time in seconds")]
    BadTimestamp,
    #[error("the message is {0} s old, more than the tolerance")]
    TooOld(u64),
    #[error("the message is {0} s in the future, more than the tolerance")]
    TooNew(u64),
    #[error("no v1 signature in webhook-signature matches")]
    NoMatch,
}

/// A Standard Webhooks key, decoded once. Its `Debug` does not show the key.
#[derive(Clone)]
pub struct WebhookKey {
    mac: Hmac<Sha256>,
    /// The key's bytes, for the Worker to import into `crypto.subtle`.
    raw: Secret,
}

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(<redacted>)")
    }
}

impl WebhookKey {
    /// Decodes a `whsec_<base64>` secret (the prefix is optional, as in the reference
    /// libraries), refusing bad base64 and an empty key.
    pub fn from_secret(secret: &Secret) -> Result<Self, KeyError> {
        let text = std::str::from_utf8(secret.expose()).map_err(|_| KeyError::NotBase64)?;
        Self::from_whsec(text)
    }

    /// As [`WebhookKey::from_secret`], from text.
    pub fn from_whsec(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let b64 = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let key = BASE64.decode(b64).map_err(|_| KeyError::NotBase64)?;
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        Self::from_bytes(&key)
    }

    /// A key from raw bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, KeyError> {
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        Hmac::<Sha256>::new_from_slice(key)
            .map(|mac| WebhookKey {
                mac,
                raw: Secret::new(key),
            })
            .map_err(|_| KeyError::Empty)
    }

    /// The key's bytes.
    #[cfg_attr(
        not(any(target_arch = "wasm32", test)),
        expect(dead_code, reason = "the edge imports them into crypto.subtle")
    )]
    pub(crate) fn raw(&self) -> &Secret {
        &self.raw
    }

    /// What a signature is the HMAC-SHA256 of: `{msg_id}.{timestamp}.{body}`.
    pub fn signed_content(msg_id: &str, timestamp_s: i64, body: &[u8]) -> Vec<u8> {
        let ts = timestamp_s.to_string();
        let mut content = Vec::with_capacity(msg_id.len() + ts.len() + body.len() + 2);
        content.extend_from_slice(msg_id.as_bytes());
        content.push(b'.');
        content.extend_from_slice(ts.as_bytes());
        content.push(b'.');
        content.extend_from_slice(body);
        content
    }

    /// The `webhook-signature` value for a MAC of [`WebhookKey::signed_content`] computed
    /// elsewhere (the Worker's `crypto.subtle`): `v1,<base64>`.
    pub fn signature_value(mac: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(mac))
    }

    fn tag(&self, msg_id: &str, timestamp_s: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_s.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value for a message: `v1,<base64>`.
    pub fn sign(&self, msg_id: &str, timestamp_s: i64, body: &[u8]) -> String {
        let tag = self.tag(msg_id, timestamp_s, body).finalize().into_bytes();
        Self::signature_value(&tag)
    }

    /// The three headers to send with `body`, in the order the spec lists them.
    pub fn headers(
        &self,
        msg_id: &str,
        timestamp_s: i64,
        body: &[u8],
    ) -> [(&'static str, String); 3] {
        Self::headers_with(msg_id, timestamp_s, self.sign(msg_id, timestamp_s, body))
    }

    /// The three headers, with a `signature` made elsewhere ([`WebhookKey::signature_value`]).
    pub fn headers_with(
        msg_id: &str,
        timestamp_s: i64,
        signature: String,
    ) -> [(&'static str, String); 3] {
        [
            (HEADER_WEBHOOK_ID, msg_id.to_owned()),
            (HEADER_WEBHOOK_TIMESTAMP, timestamp_s.to_string()),
            (HEADER_WEBHOOK_SIGNATURE, signature),
        ]
    }

    /// Verifies a request's headers (`header` looks one up by name) and body at `now_s`.
    /// Accepts any `v1` signature in the header that matches, in constant time.
    pub fn verify<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now_s: i64,
        tolerance_s: u64,
    ) -> Result<(), VerifyError> {
        let id = header(HEADER_WEBHOOK_ID).ok_or(VerifyError::MissingHeader(HEADER_WEBHOOK_ID))?;
        let ts = header(HEADER_WEBHOOK_TIMESTAMP)
            .ok_or(VerifyError::MissingHeader(HEADER_WEBHOOK_TIMESTAMP))?;
        let sigs = header(HEADER_WEBHOOK_SIGNATURE)
            .ok_or(VerifyError::MissingHeader(HEADER_WEBHOOK_SIGNATURE))?;
        let ts: i64 = ts.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
        let diff = now_s.saturating_sub(ts);
        if diff > 0 && diff.unsigned_abs() > tolerance_s {
            return Err(VerifyError::TooOld(diff.unsigned_abs()));
        }
        if diff < 0 && diff.unsigned_abs() > tolerance_s {
            return Err(VerifyError::TooNew(diff.unsigned_abs()));
        }
        let expected = self.tag(id.trim(), ts, body);
        let mut ok = false;
        for candidate in sigs.split_whitespace() {
            let Some(b64) = candidate.strip_prefix("v1,") else {
                continue; // another version: not ours to judge
            };
            if let Ok(tag) = BASE64.decode(b64) {
                ok |= expected.clone().verify_slice(&tag).is_ok();
            }
        }
        if ok {
            Ok(())
        } else {
            Err(VerifyError::NoMatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example in the Standard Webhooks specification's reference test suite.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn lookup<'a>(headers: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    #[test]
    fn a_mac_made_elsewhere_gives_the_same_signature() {
        let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let content = WebhookKey::signed_content("msg_1", 1_700_000_000, b"{}");
        assert_eq!(content, b"msg_1.1700000000.{}");
        let mut mac = Hmac::<Sha256>::new_from_slice(key.raw().expose()).unwrap();
        mac.update(&content);
        let elsewhere = WebhookKey::signature_value(&mac.finalize().into_bytes());
        assert_eq!(elsewhere, key.sign("msg_1", 1_700_000_000, b"{}"));
    }

    #[test]
    fn signs_the_reference_example() {
        let key = WebhookKey::from_whsec(SECRET).unwrap();
        assert_eq!(key.sign(ID, TS, BODY), SIG);
    }

    #[test]
    fn verifies_and_refuses() {
        let key = WebhookKey::from_whsec(SECRET).unwrap();
        let good = key.headers(ID, TS, BODY);
        assert_eq!(key.verify(lookup(&good), BODY, TS, 300), Ok(()));
        assert_eq!(
            key.verify(lookup(&good), b"{}", TS, 300),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            key.verify(lookup(&good), BODY, TS + 301, 300),
            Err(VerifyError::TooOld(301))
        );
        assert_eq!(
            key.verify(lookup(&good), BODY, TS - 301, 300),
            Err(VerifyError::TooNew(301))
        );
        // Rotation: any of several signatures; other versions ignored.
        let rotated = [
            good[0].clone(),
            good[1].clone(),
            (
                "webhook-signature",
                format!("v1a,xyz v1,AAAA {}", good[2].1),
            ),
        ];
        assert_eq!(key.verify(lookup(&rotated), BODY, TS, 300), Ok(()));
        let partial = [
            good[0].clone(),
            good[1].clone(),
            ("webhook-signature", SIG[..20].to_owned()),
        ];
        assert_eq!(
            key.verify(lookup(&partial), BODY, TS, 300),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            key.verify(lookup(&good[..2]), BODY, TS, 300),
            Err(VerifyError::MissingHeader(HEADER_WEBHOOK_SIGNATURE))
        );
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert_eq!(
            WebhookKey::from_whsec("whsec_").unwrap_err(),
            KeyError::Empty
        );
        assert_eq!(
            WebhookKey::from_whsec("whsec_%%%").unwrap_err(),
            KeyError::NotBase64
        );
        assert_eq!(
            format!("{:?}", WebhookKey::from_whsec(SECRET).unwrap()),
            "WebhookKey(<redacted>)"
        );
    }
}
