//! What follows one attempt to hand an event to a destination: delivered, a retry after
//! the destination's own next delay, or a dead letter of that destination; and how attempts
//! are counted across the messages one event may travel in (a held event re-sent on resume,
//! a retry sent by a drain), so that a pause spends none of the schedule.

use super::Destination;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Said the way a dead letter's `last_error` says it: `origin answered 503`, `origin
    /// did not answer within 15000 ms`, `the envelope is … bytes, over …`.
    pub error: String,
    /// The origin's status, when it answered.
    pub http_status: Option<u16>,
    /// Retrying cannot help (an envelope too large for the destination's queue): the event
    /// is a dead letter at once.
    pub permanent: bool,
}

impl Failure {
    /// A failure worth retrying.
    pub fn transient(error: impl Into<String>, http_status: Option<u16>) -> Self {
        Failure {
            error: error.into(),
            http_status,
            permanent: false,
        }
    }

    /// A failure no retry can mend.
    pub fn permanent(error: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            http_status: None,
            permanent: true,
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Handed over: ack.
    Delivered,
    /// Try again after this many seconds.
    Retry { delay_s: u32 },
    /// Keep it as this destination's dead letter.
    Dead,
}

/// What follows attempt number `n` (1 for the first) of an event to `destination`.
pub fn after_attempt(destination: &Destination, n: u32, result: &Result<(), Failure>) -> Next {
    match result {
        Ok(()) => Next::Delivered,
        Err(f) if f.permanent => Next::Dead,
        Err(_) => match destination.retry_delay_s(n) {
            Some(delay_s) => Next::Retry { delay_s },
            None => Next::Dead,
        },
    }
}

/// The number of the attempt a message is on: the attempts spent before the message was
/// sent (`base`, carried in it) plus the runtime's count of its deliveries, this one
/// included.
pub fn attempt_number(base: u32, deliveries: u32) -> u32 {
    base.saturating_add(deliveries.max(1))
}

/// The attempts a message has spent when it is held instead of attempted: this delivery
/// made no request, so it does not count.
pub fn spent_before_hold(base: u32, deliveries: u32) -> u32 {
    attempt_number(base, deliveries) - 1
}

/// One attempt, as the event log records it (CONTRACT §8: `destination`, `n`, `at`,
/// `outcome`, HTTP status, `duration_ms`, `error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub source: String,
    pub id: String,
    pub destination: String,
    pub n: u32,
    /// When the attempt started, unix ms.
    pub at_ms: u64,
    pub outcome: AttemptOutcome,
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// How an attempt ended, with what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Failed; a retry follows.
    Retrying,
    /// Failed; the event is now a dead letter.
    Dead,
}

impl AttemptOutcome {
    /// The outcome that `next` says.
    pub fn of(next: &Next) -> Self {
        match next {
            Next::Delivered => AttemptOutcome::Delivered,
            Next::Retry { .. } => AttemptOutcome::Retrying,
            Next::Dead => AttemptOutcome::Dead,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retrying => "retry",
            AttemptOutcome::Dead => "dead_lettered",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destinations::{Filter, Kind};

    fn to_queue(schedule: &[u32]) -> Destination {
        Destination {
            name: "agents".into(),
            kind: Kind::Queue {
                binding: "AGENT_EVENTS".into(),
            },
            filter: Filter::default(),
            retry_schedule_s: schedule.to_vec(),
        }
    }

    #[test]
    fn each_destination_retries_on_its_own_schedule_then_dead_letters() {
        let d = to_queue(&[5, 60, 300]);
        let failed = Err(Failure::transient("origin answered 503", Some(503)));
        let next: Vec<Next> = (1..=4).map(|n| after_attempt(&d, n, &failed)).collect();
        assert_eq!(
            next,
            [
                Next::Retry { delay_s: 5 },
                Next::Retry { delay_s: 60 },
                Next::Retry { delay_s: 300 },
                Next::Dead
            ]
        );
        assert_eq!(after_attempt(&d, 1, &Ok(())), Next::Delivered);
        // Too large for the destination's queue: no retry can mend it.
        let too_big = Err(Failure::permanent("the envelope is 200000 bytes"));
        assert_eq!(after_attempt(&d, 1, &too_big), Next::Dead);
        assert_eq!(after_attempt(&to_queue(&[]), 1, &failed), Next::Dead);
    }

    #[test]
    fn a_hold_spends_none_of_the_schedule() {
        // First delivery of a fresh message: attempt 1. Held on it: nothing spent.
        assert_eq!(attempt_number(0, 1), 1);
        assert_eq!(spent_before_hold(0, 1), 0);
        // A message on its third delivery (two failed) is held: two spent. Re-sent on resume
        // with base 2, its first delivery is attempt 3, as if the pause had not been.
        assert_eq!(spent_before_hold(0, 3), 2);
        assert_eq!(attempt_number(2, 1), 3);
        // The runtime never says 0, but if it did, the delivery still counts once.
        assert_eq!(attempt_number(4, 0), 5);
        assert_eq!(attempt_number(u32::MAX, 3), u32::MAX);
    }
}
