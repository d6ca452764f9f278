//! Every way a delivery can be refused, and the one place that maps each to its answer.

use std::borrow::Cow;

use crate::config::ConfigError;

/// Why a delivery was not accepted. Messages say what the sender did wrong and name the
/// header or field; none ever carries a secret or an expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The signature header is absent.
    #[error("no {header} header: this source requires a signature")]
    MissingSignature { header: &'static str },
    /// The signature header is there but is not hex of the right length.
    #[error("the {header} header is not a hex HMAC-SHA256 signature")]
    MalformedSignature { header: &'static str },
    /// The signature matches none of the source's secrets.
    #[error("the {header} signature matches none of this source's secrets")]
    BadSignature { header: &'static str },
    /// The timestamp header the signature depends on is absent.
    #[error("no {header} header: this source requires a timestamp")]
    MissingTimestamp { header: &'static str },
    /// The timestamp header is not a whole number of seconds.
    #[error("the {header} header is not a unix time in seconds")]
    MalformedTimestamp { header: &'static str },
    /// The timestamp is older than the tolerance: a replay or a very late retry.
    #[error("the timestamp is {age_s} s old, more than the {tolerance_s} s tolerance")]
    StaleTimestamp { age_s: u64, tolerance_s: u64 },
    /// The timestamp is ahead of the edge's clock by more than the tolerance.
    #[error("the timestamp is {ahead_s} s in the future, more than the {tolerance_s} s tolerance")]
    FutureTimestamp { ahead_s: u64, tolerance_s: u64 },
    /// No token where the source is configured to find one.
    #[error("no token: this source expects it {place}")]
    MissingToken { place: Cow<'static, str> },
    /// A token that matches none of the source's secrets.
    #[error("the token matches none of this source's secrets")]
    BadToken,
    /// The body is not JSON, or not the shape the provider sends.
    #[error("the body is not valid JSON: {detail}")]
    Malformed { detail: String },
    /// The body's arrays and objects nest deeper than the one limit for every source
    /// ([`crate::nesting::MAX_DEPTH`]): the envelope around it could not be parsed by many
    /// origins (CPython's `json.loads`, serde_json).
    #[error("the body nests arrays and objects more than {limit} levels deep, the limit for every source")]
    TooDeep { limit: usize },
    /// A header the event's id or status is read from is absent (not one that
    /// authenticates: those are `MissingSignature`, `MissingTimestamp`, `MissingToken`).
    #[error("no {header} header, which this source reads the event from")]
    MissingHeader { header: &'static str },
    /// The body is JSON but lacks a field the event needs.
    #[error("the body has no `{field}` field, which this provider always sends")]
    MissingField { field: &'static str },
    /// The body is larger than `MAX_BODY_BYTES`.
    #[error("the body is over the {limit} byte limit")]
    TooLarge { limit: usize },
    /// No such route or source. Names neither: a path segment may be a token, and a source
    /// name that is not configured is the sender's text, not ours.
    #[error("no such route or source")]
    NotFound,
    /// A known route asked with another method.
    #[error("{method} is not allowed here; use {allowed}")]
    MethodNotAllowed {
        method: String,
        allowed: &'static str,
    },
    /// The Worker's own configuration is wrong: nothing can be accepted until it is fixed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The event could not be handed on (queue or origin); nothing was marked seen.
    #[error("could not hand the event on: {detail}")]
    Unavailable { detail: String },
}

impl Error {
    /// The HTTP status of the answer (CONTRACT §5).
    pub fn status(&self) -> u16 {
        use Error::*;
        match self {
            MissingSignature { .. }
            | MalformedSignature { .. }
            | BadSignature { .. }
            | MissingTimestamp { .. }
            | MalformedTimestamp { .. }
            | StaleTimestamp { .. }
            | FutureTimestamp { .. }
            | MissingToken { .. }
            | BadToken => 401,
            Malformed { .. } | TooDeep { .. } | MissingField { .. } | MissingHeader { .. } => 400,
            NotFound => 404,
            MethodNotAllowed { .. } => 405,
            TooLarge { .. } => 413,
            Config(_) => 500,
            Unavailable { .. } => 503,
        }
    }

    /// The `error` field of the answer: the class of problem.
    pub fn kind(&self) -> &'static str {
        match self.status() {
            401 => "unauthorized",
            400 => "malformed",
            404 => "not_found",
            405 => "method_not_allowed",
            413 => "too_large",
            500 => "config",
            _ => "unavailable",
        }
    }

    /// The `reason` field: a stable, machine-readable name of what was wrong.
    pub fn reason(&self) -> &'static str {
        use Error::*;
        match self {
            MissingSignature { .. } => "missing_signature",
            MalformedSignature { .. } | BadSignature { .. } => "bad_signature",
            MissingTimestamp { .. } => "missing_timestamp",
            MalformedTimestamp { .. } => "bad_timestamp",
            StaleTimestamp { .. } => "stale_timestamp",
            FutureTimestamp { .. } => "future_timestamp",
            MissingToken { .. } => "missing_token",
            BadToken => "bad_token",
            Malformed { .. } => "malformed_json",
            TooDeep { .. } => "too_deep",
            MissingField { .. } => "missing_field",
            MissingHeader { .. } => "missing_header",
            TooLarge { .. } => "too_large",
            NotFound => "not_found",
            MethodNotAllowed { .. } => "method_not_allowed",
            Config(_) => "config",
            Unavailable { .. } => "unavailable",
        }
    }

    /// The JSON body of the answer: `{"error":…,"reason":…,"message":…}`.
    pub fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error: &'a str,
            reason: &'a str,
            message: String,
        }
        let body = Body {
            error: self.kind(),
            reason: self.reason(),
            message: self.to_string(),
        };
        serde_json::to_string(&body).unwrap_or_default()
    }

    pub(crate) fn malformed(detail: impl std::fmt::Display) -> Self {
        Error::Malformed {
            detail: detail.to_string(),
        }
    }
}

/// A body the canonical pass refused: [`Error::TooDeep`] when it stopped at the nesting
/// limit, else [`Error::Malformed`] saying where.
impl From<crate::canonical::CanonicalError> for Error {
    fn from(e: crate::canonical::CanonicalError) -> Self {
        if e.what == crate::canonical::TOO_DEEP {
            Error::TooDeep {
                limit: crate::nesting::MAX_DEPTH,
            }
        } else {
            Error::malformed(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_contract_answer() {
        let e = Error::BadSignature {
            header: "X-Browser-Use-Signature",
        };
        assert_eq!(
            (e.status(), e.kind(), e.reason()),
            (401, "unauthorized", "bad_signature")
        );
        let e = Error::MissingField { field: "run_id" };
        assert_eq!(
            (e.status(), e.kind(), e.reason()),
            (400, "malformed", "missing_field")
        );
        let e = Error::TooDeep { limit: 128 };
        assert_eq!(
            (e.status(), e.kind(), e.reason()),
            (400, "malformed", "too_deep")
        );
        assert!(e.to_string().contains("128 levels"), "{e}");
        let e = Error::TooLarge { limit: 10 };
        assert_eq!(e.status(), 413);
        let e = Error::Unavailable {
            detail: "queue".into(),
        };
        assert_eq!((e.status(), e.kind()), (503, "unavailable"));
        let body: serde_json::Value = serde_json::from_str(
            &Error::StaleTimestamp {
                age_s: 301,
                tolerance_s: 300,
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(body["reason"], "stale_timestamp");
        assert_eq!(
            body["message"],
            "the timestamp is 301 s old, more than the 300 s tolerance"
        );
    }
}
