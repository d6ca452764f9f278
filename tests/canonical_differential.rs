//! Differential test: `edgehook::canonical::canonicalize` against CPython.
//!
//! `tests/canonical_ref.py` generates raw JSON text documents and, for each one, records
//! what `json.dumps(json.loads(raw), separators=(",", ":"), sort_keys=True)` prints (or
//! that CPython raises). Every document must come out byte for byte the same here, and
//! every document CPython rejects must be an `Err` here. Documents nested deeper than
//! `edgehook::nesting::MAX_DEPTH` (which CPython parses) must be refused as too deep.
//!
//! `python3` (CPython 3.11+) must be on PATH: without it these tests fail, they do not skip.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::{Command, Stdio};

/// Written into the output buffer before each call: `canonicalize` must append after it.
const PREFIX: &[u8] = b"<prefix>";
/// How many mismatches the failure message shows in full (env CANONICAL_DIFF_SHOW overrides).
const SHOWN: usize = 10;

fn shown_limit() -> usize {
    std::env::var("CANONICAL_DIFF_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SHOWN)
}

struct Mismatch {
    index: usize,
    input: Vec<u8>,
    what: String,
}

#[derive(Default)]
struct Outcome {
    checked: usize,
    valid: usize,
    errors: usize,
    input_bytes: usize,
    at_least_8k: usize,
    mismatches: usize,
    /// Valid for CPython but nested deeper than `nesting::MAX_DEPTH`: refused on purpose.
    too_deep: usize,
    shown: Vec<Mismatch>,
}

fn run_differential(seed: u64, count: usize, large: bool) -> Outcome {
    let dir = env!("CARGO_MANIFEST_DIR");
    let script = Path::new(dir).join("tests").join("canonical_ref.py");
    let mut cmd = Command::new("python3");
    cmd.current_dir(dir)
        .arg(&script)
        .arg("--count")
        .arg(count.to_string())
        .arg("--seed")
        .arg(seed.to_string());
    if large {
        cmd.arg("--large");
    }
    cmd.env_remove("PYTHONINTMAXSTRDIGITS")
        .env_remove("PYTHONSTARTUP")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "could not start `python3 {}`: {e}. This differential test needs CPython 3.11+ \
             as `python3` on PATH; it does not skip without it.",
            script.display()
        )
    });

    // Drain stderr on its own thread so a chatty failure cannot block the pipe.
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let stdout = child.stdout.take().expect("piped stdout");
    let reader = BufReader::with_capacity(1 << 20, stdout);
    let mut outcome = Outcome::default();
    let mut out = Vec::new();
    let show = shown_limit();

    for (index, line) in reader.lines().enumerate() {
        let line = line.expect("reading canonical_ref.py output");
        let record: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("canonical_ref.py line {index} is not JSON: {e}"));
        let input = STANDARD
            .decode(record["input"].as_str().expect("\"input\" field"))
            .expect("\"input\" is base64");
        let expected = match (record.get("expected"), record.get("error")) {
            (Some(exp), None) => Ok(STANDARD
                .decode(exp.as_str().expect("\"expected\" is a string"))
                .expect("\"expected\" is base64")),
            (None, Some(err)) => Err(err.as_str().expect("\"error\" is a string").to_owned()),
            _ => panic!("canonical_ref.py line {index} has neither or both of expected/error"),
        };

        outcome.checked += 1;
        outcome.input_bytes += input.len();
        if input.len() >= 8 * 1024 {
            outcome.at_least_8k += 1;
        }
        match expected {
            Ok(_) => outcome.valid += 1,
            Err(_) => outcome.errors += 1,
        }

        out.clear();
        out.extend_from_slice(PREFIX);
        let got = catch_unwind(AssertUnwindSafe(|| {
            edgehook::canonical::canonicalize(&input, &mut out)
        }));

        let problem = match (&expected, got) {
            (_, Err(panic)) => Some(format!(
                "canonicalize PANICKED: {}\n  python: {}",
                panic_message(&panic),
                match &expected {
                    Ok(exp) => format!("ok {}", show_bytes(exp, 0, 300)),
                    Err(e) => format!("error {e}"),
                }
            )),
            (Ok(exp), Ok(Ok(()))) => {
                if !out.starts_with(PREFIX) {
                    Some(format!(
                        "output buffer's existing contents were not kept (appended?): \
                         buffer starts {}",
                        show_bytes(&out, 0, 100)
                    ))
                } else if &out[PREFIX.len()..] != exp.as_slice() {
                    Some(describe_output_diff(exp, &out[PREFIX.len()..]))
                } else {
                    None
                }
            }
            // Deeper than the one nesting limit: refused by design (CPython goes to ~990).
            (Ok(_), Ok(Err(e)))
                if e.what == edgehook::canonical::TOO_DEEP
                    && edgehook::nesting::exceeds(&input, edgehook::nesting::MAX_DEPTH) =>
            {
                outcome.too_deep += 1;
                None
            }
            (Ok(exp), Ok(Err(e))) => Some(format!(
                "python accepts it, Rust returned Err({e})\n  python: {}",
                show_bytes(exp, 0, 300)
            )),
            (Err(_), Ok(Err(_))) => None,
            (Err(py), Ok(Ok(()))) => Some(format!(
                "python raises {py}\n  Rust returned Ok: {}",
                show_bytes(&out[PREFIX.len().min(out.len())..], 0, 300)
            )),
        };

        if let Some(what) = problem {
            outcome.mismatches += 1;
            if outcome.shown.len() < show {
                outcome.shown.push(Mismatch { index, input, what });
            }
        }
    }

    let status = child.wait().expect("waiting for python3");
    let stderr_text = stderr_thread.join().unwrap_or_default();
    assert!(
        status.success(),
        "`python3 tests/canonical_ref.py --count {count} --seed {seed}{}` failed ({status}):\n{stderr_text}",
        if large { " --large" } else { "" }
    );
    assert_eq!(
        outcome.checked, count,
        "canonical_ref.py printed {} documents, asked for {count}",
        outcome.checked
    );

    println!(
        "seed {seed}: {} documents ({} bytes), {} valid, {} python errors, {} deeper than \
         the limit, {} mismatches",
        outcome.checked,
        outcome.input_bytes,
        outcome.valid,
        outcome.errors,
        outcome.too_deep,
        outcome.mismatches
    );
    outcome
}

/// Fails with every mismatch counted and the first ones shown in full.
fn assert_no_mismatches(o: &Outcome, seed: u64) {
    if o.mismatches == 0 {
        return;
    }
    let mut msg = format!(
        "{} of {} documents (seed {seed}) differ from CPython; the first {}:\n",
        o.mismatches,
        o.checked,
        o.shown.len()
    );
    for m in &o.shown {
        let _ = writeln!(
            msg,
            "\n--- document #{} ({} bytes)\n  input: {}\n  {}",
            m.index,
            m.input.len(),
            show_bytes(&m.input, 0, 400),
            m.what
        );
    }
    panic!("{msg}");
}

/// Enough documents, and the generator still produces both kinds.
fn assert_mix(o: &Outcome, min_checked: usize) {
    assert!(
        o.checked >= min_checked,
        "only {} documents checked (want >= {min_checked})",
        o.checked
    );
    assert!(
        o.errors * 100 >= o.checked * 5,
        "only {} of {} documents are python errors (want >= 5%): the generator degraded",
        o.errors,
        o.checked
    );
    assert!(
        o.valid * 100 >= o.checked * 80,
        "only {} of {} documents are valid (want >= 80%): the generator degraded",
        o.valid,
        o.checked
    );
}

/// `bytes[from..]`, at most `max` bytes, lossily decoded and escaped, on one line.
fn show_bytes(bytes: &[u8], from: usize, max: usize) -> String {
    let from = from.min(bytes.len());
    let end = (from + max).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[from..end]);
    let mut s = format!("{:?}", text);
    if from > 0 {
        s.insert_str(0, "...");
    }
    if end < bytes.len() {
        let _ = write!(s, "... ({} more bytes)", bytes.len() - end);
    }
    s
}

/// Where two outputs first differ, with some context from each.
fn describe_output_diff(expected: &[u8], got: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    let from = at.saturating_sub(60);
    format!(
        "outputs differ at byte {at} (python {} bytes, Rust {} bytes)\n  python: {}\n  rust:   {}",
        expected.len(),
        got.len(),
        show_bytes(expected, from, 200),
        show_bytes(got, from, 200)
    )
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

#[test]
fn matches_cpython_on_generated_documents() {
    const SEED: u64 = 20_240_611;
    let outcome = run_differential(SEED, 12_000, false);
    assert_mix(&outcome, 10_000);
    assert_no_mismatches(&outcome, SEED);
}

/// 3000 documents of 8-64 KB each (a few invalid ones are cut short).
#[test]
fn matches_cpython_on_large_documents() {
    const SEED: u64 = 77_031;
    let outcome = run_differential(SEED, 3_000, true);
    assert_mix(&outcome, 3_000);
    assert!(
        outcome.at_least_8k * 100 >= outcome.checked * 90,
        "only {} of {} documents are 8 KB or more",
        outcome.at_least_8k,
        outcome.checked
    );
    assert_no_mismatches(&outcome, SEED);
}
