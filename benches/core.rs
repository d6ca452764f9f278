//! Benchmarks of the pure verification core: what one delivery costs the Worker.
//!
//! Run: `cargo bench --bench core -- --warm-up-time 1 --measurement-time 3`
//!
//! - `accept/<provider>/<size>`: verify + normalize, per provider, bodies of ~1 KB to ~1 MB;
//! - `accept_and_serialize/browser-use/8KB`: the same plus `Envelope::to_json()`;
//! - `canonicalize/{free,reused}/<size>`: the CPython-exact canonical pass alone;
//! - `hmac_sha256/<size>`: raw HMAC-SHA256 over the same bytes, the floor;
//! - `serde_json_value_roundtrip/<size>`: the naive parse-to-`Value`-and-print, for scale.
//!
//! The bodies are generated here, deterministically, in the shape each provider sends.
//! Set `EDGEHOOK_BENCH_DUMP=<dir>` to write them out (e.g. to check them against CPython).

use std::hint::black_box;
use std::sync::OnceLock;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgehook::canonical::{canonicalize, Canonicalizer};
use edgehook::config::SourceConfig;
use edgehook::providers::{self, Delivery, Headers, Provider};
use edgehook::{accept, Secret, Status};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The clock every delivery is accepted at: 2025-05-25T09:22:22Z.
const NOW_MS: u64 = 1_748_164_942_000;
/// Every source's name.
const SOURCE: &str = "src";
const BROWSER_USE_SECRET: &str = "bu_whsec_4f0c1d6e8a9b2c3d4e5f60718293a4b5";
const SKYVERN_KEY: &str = "sk-skyvern-0123456789abcdef0123456789abcdef";
const SMARTBROWSE_TOKEN: &str = "sbt_9d8c7b6a5f4e3d2c1b0a";

/// Target body sizes; the generated bodies land within one padding item of these.
const SIZES: [(&str, usize); 4] = [
    ("1KB", 1 << 10),
    ("8KB", 8 << 10),
    ("64KB", 64 << 10),
    ("1MB", 1 << 20),
];

// ---------------------------------------------------------------------------------------
// A tiny JSON model and printer, so bodies come out exactly as the senders print them.

/// A JSON value whose numbers are kept as their printed text, and whose objects keep
/// insertion order (as a Python dict does), so keys are unsorted.
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// How a sender prints JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `json.dumps(v, indent=2, ensure_ascii=False)`: separators `,` and `: `.
    PythonIndent2,
    /// Compact, non-ASCII as UTF-8 (`separators=(",", ":")`, pydantic's `model_dump_json`).
    Compact,
}

fn s(text: impl Into<String>) -> J {
    J::Str(text.into())
}

fn int(n: impl std::fmt::Display) -> J {
    J::Num(n.to_string())
}

/// A float as Python's `repr` prints it. Rust's `Display` agrees with `repr` (shortest
/// round-trip digits) in the range where `repr` uses no exponent, except for the `.0`.
fn float(x: f64) -> J {
    assert!(
        x == 0.0 || (1e-4..1e16).contains(&x.abs()),
        "{x} needs an exponent"
    );
    let mut t = x.to_string();
    if !t.contains(['.', 'e']) {
        t.push_str(".0");
    }
    J::Num(t)
}

/// A float literal exactly as `repr` prints it (`1e-07`).
fn float_lit(repr: &str) -> J {
    J::Num(repr.to_owned())
}

fn obj<const N: usize>(members: [(&str, J); N]) -> J {
    J::Obj(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn render(v: &J, style: Style) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0);
    out.into_bytes()
}

fn newline_indent(out: &mut String, style: Style, level: usize) {
    if style == Style::PythonIndent2 {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    }
}

fn write_value(out: &mut String, v: &J, style: Style, level: usize) {
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(t) => write_str(out, t),
        J::Arr(items) if items.is_empty() => out.push_str("[]"),
        J::Obj(members) if members.is_empty() => out.push_str("{}"),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, style, level + 1);
                write_value(out, item, style, level + 1);
            }
            newline_indent(out, style, level);
            out.push(']');
        }
        J::Obj(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, style, level + 1);
                write_str(out, k);
                out.push_str(if style == Style::PythonIndent2 {
                    ": "
                } else {
                    ":"
                });
                write_value(out, item, style, level + 1);
            }
            newline_indent(out, style, level);
            out.push('}');
        }
    }
}

/// A string as `ensure_ascii=False` prints it: only `"`, `\` and control characters
/// escaped; everything else, non-ASCII included, as UTF-8.
fn write_str(out: &mut String, t: &str) {
    out.push('"');
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------
// The bodies.

/// Padding item `i`: one step of an agent's run, cycling through three realistic shapes
/// with unsorted keys, nesting, arrays, non-ASCII text, floats, a big integer and literals.
fn step(i: usize) -> J {
    let n = i as f64;
    match i % 3 {
        0 => obj([
            ("zeta", s("zuletzt")),
            ("alpha", s("zuerst")),
            ("checksum", J::Num("12345678901234567890123".into())),
            ("epsilon", float_lit("1e-07")),
            (
                "mixed",
                J::Arr(vec![
                    int(1),
                    float_lit("1.5"),
                    s("drei"),
                    J::Null,
                    J::Bool(false),
                    J::Arr(vec![]),
                    J::Obj(vec![]),
                ]),
            ),
            (
                "nested",
                obj([
                    ("b", obj([("y", int(i)), ("x", int(-(i as i64)))])),
                    ("a", s("é")),
                ]),
            ),
        ]),
        1 => obj([
            (
                "url",
                s(format!("https://www.example.de/München/produkte?id={i}")),
            ),
            ("title", s(format!("日本語のページ {i} 🚀 – Übersicht"))),
            ("status_code", int(200)),
            ("duration_s", float(0.125 + (i % 97) as f64 * 0.25)),
            ("success", J::Bool(true)),
            ("cached", J::Bool(false)),
            ("error", J::Null),
            ("confidence", float_lit("3.14159")),
        ]),
        _ => obj([
            ("step", int(i)),
            (
                "actions",
                J::Arr(vec![
                    obj([
                        ("type", s("click")),
                        ("selector", s(format!("#result-{i} > a.title"))),
                        ("x", float(n * 0.5 + 10.5)),
                        ("y", float(2.5)),
                    ]),
                    obj([
                        ("type", s("input_text")),
                        ("text", s("Grüße aus \"Köln\"\nZeile 2\tEnde")),
                        ("index", int(3)),
                    ]),
                ]),
            ),
            ("tokens", int(1000 + (i * 7919) % 50_000)),
            ("retry", J::Null),
        ]),
    }
}

fn steps(count: usize) -> J {
    J::Obj(
        (0..count)
            .map(|i| (format!("step_{i:05}"), step(i)))
            .collect(),
    )
}

/// The body `doc(padding)` prints to in `style`, with as many padding steps as bring it
/// closest to `target` bytes; at least two, so
/// that even the smallest body has every kind of value.
fn padded(target: usize, style: Style, doc: impl Fn(J) -> J) -> Vec<u8> {
    let len = |count: usize| render(&doc(steps(count)), style).len();
    let base = len(0);
    // Steps grow a little as their numbers do: refine the estimate on the real length.
    let mut guess = 3;
    for _ in 0..4 {
        let per_step = (len(guess) - base) as f64 / guess as f64;
        guess = ((target.saturating_sub(base) as f64 / per_step).round() as usize).max(2);
    }
    let best = (guess.saturating_sub(2).max(2)..=guess + 2)
        .min_by_key(|&c| len(c).abs_diff(target))
        .unwrap();
    render(&doc(steps(best)), style)
}

fn browser_use_body(target: usize) -> Vec<u8> {
    padded(target, Style::PythonIndent2, |metadata| {
        obj([
            ("type", s("agent.task.status_update")),
            ("timestamp", s("2025-05-25T09:22:22.269116+00:00")),
            (
                "payload",
                obj([
                    ("session_id", s("cd9cc7bf-e3af-4181-80a2-73f083bc94b4")),
                    ("task_id", s("5b73fb3f-a3cb-4912-be40-17ce9e9e1a45")),
                    ("status", s("finished")),
                    ("metadata", metadata),
                ]),
            ),
        ])
    })
}

fn skyvern_body(target: usize) -> Vec<u8> {
    padded(target, Style::Compact, |output| {
        obj([
            ("run_id", s("tsk_1")),
            ("status", s("completed")),
            ("run_type", s("task_v2")),
            ("output", output),
            ("failure_reason", J::Null),
            ("finished_at", s("2024-03-01T10:05:23.123456")),
        ])
    })
}

fn smartbrowse_body(target: usize) -> Vec<u8> {
    padded(target, Style::Compact, |result| {
        obj([
            ("event", s("smartbrowse.completed")),
            ("run_id", s("sb_1")),
            ("timestamp", s("2024-03-01T10:05:23Z")),
            ("result", result),
        ])
    })
}

// ---------------------------------------------------------------------------------------
// The deliveries.

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

fn provider(name: &str, secret: &str, auth: Option<&str>) -> Box<dyn Provider> {
    let cfg = SourceConfig {
        provider: name.into(),
        secrets: vec!["SECRET".into()],
        auth: auth.map(|a| a.parse().unwrap()),
        ..SourceConfig::default()
    };
    providers::build(SOURCE, &cfg, |_| Some(Secret::new(secret))).unwrap()
}

/// One provider's signed delivery of one body.
struct Fixture {
    provider_name: &'static str,
    provider: Box<dyn Provider>,
    headers: Headers,
    body: Vec<u8>,
}

impl Fixture {
    fn delivery(&self) -> Delivery<'_> {
        Delivery {
            headers: &self.headers,
            body: &self.body,
            path_token: None,
        }
    }
}

fn browser_use(body: Vec<u8>) -> Fixture {
    let ts = (NOW_MS / 1000).to_string();
    let mut canonical = Vec::new();
    canonicalize(&body, &mut canonical).unwrap();
    let sig = hmac_hex(
        BROWSER_USE_SECRET.as_bytes(),
        &[ts.as_bytes(), b".", &canonical],
    );
    Fixture {
        provider_name: "browser-use",
        provider: provider("browser-use", BROWSER_USE_SECRET, None),
        headers: [
            ("X-Browser-Use-Signature", sig),
            ("X-Browser-Use-Timestamp", ts),
            ("Content-Type", "application/json".into()),
        ]
        .into_iter()
        .collect(),
        body,
    }
}

fn skyvern(body: Vec<u8>) -> Fixture {
    let sig = hmac_hex(SKYVERN_KEY.as_bytes(), &[&body]);
    Fixture {
        provider_name: "skyvern",
        provider: provider("skyvern", SKYVERN_KEY, None),
        headers: [
            ("x-skyvern-signature", sig),
            ("x-skyvern-timestamp", (NOW_MS / 1000).to_string()),
            ("Content-Type", "application/json".into()),
        ]
        .into_iter()
        .collect(),
        body,
    }
}

fn smartbrowse(body: Vec<u8>) -> Fixture {
    Fixture {
        provider_name: "smartbrowse",
        provider: provider("smartbrowse", SMARTBROWSE_TOKEN, Some("bearer")),
        headers: [
            ("Authorization", format!("Bearer {SMARTBROWSE_TOKEN}")),
            ("Content-Type", "application/json".into()),
        ]
        .into_iter()
        .collect(),
        body,
    }
}

/// The fixtures of one size, browser-use first.
struct SizeSet {
    label: &'static str,
    fixtures: Vec<Fixture>,
}

impl SizeSet {
    fn browser_use_body(&self) -> &[u8] {
        &self.fixtures[0].body
    }
}

/// Every fixture, built once and checked to take the success path.
fn sets() -> &'static [SizeSet] {
    static SETS: OnceLock<Vec<SizeSet>> = OnceLock::new();
    SETS.get_or_init(|| {
        let sets: Vec<SizeSet> = SIZES
            .iter()
            .map(|&(label, target)| SizeSet {
                label,
                fixtures: vec![
                    browser_use(browser_use_body(target)),
                    skyvern(skyvern_body(target)),
                    smartbrowse(smartbrowse_body(target)),
                ],
            })
            .collect();
        for set in &sets {
            for fx in &set.fixtures {
                let env = accept(SOURCE, &*fx.provider, &fx.delivery(), NOW_MS)
                    .unwrap_or_else(|e| panic!("{} {}: refused: {e}", fx.provider_name, set.label));
                assert_eq!(env.data.status, Status::Completed, "{}", fx.provider_name);
                assert_eq!(env.provider, fx.provider_name);
                assert_eq!(env.data.payload.get().as_bytes(), &fx.body[..]);
            }
            // The canonical form is CPython's: sorted, ASCII-escaped, repr floats, exact ints.
            let mut canonical = Vec::new();
            canonicalize(set.browser_use_body(), &mut canonical).unwrap();
            let canonical = String::from_utf8(canonical).unwrap();
            for needle in [
                r#"{"payload":{"metadata":{"step_00000":{"alpha":"zuerst","#,
                r#""checksum":12345678901234567890123,"epsilon":1e-07,"mixed":[1,1.5,"#,
                r#""nested":{"a":"\u00e9","b":{"x":0,"y":0}},"zeta":"zuletzt"}"#,
                r#""cached":false,"confidence":3.14159,"duration_s":"#,
                r#"/M\u00fcnchen/"#,
                r#"\u65e5\u672c\u8a9e"#,
                r#"\ud83d\ude80"#,
            ] {
                assert!(
                    canonical.contains(needle),
                    "{}: canonical form lacks {needle}",
                    set.label
                );
            }
        }
        if let Some(dir) = std::env::var_os("EDGEHOOK_BENCH_DUMP") {
            for set in &sets {
                for fx in &set.fixtures {
                    let path = std::path::Path::new(&dir)
                        .join(format!("{}-{}.json", fx.provider_name, set.label));
                    std::fs::write(path, &fx.body).unwrap();
                }
            }
        }
        sets
    })
}

fn bytes(body: &[u8]) -> Throughput {
    Throughput::Bytes(body.len() as u64)
}

/// The 1 MB cases take milliseconds an iteration: fewer samples keep the run short.
fn samples_for(label: &str) -> usize {
    if label == "1MB" {
        10
    } else {
        100
    }
}

// ---------------------------------------------------------------------------------------
// The benchmarks.

fn bench_accept(c: &mut Criterion) {
    let mut g = c.benchmark_group("accept");
    for set in sets() {
        g.sample_size(samples_for(set.label));
        for fx in &set.fixtures {
            g.throughput(bytes(&fx.body));
            let delivery = fx.delivery();
            g.bench_function(BenchmarkId::new(fx.provider_name, set.label), |b| {
                b.iter(|| {
                    accept(SOURCE, &*fx.provider, black_box(&delivery), NOW_MS)
                        .expect("asserted in setup")
                })
            });
        }
    }
    g.finish();
}

fn bench_accept_and_serialize(c: &mut Criterion) {
    let mut g = c.benchmark_group("accept_and_serialize");
    let set = sets().iter().find(|s| s.label == "8KB").unwrap();
    let fx = &set.fixtures[0];
    let delivery = fx.delivery();
    g.throughput(bytes(&fx.body));
    g.bench_function(BenchmarkId::new(fx.provider_name, set.label), |b| {
        b.iter(|| {
            accept(SOURCE, &*fx.provider, black_box(&delivery), NOW_MS)
                .expect("asserted in setup")
                .to_json()
        })
    });
    g.finish();
}

fn bench_canonicalize(c: &mut Criterion) {
    let mut g = c.benchmark_group("canonicalize");
    for set in sets() {
        let body = set.browser_use_body();
        g.sample_size(samples_for(set.label));
        g.throughput(bytes(body));
        // As the verifier calls it: a fresh output buffer and fresh scratch space.
        g.bench_with_input(BenchmarkId::new("free", set.label), body, |b, body| {
            b.iter(|| {
                let mut out = Vec::with_capacity(body.len());
                canonicalize(black_box(body), &mut out).unwrap();
                out
            })
        });
        // The hot-path form: scratch space and output buffer reused, no allocation once warm.
        g.bench_with_input(BenchmarkId::new("reused", set.label), body, |b, body| {
            let mut canonicalizer = Canonicalizer::default();
            let mut out = Vec::with_capacity(body.len());
            b.iter(|| {
                out.clear();
                canonicalizer
                    .canonicalize(black_box(body), &mut out)
                    .unwrap();
                out.len()
            })
        });
    }
    g.finish();
}

fn bench_hmac(c: &mut Criterion) {
    let mut g = c.benchmark_group("hmac_sha256");
    // Keyed once, cloned per message, as the providers' verifiers do.
    let key = Hmac::<Sha256>::new_from_slice(BROWSER_USE_SECRET.as_bytes()).unwrap();
    for set in sets() {
        let body = set.browser_use_body();
        g.sample_size(samples_for(set.label));
        g.throughput(bytes(body));
        g.bench_with_input(BenchmarkId::from_parameter(set.label), body, |b, body| {
            b.iter(|| {
                let mut mac = key.clone();
                mac.update(black_box(body));
                mac.finalize().into_bytes()
            })
        });
    }
    g.finish();
}

fn bench_serde_json_value_roundtrip(c: &mut Criterion) {
    // The naive approach, for comparison only: parse to `serde_json::Value` and print it
    // again. This is NOT CPython-exact (floats print the JavaScript way, big integers lose
    // digits through f64, non-ASCII is not escaped, and key order is whatever serde_json's
    // map features make it); it is just the cost of doing it the naive way.
    let mut g = c.benchmark_group("serde_json_value_roundtrip");
    for set in sets() {
        let body = set.browser_use_body();
        g.sample_size(samples_for(set.label));
        g.throughput(bytes(body));
        g.bench_with_input(BenchmarkId::from_parameter(set.label), body, |b, body| {
            b.iter(|| {
                let v: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
                serde_json::to_vec(&v).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_accept,
    bench_accept_and_serialize,
    bench_canonicalize,
    bench_hmac,
    bench_serde_json_value_roundtrip
);
criterion_main!(benches);
