//! `crypto.subtle`: a source's HMAC keys imported once per isolate, and a delivery's HMACs
//! and natural-id digest computed by the runtime's native SHA-256, where wasm has no SHA
//! instructions (bench/README.md §3b: ~10× faster than RustCrypto compiled to wasm).

use worker::js_sys::{self, Array, Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

use super::{describe_js, warn};
use crate::error::Error;
use crate::providers::{Delivery, HmacKeys, Prepared, Provider, Verified};
use crate::secret::Secret;
use crate::signing::WebhookKey;

/// The runtime's `crypto.subtle`, and a source's keys imported into it.
pub(super) struct SubtleKeys {
    subtle: web_sys::SubtleCrypto,
    /// In the order of `provider.mac_keys()`.
    keys: Vec<web_sys::CryptoKey>,
}

/// Imports a source's HMAC secrets into `crypto.subtle`, once per isolate.
pub(super) async fn import_keys(keys: &HmacKeys) -> Result<SubtleKeys, JsValue> {
    let subtle = subtle()?;
    let mut imported = Vec::new();
    for secret in keys.secrets() {
        imported.push(import_hmac_key(&subtle, secret).await?);
    }
    Ok(SubtleKeys {
        subtle,
        keys: imported,
    })
}

/// The runtime's `crypto.subtle`.
fn subtle() -> Result<web_sys::SubtleCrypto, JsValue> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    Ok(scope.crypto()?.subtle())
}

/// An HMAC-SHA256 signing key in `crypto.subtle`, not extractable.
async fn import_hmac_key(
    subtle: &web_sys::SubtleCrypto,
    secret: &Secret,
) -> Result<web_sys::CryptoKey, JsValue> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"HMAC".into())?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    let usages = Array::of1(&"sign".into());
    let raw = Uint8Array::from(secret.expose());
    let key = subtle.import_key_with_object("raw", &raw, &algorithm, false, &usages)?;
    Ok(JsFuture::from(key).await?.unchecked_into())
}

/// A `url` destination's `whsec_` key imported into `crypto.subtle`: signs what goes to it
/// at the runtime's native speed (a 1 MB envelope costs ~7 ms of HMAC in wasm).
pub(super) struct OriginSigner {
    subtle: web_sys::SubtleCrypto,
    key: web_sys::CryptoKey,
}

impl OriginSigner {
    pub async fn new(key: &WebhookKey) -> Result<Self, JsValue> {
        let subtle = subtle()?;
        let key = import_hmac_key(&subtle, key.raw()).await?;
        Ok(OriginSigner { subtle, key })
    }

    /// The `webhook-signature` value for `body` sent as `msg_id` at `timestamp_s`.
    pub async fn sign(
        &self,
        msg_id: &str,
        timestamp_s: i64,
        body: &[u8],
    ) -> Result<String, JsValue> {
        let content = WebhookKey::signed_content(msg_id, timestamp_s, body);
        let sign = self
            .subtle
            .sign_with_str_and_u8_array("HMAC", &self.key, &content);
        Ok(WebhookKey::signature_value(&hash32(sign).await?))
    }
}

/// A 32-byte result (HMAC-SHA256 or SHA-256) of a `crypto.subtle` promise.
async fn hash32(promise: Result<js_sys::Promise, JsValue>) -> Result<[u8; 32], JsValue> {
    let buffer = Uint8Array::new(&JsFuture::from(promise?).await?);
    let mut out = [0u8; 32];
    if buffer.length() != 32 {
        return Err("a SHA-256 result is 32 bytes".into());
    }
    buffer.copy_to(&mut out);
    Ok(out)
}

/// The HMACs of a prepared delivery's message under `keys` and, if it is authentic, the
/// digest its natural id needs. `Err` when `crypto.subtle` failed (the caller then hashes
/// in wasm).
async fn hash_with_subtle(
    SubtleKeys { subtle, keys }: &SubtleKeys,
    prepared: &Prepared<'_>,
) -> Result<(Vec<[u8; 32]>, Option<[u8; 32]>), JsValue> {
    let mut macs = Vec::with_capacity(keys.len());
    if prepared.needs_mac() {
        for key in keys {
            let sign = subtle.sign_with_str_and_u8_array("HMAC", key, prepared.message());
            macs.push(hash32(sign).await?);
        }
    }
    let digest = match prepared.digest_input() {
        // Only an authentic delivery needs its id: skip the digest when no MAC matched.
        Some(input) if prepared.matches(&macs) => {
            Some(hash32(subtle.digest_with_str_and_u8_array("SHA-256", input)).await?)
        }
        _ => None,
    };
    Ok((macs, digest))
}

/// Verifies a delivery as `Provider::verify` does, hashing with `crypto.subtle` when the
/// source's keys are imported (`subtle`), else (or if it fails) with RustCrypto in wasm.
pub(super) async fn verify<'a>(
    provider: &dyn Provider,
    subtle: Option<&SubtleKeys>,
    delivery: &Delivery<'a>,
    now_ms: u64,
) -> Result<Verified<'a>, Error> {
    let prepared = provider.prepare(delivery, now_ms)?;
    let Some(subtle) = subtle else {
        return prepared.hash_natively(provider.mac_keys());
    };
    match hash_with_subtle(subtle, &prepared).await {
        Ok((macs, digest)) => prepared.check(&macs)?.finish(digest),
        Err(e) => {
            warn("subtle_failed", provider.name(), "", &describe_js(&e));
            prepared.hash_natively(provider.mac_keys())
        }
    }
}
