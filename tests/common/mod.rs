//! Starts the built Worker under `wrangler dev` (workerd, with its local KV and Queues) on a
//! free loopback port, with a configuration written for the test, and stops it by process
//! group when dropped. The Worker must be built first (`scripts/test.sh` does it).

#![allow(dead_code)] // each test file uses part of this

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edgehook::cli::origin::{Origin, OriginOptions};
use edgehook::cli::send::{self, Credential, Prepared, Reply};
use edgehook::config::TokenAuth;
use edgehook::signing::WebhookKey;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const BROWSER_USE_SECRET: &str = "whsec_test_vector"; // the shared vectors' secret
pub const SKYVERN_KEY: &str = "sk_test_vector_key";
pub const SMARTBROWSE_TOKEN: &str = "sb-test-token";
pub const ORIGIN_SECRET: &str = "whsec_dGVzdC1vcmlnaW4tc2VjcmV0LWZvci1lZGdlaG9vaw==";

/// The three quick-start sources plus one that accepts the shared vectors' old timestamps.
pub const SOURCES: &str = r#"
[vars.SOURCES.browser-use]
provider = "browser-use"
secrets = ["BROWSER_USE_WEBHOOK_SECRET"]
tolerance_s = 300

[vars.SOURCES.browser-use-vectors]
provider = "browser-use"
secrets = ["OTHER_SECRET", "BROWSER_USE_WEBHOOK_SECRET"]
tolerance_s = 10000000000

[vars.SOURCES.skyvern]
provider = "skyvern"
secrets = ["SKYVERN_API_KEY"]

[vars.SOURCES.smartbrowse]
provider = "smartbrowse"
secrets = ["SMARTBROWSE_TOKEN"]
auth = "path"

[vars.SOURCES.smartbrowse-bearer]
provider = "smartbrowse"
secrets = ["SMARTBROWSE_TOKEN"]
auth = "bearer"
"#;

/// How to configure one Worker.
#[derive(Clone)]
pub struct Setup {
    pub forward_mode: &'static str,
    pub origin_url: String,
    pub with_queue: bool,
    /// The queue's `max_retries`: only a safety net above the Worker's own schedule.
    pub max_retries: u32,
    /// `RETRY_SCHEDULE_S`, passed on the command line (`--var`), as a user would try one.
    pub retry_schedule_s: String,
    /// More `--var NAME:VALUE` for `wrangler dev`.
    pub cli_vars: Vec<(&'static str, String)>,
    pub vars: Vec<(&'static str, String)>,
    pub sources: String,
    /// `[vars.DESTINATIONS.<name>]` tables (TOML), empty for none.
    pub destinations: String,
    /// More wrangler.toml, appended at the end (queue producers of destinations, ...).
    pub extra_toml: String,
    /// Whole wrangler.toml files of other Workers run beside this one in the same
    /// `wrangler dev` (each `-c`), sharing its local queues.
    pub beside: Vec<String>,
    pub secrets: Vec<(&'static str, String)>,
}

impl Setup {
    pub fn new(origin_url: &str) -> Setup {
        Setup {
            forward_mode: "queue",
            origin_url: origin_url.to_owned(),
            with_queue: true,
            max_retries: 20,
            retry_schedule_s: "1,2,4".into(),
            cli_vars: Vec::new(),
            vars: vec![("MAX_BODY_BYTES", "1048576".into())],
            sources: SOURCES.to_owned(),
            destinations: String::new(),
            extra_toml: String::new(),
            beside: Vec::new(),
            secrets: vec![
                ("BROWSER_USE_WEBHOOK_SECRET", BROWSER_USE_SECRET.into()),
                ("OTHER_SECRET", "rotated-out-secret".into()),
                ("SKYVERN_API_KEY", SKYVERN_KEY.into()),
                ("SMARTBROWSE_TOKEN", SMARTBROWSE_TOKEN.into()),
                ("ORIGIN_SECRET", ORIGIN_SECRET.into()),
            ],
        }
    }

    fn toml(&self) -> String {
        let main = Path::new(ROOT).join("build/index.js");
        let mut t = format!(
            "name = \"edgehook-test\"\nmain = \"{}\"\ncompatibility_date = \"2026-04-20\"\n\n[vars]\n\
             FORWARD_MODE = \"{}\"\nORIGIN_URL = \"{}\"\n\
             DEAD_LETTER_QUEUE = \"edgehook-test-dlq\"\n",
            main.display(),
            self.forward_mode,
            self.origin_url,
        );
        for (k, v) in &self.vars {
            t.push_str(&format!("{k} = \"{v}\"\n"));
        }
        t.push_str(&self.sources);
        t.push_str(&self.destinations);
        t.push_str("\n[[kv_namespaces]]\nbinding = \"SEEN\"\nid = \"test\"\n");
        if self.with_queue {
            t.push_str(&format!(
                "\n[[queues.producers]]\nbinding = \"EVENTS\"\nqueue = \"edgehook-test-events\"\n\n\
                 [[queues.consumers]]\nqueue = \"edgehook-test-events\"\nmax_batch_size = 10\n\
                 max_batch_timeout = 1\nmax_retries = {}\nretry_delay = 1\n\
                 dead_letter_queue = \"edgehook-test-dlq\"\n\n\
                 [[queues.consumers]]\nqueue = \"edgehook-test-dlq\"\nmax_batch_size = 10\n\
                 max_batch_timeout = 1\nmax_retries = 3\nretry_delay = 1\n",
                self.max_retries
            ));
        }
        t.push_str(&self.extra_toml);
        t
    }
}

/// A free loopback port (bound and released: good enough for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The Worker under `wrangler dev`, stopped when dropped.
pub struct Worker {
    child: Child,
    pub base: String,
    dir: tempfile::TempDir,
    log: PathBuf,
    launch: Launch,
}

/// How `wrangler dev` is started for a Worker, kept to start it again.
struct Launch {
    port: u16,
    beside: usize,
    cli_vars: Vec<(&'static str, String)>,
    retry_schedule_s: String,
}

impl Launch {
    /// Starts `wrangler dev` in `dir`, appending what it prints to `log`.
    fn spawn(&self, dir: &Path, log: &Path) -> Child {
        let wrangler = Path::new(ROOT).join("node_modules/.bin/wrangler");
        assert!(
            wrangler.exists(),
            "wrangler is not installed: run `npm ci` (scripts/test.sh does)"
        );
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut configs = vec!["--config".to_owned(), "wrangler.toml".to_owned()];
        for i in 0..self.beside {
            configs.extend(["--config".to_owned(), format!("beside-{i}.toml")]);
        }
        Command::new(&wrangler)
            .current_dir(dir)
            .arg("dev")
            .args(&configs)
            .args(["--ip", "127.0.0.1"])
            .args(["--port", &self.port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .args([
                "--persist-to",
                "state",
                "--show-interactive-dev-session=false",
            ])
            .args([
                "--var",
                &format!("RETRY_SCHEDULE_S:{}", self.retry_schedule_s),
            ])
            .args(
                self.cli_vars
                    .iter()
                    .flat_map(|(k, v)| ["--var".to_owned(), format!("{k}:{v}")]),
            )
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start wrangler dev")
    }
}

impl Worker {
    pub fn start(setup: &Setup) -> Worker {
        let built = Path::new(ROOT).join("build/index.js");
        assert!(
            built.exists(),
            "{} is missing: build the Worker first (scripts/test.sh does)",
            built.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("wrangler.toml"), setup.toml()).unwrap();
        for (i, toml) in setup.beside.iter().enumerate() {
            std::fs::write(dir.path().join(format!("beside-{i}.toml")), toml).unwrap();
        }
        let dev_vars: String = setup
            .secrets
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        std::fs::write(dir.path().join(".dev.vars"), dev_vars).unwrap();
        let launch = Launch {
            port: free_port(),
            beside: setup.beside.len(),
            cli_vars: setup.cli_vars.clone(),
            retry_schedule_s: setup.retry_schedule_s.clone(),
        };
        let log = dir.path().join("wrangler.log");
        let mut worker = Worker {
            child: launch.spawn(dir.path(), &log),
            base: format!("http://127.0.0.1:{}", launch.port),
            dir,
            log,
            launch,
        };
        worker.wait_ready();
        worker
    }

    /// Stops `wrangler dev` and starts it again on the same port and state directory (KV,
    /// D1 and Durable Objects persist there; the local queue, in memory, does not).
    pub fn restart(&mut self) {
        self.while_stopped(|_| {});
    }

    /// Stops `wrangler dev`, runs `f` on its directory (to change its persisted state as
    /// an older deployment would have left it), and starts it again.
    pub fn while_stopped(&mut self, f: impl FnOnce(&Path)) {
        self.stop();
        f(self.dir.path());
        self.child = self.launch.spawn(self.dir.path(), &self.log);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("wrangler dev exited ({status}):\n{}", self.logs());
            }
            if let Ok(r) = ureq::get(&format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(2))
                .call()
            {
                if r.status() == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "wrangler dev did not answer /healthz in 90 s:\n{}",
            self.logs()
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything wrangler and the Worker printed so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The Worker's JSON log lines.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| l.find("{\"event\"").map(|i| &l[i..]))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until the Worker has written at least `n` JSON log lines, or panics with the log.
    pub fn wait_for_lines(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.log_lines();
            if lines.len() >= n {
                return lines;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} of {n} log lines within {timeout:?}:\n{}",
                    lines.len(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until a log line satisfies `pred`, or panics with the log.
    pub fn wait_for_log(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.log_lines().into_iter().find(|l| pred(l)) {
                return l;
            }
            if Instant::now() > deadline {
                panic!(
                    "no log line for {what} within {timeout:?}:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The keys (with their metadata) under `prefix` in the Worker's local KV `SEEN`, read
    /// with `wrangler kv key list` from the state this Worker persists.
    pub fn kv_keys(&self, prefix: &str) -> Vec<serde_json::Value> {
        let out = Command::new(Path::new(ROOT).join("node_modules/.bin/wrangler"))
            .current_dir(self.dir.path())
            .args(["kv", "key", "list", "--binding", "SEEN", "--local"])
            .args(["--persist-to", "state", "--prefix", prefix])
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::null())
            .output()
            .expect("wrangler kv key list");
        let text = String::from_utf8_lossy(&out.stdout);
        let start = text
            .find('[')
            .unwrap_or_else(|| panic!("no key list: {text}"));
        serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Worker {
    fn stop(&mut self) {
        // wrangler starts workerd and helpers in its process group: end them all.
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).status();
        let _ = self.child.wait();
    }
}

pub fn origin_key() -> WebhookKey {
    WebhookKey::from_whsec(ORIGIN_SECRET).unwrap()
}

/// An origin on a free port that fails its first `fail_first` requests.
pub fn start_origin(fail_first: u32) -> Origin {
    let options = OriginOptions {
        key: origin_key(),
        fail_first,
        fail_percent: 0,
        tolerance_s: 300,
    };
    Origin::start("127.0.0.1:0", options, |_| {}).expect("origin")
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The credential `edgehook send` uses for each quick-start source.
pub fn credential(provider: &str) -> Credential {
    match provider {
        "browser-use" => Credential::Secret(BROWSER_USE_SECRET.into()),
        "skyvern" => Credential::Secret(SKYVERN_KEY.into()),
        _ => Credential::Token {
            token: SMARTBROWSE_TOKEN.into(),
            auth: TokenAuth::Path,
        },
    }
}

/// Builds and signs a delivery of `status` on `run_id`, as `edgehook send` does.
pub fn delivery(worker: &Worker, provider: &str, status: &str, run_id: &str) -> Prepared {
    let now = now_s();
    let body = send::sample_body(provider, status, run_id, now).unwrap();
    send::prepare(
        provider,
        &worker.url(&format!("/in/{provider}")),
        &credential(provider),
        body.into_bytes(),
        now,
    )
    .unwrap()
}

pub fn post(p: &Prepared) -> Reply {
    send::post(p, Duration::from_secs(30)).expect("the Worker answers")
}

/// The answer's JSON body.
pub fn json(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", reply.body))
}

/// Waits until the origin has accepted `n` envelopes.
pub fn wait_for_envelopes(origin: &Origin, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = origin.state.accepted();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A raw delivery: these headers and exactly these body bytes.
pub fn raw(url: String, headers: &[(&str, &str)], body: &[u8]) -> Prepared {
    Prepared {
        url,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

/// The payload inside a raw envelope, as the exact JSON text it carries.
pub fn payload_text(envelope: &str) -> String {
    #[derive(serde::Deserialize)]
    struct E<'a> {
        #[serde(borrow)]
        data: D<'a>,
    }
    #[derive(serde::Deserialize)]
    struct D<'a> {
        #[serde(borrow)]
        payload: &'a serde_json::value::RawValue,
    }
    let e: E = serde_json::from_str(envelope).unwrap();
    e.data.payload.get().to_owned()
}

// ---------------------------------------------------------------------------------------
// The second round's providers (tests/providers_worker.rs).

pub const BROWSERBASE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const FIRECRAWL_SECRET: &str = "fc-test-webhook-secret";
pub const ANCHOR_SECRET: &str = "36da51b1c0ffee5eed36da51b1c0ffee";
pub const APIFY_TOKEN: &str = "apify-test-token";
pub const GITHUB_SECRET: &str = "gh-test-webhook-secret";

/// The `hmac` source of the workerd tests, configured as GitHub signs, as JSON (what
/// `edgehook send --config` takes) and as TOML.
pub const GITHUB_TABLE: &str = r#"{"signature_header":"X-Hub-Signature-256","signature_prefix":"sha256=","id_from":"header:X-GitHub-Delivery","event_from":"type","run_id_from":"id","statuses":{"completed":"completed","failed":"failed"}}"#;

/// One source per new provider, named after it.
pub const NEW_SOURCES: &str = r#"
[vars.SOURCES.standard-webhooks]
provider = "standard-webhooks"
secrets = ["OTHER_SECRET_WHSEC", "BROWSERBASE_WEBHOOK_SECRET"]
run_id_from = "resourceId"
statuses = { "functions.invocations.completed" = "completed", failed = "failed" }

[vars.SOURCES.browserbase]
provider = "browserbase"
secrets = ["BROWSERBASE_WEBHOOK_SECRET"]

[vars.SOURCES.firecrawl]
provider = "firecrawl"
secrets = ["FIRECRAWL_WEBHOOK_SECRET"]

[vars.SOURCES.anchor]
provider = "anchor"
secrets = ["ANCHOR_WEBHOOK_SECRET"]

[vars.SOURCES.apify]
provider = "apify"
secrets = ["APIFY_WEBHOOK_TOKEN"]

[vars.SOURCES.token]
provider = "token"
secrets = ["APIFY_WEBHOOK_TOKEN"]
auth = "header:X-Edgehook-Token"
run_id_from = "id"
statuses = { completed = "completed" }

[vars.SOURCES.hmac]
provider = "hmac"
secrets = ["GITHUB_WEBHOOK_SECRET"]
signature_header = "X-Hub-Signature-256"
signature_prefix = "sha256="
id_from = "header:X-GitHub-Delivery"
event_from = "type"
run_id_from = "id"
statuses = { completed = "completed", failed = "failed" }

[vars.SOURCES.hmac-sha1]
provider = "hmac"
secrets = ["GITHUB_WEBHOOK_SECRET"]
signature_header = "X-Hub-Signature"
signature_prefix = "sha1="
algorithm = "sha1"
run_id_from = "id"
statuses = { failed = "failed" }

[vars.SOURCES.broken-hmac]
provider = "hmac"
secrets = ["GITHUB_WEBHOOK_SECRET"]
signature_header = "X-Sig"
message = "{timestamp}"
"#;

/// A setup with the quick-start sources and one source per new provider.
pub fn setup_with_new_providers(origin_url: &str) -> Setup {
    let mut setup = Setup::new(origin_url);
    setup.sources.push_str(NEW_SOURCES);
    setup.secrets.extend([
        ("BROWSERBASE_WEBHOOK_SECRET", BROWSERBASE_SECRET.into()),
        (
            "OTHER_SECRET_WHSEC",
            "whsec_cm90YXRlZC1vdXQta2V5LWZvci10ZXN0cw==".into(),
        ),
        ("FIRECRAWL_WEBHOOK_SECRET", FIRECRAWL_SECRET.into()),
        ("ANCHOR_WEBHOOK_SECRET", ANCHOR_SECRET.into()),
        ("APIFY_WEBHOOK_TOKEN", APIFY_TOKEN.into()),
        ("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET.into()),
    ]);
    setup
}

/// The payloads of every envelope the origin accepted, each as the exact JSON text it carried.
pub fn payloads(origin: &Origin) -> Vec<String> {
    origin
        .state
        .accepted_raw()
        .iter()
        .map(|e| payload_text(e))
        .collect()
}
