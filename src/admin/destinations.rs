//! `GET /admin/destinations` and the pause and resume answers (CONTRACT §7): what each
//! destination is, whether it is paused, and what it holds and lost. Nothing here shows a
//! secret or a URL's path (which may hold a token): [`Destination::target`] is all of its
//! address that is shown.

use serde::{Deserialize, Serialize};

use crate::destinations::Destination;

/// One destination as the admin routes show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationView {
    pub name: String,
    /// `url` or `queue`.
    pub kind: String,
    /// A URL's scheme and host, or the queue binding's name.
    pub target: String,
    pub paused: bool,
    /// Events not yet delivered that the Worker can count: held ones, and with `LOG` those
    /// queued and retrying too.
    pub pending: u64,
    /// Of those, the ones held by a pause.
    pub held: u64,
    /// Its dead letters.
    pub dead: u64,
    pub last_delivered_at: Option<String>,
    pub last_error: Option<String>,
}

/// What the Worker knows of a destination's state besides its configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub paused: bool,
    /// Queued and retrying events, where the Worker can know them (the event log).
    pub queued: u64,
    pub held: u64,
    pub dead: u64,
    pub last_delivered_at: Option<String>,
    pub last_error: Option<String>,
}

impl DestinationView {
    pub fn of(destination: &Destination, counts: Counts) -> Self {
        DestinationView {
            name: destination.name.clone(),
            kind: destination.kind_name().to_owned(),
            target: destination.target(),
            paused: counts.paused,
            pending: counts.queued + counts.held,
            held: counts.held,
            dead: counts.dead,
            last_delivered_at: counts.last_delivered_at,
            last_error: counts.last_error,
        }
    }
}

/// `{"destinations":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationsAnswer {
    pub destinations: Vec<DestinationView>,
}
