//! The `edgehook` command (native only): send deliveries as each provider would, receive
//! them as an origin would, and sign or verify Standard Webhooks headers for scripts.
//!
//! Exit codes: 0 success; 1 the other side refused (non-2xx answer, signature mismatch);
//! 2 bad arguments or secret format; 3 the Worker could not be reached.

pub mod admin;
pub mod dead_letters;
pub mod destinations;
pub mod origin;
pub mod send;

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{SourceConfig, TokenAuth};
use crate::signing::WebhookKey;
use send::Credential;

/// A failure of the command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments, bad secret format, unreadable file: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The Worker or origin could not be reached: exit 3.
    #[error("could not reach {0}")]
    Unreachable(String),
    /// The other side refused: exit 1.
    #[error("{0}")]
    Refused(String),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Unreachable(_) => 3,
        }
    }
}

#[derive(Parser)]
#[command(
    name = "edgehook",
    version,
    about = "Try an edgehook Worker: send deliveries as the providers do, receive what it forwards as an origin would."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send a delivery as a provider would: built (or read from --body), signed, posted.
    Send(SendArgs),
    /// Run a local origin that verifies, dedups and prints what the Worker forwards.
    Origin(OriginArgs),
    /// Print signature headers for a body (Standard Webhooks, or a provider's scheme).
    Sign(SignArgs),
    /// Check Standard Webhooks headers against a body; exit 0 when they verify.
    Verify(VerifyArgs),
    /// See, replay and drop the Worker's dead letters (its admin routes; needs ADMIN_TOKEN).
    DeadLetters(dead_letters::DeadLettersArgs),
    /// List the Worker's destinations; pause one and resume it (admin routes).
    Destinations(destinations::DestinationsArgs),
}

#[derive(Args)]
struct SendArgs {
    /// browser-use, skyvern, smartbrowse, standard-webhooks, hmac, token, browserbase,
    /// firecrawl, anchor or apify.
    provider: String,
    /// The Worker's source URL, e.g. http://127.0.0.1:8787/in/skyvern.
    #[arg(long)]
    url: String,
    /// The signing secret (browser-use, standard-webhooks and browserbase `whsec_…`,
    /// firecrawl, anchor, hmac) or skyvern API key.
    #[arg(
        long,
        conflicts_with = "token",
        env = "EDGEHOOK_SECRET",
        hide_env_values = true
    )]
    secret: Option<String>,
    /// The token of smartbrowse, token and apify sources.
    #[arg(long, env = "EDGEHOOK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where the token goes: path, bearer or header:<Header-Name>.
    #[arg(long, default_value = "path")]
    auth: String,
    /// The source's table as JSON, for an hmac source (how it signs), e.g.
    /// '{"signature_header":"X-Hub-Signature-256","signature_prefix":"sha256="}'.
    #[arg(long)]
    config: Option<String>,
    /// The run's status or event (finished, idle, completed, failed, SUCCEEDED, ...; browser-use "test" sends its test ping).
    #[arg(long)]
    status: Option<String>,
    /// Send this file's bytes as the body instead of a generated one ("-" for stdin).
    #[arg(long)]
    body: Option<String>,
    /// The run id of the generated body (default: a fresh one each time).
    #[arg(long)]
    run_id: Option<String>,
    /// Send the same delivery N times, to see duplicates answered as such.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Change one character after signing, to see the refusal.
    #[arg(long)]
    tamper: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 15)]
    timeout: u64,
}

#[derive(Args)]
struct OriginArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: String,
    /// The Worker's ORIGIN_SECRET (whsec_<base64>).
    #[arg(long, env = "ORIGIN_SECRET", hide_env_values = true)]
    secret: String,
    /// Answer 500 to the first N requests, to watch the queue retry.
    #[arg(long, default_value_t = 0)]
    fail: u32,
    /// Then answer 500 to P percent of requests, picked pseudo-randomly: an unreliable origin.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    fail_percent: u8,
    /// Print each envelope indented instead of on one line.
    #[arg(long)]
    pretty: bool,
}

#[derive(Args)]
struct SignArgs {
    /// The secret: whsec_<base64> for Standard Webhooks, else the provider's key.
    #[arg(long, env = "EDGEHOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// Sign as this provider (any that signs: browser-use, skyvern, standard-webhooks,
    /// browserbase, firecrawl, anchor, hmac with --config) instead of Standard Webhooks.
    #[arg(long)]
    provider: Option<String>,
    /// With --provider hmac: the source's table as JSON (see `send --config`).
    #[arg(long)]
    config: Option<String>,
    /// Standard Webhooks message id (webhook-id; also with --provider standard-webhooks or
    /// browserbase).
    #[arg(long, default_value = "msg_edgehook")]
    id: String,
    /// Unix seconds to sign at (default: now).
    #[arg(long)]
    timestamp: Option<i64>,
    /// The body file ("-" or absent: stdin).
    #[arg(long)]
    body: Option<String>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The Standard Webhooks secret (whsec_<base64>).
    #[arg(long, env = "EDGEHOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// webhook-id header.
    #[arg(long)]
    id: String,
    /// webhook-timestamp header.
    #[arg(long)]
    timestamp: String,
    /// webhook-signature header.
    #[arg(long)]
    signature: String,
    /// The body file ("-" or absent: stdin).
    #[arg(long)]
    body: Option<String>,
    /// Tolerance in seconds for the timestamp.
    #[arg(long, default_value_t = crate::signing::DEFAULT_TOLERANCE_S)]
    tolerance: u64,
}

/// Runs the command line; what `main` calls.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Send(a) => run_send(a),
        Command::Origin(a) => run_origin(a),
        Command::Sign(a) => run_sign(a),
        Command::Verify(a) => run_verify(a),
        Command::DeadLetters(a) => dead_letters::run(a),
        Command::Destinations(a) => destinations::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgehook: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn read_body(path: Option<&str>) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    match path {
        None | Some("-") => std::io::stdin()
            .read_to_end(&mut buf)
            .map(|_| buf)
            .map_err(|e| CliError::Usage(format!("reading stdin: {e}"))),
        Some(p) => std::fs::read(p).map_err(|e| CliError::Usage(format!("reading {p}: {e}"))),
    }
}

/// A Standard Webhooks key from text, as a usage error when malformed.
pub fn parse_key(secret: &str) -> Result<WebhookKey, CliError> {
    if !secret.trim().starts_with(crate::signing::SECRET_PREFIX) {
        return Err(CliError::Usage(
            "the secret must look like whsec_<base64> (the Worker's ORIGIN_SECRET)".into(),
        ));
    }
    WebhookKey::from_whsec(secret).map_err(|e| CliError::Usage(format!("bad secret: {e}")))
}

/// A source's table given as JSON text (`--config`).
fn parse_table(json: Option<&str>) -> Result<Option<SourceConfig>, CliError> {
    let Some(json) = json else {
        return Ok(None);
    };
    let mut value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| CliError::Usage(format!("--config is not JSON: {e}")))?;
    // `provider` and `secrets` are the command's own arguments; fill them in if absent.
    if let Some(table) = value.as_object_mut() {
        table.entry("provider").or_insert("hmac".into());
        table.entry("secrets").or_insert(serde_json::json!([]));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| CliError::Usage(format!("--config: {e}")))
}

fn run_send(a: SendArgs) -> Result<(), CliError> {
    let credential = match (a.secret, a.token) {
        (Some(s), None) => Credential::Secret(s),
        (None, Some(token)) => Credential::Token {
            token,
            auth: a.auth.parse::<TokenAuth>().map_err(CliError::Usage)?,
        },
        _ => {
            return Err(CliError::Usage(
                "give --secret (a signing provider) or --token (smartbrowse, token, apify)".into(),
            ))
        }
    };
    let now = now_s();
    let run_id = a.run_id.unwrap_or_else(|| send::fresh_run_id(&a.provider));
    let body = match a.body.as_deref() {
        Some(path) => read_body(Some(path))?,
        None => {
            let status = a
                .status
                .as_deref()
                .unwrap_or(send::default_status(&a.provider));
            send::sample_body(&a.provider, status, &run_id, now)?.into_bytes()
        }
    };
    let table = parse_table(a.config.as_deref())?;
    let mut prepared =
        send::prepare_with(&a.provider, table.as_ref(), &a.url, &credential, body, now)?;
    if a.tamper {
        send::tamper(&mut prepared, &a.provider, &run_id);
    }
    let mut last_refusal = None;
    for i in 1..=a.repeat.max(1) {
        let reply = send::post(&prepared, Duration::from_secs(a.timeout))?;
        println!("{} {}", reply.status, reply.body.trim());
        if !(200..300).contains(&reply.status) {
            last_refusal = Some(format!("delivery {i} answered {}", reply.status));
        }
    }
    match last_refusal {
        Some(why) => Err(CliError::Refused(why)),
        None => Ok(()),
    }
}

fn run_origin(a: OriginArgs) -> Result<(), CliError> {
    let key = parse_key(&a.secret)?;
    let pretty = a.pretty;
    let options = origin::OriginOptions {
        key,
        fail_first: a.fail,
        fail_percent: a.fail_percent,
        tolerance_s: crate::signing::DEFAULT_TOLERANCE_S,
    };
    let server = origin::Origin::start(&a.listen, options, move |verdict| match verdict {
        // As received: one line, the Worker's key order and number forms kept.
        origin::Verdict::Accepted { raw, .. } if !pretty => println!("{}", raw.trim()),
        origin::Verdict::Accepted { envelope, .. } => {
            println!(
                "{}",
                serde_json::to_string_pretty(envelope).unwrap_or_default()
            );
        }
        origin::Verdict::Duplicate(id) => {
            eprintln!("duplicate {id}: already received, answered 200")
        }
        origin::Verdict::FailedOnPurpose(n) => {
            eprintln!("request {n}: answered 500 on purpose (--fail, --fail-percent)")
        }
        origin::Verdict::Refused(why) => eprintln!("refused: {why}"),
    })
    .map_err(|e| CliError::Usage(format!("cannot listen on {}: {e}", a.listen)))?;
    eprintln!(
        "edgehook origin listening on {} (POST any path)",
        server.url()
    );
    loop {
        std::thread::park();
    }
}

fn run_sign(a: SignArgs) -> Result<(), CliError> {
    let body = read_body(a.body.as_deref())?;
    let ts = a.timestamp.unwrap_or_else(now_s);
    match a.provider.as_deref() {
        // Standard Webhooks senders: the same three headers, with the given --id.
        None
        | Some(crate::providers::standard_webhooks::NAME)
        | Some(crate::providers::browserbase::NAME) => {
            let key = parse_key(&a.secret)?;
            for (name, value) in key.headers(&a.id, ts, &body) {
                println!("{name}: {value}");
            }
        }
        Some(provider) if send::takes_token(provider) => {
            return Err(CliError::Usage(format!(
                "{provider} deliveries are not signed (they carry a token): nothing to sign"
            )))
        }
        Some(provider) => {
            let table = parse_table(a.config.as_deref())?;
            let prepared = send::prepare_with(
                provider,
                table.as_ref(),
                "http://localhost",
                &Credential::Secret(a.secret),
                body,
                ts,
            )?;
            for (name, value) in prepared.headers.iter().filter(|(n, _)| n != "content-type") {
                println!("{name}: {value}");
            }
        }
    }
    Ok(())
}

fn run_verify(a: VerifyArgs) -> Result<(), CliError> {
    let key = parse_key(&a.secret)?;
    let body = read_body(a.body.as_deref())?;
    let headers = [
        (crate::signing::HEADER_WEBHOOK_ID, a.id.as_str()),
        (
            crate::signing::HEADER_WEBHOOK_TIMESTAMP,
            a.timestamp.as_str(),
        ),
        (
            crate::signing::HEADER_WEBHOOK_SIGNATURE,
            a.signature.as_str(),
        ),
    ];
    let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    match key.verify(lookup, &body, now_s(), a.tolerance) {
        Ok(()) => {
            println!("ok");
            Ok(())
        }
        Err(e) => Err(CliError::Refused(format!("does not verify: {e}"))),
    }
}
