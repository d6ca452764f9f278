//! The admin routes' decisions (CONTRACT §1, §7), made without the runtime: which admin
//! route a request is for ([`route`]), the admin token check ([`auth`]), queries and bodies
//! parsed and validated ([`query`], [`replay`]), the KV layout that lists dead letters
//! newest first ([`layout`]), and the destinations' listing ([`destinations`]).

pub mod auth;
pub mod destinations;
pub mod layout;
pub mod query;
pub mod replay;

pub use auth::authorized;
pub use destinations::{Counts, DestinationView, DestinationsAnswer};
pub use layout::{
    dead_at_ms, index_key_time_ms, index_keys, index_keys_of, letter_key, list_prefix, listed,
    next_cursor, ListAnswer, INVERTED_FROM,
};
pub use query::{ListQuery, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
pub use replay::{
    ReplayAnswer, ReplayFailure, ReplayRequest, Step, MAX_REPLAY_IDS, MAX_REPLAY_PER_REQUEST,
};

/// Where the admin routes live.
pub const ADMIN_PREFIX: &str = "/admin/";

/// An admin request, once the admin token is known to be set and presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `GET /admin/dead-letters[?source=S][&destination=D][&limit=N][&cursor=C]`.
    List(ListQuery),
    /// `GET /admin/dead-letters/{source}/{id}[?destination=D]`.
    Show(LetterRef),
    /// `DELETE /admin/dead-letters/{source}/{id}[?destination=D]`: absent, every
    /// destination's dead letter of that event.
    Drop(LetterRef),
    /// `POST /admin/replay` (the body is parsed by [`ReplayRequest::parse`]).
    Replay,
    /// `GET /admin/destinations`.
    Destinations,
    /// `POST /admin/destinations/{name}/pause`.
    Pause { name: String },
    /// `POST /admin/destinations/{name}/resume`.
    Resume { name: String },
}

/// One event's dead letter(s): of one destination, or of every one when none is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRef {
    pub source: String,
    pub id: String,
    pub destination: Option<String>,
}

/// Why an admin request is not answered as asked. Each maps to the contract's JSON error
/// shape; none names the admin token or what was expected of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No `Authorization: Bearer` with the admin token (missing and wrong look the same).
    #[error("the admin routes need Authorization: Bearer <ADMIN_TOKEN>")]
    Unauthorized,
    /// No such admin route.
    #[error("no such route")]
    NotFound,
    /// No dead letter with this source and id.
    #[error("no such dead letter")]
    NoSuchDeadLetter,
    /// No destination of this name is configured.
    #[error("no such destination")]
    NoSuchDestination,
    /// A known admin route asked with another method.
    #[error("{method} is not allowed here; use {allowed}")]
    MethodNotAllowed {
        method: String,
        allowed: &'static str,
    },
    /// A bad query or body: `reason` names the field.
    #[error("{message}")]
    BadRequest {
        reason: &'static str,
        message: String,
    },
    /// KV or the queue failed.
    #[error("{0}")]
    Unavailable(String),
    /// The Worker's configuration is wrong (a replay needs it to enqueue).
    #[error("{0}")]
    Config(String),
}

impl AdminError {
    pub(crate) fn bad(reason: &'static str, message: impl Into<String>) -> Self {
        AdminError::BadRequest {
            reason,
            message: message.into(),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::Unauthorized => 401,
            AdminError::NotFound | AdminError::NoSuchDeadLetter | AdminError::NoSuchDestination => {
                404
            }
            AdminError::MethodNotAllowed { .. } => 405,
            AdminError::BadRequest { .. } => 400,
            AdminError::Unavailable(_) => 503,
            AdminError::Config(_) => 500,
        }
    }

    /// The `reason` field: a stable name of what was wrong.
    pub fn reason(&self) -> &'static str {
        match self {
            AdminError::Unauthorized => "admin_token",
            AdminError::NotFound => "not_found",
            AdminError::NoSuchDeadLetter => "no_such_dead_letter",
            AdminError::NoSuchDestination => "no_such_destination",
            AdminError::MethodNotAllowed { .. } => "method_not_allowed",
            AdminError::BadRequest { reason, .. } => reason,
            AdminError::Unavailable(_) => "unavailable",
            AdminError::Config(_) => "config",
        }
    }

    /// `{"error":…,"reason":…,"message":…}`, as every other error answer.
    pub fn to_json(&self) -> String {
        let error = match self.status() {
            401 => "unauthorized",
            404 => "not_found",
            405 => "method_not_allowed",
            400 => "malformed",
            500 => "config",
            _ => "unavailable",
        };
        serde_json::json!({"error": error, "reason": self.reason(), "message": self.to_string()})
            .to_string()
    }
}

/// Routes an admin request: `path` starts with `/admin` and may carry a query.
pub fn route(method: &str, path: &str) -> Result<AdminRoute, AdminError> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = path.split('#').next().unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    let wrong = |allowed| AdminError::MethodNotAllowed {
        method: method.to_owned(),
        allowed,
    };
    let rest = path
        .strip_prefix(ADMIN_PREFIX)
        .ok_or(AdminError::NotFound)?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["replay"] if method == "POST" => Ok(AdminRoute::Replay),
        ["replay"] => Err(wrong("POST")),
        ["dead-letters"] if method == "GET" => Ok(AdminRoute::List(ListQuery::parse(query)?)),
        ["dead-letters"] => Err(wrong("GET")),
        ["dead-letters", source, id] if !source.is_empty() && !id.is_empty() => {
            let letter = LetterRef {
                source: decode(source)?,
                id: decode(id)?,
                destination: query::destination_only(query)?,
            };
            match method {
                "GET" => Ok(AdminRoute::Show(letter)),
                "DELETE" => Ok(AdminRoute::Drop(letter)),
                _ => Err(wrong("GET, DELETE")),
            }
        }
        ["destinations"] if method == "GET" => Ok(AdminRoute::Destinations),
        ["destinations"] => Err(wrong("GET")),
        ["destinations", name, action @ ("pause" | "resume")] if !name.is_empty() => {
            if method != "POST" {
                return Err(wrong("POST"));
            }
            let name = decode(name)?;
            Ok(match *action {
                "pause" => AdminRoute::Pause { name },
                _ => AdminRoute::Resume { name },
            })
        }
        _ => Err(AdminError::NotFound),
    }
}

fn decode(segment: &str) -> Result<String, AdminError> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| AdminError::bad("bad_path", "a path segment is not percent-encoded UTF-8"))
}

#[cfg(test)]
mod tests;
