//! `edgehook dead-letters list | show | replay | drop`: the Worker's admin routes from the
//! command line, as a readable table or `--json`. The library functions (methods of
//! [`Admin`]) are what the command runs, and what tests call.

use clap::{Args, Subcommand};

pub use super::admin::Admin;
use super::admin::{encode, Connection};
use super::CliError;
use crate::admin::{ListAnswer, ReplayAnswer, ReplayFailure, MAX_LIST_LIMIT};
use crate::forward::DeadLetter;

/// `edgehook dead-letters …`.
#[derive(Args)]
pub struct DeadLettersArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// List dead letters, newest first: all of them (following the cursor), or --limit.
    List {
        #[command(flatten)]
        conn: Connection,
        /// Only this source's.
        #[arg(long)]
        source: Option<String>,
        /// Only this destination's.
        #[arg(long)]
        destination: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Print one dead letter's envelope, as it would be delivered.
    Show {
        #[command(flatten)]
        conn: Connection,
        source: String,
        id: String,
        /// This destination's dead letter of the event (default: any).
        #[arg(long)]
        destination: Option<String>,
    },
    /// Send dead letters to their destination again (same id and webhook-id, normal
    /// retries).
    Replay {
        #[command(flatten)]
        conn: Connection,
        /// Every dead letter that died at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only this source's.
        #[arg(long)]
        source: Option<String>,
        /// Only this destination's (default: every destination's).
        #[arg(long)]
        destination: Option<String>,
        /// These envelope ids (repeat the option, or list several).
        #[arg(long = "id", num_args = 1..)]
        ids: Vec<String>,
    },
    /// Delete an event's dead letter for good: one destination's, or every one's.
    Drop {
        #[command(flatten)]
        conn: Connection,
        source: String,
        id: String,
        /// Only this destination's (default: every destination's).
        #[arg(long)]
        destination: Option<String>,
    },
}

/// What to replay.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Replay {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl Admin {
    /// One page of dead letters, newest first.
    pub fn list_page(
        &self,
        filter: &Selection,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListAnswer, CliError> {
        let mut query = format!("limit={}", limit.clamp(1, MAX_LIST_LIMIT as usize));
        let pairs = [
            ("source", filter.source.as_deref()),
            ("destination", filter.destination.as_deref()),
            ("cursor", cursor),
        ];
        for (name, value) in pairs {
            if let Some(v) = value {
                query.push_str(&format!("&{name}={}", encode(v)));
            }
        }
        let (_, text) = self.call("GET", &format!("/admin/dead-letters?{query}"), None)?;
        serde_json::from_str(&text)
            .map_err(|e| CliError::Refused(format!("not a dead-letter listing ({e}): {text}")))
    }

    /// Dead letters, newest first: all of them, following the cursor, or the first `limit`.
    pub fn list(
        &self,
        filter: &Selection,
        limit: Option<usize>,
    ) -> Result<Vec<DeadLetter>, CliError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = limit.map_or(MAX_LIST_LIMIT as usize, |l| l - all.len());
            let page = self.list_page(filter, want, cursor.as_deref())?;
            all.extend(page.dead_letters);
            match page.cursor {
                Some(c) if limit.is_none_or(|l| all.len() < l) => cursor = Some(c),
                _ => break,
            }
        }
        if let Some(l) = limit {
            all.truncate(l);
        }
        Ok(all)
    }

    /// One dead letter's envelope, as it would be delivered: `destination`'s, or any
    /// destination's when it is `None`.
    pub fn show(
        &self,
        source: &str,
        id: &str,
        destination: Option<&str>,
    ) -> Result<String, CliError> {
        self.call("GET", &letter_path(source, id, destination), None)
            .map(|(_, text)| text)
    }

    /// Drops an event's dead letter: `destination`'s, or every destination's.
    pub fn drop(&self, source: &str, id: &str, destination: Option<&str>) -> Result<(), CliError> {
        self.call("DELETE", &letter_path(source, id, destination), None)
            .map(|_| ())
    }

    /// Replays what `what` selects, asking again while the Worker says there is more and
    /// the last round replayed something; the rounds' answers summed.
    pub fn replay(&self, what: &Replay) -> Result<ReplayAnswer, CliError> {
        let body = serde_json::to_string(what).unwrap_or_default();
        let mut total = ReplayAnswer::default();
        loop {
            let (_, text) = self.call("POST", "/admin/replay", Some(&body))?;
            let round: ReplayAnswer = serde_json::from_str(&text)
                .map_err(|e| CliError::Refused(format!("not a replay answer ({e}): {text}")))?;
            total.replayed += round.replayed;
            for f in round.failed {
                total.failed.retain(|seen| seen.id != f.id);
                total.failed.push(f);
            }
            if !round.more || round.replayed == 0 {
                total.more = round.more;
                return Ok(total);
            }
        }
    }
}

/// Which dead letters a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub source: Option<String>,
    pub destination: Option<String>,
}

/// `/admin/dead-letters/{source}/{id}[?destination=D]`.
fn letter_path(source: &str, id: &str, destination: Option<&str>) -> String {
    let mut path = format!("/admin/dead-letters/{}/{}", encode(source), encode(id));
    if let Some(d) = destination {
        path.push_str(&format!("?destination={}", encode(d)));
    }
    path
}

/// A readable table: dead time, destination, source, attempts, id, last error.
pub fn table(letters: &[DeadLetter]) -> String {
    let mut out = String::new();
    let w =
        |f: fn(&DeadLetter) -> usize, min: usize| letters.iter().map(f).max().unwrap_or(0).max(min);
    let (wd, ws, wi) = (
        w(|l| l.destination.len(), 11),
        w(|l| l.source.len(), 6),
        w(|l| l.id.len(), 2),
    );
    out.push_str(&format!(
        "{:<24}  {:<wd$}  {:<ws$}  {:>8}  {:<wi$}  LAST ERROR\n",
        "DEAD AT", "DESTINATION", "SOURCE", "ATTEMPTS", "ID"
    ));
    for l in letters {
        out.push_str(&format!(
            "{:<24}  {:<wd$}  {:<ws$}  {:>8}  {:<wi$}  {}\n",
            l.dead_at, l.destination, l.source, l.attempts, l.id, l.last_error
        ));
    }
    out.push_str(&format!("{} dead letter(s)\n", letters.len()));
    out
}

fn failures(failed: &[ReplayFailure]) -> String {
    failed
        .iter()
        .map(|f| format!("  {}: {}\n", f.id, f.error))
        .collect()
}

/// Runs `edgehook dead-letters …`.
pub fn run(args: DeadLettersArgs) -> Result<(), CliError> {
    let admin = Connection::admin;
    match args.action {
        Action::List {
            conn,
            source,
            destination,
            limit,
        } => {
            if limit == Some(0) {
                return Err(CliError::Usage("--limit must be at least 1".into()));
            }
            let filter = Selection {
                source,
                destination,
            };
            let letters = admin(&conn).list(&filter, limit)?;
            if conn.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&letters).unwrap_or_default()
                );
            } else {
                print!("{}", table(&letters));
            }
            Ok(())
        }
        Action::Show {
            conn,
            source,
            id,
            destination,
        } => {
            let envelope = admin(&conn).show(&source, &id, destination.as_deref())?;
            match serde_json::from_str::<serde_json::Value>(&envelope) {
                Ok(v) if !conn.json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                _ => println!("{}", envelope.trim()),
            }
            Ok(())
        }
        Action::Drop {
            conn,
            source,
            id,
            destination,
        } => {
            admin(&conn).drop(&source, &id, destination.as_deref())?;
            if !conn.json {
                println!("dropped {source} {id}");
            }
            Ok(())
        }
        Action::Replay {
            conn,
            since,
            source,
            destination,
            ids,
        } => {
            let what = Replay {
                source,
                destination,
                ids: Some(ids).filter(|i| !i.is_empty()),
                since,
            };
            run_replay(&admin(&conn), &what, conn.json)
        }
    }
}

/// `replay`: checks the selection, replays, reports; exit 1 when some could not be replayed.
fn run_replay(admin: &Admin, what: &Replay, json: bool) -> Result<(), CliError> {
    if what.since.is_none() && what.ids.is_none() {
        return Err(CliError::Usage(
            "say what to replay: --since TIME, --id ID..., or both".into(),
        ));
    }
    if let Some(s) = &what.since {
        chrono::DateTime::parse_from_rfc3339(s).map_err(|_| {
            CliError::Usage(format!(
                "--since {s} is not an RFC 3339 time such as 2026-12-01T00:00:00Z"
            ))
        })?;
    }
    let answer = admin.replay(what)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
    } else {
        println!(
            "replayed {}, failed {}\n{}",
            answer.replayed,
            answer.failed.len(),
            failures(&answer.failed)
        );
        if answer.more {
            println!("more dead letters match, but the last round replayed none: stopped");
        }
    }
    if answer.failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "{} dead letter(s) could not be replayed",
            answer.failed.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::admin::stand_in as worker;
    use super::*;
    use std::time::Duration;

    #[test]
    fn replay_asks_again_while_there_is_more_and_progress() {
        let (base, thread) = worker(&[
            (
                202,
                r#"{"replayed":150,"failed":[{"id":"x","error":"queue"}],"more":true}"#,
            ),
            (
                202,
                r#"{"replayed":2,"failed":[{"id":"x","error":"queue again"}],"more":false}"#,
            ),
        ]);
        let admin = Admin::new(&base, "tok", Duration::from_secs(5));
        let what = Replay {
            since: Some("2026-12-01T00:00:00Z".into()),
            ..Replay::default()
        };
        let answer = admin.replay(&what).unwrap();
        assert_eq!(answer.replayed, 152);
        assert_eq!(answer.failed.len(), 1, "one failure per id, the latest");
        assert_eq!(answer.failed[0].error, "queue again");
        let seen = thread.join().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0],
            r#"POST /admin/replay Bearer tok {"since":"2026-12-01T00:00:00Z"}"#
        );

        // No progress in a round: stop, rather than ask forever.
        let (base, thread) = worker(&[(202, r#"{"replayed":0,"failed":[],"more":true}"#)]);
        let answer = Admin::new(&base, "tok", Duration::from_secs(5))
            .replay(&what)
            .unwrap();
        assert!(answer.more && answer.replayed == 0);
        assert_eq!(thread.join().unwrap().len(), 1);
    }

    #[test]
    fn list_follows_the_cursor_and_refusals_map_to_exit_codes() {
        let letter = r#"{"source":"s","id":"i","dead_at":"2026-12-01T00:00:00.000Z","attempts":9,"last_error":"e"}"#;
        let page1 = format!(r#"{{"dead_letters":[{letter}],"cursor":"c 1/+"}}"#);
        let page2 = format!(r#"{{"dead_letters":[{letter},{letter}],"cursor":null}}"#);
        let (base, thread) = worker(&[(200, &page1), (200, &page2), (401, "{}"), (404, "{}")]);
        let admin = Admin::new(&base, "tok", Duration::from_secs(5));
        let s = Selection {
            source: Some("s".into()),
            destination: Some("app".into()),
        };
        assert_eq!(admin.list(&s, None).unwrap().len(), 3);
        let all = Selection::default();
        let e = admin.list(&all, None).unwrap_err();
        assert_eq!((e.exit_code(), e.to_string().starts_with("401")), (1, true));
        let e = admin.list(&all, None).unwrap_err();
        assert!(e.to_string().contains("ADMIN_TOKEN"), "{e}");
        let seen = thread.join().unwrap();
        assert!(seen[0].starts_with("GET /admin/dead-letters?limit=1000&source=s&destination=app "));
        assert!(seen[1].contains("&cursor=c%201%2F%2B "), "{}", seen[1]);
        let unreachable = Admin::new("http://127.0.0.1:9", "tok", Duration::from_secs(5));
        assert_eq!(unreachable.list(&all, None).unwrap_err().exit_code(), 3);
    }

    #[test]
    fn the_table_has_a_line_per_dead_letter() {
        let l = DeadLetter::new(
            "skyvern",
            "skyvern:r:failed",
            "app",
            0,
            1,
            "origin answered 503",
        );
        let t = table(&[l.clone(), l]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("DEAD AT"));
        assert!(lines[1].contains("skyvern:r:failed") && lines[1].ends_with("origin answered 503"));
        assert!(lines[0].contains("DESTINATION") && lines[1].contains(" app "));
        assert_eq!(lines[3], "2 dead letter(s)");
    }
}
