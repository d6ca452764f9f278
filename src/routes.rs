//! Routing: which of the Worker's routes a request is for (CONTRACT §1), decided from the
//! method and path alone.

use crate::admin::{AdminError, AdminRoute};
use crate::error::Error;

/// A request's route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`.
    Health,
    /// `POST /in/{source}` or `POST /in/{source}/{token}`.
    Ingest {
        source: String,
        token: Option<String>,
    },
    /// Anything under `/admin/`: the admin route asked for, or why it is not one. Decided
    /// only after the admin token: without `ADMIN_TOKEN` every admin path is a 404, and
    /// without the right bearer a 401, whatever the path.
    Admin(Result<AdminRoute, AdminError>),
}

/// Routes `method path`, or says why not: 404 for an unknown path, 405 for a known path
/// asked with another method. Path segments are percent-decoded.
pub fn route(method: &str, path: &str) -> Result<Route, Error> {
    let not_found = || Error::NotFound;
    let wrong_method = |allowed: &'static str| Error::MethodNotAllowed {
        method: method.to_owned(),
        allowed,
    };
    if path.starts_with(crate::admin::ADMIN_PREFIX) {
        return Ok(Route::Admin(crate::admin::route(method, path)));
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path == "/healthz" {
        return match method {
            "GET" | "HEAD" => Ok(Route::Health),
            _ => Err(wrong_method("GET")),
        };
    }
    let Some(rest) = path.strip_prefix("/in/") else {
        return Err(not_found());
    };
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let source = parts.next().ok_or_else(not_found)?;
    let token = parts.next();
    if parts.next().is_some() {
        return Err(not_found());
    }
    if method != "POST" {
        return Err(wrong_method("POST"));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| not_found())
    };
    Ok(Route::Ingest {
        source: decode(source)?,
        token: token.map(decode).transpose()?,
    })
}

/// The path (with any query) of an absolute URL as the runtime hands it over
/// (`https://host[:port]/path?query`): everything from the first `/` after the authority;
/// `/` when there is none.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_urls() {
        assert_eq!(path_of("https://h.example/in/skyvern"), "/in/skyvern");
        assert_eq!(path_of("http://127.0.0.1:8787/in/sb/t?x=1"), "/in/sb/t?x=1");
        assert_eq!(path_of("https://h.example"), "/");
        assert_eq!(path_of("https://h.example?q=/in/x"), "/");
        assert_eq!(path_of("https://h.example/healthz#frag"), "/healthz#frag");
    }

    fn ingest(source: &str, token: Option<&str>) -> Result<Route, Error> {
        Ok(Route::Ingest {
            source: source.into(),
            token: token.map(Into::into),
        })
    }

    #[test]
    fn routes_and_refusals() {
        assert_eq!(route("GET", "/healthz"), Ok(Route::Health));
        assert_eq!(route("POST", "/in/skyvern"), ingest("skyvern", None));
        assert_eq!(route("POST", "/in/skyvern/"), ingest("skyvern", None));
        assert_eq!(
            route("POST", "/in/sb/s3cr%2Ft"),
            ingest("sb", Some("s3cr/t"))
        );
        assert_eq!(route("POST", "/in/sb/tok?x=1"), ingest("sb", Some("tok")));
        assert_eq!(route("POST", "/healthz").unwrap_err().status(), 405);
        assert_eq!(route("GET", "/in/skyvern").unwrap_err().status(), 405);
        assert_eq!(route("POST", "/in/").unwrap_err().status(), 404);
        assert_eq!(route("POST", "/in/a/b/c").unwrap_err().status(), 404);
        assert_eq!(route("GET", "/").unwrap_err().status(), 404);
        assert_eq!(route("POST", "/in/%ff").unwrap_err().status(), 404);
        assert_eq!(
            route("POST", "/admin/replay"),
            Ok(Route::Admin(Ok(AdminRoute::Replay)))
        );
        assert_eq!(
            route("PUT", "/admin/nothing"),
            Ok(Route::Admin(Err(AdminError::NotFound)))
        );
        assert_eq!(route("GET", "/admin").unwrap_err().status(), 404);
    }

    #[test]
    fn a_refusal_never_carries_a_path_segment() {
        let token = "sb-s3cret-t0ken";
        for path in [
            format!("/in/smartbrowse/{token}/extra"),
            format!("/in/smartbrowse%2F{token}"),
            format!("/in/smartbrowse/{token}/"),
            format!("/{token}"),
            format!("/in/{token}/{token}/{token}"),
        ] {
            for method in ["POST", "GET", "PUT"] {
                if let Err(e) = route(method, &path) {
                    assert!(!e.to_string().contains(token), "{method} {path}: {e}");
                    assert!(!e.to_json().contains(token), "{method} {path}");
                }
            }
        }
    }
}
