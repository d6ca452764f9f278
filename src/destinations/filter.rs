//! Which destinations an event matches: a destination's `sources`, `statuses` and `types`
//! lists, each matching everything when absent or empty, all three required. Filters see
//! only the envelope's normalized fields, never the provider's body.

use crate::envelope::Envelope;
use crate::status::Status;

/// A destination's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Source names (`/in/{source}`); empty: every source.
    pub sources: Vec<String>,
    /// Normalized statuses (CONTRACT §4); empty: every status.
    pub statuses: Vec<Status>,
    /// Envelope types (`run.completed`, `webhook.test`); empty: every type.
    pub types: Vec<String>,
}

/// What a filter looks at: an event's source and normalized status and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    pub source: &'a str,
    pub status: Status,
    pub event_type: &'a str,
}

impl<'a> Facts<'a> {
    /// The facts of an envelope received on `source`.
    pub fn of(source: &'a str, envelope: &'a Envelope) -> Self {
        Facts {
            source,
            status: envelope.data.status,
            event_type: &envelope.event_type,
        }
    }
}

impl Filter {
    /// Whether an event with these facts passes all three lists.
    pub fn matches(&self, facts: &Facts) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.sources, facts.source)
            && (self.statuses.is_empty() || self.statuses.contains(&facts.status))
            && any(&self.types, facts.event_type)
    }
}

/// Every envelope `type` an event can have: `run.{status}` for each status, and the test
/// ping's `webhook.test`.
pub fn known_types() -> Vec<String> {
    Status::ALL
        .iter()
        .map(|s| format!("run.{}", s.as_str()))
        .chain([crate::envelope::TEST_EVENT_TYPE.to_owned()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(source: &'a str, status: Status, event_type: &'a str) -> Facts<'a> {
        Facts {
            source,
            status,
            event_type,
        }
    }

    #[test]
    fn empty_lists_match_everything_and_all_three_must_match() {
        let all = Filter::default();
        assert!(all.matches(&facts("skyvern", Status::Running, "run.running")));

        let failures = Filter {
            sources: vec!["skyvern".into(), "browser-use".into()],
            statuses: vec![Status::Failed, Status::TimedOut],
            types: vec![],
        };
        assert!(failures.matches(&facts("skyvern", Status::Failed, "run.failed")));
        assert!(failures.matches(&facts("browser-use", Status::TimedOut, "run.timed_out")));
        assert!(!failures.matches(&facts("smartbrowse", Status::Failed, "run.failed")));
        assert!(!failures.matches(&facts("skyvern", Status::Completed, "run.completed")));

        let completed = Filter {
            types: vec!["run.completed".into()],
            ..Filter::default()
        };
        assert!(completed.matches(&facts("x", Status::Completed, "run.completed")));
        // A test ping's status is whatever the provider said; its type is webhook.test.
        assert!(!completed.matches(&facts("x", Status::Completed, "webhook.test")));
    }

    #[test]
    fn the_known_types_are_every_status_and_the_test_ping() {
        let types = known_types();
        assert_eq!(types.len(), Status::ALL.len() + 1);
        assert!(types.contains(&"run.timed_out".to_owned()));
        assert!(types.contains(&"webhook.test".to_owned()));
    }
}
