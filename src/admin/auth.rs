//! The admin token check: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.

use crate::secret::Secret;

/// True when `authorization` is `Bearer <token>` (scheme case-insensitive), compared in
/// constant time. An empty token never matches (and the edge treats it as unset).
pub fn authorized(authorization: Option<&str>, token: &Secret) -> bool {
    let Some(value) = authorization.map(str::trim) else {
        return false;
    };
    let presented = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => return false,
    };
    !token.is_empty()
        && !presented.is_empty()
        && crate::providers::token_matches(presented, std::slice::from_ref(token))
}
