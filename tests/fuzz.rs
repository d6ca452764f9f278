//! Property-based fuzzing, on stable Rust, of every parser that sees bytes from outside:
//! each provider's verify and describe (through `edgehook::accept`), the canonicalizer
//! (against a slow reference written here from CPython's behaviour), the configuration
//! (`Settings::from_vars`, `Sources::from_json` + `providers::build`) and the routing
//! (`routes::route`, `routes::path_of`, and the admin routes' queries and replay bodies).
//!
//! Inputs are random bytes and structured mutations of valid, signed deliveries: bytes
//! flipped, inserted, deleted; keys duplicated; deep nesting; huge numbers; invalid UTF-8;
//! lone surrogates; a byte order mark. Invariants: nothing panics; a body changed after
//! signing never verifies (for browser-use: one whose canonical form changed); every
//! refusal is one of the contract's answers.
//!
//! Short by default (1,024 cases per target, seconds). A long run: `EDGEHOOK_FUZZ_SECS=600 cargo
//! test --release --test fuzz -- --test-threads=1` splits 600 s between the targets, each
//! running batches of cases with fresh seeds until its share is used; `EDGEHOOK_FUZZ_SEED`
//! picks the first seed. A failure prints the seed and the shrunk input.

use std::time::{Duration, Instant};

use edgehook::canonical::{self, Canonicalizer};
use edgehook::config::{Settings, SourceConfig, Sources, TokenAuth};
use edgehook::providers::{self, Delivery, Headers, Provider};
use edgehook::routes::{path_of, route, Route};
use edgehook::{accept, Error, Secret};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use sha2::Sha256;

/// How many targets share `EDGEHOOK_FUZZ_SECS`.
const TARGETS: u64 = 5;
/// Cases per batch.
const BATCH: u32 = 256;
/// Batches per target in the short run (the normal test command).
const SHORT_BATCHES: u64 = 4;

/// Runs `test` on values of `strategy` in batches: one batch, or batches with fresh seeds
/// until this target's share of `EDGEHOOK_FUZZ_SECS` is used. Fails with the seed and the
/// shrunk input.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("EDGEHOOK_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| Duration::from_secs(s / TARGETS));
    let first_seed: u64 = std::env::var("EDGEHOOK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005E_ED0F_ED6E);
    let started = Instant::now();
    let mut cases = 0u64;
    for batch in 0u64.. {
        let seed = first_seed.wrapping_add(batch);
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        seed_bytes[8..16].copy_from_slice(&fnv(name.as_bytes()).to_le_bytes());
        let config = Config {
            cases: BATCH,
            failure_persistence: None,
            max_shrink_iters: 2_000,
            ..Config::default()
        };
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(config, rng);
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: failed with EDGEHOOK_FUZZ_SEED={seed} (batch {batch}): {e}");
        }
        cases += u64::from(BATCH);
        match budget {
            Some(b) if started.elapsed() < b => {}
            None if batch + 1 < SHORT_BATCHES => {}
            _ => break,
        }
    }
    println!(
        "{name}: {cases} cases in {:.1} s, no failure",
        started.elapsed().as_secs_f64()
    );
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------
// Generated JSON text and its mutations.

/// JSON text built as senders and attackers write it: any whitespace, escapes, non-ASCII,
/// lone surrogates, big and odd numbers, duplicate keys, CPython's literals, deep chains.
fn json_text() -> impl Strategy<Value = String> {
    let ws = prop::sample::select(vec!["", "", "", " ", "\n  ", "\t", "\r\n"]);
    let string = prop::collection::vec(
        prop_oneof![
            4 => "[a-z]{0,6}",
            1 => Just("\\\"".to_owned()),
            1 => Just("\\\\".to_owned()),
            1 => Just("\\/\\b\\f\\n\\r\\t".to_owned()),
            1 => Just("\\u00e9\\u0000\\u001f".to_owned()),
            1 => Just("\\ud83d\\ude00".to_owned()),
            1 => Just("\\ud800".to_owned()),
            1 => Just("\\udc00\\ud800x".to_owned()),
            1 => Just("München 日本語 😀 \u{7f}".to_owned()),
            1 => Just("\\u0061".to_owned()),
        ],
        0..4,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()));
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:e}")),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x}")),
        prop::sample::select(vec![
            "-0",
            "-0.0",
            "0.0",
            "1.0",
            "1e16",
            "1E5",
            "1e-7",
            "1.50",
            "0.00001",
            "1e400",
            "-1e400",
            "5e-324",
            "1125899906842624.25",
            "123456789012345678901234567890",
            "1e+15",
            "10e-07",
            "0e-07",
            "1.7976931348623157e+308",
            "NaN",
            "Infinity",
            "-Infinity",
        ])
        .prop_map(str::to_owned),
        (1usize..4400).prop_map(|n| "9".repeat(n)),
    ];
    let scalar = prop_oneof![
        3 => string.clone(),
        3 => number,
        1 => prop::sample::select(vec!["null", "true", "false"]).prop_map(str::to_owned),
    ];
    let key = prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "id", "status", "type", "run_id", "é", "\\u0062", "😀", "\\ud83d\\ude00", "\\ufffd", "aaaaaaaa1", "aaaaaaaa2", ""]).prop_map(|k| format!("\"{k}\"")),
        1 => string,
    ];
    let leaf = scalar.boxed();
    leaf.prop_recursive(6, 64, 6, move |inner| {
        let ws2 = ws.clone();
        prop_oneof![
            (
                prop::collection::vec((ws.clone(), inner.clone()), 0..6),
                ws.clone()
            )
                .prop_map(|(items, end)| {
                    let body: Vec<String> =
                        items.into_iter().map(|(w, v)| format!("{w}{v}")).collect();
                    format!("[{}{end}]", body.join(","))
                }),
            (
                prop::collection::vec((key.clone(), ws2.clone(), inner.clone()), 0..6),
                ws2.clone(),
                any::<bool>()
            )
                .prop_map(|(items, end, dup)| {
                    let mut body: Vec<String> = items
                        .into_iter()
                        .map(|(k, w, v)| format!("{k}{w}:{w}{v}"))
                        .collect();
                    if dup && !body.is_empty() {
                        let again = body[0].clone();
                        body.push(again);
                    }
                    format!("{{{}{end}}}", body.join(","))
                }),
        ]
    })
}

/// A chain `depth` deep, of arrays and objects as `pattern`'s bits say.
fn chain(depth: usize, pattern: u64, inner: &str) -> String {
    let mut open = String::new();
    let mut close = String::new();
    for d in 0..depth {
        if pattern >> (d % 64) & 1 == 1 {
            open.push_str("{\"k\":");
            close.insert(0, '}');
        } else {
            open.push('[');
            close.insert(0, ']');
        }
    }
    format!("{open}{inner}{close}")
}

/// One change to some bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
    Bom,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (
            at,
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..4),
                prop::sample::select(vec![
                    b" ".to_vec(),
                    b",".to_vec(),
                    b"\"".to_vec(),
                    b"\\".to_vec(),
                    b"\xff".to_vec(),
                    b"\xed\xa0\x80".to_vec(),
                    b"\\ud800".to_vec(),
                    b"[".to_vec(),
                    b"}".to_vec(),
                    b"0".to_vec(),
                    b"e999".to_vec(),
                    b"NaN".to_vec(),
                ]),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1usize..4).prop_map(|(at, len)| Mutation::Delete { at, len }),
        at.prop_map(|at| Mutation::Truncate { at }),
        Just(Mutation::Bom),
    ]
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let n = b.len();
    match m {
        Mutation::Flip { at, bit } if n > 0 => b[at % n] ^= 1 << bit,
        Mutation::Insert { at, bytes } => {
            let at = at % (n + 1);
            b.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len } if n > 0 => {
            let at = at % n;
            b.drain(at..(at + len).min(n));
        }
        Mutation::Truncate { at } => b.truncate(at % (n + 1)),
        Mutation::Bom => {
            b.splice(0..0, *b"\xEF\xBB\xBF");
        }
        _ => {}
    }
    b
}

/// Input for the canonicalizer: generated JSON, a mutation of it, a deep chain, or noise.
fn canonical_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_text().prop_map(String::into_bytes),
        3 => (json_text(), prop::collection::vec(mutation(), 1..3)).prop_map(|(t, ms)| {
            ms.iter().fold(t.into_bytes(), |b, m| apply(&b, m))
        }),
        1 => (120usize..140, any::<u64>(), prop::sample::select(vec!["0", "\"x\"", "[]", "{}", "{\"b\":1,\"a\":2}"]))
            .prop_map(|(d, p, inner)| chain(d, p, inner).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

// ---------------------------------------------------------------------------------------
// The reference canonicalizer: slow and plain, from CPython's behaviour
// (`json.dumps(json.loads(b), separators=(",", ":"), sort_keys=True)`), with the one
// nesting limit.

#[derive(Debug, Clone)]
enum Py {
    Null,
    Bool(bool),
    /// Digits as written, `-0` already made `0`.
    Int(String),
    Float(f64),
    /// Code points, lone surrogates included.
    Str(Vec<u32>),
    List(Vec<Py>),
    /// Insertion order; a repeated key replaces the value.
    Dict(Vec<(Vec<u32>, Py)>),
}

struct Ref<'a> {
    s: &'a [u8],
    i: usize,
}

type R<T> = Result<T, String>;

impl Ref<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> R<Py> {
        match self.s.get(self.i) {
            Some(b'[') | Some(b'{') if depth >= edgehook::nesting::MAX_DEPTH => {
                Err("too deep".into())
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Py::List(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Py::List(items));
                        }
                        _ => return Err("expected , or ]".into()),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut items: Vec<(Vec<u32>, Py)> = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Py::Dict(items));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err("expected key".into());
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err("expected :".into());
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    match items.iter_mut().find(|(k2, _)| *k2 == k) {
                        Some(slot) => slot.1 = v,
                        None => items.push((k, v)),
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Py::Dict(items));
                        }
                        _ => return Err("expected , or }".into()),
                    }
                }
            }
            Some(b'"') => Ok(Py::Str(self.string()?)),
            _ => {
                for (lit, v) in [
                    ("null", Py::Null),
                    ("true", Py::Bool(true)),
                    ("false", Py::Bool(false)),
                    ("NaN", Py::Float(f64::NAN)),
                    ("Infinity", Py::Float(f64::INFINITY)),
                    ("-Infinity", Py::Float(f64::NEG_INFINITY)),
                ] {
                    if self.s[self.i..].starts_with(lit.as_bytes()) {
                        self.i += lit.len();
                        return Ok(v);
                    }
                }
                self.number()
            }
        }
    }

    fn number(&mut self) -> R<Py> {
        let s = self.s;
        let start = self.i;
        let mut i = start;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while s.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err("expecting value".into()),
        }
        let int_end = i;
        let mut float = false;
        if s.get(i) == Some(&b'.') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            float = true;
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(s.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if s.get(j).is_some_and(u8::is_ascii_digit) {
                while s.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                i = j;
                float = true;
            }
        }
        self.i = i;
        let text = std::str::from_utf8(&s[start..i]).unwrap();
        if float {
            return Ok(Py::Float(text.parse().unwrap()));
        }
        let digits = std::str::from_utf8(&s[int_start..int_end]).unwrap();
        if digits.len() > 4300 {
            return Err("int too long".into());
        }
        Ok(Py::Int(if digits == "0" {
            "0".into()
        } else {
            text.to_owned()
        }))
    }

    fn string(&mut self) -> R<Vec<u32>> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err("unterminated".into());
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let c = *self.s.get(self.i + 1).ok_or("unterminated")?;
                    self.i += 2;
                    let cp = match c {
                        b'"' => 0x22,
                        b'\\' => 0x5C,
                        b'/' => 0x2F,
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => 10,
                        b'r' => 13,
                        b't' => 9,
                        b'u' => {
                            let hi = self.hex4()?;
                            let mut cp = hi;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                match self.hex4() {
                                    Ok(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                    }
                                    _ => self.i = save,
                                }
                            }
                            cp
                        }
                        _ => return Err("bad escape".into()),
                    };
                    out.push(cp);
                }
                0..=0x1F => return Err("control character".into()),
                0x20..=0x7F => {
                    out.push(u32::from(b));
                    self.i += 1;
                }
                _ => {
                    // UTF-8 with surrogatepass: decode by the bit patterns, then check.
                    let len = match b {
                        0xC2..=0xDF => 2,
                        0xE0..=0xEF => 3,
                        0xF0..=0xF4 => 4,
                        _ => return Err("invalid utf-8".into()),
                    };
                    let bytes = self.s.get(self.i..self.i + len).ok_or("invalid utf-8")?;
                    if bytes[1..].iter().any(|c| c & 0xC0 != 0x80) {
                        return Err("invalid utf-8".into());
                    }
                    let mut cp = u32::from(b) & (0x7F >> len);
                    for c in &bytes[1..] {
                        cp = cp << 6 | u32::from(c & 0x3F);
                    }
                    let min = [0, 0, 0x80, 0x800, 0x10000][len];
                    if cp < min || cp > 0x10FFFF {
                        return Err("invalid utf-8".into());
                    }
                    out.push(cp);
                    self.i += len;
                }
            }
        }
    }

    fn hex4(&mut self) -> R<u32> {
        let d = self.s.get(self.i..self.i + 4).ok_or("bad \\u")?;
        let t = std::str::from_utf8(d).map_err(|_| "bad \\u")?;
        if !t.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err("bad \\u".into());
        }
        self.i += 4;
        Ok(u32::from_str_radix(t, 16).unwrap())
    }
}

/// CPython's `float.__repr__`, the slow way: the fewest significant digits that read back
/// as `x` (each candidate correctly rounded), in repr's layout.
fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = (1..=17)
        .map(|p| format!("{:.*e}", p - 1, x.abs()))
        .find(|s| s.parse::<f64>().ok() == Some(x.abs()))
        .unwrap();
    let (mantissa, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{sign}{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let rest = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let e_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{rest}e{e_sign}{:02}", &digits[..1], exp.abs())
    }
}

fn dump(v: &Py, out: &mut String) {
    match v {
        Py::Null => out.push_str("null"),
        Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Py::Int(d) => out.push_str(d),
        Py::Float(x) => out.push_str(&float_repr(*x)),
        Py::Str(s) => dump_str(s, out),
        Py::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dump(item, out);
            }
            out.push(']');
        }
        Py::Dict(items) => {
            let mut sorted: Vec<&(Vec<u32>, Py)> = items.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dump_str(k, out);
                out.push(':');
                dump(v, out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &[u32], out: &mut String) {
    out.push('"');
    for &cp in s {
        match cp {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x20..=0x7E => out.push(char::from_u32(cp).unwrap()),
            0x10000.. => {
                let v = cp - 0x10000;
                out.push_str(&format!(
                    "\\u{:04x}\\u{:04x}",
                    0xD800 | (v >> 10),
                    0xDC00 | (v & 0x3FF)
                ));
            }
            _ => out.push_str(&format!("\\u{cp:04x}")),
        }
    }
    out.push('"');
}

/// What CPython prints for the input, or why it (or the nesting limit) refuses it.
fn reference(input: &[u8]) -> R<String> {
    let mut p = Ref { s: input, i: 0 };
    if input.starts_with(b"\xEF\xBB\xBF") {
        p.i = 3;
    }
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != input.len() {
        return Err("extra data".into());
    }
    let mut out = String::new();
    dump(&v, &mut out);
    Ok(out)
}

#[test]
fn reference_canonicalizer_agrees_with_known_cpython_output() {
    let cases: [(&str, &str); 8] = [
        (
            r#"{"b": [1, {"z": null, "a": true}], "10": "x", "2": "y"}"#,
            r#"{"10":"x","2":"y","b":[1,{"a":true,"z":null}]}"#,
        ),
        (r#"{"a":1,"\u0061":2}"#, r#"{"a":2}"#),
        (
            "[1e-7, 1e16, 1e15, -0, -0.0, 2.50]",
            "[1e-07,1e+16,1000000000000000.0,0,-0.0,2.5]",
        ),
        (
            "\"M\u{fc}nchen \u{1F600} \\ud800\"",
            r#""M\u00fcnchen \ud83d\ude00 \ud800""#,
        ),
        (
            r#"{"\ud83d\ude00":1,"\ufffd":2}"#,
            r#"{"\ufffd":2,"\ud83d\ude00":1}"#,
        ),
        (
            "[NaN, Infinity, -Infinity, 1e400]",
            "[NaN,Infinity,-Infinity,Infinity]",
        ),
        ("1125899906842624.25", "1125899906842624.2"),
        ("123e-20", "1.23e-18"),
    ];
    for (input, want) in cases {
        assert_eq!(reference(input.as_bytes()).as_deref(), Ok(want), "{input}");
    }
    assert!(reference(b"[1,]").is_err());
    assert!(reference(b"\"\xED\xA0\x80\"").is_ok(), "surrogatepass");
}

#[test]
fn canonicalizer_matches_the_reference() {
    fuzz("canonical", canonical_input(), |input| {
        let mut out = b"kept".to_vec();
        let got = Canonicalizer::default().canonicalize(&input, &mut out);
        let want = reference(&input);
        match (&got, &want) {
            (Ok(()), Ok(w)) => prop_assert_eq!(
                String::from_utf8_lossy(&out[4..]),
                w.as_str(),
                "input {:?}",
                String::from_utf8_lossy(&input)
            ),
            (Err(_), Err(_)) => prop_assert_eq!(&out, b"kept", "an error leaves out as it was"),
            _ => prop_assert!(
                false,
                "canonical {got:?}, reference {want:?}, input {:?}",
                String::from_utf8_lossy(&input)
            ),
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Providers: valid signed deliveries, then changed.

const NOW_S: i64 = 1_700_000_000;
const SECRET: &str = "fuzz-secret-7f3a9c";
/// standard-webhooks keys are `whsec_` and base64.
const SW_SECRET: &str = "whsec_ZnV6ei1zZWNyZXQtN2YzYTljLXN0YW5kYXJk";

fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

fn build(provider: &str, auth: Option<&str>) -> Box<dyn Provider> {
    let cfg = SourceConfig {
        provider: provider.into(),
        secrets: vec!["OLD".into(), "NEW".into()],
        auth: auth.map(|a| a.parse::<TokenAuth>().unwrap()),
        id_from: (provider == "token").then(|| "run_id".into()),
        ..Default::default()
    };
    providers::build("src", &cfg, |n| {
        Some(Secret::new(match (n, provider) {
            ("NEW", "standard-webhooks") => SW_SECRET,
            ("NEW", _) => SECRET,
            (_, "standard-webhooks") => "whsec_b2xkLXJvdGF0ZWQtb3V0LWtleQ==",
            _ => "old-rotated-out",
        }))
    })
    .unwrap()
}

/// A body the provider sends, with `extra` (generated JSON) under one more field.
fn body_for(provider: &str, status: &str, run: &str, extra: &str) -> String {
    match provider {
        "browser-use" => format!(
            r#"{{"type": "agent.task.status_update", "timestamp": "2023-11-14T22:13:20Z", "payload": {{"task_id": "{run}", "status": "{status}"}}, "extra": {extra}}}"#
        ),
        "skyvern" => format!(
            r#"{{"run_id": "{run}", "status": "{status}", "run_type": "task_v2", "extra": {extra}}}"#
        ),
        "smartbrowse" => {
            format!(r#"{{"run_id": "{run}", "event": "{status}", "extra": {extra}}}"#)
        }
        _ => format!(r#"{{"run_id": "{run}", "type": "{status}", "extra": {extra}}}"#),
    }
}

/// Headers and path token that authenticate `body` for `provider`.
fn sign(provider: &str, auth: Option<&str>, body: &[u8]) -> (Headers, Option<String>) {
    let mut h = Headers::new();
    let ts = NOW_S.to_string();
    match provider {
        "browser-use" => {
            let mut canonical = Vec::new();
            let _ = canonical::canonicalize(body, &mut canonical);
            h.insert(
                "X-Browser-Use-Signature",
                hmac_hex(SECRET, &[ts.as_bytes(), b".", &canonical]),
            );
            h.insert("X-Browser-Use-Timestamp", ts);
            (h, None)
        }
        "skyvern" => {
            h.insert(
                "x-skyvern-signature",
                format!("sha256={}", hmac_hex(SECRET, &[body])),
            );
            (h, None)
        }
        "standard-webhooks" => {
            let key = edgehook::signing::WebhookKey::from_whsec(SW_SECRET).unwrap();
            for (name, value) in key.headers("msg_fuzz", NOW_S, body) {
                h.insert(name, value);
            }
            (h, None)
        }
        _ => match auth {
            Some("path") => (h, Some(SECRET.to_owned())),
            Some("bearer") => {
                h.insert("Authorization", format!("Bearer {SECRET}"));
                (h, None)
            }
            _ => {
                h.insert("X-Hook-Token", SECRET);
                (h, None)
            }
        },
    }
}

/// What to change in a signed delivery.
#[derive(Debug, Clone)]
enum Change {
    None,
    Body(Vec<Mutation>),
    DropHeader(usize),
    GarbleHeader(usize, String),
    Timestamp(String),
    Token(String),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        2 => Just(Change::None),
        6 => prop::collection::vec(mutation(), 1..3).prop_map(Change::Body),
        1 => any::<usize>().prop_map(Change::DropHeader),
        1 => (any::<usize>(), ".{0,80}").prop_map(|(i, v)| Change::GarbleHeader(i, v)),
        1 => prop::sample::select(vec!["1e9", "-1", "99999999999999999999", "", "1700000301", "1699999699", "0x10", " 1700000000 "])
            .prop_map(|t| Change::Timestamp(t.into())),
        1 => ".{0,40}".prop_map(Change::Token),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    provider: &'static str,
    auth: Option<&'static str>,
    status: String,
    run: String,
    extra: String,
    change: Change,
}

fn case() -> impl Strategy<Value = Case> {
    let who = prop::sample::select(vec![
        ("browser-use", None),
        ("skyvern", None),
        ("smartbrowse", Some("path")),
        ("smartbrowse", Some("bearer")),
        ("smartbrowse", Some("header:X-Hook-Token")),
        ("standard-webhooks", None),
        ("token", Some("header:X-Hook-Token")),
    ]);
    let extra = prop_oneof![
        4 => json_text(),
        1 => (1usize..135, any::<u64>()).prop_map(|(d, p)| chain(d, p, "0")),
    ];
    (
        who,
        prop::sample::select(vec![
            "finished",
            "completed",
            "failed",
            "smartbrowse.completed",
            "weird",
            "test",
            "\\u00e9",
        ]),
        "[a-z0-9_]{0,12}",
        extra,
        change(),
    )
        .prop_map(|((provider, auth), status, run, extra, change)| Case {
            provider,
            auth,
            status: status.into(),
            run,
            extra,
            change,
        })
}

/// The contract's refusals of a delivery by a configured source (CONTRACT §5).
fn check_refusal(e: &Error) -> Result<(), TestCaseError> {
    prop_assert!(matches!(e.status(), 400 | 401), "{e:?} -> {}", e.status());
    let body: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    prop_assert!(body["error"] == "malformed" || body["error"] == "unauthorized");
    prop_assert!(!e.reason().is_empty());
    for secret in [SECRET, SW_SECRET] {
        prop_assert!(!e.to_json().contains(secret), "a secret in {}", e.to_json());
    }
    Ok(())
}

#[test]
fn providers_refuse_changed_deliveries_and_never_panic() {
    let providers: Vec<(&str, Option<&str>, Box<dyn Provider>)> = [
        ("browser-use", None),
        ("skyvern", None),
        ("smartbrowse", Some("path")),
        ("smartbrowse", Some("bearer")),
        ("smartbrowse", Some("header:X-Hook-Token")),
        ("standard-webhooks", None),
        ("token", Some("header:X-Hook-Token")),
    ]
    .into_iter()
    .map(|(p, a)| (p, a, build(p, a)))
    .collect();
    fuzz("providers", case(), |c| {
        let p = &providers
            .iter()
            .find(|(n, a, _)| *n == c.provider && *a == c.auth)
            .unwrap()
            .2;
        let signed = body_for(c.provider, &c.status, &c.run, &c.extra).into_bytes();
        let (mut headers, mut token) = sign(c.provider, c.auth, &signed);
        let mut body = signed.clone();
        let mut token_changed = false;
        match &c.change {
            Change::None => {}
            Change::Body(ms) => body = ms.iter().fold(body, |b, m| apply(&b, m)),
            Change::DropHeader(i) | Change::GarbleHeader(i, _) => {
                let names = p.headers_read();
                if !names.is_empty() {
                    let name = names[i % names.len()].to_owned();
                    let mut h = Headers::new();
                    for n in &names {
                        if let Some(v) = headers.get(n) {
                            if *n != name {
                                h.insert(*n, v);
                            } else if let Change::GarbleHeader(_, g) = &c.change {
                                token_changed = g.trim() != v;
                                h.insert(*n, g.clone());
                            } else {
                                token_changed = true;
                            }
                        }
                    }
                    headers = h;
                }
            }
            Change::Timestamp(t) => {
                let mut h = Headers::new();
                for n in p.headers_read() {
                    if let Some(v) = headers.get(n) {
                        h.insert(
                            n,
                            if n.ends_with("Timestamp") {
                                t.as_str()
                            } else {
                                v
                            },
                        );
                    }
                }
                headers = h;
            }
            Change::Token(t) => match c.auth {
                Some("path") => {
                    token_changed = t != SECRET;
                    token = Some(t.clone());
                }
                Some("bearer") => {
                    token_changed = t.trim() != SECRET;
                    headers = [("Authorization", format!("Bearer {t}"))]
                        .into_iter()
                        .collect();
                }
                Some(_) => {
                    token_changed = t.trim() != SECRET;
                    headers = [("X-Hook-Token", t.clone())].into_iter().collect();
                }
                None => {}
            },
        }
        let d = Delivery {
            headers: &headers,
            body: &body,
            path_token: token.as_deref(),
        };
        let now_ms = NOW_S as u64 * 1000;
        // Each stage on its own, then the whole path: none may panic.
        let prepared = p.prepare(&d, now_ms);
        let verified = p.verify(&d, now_ms);
        if let Ok(v) = &verified {
            let _ = p.describe(v);
        }
        let result = accept("src", p.as_ref(), &d, now_ms);
        if let Err(e) = &prepared {
            prop_assert!(
                verified.is_err(),
                "prepare refused ({e:?}) but verify did not"
            );
        }
        match &result {
            Err(e) => check_refusal(e)?,
            Ok(env) => {
                // An accepted envelope is JSON and carries the body as it came. (Read as
                // an `Envelope`, whose payload serde_json skips over: a lone surrogate
                // such as `\ud800` in a body is valid JSON text, which CPython and
                // JavaScript read but serde_json's `Value` refuses.)
                let back: edgehook::Envelope = serde_json::from_str(&env.to_json())
                    .map_err(|e| TestCaseError::fail(format!("envelope not JSON: {e}")))?;
                prop_assert_eq!(&back.id, &env.id);
                // Whitespace around a JSON value is not part of it: read back, the payload is
                // the body without what surrounds it.
                let ws: &[char] = &[' ', '\t', '\n', '\r'];
                prop_assert_eq!(
                    back.data.payload.get(),
                    env.data.payload.get().trim_matches(ws)
                );
                let text = std::str::from_utf8(&body).unwrap();
                prop_assert_eq!(
                    env.data.payload.get(),
                    text.strip_prefix('\u{feff}').unwrap_or(text)
                );
            }
        }
        // A body changed after signing never verifies (browser-use signs the canonical
        // form: a change that keeps it, such as whitespace, is no change).
        let changed = match c.provider {
            "browser-use" => {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let ca = canonical::canonicalize(&signed, &mut a);
                let cb = canonical::canonicalize(&body, &mut b);
                ca.is_err() || cb.is_err() || a != b
            }
            "skyvern" | "standard-webhooks" => body != signed,
            _ => false,
        };
        if changed || token_changed {
            prop_assert!(
                verified.is_err(),
                "changed after signing, yet verified: {c:?}"
            );
        }
        if matches!(c.change, Change::None)
            && edgehook::nesting::exceeds(&signed, edgehook::nesting::MAX_DEPTH)
        {
            prop_assert_eq!(
                result.map(|_| ()),
                Err(Error::TooDeep {
                    limit: edgehook::nesting::MAX_DEPTH
                })
            );
        }
        Ok(())
    });
}

#[test]
fn providers_survive_random_bytes_and_headers() {
    let providers: Vec<Box<dyn Provider>> = vec![
        build("browser-use", None),
        build("skyvern", None),
        build("smartbrowse", Some("path")),
        build("smartbrowse", Some("bearer")),
        build("standard-webhooks", None),
        build("token", Some("header:X-Hook-Token")),
    ];
    let strategy = (
        0usize..6,
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec((".{0,30}", ".{0,70}"), 0..4),
        prop::option::of(".{0,40}"),
    );
    fuzz("providers-random", strategy, |(i, body, hs, token)| {
        let p = &providers[i];
        let mut headers: Headers = hs.into_iter().collect();
        // Sometimes the real header names, with garbage.
        for n in p.headers_read() {
            headers.insert(n, format!("{:x}", fnv(&body)));
        }
        let d = Delivery {
            headers: &headers,
            body: &body,
            path_token: token.as_deref(),
        };
        match accept("src", p.as_ref(), &d, NOW_S as u64 * 1000) {
            Ok(_) => prop_assert!(false, "random bytes were accepted"),
            Err(e) => check_refusal(&e)?,
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Configuration and routing.

#[test]
fn configuration_parsing_never_panics() {
    let value = prop_oneof![
        ".{0,20}",
        "[0-9]{0,25}",
        Just("-1".to_owned()),
        Just("59".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("http://127.0.0.1:9000/events".to_owned()),
        Just("queue".to_owned()),
        Just("origin".to_owned()),
    ];
    let vars = prop::collection::vec(
        (
            prop::sample::select(vec![
                "FORWARD_MODE",
                "ORIGIN_URL",
                "ORIGIN_TIMEOUT_MS",
                "DEDUP_TTL_S",
                "MAX_BODY_BYTES",
                "RETRY_BASE_DELAY_S",
            ]),
            prop::option::of(value),
        ),
        0..8,
    );
    let field = prop_oneof![
        Just(r#""provider":"browser-use""#.to_owned()),
        Just(r#""provider":"skyvern""#.to_owned()),
        Just(r#""provider":"smartbrowse""#.to_owned()),
        Just(r#""provider":"stripe""#.to_owned()),
        Just(r#""secrets":["A"]"#.to_owned()),
        Just(r#""secrets":["A","MISSING"]"#.to_owned()),
        Just(r#""secrets":[]"#.to_owned()),
        Just(r#""secrets":"A""#.to_owned()),
        Just(r#""tolerance_s":300"#.to_owned()),
        Just(r#""tolerance_s":-1"#.to_owned()),
        Just(r#""tolerance_s":1e99"#.to_owned()),
        Just(r#""auth":"path""#.to_owned()),
        Just(r#""auth":"bearer""#.to_owned()),
        Just(r#""auth":"header:X-T""#.to_owned()),
        Just(r#""auth":"header:""#.to_owned()),
        Just(r#""auth":"header:Bad Name""#.to_owned()),
        Just(r#""unknown":1"#.to_owned()),
    ];
    let sources = prop_oneof![
        3 => prop::collection::vec(("[a-z-]{1,8}", prop::collection::vec(field, 0..5)), 0..4)
            .prop_map(|srcs| {
                let tables: Vec<String> = srcs
                    .into_iter()
                    .map(|(n, f)| format!("\"{n}\":{{{}}}", f.join(",")))
                    .collect();
                format!("{{{}}}", tables.join(","))
            }),
        1 => ".{0,60}",
        1 => json_text(),
    ];
    fuzz("config", (vars, sources), |(vars, sources)| {
        let lookup = |name: &str| {
            vars.iter()
                .rev()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.clone())
        };
        match Settings::from_vars(lookup) {
            Ok(s) => {
                prop_assert!(s.dedup_ttl_s >= 60 && s.max_body_bytes > 0);
                prop_assert!(s.origin_timeout_ms >= 1 && s.origin_timeout_ms <= 9_000);
            }
            Err(e) => prop_assert_eq!(Error::Config(e).status(), 500),
        }
        if let Ok(srcs) = Sources::from_json(&sources) {
            let names: Vec<String> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&sources)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
            for name in names {
                if let Some(Ok(cfg)) = srcs.get(&name) {
                    let built = providers::build(&name, &cfg, |n| {
                        (n != "MISSING").then(|| Secret::new("s3cret-value"))
                    });
                    if let Err(e) = built {
                        prop_assert!(!e.to_string().contains("s3cret-value"));
                    }
                }
            }
        }
        Ok(())
    });
}

#[test]
fn routing_never_panics_and_answers_404_or_405() {
    /// A path token: no answer may carry it (CONTRACT §1).
    const TOKEN: &str = "s3cr3t-t0ken";
    let segment = prop_oneof![
        "[a-z-]{0,10}",
        ".{0,12}",
        Just("%2F".to_owned()),
        Just("%ff".to_owned()),
        Just("%".to_owned()),
        Just("..".to_owned()),
        Just(TOKEN.to_owned()),
        Just(format!("smartbrowse%2F{TOKEN}")),
        Just(format!("{TOKEN}%2Fx")),
    ];
    let path = prop_oneof![
        prop::collection::vec(segment.clone(), 0..5).prop_map(|s| format!("/in/{}", s.join("/"))),
        prop::collection::vec(segment, 0..4)
            .prop_map(|s| format!("/admin/dead-letters/{}", s.join("/"))),
        "/admin/(replay|dead-letters)[?/].{0,30}",
        ".{0,40}",
        Just("/healthz".to_owned()),
        "/healthz[?#].{0,10}",
    ];
    let method = prop::sample::select(vec![
        "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get", "",
    ]);
    let url = prop_oneof![
        ".{0,40}",
        ("(https?://)?[a-z.:0-9]{0,20}", ".{0,30}").prop_map(|(a, b)| format!("{a}{b}")),
    ];
    let admin_body = prop_oneof![
        json_text().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..80),
        Just(br#"{"ids":["a"],"since":"2026-12-01T00:00:00Z","source":"s"}"#.to_vec()),
    ];
    let strategy = (method, path, url, ".{0,40}", admin_body);
    fuzz("routing", strategy, |(method, path, url, query, body)| {
        match route(method, &path) {
            Ok(Route::Health) => prop_assert!(path.starts_with("/healthz")),
            Ok(Route::Ingest { source, .. }) => {
                prop_assert!(method == "POST" && !source.is_empty());
            }
            Ok(Route::Admin(r)) => {
                prop_assert!(path.starts_with("/admin/"));
                if let Err(e) = r {
                    prop_assert!(matches!(e.status(), 400 | 401 | 404 | 405), "{e:?}");
                    prop_assert!(!e.to_json().contains(TOKEN), "{}", e.to_json());
                }
            }
            Err(e) => {
                prop_assert!(matches!(e.status(), 404 | 405), "{e:?}");
                prop_assert!(!e.to_json().contains(TOKEN), "{}", e.to_json());
            }
        }
        if let Err(e) = edgehook::admin::ListQuery::parse(&query) {
            prop_assert_eq!(e.status(), 400);
        }
        if let Err(e) = edgehook::admin::ReplayRequest::parse(&body) {
            prop_assert_eq!(e.status(), 400);
        }
        let p = path_of(&url);
        prop_assert!(p.starts_with('/'), "{url} -> {p}");
        prop_assert!(url.ends_with(p) || p == "/");
        Ok(())
    });
}
