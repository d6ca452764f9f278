//! KV keys: `{kind}:{source}:{id}`, hashed where a provider's id would pass KV's limit.

/// KV refuses keys over 512 bytes.
pub const KV_KEY_LIMIT: usize = 512;

/// A KV key `{kind}:{source}:{id}`; hashed when it would pass KV's 512-byte limit (a
/// provider's run id is theirs to choose).
pub fn kv_key(kind: &str, source: &str, id: &str) -> String {
    let key = format!("{kind}:{source}:{id}");
    if key.len() <= KV_KEY_LIMIT {
        key
    } else {
        use sha2::Digest;
        format!(
            "{kind}:{source}:sha256:{}",
            hex::encode(sha2::Sha256::digest(id.as_bytes()))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ids_are_hashed_into_kv_keys() {
        assert_eq!(
            kv_key("seen", "s", "skyvern:r:completed"),
            "seen:s:skyvern:r:completed"
        );
        let long = kv_key("seen", "s", &"r".repeat(600));
        assert!(long.len() <= KV_KEY_LIMIT && long.starts_with("seen:s:sha256:"));
    }
}
