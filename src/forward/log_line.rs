//! The one structured log line written per delivery (and per attempt, admin request, ...).

use serde::Serialize;

/// The one structured log line written per delivery (and per queue delivery attempt).
/// Holds no secret and no body by construction: only these fields exist.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogLine<'a> {
    /// `delivery`, `forward`, `dead_letter`, `admin`, `warning`, ...
    pub event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'a str>,
    /// `accepted`, `duplicate`, `refused`, `delivered`, `retry`, `dead_lettered`, ...
    pub outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    /// The destination an attempt, a hold or a dead letter is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    pub duration_ms: u64,
}

impl LogLine<'_> {
    /// The line as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
