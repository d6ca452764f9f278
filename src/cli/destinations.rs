//! `edgehook destinations list | pause | resume`: the Worker's destinations (CONTRACT §7)
//! through its admin routes, as a table or `--json`.

use clap::{Args, Subcommand};

use super::admin::{encode, Admin, Connection};
use super::CliError;
use crate::admin::{DestinationView, DestinationsAnswer};

/// `edgehook destinations …`.
#[derive(Args)]
pub struct DestinationsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Each destination: kind, target, paused or not, pending, held and dead events.
    List {
        #[command(flatten)]
        conn: Connection,
    },
    /// Hold a destination's events (a deploy, an outage you know of) until it is resumed.
    Pause {
        #[command(flatten)]
        conn: Connection,
        name: String,
    },
    /// Deliver what a destination held, oldest first, and let new events flow again.
    Resume {
        #[command(flatten)]
        conn: Connection,
        name: String,
    },
}

impl Admin {
    /// Every destination, as `GET /admin/destinations` shows it.
    pub fn destinations(&self) -> Result<Vec<DestinationView>, CliError> {
        let (_, text) = self.call("GET", "/admin/destinations", None)?;
        let answer: DestinationsAnswer = serde_json::from_str(&text)
            .map_err(|e| CliError::Refused(format!("not a destinations listing ({e}): {text}")))?;
        Ok(answer.destinations)
    }

    /// Pauses (`pause = true`) or resumes a destination; the destination as it is now.
    pub fn set_paused(&self, name: &str, pause: bool) -> Result<DestinationView, CliError> {
        let action = if pause { "pause" } else { "resume" };
        let path = format!("/admin/destinations/{}/{action}", encode(name));
        let (_, text) = self.call("POST", &path, Some(""))?;
        serde_json::from_str(&text)
            .map_err(|e| CliError::Refused(format!("not a destination ({e}): {text}")))
    }
}

/// A readable table, a line per destination.
pub fn table(destinations: &[DestinationView]) -> String {
    let w = |f: fn(&DestinationView) -> usize, min: usize| {
        destinations.iter().map(f).max().unwrap_or(0).max(min)
    };
    let (wn, wt) = (w(|d| d.name.len(), 4), w(|d| d.target.len(), 6));
    let mut out = format!(
        "{:<wn$}  {:<5}  {:<wt$}  {:<7}  {:>7}  {:>5}  {:>5}  LAST DELIVERED / LAST ERROR\n",
        "NAME", "KIND", "TARGET", "STATE", "PENDING", "HELD", "DEAD"
    );
    for d in destinations {
        let state = if d.paused { "paused" } else { "active" };
        let last = [d.last_delivered_at.as_deref(), d.last_error.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        out.push_str(&format!(
            "{:<wn$}  {:<5}  {:<wt$}  {:<7}  {:>7}  {:>5}  {:>5}  {}\n",
            d.name, d.kind, d.target, state, d.pending, d.held, d.dead, last
        ));
    }
    out
}

/// Runs `edgehook destinations …`.
pub fn run(args: DestinationsArgs) -> Result<(), CliError> {
    let (conn, shown) = match args.action {
        Action::List { conn } => {
            let all = conn.admin().destinations()?;
            (conn, all)
        }
        Action::Pause { conn, name } => {
            let d = conn.admin().set_paused(&name, true)?;
            (conn, vec![d])
        }
        Action::Resume { conn, name } => {
            let d = conn.admin().set_paused(&name, false)?;
            (conn, vec![d])
        }
    };
    if conn.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
    } else {
        print!("{}", table(&shown));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::admin::stand_in;
    use super::*;
    use std::time::Duration;

    const APP: &str = r#"{"name":"app","kind":"url","target":"https://app.example.com","paused":true,"pending":3,"held":3,"dead":1,"last_delivered_at":null,"last_error":"origin answered 503"}"#;

    #[test]
    fn list_pause_and_resume_speak_the_admin_routes() {
        let list = format!(r#"{{"destinations":[{APP}]}}"#);
        let (base, thread) = stand_in(&[
            (200, &list),
            (200, APP),
            (200, APP),
            (
                404,
                r#"{"error":"not_found","reason":"no_such_destination","message":"no such destination"}"#,
            ),
        ]);
        let admin = Admin::new(&base, "tok", Duration::from_secs(5));
        let all = admin.destinations().unwrap();
        assert_eq!((all.len(), all[0].held, all[0].paused), (1, 3, true));
        admin.set_paused("app", true).unwrap();
        admin.set_paused("a/b", false).unwrap();
        let e = admin.set_paused("nope", true).unwrap_err();
        assert!(e.to_string().contains("no_such_destination"), "{e}");
        let seen = thread.join().unwrap();
        assert!(seen[0].starts_with("GET /admin/destinations Bearer tok"));
        assert!(seen[1].starts_with("POST /admin/destinations/app/pause "));
        assert!(seen[2].starts_with("POST /admin/destinations/a%2Fb/resume "));

        let t = table(&all);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAME") && lines.len() == 2);
        assert!(lines[1].contains("paused") && lines[1].ends_with("origin answered 503"));
    }
}
