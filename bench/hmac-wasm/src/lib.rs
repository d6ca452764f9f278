//! HMAC-SHA256 with RustCrypto, exported to JavaScript: once per call (the data crosses the
//! JS/wasm boundary each time, as a Worker's body does) and `n` times per call (the pure
//! compute cost); and SHA-256 and BLAKE3 digests, `n` per call.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasm_bindgen::prelude::*;

/// One HMAC-SHA256 of `data` under `key`.
#[wasm_bindgen]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `n` HMAC-SHA256s of `data` without leaving wasm; returns a byte of the last one so the
/// work cannot be optimized away.
#[wasm_bindgen]
pub fn hmac_sha256_n(key: &[u8], data: &[u8], n: u32) -> u8 {
    let mut last = 0;
    for _ in 0..n {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(data);
        last ^= mac.finalize().into_bytes()[0];
    }
    last
}

/// `n` SHA-256 digests of `data` without leaving wasm (edgehook's natural-id digest of the
/// canonical body); returns a byte of the last one.
#[wasm_bindgen]
pub fn sha256_n(data: &[u8], n: u32) -> u8 {
    use sha2::Digest;
    let mut last = 0;
    for _ in 0..n {
        last ^= Sha256::digest(data)[0];
    }
    last
}

/// `n` BLAKE3 hashes (32-byte output) of `data` without leaving wasm; returns a byte of the
/// last one.
#[wasm_bindgen]
pub fn blake3_n(data: &[u8], n: u32) -> u8 {
    let mut last = 0;
    for _ in 0..n {
        last ^= blake3::hash(data).as_bytes()[0];
    }
    last
}
