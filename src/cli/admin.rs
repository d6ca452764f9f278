//! A client of one Worker's admin routes, shared by `edgehook dead-letters`, `destinations`
//! and the other admin commands: where the Worker is, its token, and one call that maps
//! the answers to the command's exit codes. Each command adds its own methods in its file.

use std::time::Duration;

use clap::Args;

use super::CliError;

/// Where the Worker is and how to open its admin routes (every admin command's options).
#[derive(Args, Clone)]
pub struct Connection {
    /// The Worker's base URL, e.g. https://edgehook.example.workers.dev.
    #[arg(long)]
    pub url: String,
    /// The Worker's ADMIN_TOKEN secret.
    #[arg(long, env = "EDGEHOOK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

impl Connection {
    /// The client these options describe.
    pub fn admin(&self) -> Admin {
        Admin::new(
            &self.url,
            &self.admin_token,
            Duration::from_secs(self.timeout),
        )
    }
}

/// A client of one Worker's admin routes.
pub struct Admin {
    base: String,
    token: String,
    agent: ureq::Agent,
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

    /// One admin request; `Ok` with the status and body of a 2xx answer, else the error
    /// the command exits with.
    pub(crate) fn call(
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
        let reason = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["reason"].as_str().map(str::to_owned));
        match status {
            200..=299 => Ok((status, text)),
            401 => Err(CliError::Refused(
                "401: the Worker refused the admin token".into(),
            )),
            // The Worker's answer for a path that is no route: without ADMIN_TOKEN there
            // are no admin routes at all.
            404 if reason.as_deref().is_none_or(|r| r == "not_found") => Err(CliError::Refused(
                "404: no admin routes here (is ADMIN_TOKEN set on the Worker, and --url its \
                 base URL?)"
                    .into(),
            )),
            _ => Err(CliError::Refused(format!("{status}: {}", text.trim()))),
        }
    }
}

/// Percent-encodes a path segment or query value (everything but unreserved characters).
pub(crate) fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// A stand-in Worker for the commands' unit tests: answers each request with the next of
/// `answers` (status, body), recording what came as `METHOD PATH AUTHORIZATION BODY`. A
/// plain socket: one request per connection is all the client under test makes here.
#[cfg(test)]
pub(crate) fn stand_in(answers: &[(u16, &str)]) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answers: Vec<(u16, String)> = answers.iter().map(|(s, b)| (*s, b.to_string())).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_sources_are_encoded_whole() {
        assert_eq!(encode("skyvern:r/1 ü"), "skyvern%3Ar%2F1%20%C3%BC");
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
    }
}
