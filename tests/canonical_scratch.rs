//! How much scratch memory the canonical pass takes for the worst shapes of body: at most
//! 4× the body (and 4 KB for the containers open at once, which only shows on a body of a
//! few hundred bytes), measured two ways. A counting global allocator (`cap`, in this test binary
//! only) refuses, while the pass runs, any allocation past 4× the body, so no moment of it
//! goes over (a refused allocation aborts this binary); and the bytes it holds afterwards
//! are counted and compared with what the canonicalizer reports for its buffers.
//!
//! One test function, so nothing else allocates while a body is measured.

use std::alloc::System;

use cap::Cap;
use edgehook::canonical::{Canonicalizer, ScratchBytes, MAX_DEPTH};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// About 1 MB: large enough that the buffers' first few allocations do not count.
const SIZE: usize = 1 << 20;

/// `open` + `item` repeated (separated by `sep`) up to about `SIZE` bytes + `close`.
fn repeat(open: &str, item: impl Fn(usize) -> String, sep: &str, close: &str) -> Vec<u8> {
    let mut s = String::from(open);
    let mut i = 0;
    while s.len() < SIZE {
        if i > 0 {
            s.push_str(sep);
        }
        s.push_str(&item(i));
        i += 1;
    }
    s.push_str(close);
    s.into_bytes()
}

/// The `i`-th shortest key: `a`..`z`, then `aa`, `ab`, … (distinct, and in `i` order
/// sorted by code point only within one length).
fn key(mut i: usize) -> String {
    let mut k = Vec::new();
    loop {
        k.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
        i -= 1;
    }
    k.reverse();
    String::from_utf8(k).unwrap()
}

/// An unsorted chain of objects `MAX_DEPTH` deep: `{"b":0,"a":{"b":0,"a":…0…}}`.
fn unsorted_chain() -> String {
    let d = MAX_DEPTH - 1;
    "{\"b\":0,\"a\":".repeat(d) + "0" + &"}".repeat(d)
}

fn shapes() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("[0,0,0,...]", repeat("[", |_| "0".into(), ",", "]")),
        ("[0, 0, 0, ...]", repeat("[", |_| "0".into(), ", ", "]")),
        ("{\"a\":0,\"b\":0,...} (sorted)", {
            let mut keys: Vec<String> = (0..SIZE / 8).map(key).collect();
            keys.sort();
            keys.dedup();
            repeat("{", |i| format!("\"{}\":0", keys[i]), ",", "}")
        }),
        (
            "{\"a\":0,\"b\":0,...} (unsorted)",
            repeat("{", |i| format!("\"{}\":0", key(SIZE / 8 - i)), ",", "}"),
        ),
        (
            "{\"a\":0,\"a\":0,...} (one key repeated)",
            repeat("{", |_| "\"a\":0".into(), ",", "}"),
        ),
        (
            "{\"b\":0,\"a\":0,\"b\":0,...} (two keys repeated)",
            repeat("{", |i| format!("\"{}\":0", ["b", "a"][i % 2]), ",", "}"),
        ),
        (
            "[[[...0...]]] one deep chain",
            ("[".repeat(MAX_DEPTH) + "0" + &"]".repeat(MAX_DEPTH)).into_bytes(),
        ),
        (
            "[[[[...0...]]], ...] deep arrays",
            repeat(
                "[",
                |_| "[".repeat(MAX_DEPTH - 1) + "0" + &"]".repeat(MAX_DEPTH - 1),
                ",",
                "]",
            ),
        ),
        (
            "[{\"b\":0,\"a\":{...}}, ...] deep unsorted objects",
            repeat("[", |_| unsorted_chain(), ",", "]"),
        ),
        (
            "[{\"b\":0,\"a\":0}, ...] small unsorted objects",
            repeat("[", |_| "{\"b\":0,\"a\":0}".into(), ",", "]"),
        ),
        (
            "[\"\u{e9}\", ...] strings to escape",
            repeat("[", |_| "\"\u{e9}\"".into(), ",", "]"),
        ),
        (
            "[1e15, -0, ...] numbers to rewrite",
            repeat("[", |i| ["1e15", "-0"][i % 2].into(), ",", "]"),
        ),
    ]
}

/// 4× the body, and 4 KB for the containers open at once (at most `MAX_DEPTH`, a node
/// each, however small the body).
fn limit(body: &[u8]) -> usize {
    4 * body.len() + 4096
}

/// Canonicalizes `body` with a fresh canonicalizer; returns the bytes it then holds. With
/// `limit`, any allocation that would take it past `limit` bytes fails (and aborts).
fn scratch(name: &str, body: &[u8], limit: Option<usize>) -> (usize, ScratchBytes) {
    let mut c = Canonicalizer::default();
    let mut out = Vec::with_capacity(body.len() * 8);
    let before = ALLOCATOR.allocated();
    if let Some(limit) = limit {
        ALLOCATOR.set_limit(before + limit).unwrap();
    }
    let result = c.canonicalize(body, &mut out);
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    result.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!out.is_empty(), "{name}");
    (ALLOCATOR.allocated() - before, c.scratch_bytes())
}

#[test]
fn scratch_is_at_most_four_times_the_body() {
    let shapes = shapes();
    let mut report = String::new();
    let mut over = Vec::new();
    for (name, body) in &shapes {
        let (held, reported) = scratch(name, body, None);
        let ratio = held as f64 / body.len() as f64;
        report.push_str(&format!(
            "{name:<50} {:>8} B body, {:>8} B scratch = {ratio:.2}x \
             (tape {}, members {}, other {})\n",
            body.len(),
            held,
            reported.tape,
            reported.members,
            reported.other
        ));
        assert_eq!(
            held,
            reported.total(),
            "{name}: the allocator and the buffers disagree"
        );
        if held > limit(body) {
            over.push(*name);
        }
    }
    println!("{report}");
    assert!(
        over.is_empty(),
        "over 4x the body + 4 KB: {over:?}\n{report}"
    );
    // No moment of the pass goes over either: any allocation past 4x would fail.
    for (name, body) in &shapes {
        scratch(name, body, Some(limit(body)));
    }
}
