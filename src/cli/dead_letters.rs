//! `edgehook dead-letters list | show | replay | drop`: the Worker's admin routes from the
//! command line, as a readable table or `--json`. The library functions ([`Admin`]) are
//! what the command runs, and what tests call.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::CliError;
use crate::admin::{ListAnswer, ReplayAnswer, ReplayFailure, MAX_LIST_LIMIT};
use crate::forward::DeadLetter;

/// `edgehook dead-letters …`.
#[derive(Args)]
pub struct DeadLettersArgs {
    #[command(subcommand)]
    action: Action,
}

/// Where the Worker is and how to open its admin routes.
#[derive(Args, Clone)]
struct Connection {
    /// The Worker's base URL, e.g. https://edgehook.example.workers.dev.
    #[arg(long)]
    url: String,
    /// The Worker's ADMIN_TOKEN secret.
    #[arg(long, env = "EDGEHOOK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
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
    },
    /// Send dead letters to the origin again (same id and webhook-id, normal retries).
    Replay {
        #[command(flatten)]
        conn: Connection,
        /// Every dead letter that died at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only this source's.
        #[arg(long)]
        source: Option<String>,
        /// These envelope ids (repeat the option, or list several).
        #[arg(long = "id", num_args = 1..)]
        ids: Vec<String>,
    },
    /// Delete one dead letter for good.
    Drop {
        #[command(flatten)]
        conn: Connection,
        source: String,
        id: String,
    },
}

/// A client of one Worker's admin routes.
pub struct Admin {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// What to replay.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Replay {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl Admin {
    /// A client for the Worker at `base` (its origin, e.g. `http://127.0.0.1:8787`).
    pub fn new(base: &str, token: &str, timeout: Duration) -> Admin {
        Admin {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), CliError> {
        let url = format!("{}{path}", self.base);
        let req = self
            .agent
            .request(method, &url)
            .set("authorization", &format!("Bearer {}", self.token));
        let result = match body {
            Some(b) => req.set("content-type", "application/json").send_string(b),
            None => req.call(),
        };
        let (status, resp) = match result {
            Ok(resp) => (resp.status(), resp),
            Err(ureq::Error::Status(status, resp)) => (status, resp),
            Err(ureq::Error::Transport(t)) => {
                return Err(CliError::Unreachable(format!("{}: {t}", self.base)))
            }
        };
        let text = resp.into_string().unwrap_or_default();
        match status {
            200..=299 => Ok((status, text)),
            401 => Err(CliError::Refused(
                "401: the Worker refused the admin token".into(),
            )),
            404 if path.starts_with("/admin/dead-letters?") || path == "/admin/replay" => {
                Err(CliError::Refused(
                    "404: no admin routes here (is ADMIN_TOKEN set on the Worker, and --url its base URL?)".into(),
                ))
            }
            _ => Err(CliError::Refused(format!("{status}: {}", text.trim()))),
        }
    }

    /// One page of dead letters, newest first.
    pub fn list_page(
        &self,
        source: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListAnswer, CliError> {
        let mut query = format!("limit={}", limit.clamp(1, MAX_LIST_LIMIT as usize));
        for (name, value) in [("source", source), ("cursor", cursor)] {
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
        source: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<DeadLetter>, CliError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = limit.map_or(MAX_LIST_LIMIT as usize, |l| l - all.len());
            let page = self.list_page(source, want, cursor.as_deref())?;
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

    /// One dead letter's envelope, as it would be delivered.
    pub fn show(&self, source: &str, id: &str) -> Result<String, CliError> {
        let path = format!("/admin/dead-letters/{}/{}", encode(source), encode(id));
        self.call("GET", &path, None).map(|(_, text)| text)
    }

    /// Drops one dead letter.
    pub fn drop(&self, source: &str, id: &str) -> Result<(), CliError> {
        let path = format!("/admin/dead-letters/{}/{}", encode(source), encode(id));
        self.call("DELETE", &path, None).map(|_| ())
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

/// Percent-encodes a path segment or query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// A readable table: dead time, source, attempts, id, last error.
pub fn table(letters: &[DeadLetter]) -> String {
    let mut out = String::new();
    let w =
        |f: fn(&DeadLetter) -> usize, min: usize| letters.iter().map(f).max().unwrap_or(0).max(min);
    let (ws, wi) = (w(|l| l.source.len(), 6), w(|l| l.id.len(), 2));
    out.push_str(&format!(
        "{:<24}  {:<ws$}  {:>8}  {:<wi$}  LAST ERROR\n",
        "DEAD AT", "SOURCE", "ATTEMPTS", "ID"
    ));
    for l in letters {
        out.push_str(&format!(
            "{:<24}  {:<ws$}  {:>8}  {:<wi$}  {}\n",
            l.dead_at, l.source, l.attempts, l.id, l.last_error
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
    let admin = |c: &Connection| Admin::new(&c.url, &c.admin_token, Duration::from_secs(c.timeout));
    match args.action {
        Action::List {
            conn,
            source,
            limit,
        } => {
            if limit == Some(0) {
                return Err(CliError::Usage("--limit must be at least 1".into()));
            }
            let letters = admin(&conn).list(source.as_deref(), limit)?;
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
        Action::Show { conn, source, id } => {
            let envelope = admin(&conn).show(&source, &id)?;
            match serde_json::from_str::<serde_json::Value>(&envelope) {
                Ok(v) if !conn.json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                _ => println!("{}", envelope.trim()),
            }
            Ok(())
        }
        Action::Drop { conn, source, id } => {
            admin(&conn).drop(&source, &id)?;
            if !conn.json {
                println!("dropped {source} {id}");
            }
            Ok(())
        }
        Action::Replay {
            conn,
            since,
            source,
            ids,
        } => {
            let what = Replay {
                source,
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
    use super::*;

    #[test]
    fn ids_and_sources_are_encoded_whole() {
        assert_eq!(encode("skyvern:r/1 ü"), "skyvern%3Ar%2F1%20%C3%BC");
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
    }

    /// Answers each request with the next of `answers` (status, body), recording what came
    /// as `METHOD PATH AUTHORIZATION BODY`. A plain socket: one request per connection is all
    /// the client under test makes here.
    fn worker(answers: &[(u16, &str)]) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answers: Vec<(u16, String)> =
            answers.iter().map(|(s, b)| (*s, b.to_string())).collect();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let (mut auth, mut length) = (String::new(), 0usize);
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap_or((header, ""));
                    match name.to_ascii_lowercase().as_str() {
                        "authorization" => auth = value.trim().to_owned(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let mut text = vec![0u8; length];
                reader.read_exact(&mut text).unwrap();
                let text = String::from_utf8_lossy(&text);
                seen.push(format!("{method} {path} {auth} {text}"));
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            seen
        });
        (base, thread)
    }

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
        assert_eq!(admin.list(Some("s"), None).unwrap().len(), 3);
        let e = admin.list(None, None).unwrap_err();
        assert_eq!((e.exit_code(), e.to_string().starts_with("401")), (1, true));
        let e = admin.list(None, None).unwrap_err();
        assert!(e.to_string().contains("ADMIN_TOKEN"), "{e}");
        let seen = thread.join().unwrap();
        assert!(seen[0].starts_with("GET /admin/dead-letters?limit=1000&source=s "));
        assert!(seen[1].contains("&cursor=c%201%2F%2B "), "{}", seen[1]);
        let unreachable = Admin::new("http://127.0.0.1:9", "tok", Duration::from_secs(5));
        assert_eq!(unreachable.list(None, None).unwrap_err().exit_code(), 3);
    }

    #[test]
    fn the_table_has_a_line_per_dead_letter() {
        let l = DeadLetter::new("skyvern", "skyvern:r:failed", 0, 1, "origin answered 503");
        let t = table(&[l.clone(), l]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("DEAD AT"));
        assert!(lines[1].contains("skyvern:r:failed") && lines[1].ends_with("origin answered 503"));
        assert_eq!(lines[3], "2 dead letter(s)");
    }
}
