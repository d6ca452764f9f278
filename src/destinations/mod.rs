//! Destinations (CONTRACT §7): every place an accepted event goes, decided without the
//! runtime.
//!
//! - [`table`]: `[vars.DESTINATIONS.<name>]` read and validated (or, without it, the one
//!   destination `origin` that `ORIGIN_URL` and `ORIGIN_SECRET` describe);
//! - [`filter`]: which destinations an event matches;
//! - [`attempt`]: what follows an attempt (delivered, retry after the destination's own
//!   delay, dead letter) and the attempt numbers a held or replayed event carries;
//! - [`keys`]: the KV layout of pauses and held events.

pub mod attempt;
pub mod filter;
pub mod keys;
pub mod table;

pub use attempt::{after_attempt, Failure, Next};
pub use attempt::{AttemptOutcome, AttemptRecord};
pub use filter::{Facts, Filter};

use crate::signing::WebhookKey;

/// The destination there is when `DESTINATIONS` is not set: `ORIGIN_URL`, signed with
/// `ORIGIN_SECRET`. Dead letters written before destinations existed are its own.
pub const DEFAULT_DESTINATION: &str = "origin";
/// How long the queue consumer waits for a `url` destination, when `timeout_ms` is unset.
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;
/// The longest `timeout_ms`: a consumer invocation has 15 minutes of wall time for a batch
/// of ten messages, six at a time.
pub const MAX_TIMEOUT_MS: u64 = 120_000;
/// At most this many destinations: an event is handed on to all of its destinations in one
/// queue `sendBatch`, which takes at most 100 messages.
pub const MAX_DESTINATIONS: usize = 50;
/// A destination's name: `[a-z0-9-]`, at most this many bytes.
pub const MAX_NAME_LEN: usize = 32;

/// One place events go.
#[derive(Debug, Clone)]
pub struct Destination {
    /// `[a-z0-9-]{1,32}`: the table's name.
    pub name: String,
    pub kind: Kind,
    /// Which events it takes.
    pub filter: Filter,
    /// The delay before each retry, in seconds; when it is used up the event is this
    /// destination's dead letter.
    pub retry_schedule_s: Vec<u32>,
}

/// Where a destination's events go.
#[derive(Debug, Clone)]
pub enum Kind {
    /// An HTTP origin: `POST url`, signed as CONTRACT §5 with the key in secret `secret`.
    Url {
        url: String,
        /// The secret's name (shown in errors; never its value).
        secret: String,
        key: WebhookKey,
        /// Per attempt on the queue path; origin mode's inline attempts use
        /// `ORIGIN_TIMEOUT_MS`.
        timeout_ms: u64,
    },
    /// A `[[queues.producers]]` binding of the user's own queue: the envelope's bytes as a
    /// text message.
    Queue { binding: String },
}

impl Destination {
    /// `url` or `queue`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Url { .. } => "url",
            Kind::Queue { .. } => "queue",
        }
    }

    /// What it points at, safe to show: a URL's scheme and host (no path, which may hold a
    /// token, and no user info), or the queue binding's name.
    pub fn target(&self) -> String {
        match &self.kind {
            Kind::Url { url, .. } => url_origin(url),
            Kind::Queue { binding } => binding.clone(),
        }
    }

    /// The delay before the retry that follows attempt `n` (1 for the first), or `None`
    /// when the schedule is used up.
    pub fn retry_delay_s(&self, n: u32) -> Option<u32> {
        let i = usize::try_from(n.max(1) - 1).ok()?;
        self.retry_schedule_s.get(i).copied()
    }

    /// The seconds its whole schedule spans.
    pub fn schedule_span_s(&self) -> u64 {
        self.retry_schedule_s.iter().map(|&d| u64::from(d)).sum()
    }
}

/// `scheme://host[:port]` of a URL, without user info, path, query or fragment: what may
/// be shown of it (a path may hold a token).
pub(crate) fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// Where an accepted event stands with a destination once it was handed on: what the
/// event log records at first (a destination it did not match is `filtered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// On the `EVENTS` queue, to be attempted.
    Queued,
    /// Delivered inline (origin mode).
    Delivered,
    /// Held by a pause (origin mode without a queue).
    Held,
}

/// Every configured destination, in name order.
#[derive(Debug, Clone)]
pub struct Destinations(Vec<Destination>);

impl Destinations {
    /// The destinations, in name order.
    pub fn all(&self) -> &[Destination] {
        &self.0
    }

    /// The destination called `name`.
    pub fn get(&self, name: &str) -> Option<&Destination> {
        self.0.iter().find(|d| d.name == name)
    }

    /// The destinations an event with these facts goes to, in name order.
    pub fn matching(&self, facts: &Facts) -> Vec<&Destination> {
        self.0.iter().filter(|d| d.filter.matches(facts)).collect()
    }

    /// The longest retry schedule's span, in seconds: how long a queued event may still
    /// need its envelope.
    pub fn longest_schedule_s(&self) -> u64 {
        self.0
            .iter()
            .map(Destination::schedule_span_s)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_never_show_a_path_or_user_info() {
        assert_eq!(
            url_origin("https://user:pw@hooks.example.com:8443/t/SECRET?x=1"),
            "https://hooks.example.com:8443"
        );
        assert_eq!(url_origin("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(url_origin("http://h#frag"), "http://h");
    }
}
