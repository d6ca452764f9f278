//! CPython-exact canonical JSON, in one pass over the bytes and one over a compact index.
//!
//! Browser Use signs `json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)`.
//! [`canonicalize`] prints exactly that without building a JSON value. The parse reads the
//! input once into a flat index; the print walks the index in key order. The index holds
//! only what the input's own order cannot give: objects whose keys are out of order or
//! repeated, and the containers around them. Everything else is a *piece*, a range of the
//! input printed as it stands (compact text that is already canonical) or rewritten on the
//! way out (whitespace dropped, strings escaped as `ensure_ascii` does, floats in `repr`
//! form). A whole subtree without such an object is one piece, and so is a run of such
//! values in an array. Nothing goes through `f64` but floats (which CPython parses to a
//! double too), so integers of any length stay exact.
//!
//! No crate does this: serde_json and friends print floats the JavaScript way (`1e-7`,
//! `10000000000000000`), escape differently, and lose big integers or key order.
//!
//! What CPython does, and so what this does:
//! - keys sorted by code point, the last of duplicate keys winning;
//! - `ensure_ascii`: everything outside 0x20..=0x7E escaped, as `\"`, `\\`, `\b`, `\f`,
//!   `\n`, `\r`, `\t` or lowercase `\uXXXX`; astral characters as surrogate pairs; lone
//!   surrogates (from `\ud800` escapes or surrogatepass UTF-8) kept as `\ud800`;
//! - floats in `repr` form (`1.0`, `1e-07`, `1e+16`, `1000000000000000.0`, `-0.0`), floats
//!   that overflow as `Infinity`; the literals `NaN`, `Infinity`, `-Infinity` accepted;
//! - integers kept digit for digit (`-0` prints `0`), refused past 4300 digits as CPython
//!   3.11 does;
//! - a leading UTF-8 byte order mark skipped (`json.loads` on bytes decodes with
//!   `utf-8-sig`); invalid UTF-8, control characters in strings and trailing data refused.
//!
//! Scratch memory: positions are `u32`, an index node 8 bytes, an object member 16; the
//! buffers grow no further than the rest of the input could need. A 1 MB body of the worst
//! shapes (`[0,0,…]`, `{"a":0,"a":0,…}`, unsorted keys, deep nesting) takes at most 4× its
//! size in scratch (`tests/canonical_scratch.rs` measures it).

use std::cmp::Ordering;
use std::ops::Range;

/// Deepest nesting accepted: the one limit for every provider's body
/// ([`crate::nesting::MAX_DEPTH`]), far under what a Worker's stack holds.
pub const MAX_DEPTH: usize = crate::nesting::MAX_DEPTH;

/// The [`CanonicalError::what`] of a body nested deeper than [`MAX_DEPTH`].
pub const TOO_DEEP: &str = "nesting too deep";

/// Largest input the index can address: its positions are `u32`, under 2^31 so that the
/// top half of a node's first number can tag containers. A Worker's body is far smaller.
pub const MAX_INPUT: usize = (1 << 31) - 1;

/// CPython 3.11's `sys.get_int_max_str_digits()` default: `int()` of a longer digit string
/// raises, so Browser Use's own verifier cannot accept such a body either.
pub const MAX_INT_DIGITS: usize = 4300;

/// Why a body is not JSON that CPython's `json.loads` accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}")]
pub struct CanonicalError {
    /// What was wrong, in the words of CPython's `JSONDecodeError` where it has them.
    pub what: &'static str,
    /// Byte offset into the input.
    pub offset: usize,
}

/// Appends to `out` what CPython prints for
/// `json.dumps(json.loads(input), separators=(",", ":"), sort_keys=True)`.
///
/// On error `out` is left as it was.
pub fn canonicalize(input: &[u8], out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    Canonicalizer::default().canonicalize(input, out)
}

/// Reusable scratch space for [`canonicalize`]: keeps its buffers between calls so a hot
/// path allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Canonicalizer {
    /// The index: containers that are not pieces, each followed by its values' nodes.
    tape: Vec<Node>,
    /// Object members: the members of closed objects in key order from the front, the
    /// members of the objects still open in input order from the back (see [`Members`]).
    members: Members,
    /// Formatting space for floats, and decoded keys while capturing.
    num: Vec<u8>,
    /// A small closing object's members, and their keys' prefixes packed with their
    /// indexes: at most [`SMALL`] entries each.
    small: Vec<Member>,
    order: Vec<u128>,
    /// The keys leading to the object being read, while that is shallow enough to capture.
    path: Vec<KeyRef>,
}

/// Scratch capacity in bytes, by buffer: what a parse left allocated, for measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScratchBytes {
    pub tape: usize,
    pub members: usize,
    pub other: usize,
}

impl ScratchBytes {
    /// All of it.
    pub fn total(&self) -> usize {
        self.tape + self.members + self.other
    }
}

/// How deep [`Canonicalizer::canonicalize_capturing`] looks: top-level members and the
/// members of top-level objects.
pub const MAX_CAPTURE_DEPTH: usize = 2;

/// What a canonicalization learned besides its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// False when the input used CPython's `NaN`/`Infinity` literals, which RFC 8259 JSON
    /// does not have; otherwise the input is standard JSON text.
    pub standard_json: bool,
}

/// One 8-byte index node, `(a, b)`:
/// - `a < b`: a piece, `input[a..b]`, already canonical;
/// - `b < a < OBJECT`: a piece, `input[b..a]`, printed through [`Printer::rewrite`];
/// - `a == ARRAY`: an array of `b` nodes (pieces or containers), which follow it;
/// - `OBJECT <= a < SKIP`: an object of `a - OBJECT` members, starting at `b` in the
///   members buffer; the containers among its values follow it;
/// - `a == SKIP`: the value of a repeated key that a later one replaced, whose nodes end
///   before tape index `b`: passed over;
/// - `a == REF` (only as a member's value): the container at tape index `b`.
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    a: u32,
    b: u32,
}

const OBJECT: u32 = 1 << 31;
const SKIP: u32 = u32::MAX - 2;
const REF: u32 = u32::MAX - 1;
const ARRAY: u32 = u32::MAX;

/// Past the nodes of replaced values at tape index `j`.
#[inline(always)]
fn skip_dead(tape: &[Node], mut j: usize) -> usize {
    while tape.get(j).is_some_and(|n| n.a == SKIP) {
        j = tape[j].b as usize;
    }
    j
}

/// The tape index after the value at `i` and its nodes, without printing it; what is never
/// printed is checked here instead (see [`check_piece`]), the first problem kept in `bad`.
fn skip(
    tape: &[Node],
    ctx: (&[Member], &[u8]),
    i: usize,
    bad: &mut Option<CanonicalError>,
) -> usize {
    let (members, src) = ctx;
    let n = tape[i];
    match n.a {
        SKIP => n.b as usize,
        ARRAY => {
            let mut j = i + 1;
            for _ in 0..n.b {
                j = skip_dead(tape, j);
                j = if tape[j].a >= OBJECT {
                    skip(tape, ctx, j, bad)
                } else {
                    check_piece(src, tape[j], bad);
                    j + 1
                };
            }
            j
        }
        a if a >= OBJECT => {
            let first = n.b as usize;
            let count = (a - OBJECT) as usize;
            let mut end = i + 1;
            for m in &members[first..first + count] {
                if m.value.a == REF {
                    end = end.max(skip(tape, ctx, m.value.b as usize, bad));
                } else {
                    check_piece(src, m.value, bad);
                }
            }
            skip_dead(tape, end)
        }
        _ => {
            check_piece(src, n, bad);
            i + 1
        }
    }
}

/// Checks the UTF-8 of a piece that will not be printed (a replaced value): strings are
/// checked where they are decoded, when printed, so one never printed is checked here.
/// A piece printed as it stands is printable ASCII already.
fn check_piece(src: &[u8], n: Node, bad: &mut Option<CanonicalError>) {
    if n.a > n.b && bad.is_none() {
        let (a, b) = (n.b as usize, n.a as usize);
        if std::str::from_utf8(&src[a..b]).is_err() {
            let mut i = a;
            while i < b {
                match utf8_char(src, i) {
                    Ok((_, next)) => i = next,
                    Err(e) => {
                        *bad = Some(e);
                        return;
                    }
                }
            }
        }
    }
}

impl Node {
    fn piece(p: Piece) -> Node {
        if p.verbatim {
            Node {
                a: p.start,
                b: p.end,
            }
        } else {
            Node {
                a: p.end,
                b: p.start,
            }
        }
    }
}

/// A value read as one piece: `input[start..end]`, canonical as it stands when `verbatim`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u32,
    end: u32,
    verbatim: bool,
}

/// A value just read: a piece, or a container on the tape at this index.
#[derive(Debug, Clone, Copy)]
enum Val {
    Piece(Piece),
    Tree(u32),
}

impl Val {
    fn node(self) -> Node {
        match self {
            Val::Piece(p) => Node::piece(p),
            Val::Tree(at) => Node { a: REF, b: at },
        }
    }
}

/// One object member: its key is `input[name + 1..key_end()]` (between its quotes), its
/// value a piece or a [`REF`] node.
#[derive(Debug, Clone, Copy, Default)]
struct Member {
    name: u32,
    /// Where the key's closing quote is, with [`PLAIN_KEY`] set when the key is printable
    /// ASCII without escapes (its own canonical text).
    end: u32,
    value: Node,
}

/// Marks a member whose key prints as it stands (positions are under 2^31).
const PLAIN_KEY: u32 = 1 << 31;

impl Member {
    fn key_end(&self) -> usize {
        (self.end & !PLAIN_KEY) as usize
    }

    fn key<'s>(&self, src: &'s [u8]) -> &'s [u8] {
        &src[self.name as usize + 1..self.key_end()]
    }
}

/// The members of every object, in one buffer used from both ends: closed objects' members
/// in key order fill it from the front; the open objects' members stack up from the back,
/// innermost lowest. When an object closes, its block is sorted where it is and moved to
/// the front. So a member takes its 16 bytes once, and the buffer never holds more than
/// the input has members.
#[derive(Debug, Default)]
struct Members {
    /// Always full (`len() == capacity()`), the gap between the two ends unused.
    buf: Vec<Member>,
    /// End of the closed members.
    front: usize,
    /// Start of the open members.
    back: usize,
}

impl Members {
    fn clear(&mut self) {
        self.front = 0;
        self.back = self.buf.len();
    }

    /// How many open members there are: an object's mark when it opens.
    fn open(&self) -> usize {
        self.buf.len() - self.back
    }

    /// Pushes an open member; `bound` is the most members the whole input can still hold.
    fn push(&mut self, m: Member, bound: usize) {
        if self.back == self.front {
            self.grow(bound);
        }
        self.back -= 1;
        self.buf[self.back] = m;
    }

    fn grow(&mut self, bound: usize) {
        let cap = self.buf.len();
        let open = cap - self.back;
        let new_cap = (cap * 2).max(8).min(bound).max(cap + 1);
        // Grown where it is (a reallocation), then the open end moved to the new end.
        self.buf.reserve_exact(new_cap - cap);
        self.buf.resize(new_cap, Member::default());
        self.buf.copy_within(self.back..cap, new_cap - open);
        self.back = new_cap - open;
    }
}

/// A key, for capturing: where it is in the input and whether it must be decoded.
#[derive(Debug, Clone, Copy)]
struct KeyRef {
    name: u32,
    key_end: u32,
    escaped: bool,
}

impl Canonicalizer {
    /// As [`canonicalize`], reusing this value's buffers.
    pub fn canonicalize(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CanonicalError> {
        self.canonicalize_capturing(input, out, &[], &mut [])
            .map(|_| ())
    }

    /// The scratch this value holds now, in bytes of capacity.
    pub fn scratch_bytes(&self) -> ScratchBytes {
        use std::mem::size_of;
        ScratchBytes {
            tape: self.tape.capacity() * size_of::<Node>(),
            members: self.members.buf.capacity() * size_of::<Member>(),
            other: self.num.capacity()
                + self.path.capacity() * size_of::<KeyRef>()
                + self.small.capacity() * size_of::<Member>()
                + self.order.capacity() * size_of::<u128>(),
        }
    }

    /// As [`canonicalize`], and also finds, in the same pass, the input text of the values
    /// at `paths` (keys from the top, at most [`MAX_CAPTURE_DEPTH`] deep): `found[i]` is
    /// the byte range in `input` of the value at `paths[i]`, as `json.loads` would see it
    /// (the last of duplicate keys wins), or `None`.
    pub fn canonicalize_capturing(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        paths: &[&[&str]],
        found: &mut [Option<Range<usize>>],
    ) -> Result<Scan, CanonicalError> {
        self.tape.clear();
        self.members.clear();
        self.path.clear();
        found.iter_mut().for_each(|f| *f = None);
        if input.len() > MAX_INPUT {
            return Err(CanonicalError {
                what: "input too large to index (4 GiB)",
                offset: 0,
            });
        }
        let pos = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut p = Parser {
            src: input,
            pos,
            st: self,
            paths,
            found,
            standard_json: true,
        };
        p.skip_ws();
        let root = p.value(0)?;
        p.skip_ws();
        if p.pos != p.src.len() {
            return Err(p.err("Extra data"));
        }
        let standard_json = p.standard_json;
        let mut printer = Printer {
            src: input,
            tape: &self.tape,
            members: &self.members.buf,
            num: &mut self.num,
            bad: None,
        };
        out.reserve(input.len() + BLOCK);
        let len = out.len();
        match root {
            Val::Piece(piece) => printer.piece(out, Node::piece(piece)),
            Val::Tree(at) => {
                printer.value(out, at as usize);
            }
        }
        if let Some(e) = printer.bad {
            out.truncate(len);
            return Err(e);
        }
        Ok(Scan { standard_json })
    }
}

/// The index a parse built, printed in key order.
struct Printer<'a> {
    src: &'a [u8],
    tape: &'a [Node],
    members: &'a [Member],
    num: &'a mut Vec<u8>,
    /// Invalid UTF-8 met in a string: the input is refused after all.
    bad: Option<CanonicalError>,
}

impl Printer<'_> {
    /// Appends a piece's canonical text.
    #[inline(always)]
    fn piece(&mut self, out: &mut Vec<u8>, n: Node) {
        let (a, b) = (n.b as usize, n.a as usize);
        if n.a < n.b {
            copy(out, self.src, n.a as usize, n.b as usize);
        } else if self.src[a] == b'"' {
            // Mostly a string to escape: straight to it.
            let end = print_string(out, self.src, a + 1, &mut self.bad);
            if end < b {
                self.rewrite(out, end, b);
            }
        } else {
            self.rewrite(out, a, b);
        }
    }

    /// Appends a piece that is one value (a member's): a number to rewrite is one whole,
    /// so it needs no lexing again.
    #[inline(always)]
    fn value_piece(&mut self, out: &mut Vec<u8>, n: Node) {
        let (a, b) = (n.b as usize, n.a as usize);
        match self.src[a] {
            b'-' | b'0'..=b'9' if n.a > n.b => {
                let form = if &self.src[a..b] == b"-0" {
                    NumForm::NegativeZero
                } else {
                    NumForm::Float
                };
                self.number(out, a, b, form);
            }
            _ => self.piece(out, n),
        }
    }

    /// Appends the canonical text of the node at tape index `i`; returns the index after
    /// it and its values.
    fn value(&mut self, out: &mut Vec<u8>, i: usize) -> usize {
        let n = self.tape[i];
        match n.a {
            ARRAY => {
                out.push(b'[');
                let mut next = i + 1;
                for k in 0..n.b {
                    if k > 0 {
                        out.push(b',');
                    }
                    next = skip_dead(self.tape, next);
                    let child = self.tape[next];
                    if child.a >= OBJECT {
                        next = self.value(out, next);
                    } else {
                        self.piece(out, child);
                        next += 1;
                    }
                }
                out.push(b']');
                next
            }
            a if a >= OBJECT => {
                let first = n.b as usize;
                let mut end = i + 1;
                out.push(b'{');
                for k in 0..(a - OBJECT) as usize {
                    let m = self.members[first + k];
                    if k > 0 {
                        out.push(b',');
                    }
                    self.name(out, m);
                    out.push(b':');
                    if m.value.a == REF {
                        end = end.max(self.value(out, m.value.b as usize));
                    } else {
                        self.value_piece(out, m.value);
                    }
                }
                out.push(b'}');
                skip_dead(self.tape, end)
            }
            _ => {
                self.piece(out, n);
                i + 1
            }
        }
    }

    /// A member's key, quoted and escaped.
    #[inline(always)]
    fn name(&mut self, out: &mut Vec<u8>, m: Member) {
        let (a, b) = (m.name as usize, m.key_end() + 1);
        if m.end & PLAIN_KEY != 0 {
            copy(out, self.src, a, b);
        } else {
            print_string(out, self.src, a + 1, &mut self.bad);
        }
    }

    /// Appends the canonical text of `src[a..b]`, a run of values (and the commas between
    /// them) that are in canonical order: whitespace dropped, strings escaped, numbers in
    /// CPython's form. The parse checked it; this only rewrites.
    #[inline(never)]
    fn rewrite(&mut self, out: &mut Vec<u8>, a: usize, b: usize) {
        let s = self.src;
        let mut i = a;
        while i < b {
            match s[i] {
                b' ' | b'\t' | b'\n' | b'\r' => i = ws_end(s, i),
                b'"' => i = print_string(out, s, i + 1, &mut self.bad),
                b'-' if s.get(i + 1) == Some(&b'I') => {
                    out.extend_from_slice(b"-Infinity");
                    i += 9;
                }
                b'-' | b'0'..=b'9' => {
                    // Checked by the parse: it lexes as it did there.
                    let (end, form) = lex_number(s, i).unwrap_or((b, NumForm::Own));
                    self.number(out, i, end, form);
                    i = end;
                }
                b'n' | b't' | b'f' | b'N' | b'I' => {
                    let len = match s[i] {
                        b'n' | b't' => 4,
                        b'f' => 5,
                        b'N' => 3,
                        _ => 8,
                    };
                    out.extend_from_slice(&s[i..i + len]);
                    i += len;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    /// Appends the canonical form of the number `src[a..b]`.
    fn number(&mut self, out: &mut Vec<u8>, a: usize, b: usize, form: NumForm) {
        match form {
            NumForm::Own => out.extend_from_slice(&self.src[a..b]),
            NumForm::NegativeZero => out.push(b'0'),
            NumForm::Float => {
                // ASCII by construction; Rust's parse rounds correctly, as CPython's
                // float() does, and overflows to infinity the same way.
                let text = std::str::from_utf8(&self.src[a..b]).unwrap_or_default();
                let x: f64 = text.parse().unwrap_or(f64::NAN);
                push_float_repr(out, self.num, x);
            }
        }
    }
}

/// Appends the canonical text of the string whose first byte after the opening quote is
/// at `src[at]` (checked by the parse); returns the position after its closing quote.
fn print_string(
    out: &mut Vec<u8>,
    src: &[u8],
    at: usize,
    bad: &mut Option<CanonicalError>,
) -> usize {
    out.push(b'"');
    let mut i = at;
    loop {
        let run = plain_len(&src[i..]);
        copy(out, src, i, i + run);
        i += run;
        match src.get(i) {
            None => return i,
            Some(b'"') => {
                out.push(b'"');
                return i + 1;
            }
            Some(b'\\') => {
                let (cp, next) = escape(src, i).unwrap_or((0xFFFD, i + 2));
                emit(out, cp);
                i = next;
            }
            Some(_) => {
                // Checked here, where it is decoded, rather than in the parse as well.
                let (cp, next) = utf8_char(src, i).unwrap_or_else(|e| {
                    bad.get_or_insert(e);
                    (0xFFFD, i + 1)
                });
                emit(out, cp);
                i = next;
            }
        }
    }
}

/// Writes one code point as CPython's `ensure_ascii` encoder does.
#[inline(always)]
fn emit(out: &mut Vec<u8>, cp: u32) {
    match cp {
        0x22 => out.extend_from_slice(b"\\\""),
        0x5C => out.extend_from_slice(b"\\\\"),
        0x0A => out.extend_from_slice(b"\\n"),
        0x0D => out.extend_from_slice(b"\\r"),
        0x09 => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0C => out.extend_from_slice(b"\\f"),
        0x20..=0x7E => out.push(cp as u8),
        0x10000.. => {
            let v = cp - 0x10000;
            push_u_escape(out, 0xD800 | (v >> 10));
            push_u_escape(out, 0xDC00 | (v & 0x3FF));
        }
        _ => push_u_escape(out, cp),
    }
}

/// Decodes the backslash escape at `src[at]`; `\uD83D\uDE00` pairs become one code point.
/// Returns the code point and the position after the escape.
fn escape(src: &[u8], at: usize) -> Result<(u32, usize), CanonicalError> {
    let bad = |what, offset| CanonicalError { what, offset };
    let Some(&c) = src.get(at + 1) else {
        return Err(bad("Unterminated string", at + 1));
    };
    let cp = match c {
        b'"' => 0x22,
        b'\\' => 0x5C,
        b'/' => 0x2F,
        b'b' => 0x08,
        b'f' => 0x0C,
        b'n' => 0x0A,
        b'r' => 0x0D,
        b't' => 0x09,
        b'u' => {
            let hi = hex4(src, at + 2)?;
            if (0xD800..0xDC00).contains(&hi) && src[at + 6..].starts_with(b"\\u") {
                if let Ok(lo) = hex4(src, at + 8) {
                    if (0xDC00..0xE000).contains(&lo) {
                        return Ok((0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), at + 12));
                    }
                }
            }
            return Ok((hi, at + 6));
        }
        _ => return Err(bad("Invalid \\escape", at)),
    };
    Ok((cp, at + 2))
}

fn hex4(src: &[u8], at: usize) -> Result<u32, CanonicalError> {
    let bad = CanonicalError {
        what: "Invalid \\uXXXX escape",
        offset: at,
    };
    let digits = src.get(at..at + 4).ok_or(bad.clone())?;
    let mut v = 0u32;
    for &d in digits {
        let n = (d as char).to_digit(16).ok_or(bad.clone())?;
        v = v << 4 | n;
    }
    Ok(v)
}

/// Decodes the UTF-8 sequence at `src[at]` as CPython's `utf-8` codec with `surrogatepass`
/// does: strict UTF-8, except that encoded surrogates (ED A0..BF xx) are accepted.
/// Returns the code point and the position after it.
fn utf8_char(src: &[u8], at: usize) -> Result<(u32, usize), CanonicalError> {
    let s = &src[at..];
    let bad = || CanonicalError {
        what: "invalid UTF-8",
        offset: at,
    };
    let cont = |i: usize| match s.get(i) {
        Some(&b) if b & 0xC0 == 0x80 => Ok(u32::from(b & 0x3F)),
        _ => Err(bad()),
    };
    let (cp, len) = match s[0] {
        0x00..=0x7F => (u32::from(s[0]), 1),
        0xC2..=0xDF => (u32::from(s[0] & 0x1F) << 6 | cont(1)?, 2),
        0xE0..=0xEF => {
            let cp = u32::from(s[0] & 0x0F) << 12 | cont(1)? << 6 | cont(2)?;
            if cp < 0x800 {
                return Err(bad());
            }
            (cp, 3)
        }
        0xF0..=0xF4 => {
            let cp = u32::from(s[0] & 0x07) << 18 | cont(1)? << 12 | cont(2)? << 6 | cont(3)?;
            if !(0x10000..=0x10FFFF).contains(&cp) {
                return Err(bad());
            }
            (cp, 4)
        }
        _ => return Err(bad()),
    };
    Ok((cp, at + len))
}

/// The code points of the key between its quotes, `src[a..b]` (checked by the parse).
fn key_chars(src: &[u8], a: usize, b: usize) -> impl Iterator<Item = u32> + '_ {
    let mut i = a;
    std::iter::from_fn(move || {
        if i >= b {
            return None;
        }
        let (cp, next) = match src[i] {
            b'\\' => escape(src, i).ok()?,
            c if c < 0x80 => (u32::from(c), i + 1),
            _ => utf8_char(src, i).ok()?,
        };
        i = next;
        Some(cp)
    })
}

/// Orders two members' keys by code point. Keys without escapes compare as their bytes
/// (UTF-8, and surrogatepass bytes, order as code points do), first by their leading eight.
#[inline(always)]
fn cmp_keys(src: &[u8], x: &Member, y: &Member, escaped: bool) -> Ordering {
    let (xa, xb) = (x.name as usize + 1, x.key_end());
    let (ya, yb) = (y.name as usize + 1, y.key_end());
    if escaped {
        return key_chars(src, xa, xb).cmp(key_chars(src, ya, yb));
    }
    key_prefix(src, xa, xb)
        .cmp(&key_prefix(src, ya, yb))
        .then_with(|| src[xa..xb].cmp(&src[ya..yb]))
}

/// Where the whitespace starting at `s[i]` ends.
#[inline(always)]
fn ws_end(s: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = s.get(i) {
        i += 1;
        // Indentation comes in runs of spaces: skip them a word at a time.
        while let Some(word) = s.get(i..i + 8) {
            let other = word_u64(word) ^ SPACES;
            if other != 0 {
                i += other.trailing_zeros() as usize / 8;
                break;
            }
            i += 8;
        }
    }
    i
}

/// Objects of at most this many members are sorted as numbers (see
/// [`Parser::place_members`]); their scratch is this many entries at most.
const SMALL: usize = 32;

/// Appends member `m` at `front` of the closed members, or, when a later member with the
/// same key `replaced` it, drops it and marks its value's nodes (if a container) passed over.
#[inline(always)]
fn place(
    tape: &mut [Node],
    (buf, src): (&mut [Member], &[u8]),
    front: &mut usize,
    (m, replaced): (Member, bool),
    bad: &mut Option<CanonicalError>,
) {
    if !replaced {
        buf[*front] = m;
        *front += 1;
    } else if m.value.a == REF {
        let end = skip(tape, (buf, src), m.value.b as usize, bad);
        tape[m.value.b as usize] = Node {
            a: SKIP,
            b: end as u32,
        };
    } else {
        check_piece(src, m.value, bad);
    }
}

/// How a number prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumForm {
    /// As it stands.
    Own,
    /// `-0`, which prints `0`.
    NegativeZero,
    /// A float to print in `repr` form.
    Float,
}

/// Lexes the number at `s[start]` as CPython's scanner does; returns its end and how it
/// prints, or what is wrong.
fn lex_number(s: &[u8], start: usize) -> Result<(usize, NumForm), &'static str> {
    let digits = |from: usize| from + s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int_start = start + usize::from(s[start] == b'-');
    let int_end = match s.get(int_start) {
        Some(b'0') => int_start + 1,
        Some(b'1'..=b'9') => digits(int_start + 1),
        _ => return Err("Expecting value"),
    };
    // A '.' or 'e' not followed by digits is not part of the number (CPython backtracks);
    // what follows is then unexpected and refused by the caller.
    let mut end = int_end;
    let mut frac = None;
    if s.get(end) == Some(&b'.') && s.get(end + 1).is_some_and(u8::is_ascii_digit) {
        let frac_end = digits(end + 1);
        frac = Some(&s[end + 1..frac_end]);
        end = frac_end;
    }
    let mut exponent = None;
    if let Some(b'e' | b'E') = s.get(end) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits(end + 1 + sign);
        if exp_end > end + 1 + sign {
            exponent = Some(&s[end..exp_end]);
            end = exp_end;
        }
    }
    let int = &s[int_start..int_end];
    let form = match (frac, exponent) {
        (None, None) => {
            if int.len() > MAX_INT_DIGITS {
                return Err("integer has more digits than CPython's limit of 4300");
            }
            if int == b"0" && int_start > start {
                NumForm::NegativeZero
            } else {
                NumForm::Own
            }
        }
        (Some(frac), None) if is_own_repr(int, frac) => NumForm::Own,
        (frac, Some(exponent)) if is_own_scientific_repr(int, frac, exponent) => NumForm::Own,
        _ => NumForm::Float,
    };
    Ok((end, form))
}

/// How many bytes [`copy`] moves at once.
const BLOCK: usize = 16;

/// Appends `text[a..b]` to `out`. Most pieces are short: those are copied as one whole
/// block (a fixed-size move; a `memcpy` call costs more than a few bytes' copy) and the
/// bytes past the piece taken back.
#[inline(always)]
fn copy(out: &mut Vec<u8>, text: &[u8], a: usize, b: usize) {
    match text.get(a..a + BLOCK) {
        Some(block) if b - a <= BLOCK => {
            let len = out.len();
            let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[0; BLOCK]);
            out.extend_from_slice(block);
            out.truncate(len + b - a);
        }
        _ => out.extend_from_slice(&text[a..b]),
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    st: &'a mut Canonicalizer,
    paths: &'a [&'a [&'a str]],
    found: &'a mut [Option<Range<usize>>],
    standard_json: bool,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> CanonicalError {
        CanonicalError {
            what,
            offset: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// Skips whitespace; says whether there was any.
    #[inline(always)]
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        self.pos = ws_end(self.src, start);
        self.pos != start
    }

    /// Consumes `lit` if the input continues with it.
    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.src[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// Pushes a node on the tape, growing it by half, and no further than the rest of the
    /// input could need (a node stands for at least two bytes of input).
    #[inline(always)]
    fn push_node(&mut self, n: Node) {
        let tape = &mut self.st.tape;
        if tape.len() == tape.capacity() {
            let bound = tape.len() + (self.src.len() - self.pos) / 2 + 2;
            let want = (tape.len() * 3 / 2).max(16).min(bound).max(tape.len() + 1);
            tape.reserve_exact(want - tape.len());
        }
        tape.push(n);
    }

    /// Reads one value. Inlined where values are read: most are scalars, read there
    /// without a call; the containers are the calls (and the recursion).
    #[inline(always)]
    fn value(&mut self, depth: usize) -> Result<Val, CanonicalError> {
        let start = self.pos;
        let verbatim = match self.peek() {
            Some(b'{') => return self.object(depth + 1),
            Some(b'[') => return self.array(depth + 1),
            Some(b'"') => {
                self.pos += 1;
                self.string(None)?
            }
            Some(b'-' | b'0'..=b'9') if !self.src[self.pos..].starts_with(b"-Infinity") => {
                self.number()?
            }
            _ => self.literal()?,
        };
        Ok(Val::Piece(Piece {
            start: start as u32,
            end: self.pos as u32,
            verbatim,
        }))
    }

    /// `null`, `true`, `false`, and CPython's `NaN`, `Infinity` and `-Infinity`.
    fn literal(&mut self) -> Result<bool, CanonicalError> {
        let lit: &[u8] = match self.peek() {
            Some(b'n') => b"null",
            Some(b't') => b"true",
            Some(b'f') => b"false",
            Some(b'N') => b"NaN",
            Some(b'I') => b"Infinity",
            Some(b'-') => b"-Infinity",
            _ => return Err(self.err("Expecting value")),
        };
        if !self.eat(lit) {
            return Err(self.err("Expecting value"));
        }
        self.standard_json &= lit[0].is_ascii_lowercase();
        Ok(true)
    }

    /// Reads a number; says whether it prints as it stands.
    fn number(&mut self) -> Result<bool, CanonicalError> {
        let (end, form) = lex_number(self.src, self.pos).map_err(|what| self.err(what))?;
        self.pos = end;
        Ok(form == NumForm::Own)
    }

    #[inline(never)]
    fn array(&mut self, depth: usize) -> Result<Val, CanonicalError> {
        if depth > MAX_DEPTH {
            return Err(self.err(TOO_DEEP));
        }
        let start = self.pos;
        self.pos += 1;
        let at = self.st.tape.len();
        self.push_node(Node { a: ARRAY, b: 0 });
        let mut verbatim = !self.skip_ws();
        let mut simple = true;
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            let mut nodes = 0;
            // The piece on top of the tape, when the last value was one: the next piece
            // joins it, so a run of them is one node.
            let mut run: Option<Piece> = None;
            loop {
                match self.value(depth)? {
                    Val::Piece(p) => {
                        verbatim &= p.verbatim;
                        match run {
                            Some(r) => {
                                // Joined across the comma (and any whitespace) between.
                                let joined = Piece {
                                    start: r.start,
                                    end: p.end,
                                    verbatim: r.verbatim && p.verbatim && p.start == r.end + 1,
                                };
                                let top = self.st.tape.len() - 1;
                                self.st.tape[top] = Node::piece(joined);
                                run = Some(joined);
                            }
                            None => {
                                self.push_node(Node::piece(p));
                                nodes += 1;
                                run = Some(p);
                            }
                        }
                    }
                    Val::Tree(_) => {
                        simple = false;
                        run = None;
                        nodes += 1;
                    }
                }
                verbatim &= !self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        verbatim &= !self.skip_ws();
                    }
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("Expecting ',' delimiter")),
                }
            }
            self.st.tape[at] = Node { a: ARRAY, b: nodes };
        }
        if simple {
            self.st.tape.truncate(at);
            return Ok(Val::Piece(Piece {
                start: start as u32,
                end: self.pos as u32,
                verbatim,
            }));
        }
        Ok(Val::Tree(at as u32))
    }

    #[inline(never)]
    fn object(&mut self, depth: usize) -> Result<Val, CanonicalError> {
        if depth > MAX_DEPTH {
            return Err(self.err(TOO_DEEP));
        }
        let start = self.pos;
        self.pos += 1;
        let at = self.st.tape.len();
        self.push_node(Node { a: OBJECT, b: 0 });
        let mark = self.st.members.open();
        let mut verbatim = !self.skip_ws();
        let mut shape = Shape {
            simple: true,
            sorted: true,
            escaped: false,
        };
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            verbatim &= self.members(depth, &mut shape)?;
        }
        if shape.simple && shape.sorted {
            // Keys in order, no repeats, every value a piece: all of it is one piece.
            let open = self.st.members.buf.len() - mark;
            self.st.members.back = open;
            self.st.tape.truncate(at);
            return Ok(Val::Piece(Piece {
                start: start as u32,
                end: self.pos as u32,
                verbatim,
            }));
        }
        let (first, count) = self.place_members(mark, shape)?;
        self.st.tape[at] = Node {
            a: OBJECT + count,
            b: first,
        };
        Ok(Val::Tree(at as u32))
    }

    /// Reads a non-empty object's members, up to and including its `}`, onto the open end
    /// of the members buffer; says whether it had no whitespace between its tokens.
    fn members(&mut self, depth: usize, shape: &mut Shape) -> Result<bool, CanonicalError> {
        let mut verbatim = true;
        let mut prev: Option<Member> = None;
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("Expecting property name enclosed in double quotes"));
            }
            let name = self.pos;
            self.pos += 1;
            let mut escaped = false;
            let plain = self.string(Some(&mut escaped))?;
            verbatim &= plain;
            shape.escaped |= escaped;
            let key_end = self.pos - 1;
            verbatim &= !self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("Expecting ':' delimiter"));
            }
            self.pos += 1;
            verbatim &= !self.skip_ws();
            let key = KeyRef {
                name: name as u32,
                key_end: key_end as u32,
                escaped,
            };
            let track = depth <= MAX_CAPTURE_DEPTH
                && !self.paths.is_empty()
                && self.st.path.len() + 1 >= depth;
            if track {
                self.st.path.truncate(depth - 1);
                self.st.path.push(key);
                // A repeated key replaces its whole value: forget what its first value held.
                self.capture(depth, None);
            }
            let value_start = self.pos;
            let value = self.value(depth)?;
            if track {
                self.capture(depth, Some(value_start..self.pos));
            }
            match value {
                Val::Piece(p) => verbatim &= p.verbatim,
                Val::Tree(_) => shape.simple = false,
            }
            let m = Member {
                name: name as u32,
                end: key_end as u32 | if plain { PLAIN_KEY } else { 0 },
                value: value.node(),
            };
            if let Some(prev) = prev {
                shape.sorted =
                    shape.sorted && cmp_keys(self.src, &prev, &m, shape.escaped) == Ordering::Less;
            }
            prev = Some(m);
            // The most members the input can hold: those open, this one, and one per five
            // bytes left (`"":0,`).
            let bound = self.st.members.front
                + self.st.members.open()
                + 1
                + (self.src.len() - self.pos) / 5;
            self.st.members.push(m, bound);
            verbatim &= !self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    verbatim &= !self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(verbatim);
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
    }

    /// Whether capture key `k` is `want`.
    fn key_is(&mut self, k: KeyRef, want: &str) -> bool {
        let (a, b) = (k.name as usize + 1, k.key_end as usize);
        if !k.escaped {
            return &self.src[a..b] == want.as_bytes();
        }
        let buf = &mut self.st.num;
        buf.clear();
        key_chars(self.src, a, b).for_each(|cp| push_wtf8(buf, cp));
        buf == want.as_bytes()
    }

    /// With `Some(range)`: records `range` for the paths equal to the current path (of
    /// `depth` keys). With `None`: clears the paths below the current path.
    fn capture(&mut self, depth: usize, range: Option<Range<usize>>) {
        let paths = self.paths;
        for (i, path) in paths.iter().enumerate() {
            let wanted = match range {
                Some(_) => path.len() == depth,
                None => path.len() > depth,
            };
            if !wanted {
                continue;
            }
            let mut on_path = true;
            for (d, want) in path[..depth].iter().enumerate() {
                let k = self.st.path[d];
                if !self.key_is(k, want) {
                    on_path = false;
                    break;
                }
            }
            if on_path {
                self.found[i] = range.clone();
            }
        }
    }

    /// Moves the closing object's members (the open ones above `mark`) to the closed end
    /// in key order, keeping the last of equal keys, as a Python dict built by
    /// `json.loads` and printed with `sort_keys=True` would; a replaced value that is a
    /// container is marked [`SKIP`]. Returns where they start and how many there are.
    fn place_members(&mut self, mark: usize, shape: Shape) -> Result<(u32, u32), CanonicalError> {
        let src = self.src;
        let Canonicalizer {
            tape,
            members: ms,
            small,
            order,
            ..
        } = &mut *self.st;
        let top = ms.buf.len() - mark;
        let (back, first) = (ms.back, ms.front);
        // The stack grows down: the block is in reverse input order.
        ms.buf[back..top].reverse();
        let mut front = first;
        let mut bad = None;
        let k = top - back;
        if shape.sorted {
            // In order, no key repeated: the common case costs one comparison a member.
            ms.buf.copy_within(back..top, front);
            front += k;
        } else if !shape.escaped && k <= SMALL {
            // Sort prefix/index numbers, not members: a fraction of the comparisons' cost.
            // Keys sharing their first eight bytes go by whole key, then input order.
            small.clear();
            small.extend_from_slice(&ms.buf[back..top]);
            order.clear();
            order.extend(small.iter().enumerate().map(|(i, m)| {
                let prefix = key_prefix(src, m.name as usize + 1, m.key_end());
                u128::from(prefix) << 64 | i as u128
            }));
            order.sort_unstable();
            let key = |o: u128| small[o as u64 as usize].key(src);
            for run in order.chunk_by_mut(|a, b| a >> 64 == b >> 64) {
                if run.len() > 1 {
                    run.sort_unstable_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
                }
            }
            for (r, &o) in order.iter().enumerate() {
                let m = small[o as u64 as usize];
                let replaced = order
                    .get(r + 1)
                    .is_some_and(|&next| next >> 64 == o >> 64 && key(next) == m.key(src));
                place(
                    tape,
                    (&mut ms.buf, src),
                    &mut front,
                    (m, replaced),
                    &mut bad,
                );
            }
        } else {
            // Large, or keys to decode: in place, with the input position breaking ties.
            ms.buf[back..top].sort_unstable_by(|x, y| {
                cmp_keys(src, x, y, shape.escaped).then(x.name.cmp(&y.name))
            });
            for i in back..top {
                let m = ms.buf[i];
                let replaced = i + 1 < top
                    && cmp_keys(src, &m, &ms.buf[i + 1], shape.escaped) == Ordering::Equal;
                // `front` is never ahead of `i`: the closed end is below the open one.
                place(
                    tape,
                    (&mut ms.buf, src),
                    &mut front,
                    (m, replaced),
                    &mut bad,
                );
            }
        }
        ms.front = front;
        ms.back = top;
        match bad {
            Some(e) => Err(e),
            None => Ok((first as u32, (front - first) as u32)),
        }
    }

    /// Parses a string whose opening quote is consumed, checking it as CPython's scanner
    /// does; says whether it is canonical as it stands (printable ASCII, no escapes). With
    /// `key`, `key` is set if it had escapes.
    #[inline(always)]
    fn string(&mut self, key: Option<&mut bool>) -> Result<bool, CanonicalError> {
        self.pos += plain_len(&self.src[self.pos..]);
        if self.peek() == Some(b'"') {
            // Printable ASCII without escapes: the common case is its own canonical text.
            self.pos += 1;
            return Ok(true);
        }
        self.string_rest(key)?;
        Ok(false)
    }

    /// As [`Parser::string`], from the first byte that does not print as itself.
    #[inline(never)]
    fn string_rest(&mut self, key: Option<&mut bool>) -> Result<(), CanonicalError> {
        let mut escaped = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("Unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    if let Some(k) = key {
                        *k = escaped;
                    }
                    return Ok(());
                }
                b'\\' => {
                    escaped = true;
                    self.pos = escape(self.src, self.pos)?.1;
                }
                0..=0x1F => return Err(self.err("Invalid control character")),
                _ if key.is_none() => {
                    // A value's non-ASCII is checked where it is decoded: when it is printed,
                    // or, never printed, when it is dropped (`check_piece`). Here it is
                    // passed over eight bytes a step, to the next quote, escape or control.
                    self.pos += value_len(&self.src[self.pos..]);
                    continue;
                }
                _ => {
                    // A key's is checked now: keys are compared as their bytes.
                    loop {
                        self.pos = utf8_char(self.src, self.pos)?.1;
                        if !matches!(self.peek(), Some(0x7F..)) {
                            break;
                        }
                    }
                }
            }
            self.pos += plain_len(&self.src[self.pos..]);
        }
    }
}

/// What an object's members turned out to be.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Every value is a piece.
    simple: bool,
    /// The keys are in strictly increasing order (so none repeats).
    sorted: bool,
    /// Some key has an escape, so keys compare decoded.
    escaped: bool,
}

/// Eight spaces, as one little-endian word.
const SPACES: u64 = ONES * 0x20;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Eight input bytes as a little-endian word (byte 0 lowest), for SWAR scanning.
fn word_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap_or_default())
}

/// Marks, in its high bit, each byte of `x` that does not print as itself in a string.
fn stop_bytes(x: u64) -> u64 {
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero_in(x ^ (ONES * u64::from(b'"')))
        | zero_in(x ^ (ONES * u64::from(b'\\')))
        | zero_in(x ^ (ONES * 0x7F))
        | x.wrapping_sub(ONES * 0x20) & !x
        | x)
        & HIGHS
}

/// The length of the run of bytes at the start of `s` that print as themselves inside a
/// string (see [`PLAIN`]).
///
/// Hand-written SWAR, eight bytes a step: each byte's high bit in `stop` is set if the byte
/// is `"`, `\\`, below 0x20 or above 0x7E. Borrows in the subtractions can only mark bytes
/// above a marked one, so the lowest mark is exact. (`memchr` finds one to three given
/// bytes; this needs ranges too.)
#[inline(always)]
fn plain_len(s: &[u8]) -> usize {
    let mut i = 0;
    while let Some(word) = s.get(i..i + 8) {
        let stop = stop_bytes(word_u64(word));
        if stop != 0 {
            return i + stop.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    let tail = &s[i..];
    i + tail
        .iter()
        .position(|&b| !PLAIN[b as usize])
        .unwrap_or(tail.len())
}

/// The length of the run at the start of `s` free of `"`, `\\` and control characters: as
/// [`plain_len`], with non-ASCII let through.
#[inline(always)]
fn value_len(s: &[u8]) -> usize {
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v;
    let mut i = 0;
    while let Some(word) = s.get(i..i + 8) {
        let x = word_u64(word);
        let stop = (zero_in(x ^ (ONES * u64::from(b'"')))
            | zero_in(x ^ (ONES * u64::from(b'\\')))
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGHS;
        if stop != 0 {
            return i + stop.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    let tail = &s[i..];
    i + tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

/// Bytes that stand for themselves inside a string: 0x20..=0x7E but `"` and `\\`.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b <= 0x7E {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

/// A key's first eight bytes as a big-endian number, zero-padded: if two keys' prefixes
/// differ, they order the keys as the whole keys do (a shorter key is padded with zeros,
/// which sort first, as the end of a key does).
/// The key is `text[a..b]`; read as one word where `text` goes on for eight bytes (a
/// `memcpy` call of up to eight bytes costs more than the whole comparison it saves).
#[inline(always)]
fn key_prefix(text: &[u8], a: usize, b: usize) -> u64 {
    let n = b - a;
    let word = match text.get(a..a + 8) {
        Some(word) => word_u64(word).swap_bytes(),
        None => {
            let mut word = [0u8; 8];
            let n = n.min(8);
            word[..n].copy_from_slice(&text[a..a + n]);
            u64::from_be_bytes(word)
        }
    };
    match n {
        0 => 0,
        1..=7 => word & !(u64::MAX >> (8 * n)),
        _ => word,
    }
}

/// `\uXXXX` with lowercase hex, as CPython writes it.
fn push_u_escape(out: &mut Vec<u8>, v: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[(v >> 12 & 0xF) as usize],
        HEX[(v >> 8 & 0xF) as usize],
        HEX[(v >> 4 & 0xF) as usize],
        HEX[(v & 0xF) as usize],
    ]);
}

/// Whether the float literal `[-]int.frac` (JSON grammar, no exponent, checked by the
/// caller) already is CPython's `repr` of its value, so it can be copied instead of parsed
/// and printed: at most 15 significant digits (any such decimal is the shortest that
/// round-trips its double), no trailing zero but `.0` alone, and a decimal exponent in
/// repr's fixed-notation range (-4..=15).
fn is_own_repr(int: &[u8], frac: &[u8]) -> bool {
    if frac.len() > 1 && frac.last() == Some(&b'0') {
        return false; // "1.50" prints "1.5"
    }
    if int != b"0" {
        // [1-9]\d*: the integer digits all count; exponent = int.len() - 1 <= 15.
        return int.len() <= 16 && int.len() + frac.len() <= 15 || frac == b"0" && int.len() <= 15;
    }
    if frac == b"0" {
        return true; // 0.0
    }
    // 0.000ddd: at most three zeros after the point keeps the exponent >= -4.
    let zeros = frac.iter().take_while(|&&b| b == b'0').count();
    zeros <= 3 && frac.len() - zeros <= 15
}

/// Whether the float literal `[-]int[.frac]exponent` (JSON grammar, checked by the caller;
/// `exponent` from its `e`) already is CPython's `repr` of its value, as every float a
/// Python sender prints is: one nonzero integer digit, at most 14 more with no trailing
/// zero, the exponent written as repr writes it (`e`, a sign, two digits or three without
/// a leading zero) and in repr's scientific range (below -4 or above 15), and the value a
/// normal double (so, as in [`is_own_repr`], its at most 15 digits are the shortest that
/// round-trip it).
fn is_own_scientific_repr(int: &[u8], frac: Option<&[u8]>, exponent: &[u8]) -> bool {
    let [b'e', sign @ (b'+' | b'-'), digits @ ..] = exponent else {
        return false;
    };
    let mantissa = int.len() == 1
        && int != b"0"
        && frac.is_none_or(|f| f.len() <= 14 && f.last() != Some(&b'0'));
    let written_as_repr = digits.len() == 2 || digits.len() == 3 && digits[0] != b'0';
    if !mantissa || !written_as_repr {
        return false;
    }
    let e = digits.iter().fold(0, |e, &d| e * 10 + i32::from(d - b'0'));
    match sign {
        b'-' => (5..=307).contains(&e),
        _ => (16..=307).contains(&e),
    }
}

/// The shortest digits that round-trip finite `x`, written to `buf` without leading or
/// trailing zeros, and the decimal exponent of the first: `-1.25e-7` gives `125` and `-7`;
/// zero gives `0` and 0.
///
/// Ryu picks, among the shortest candidates, the one nearest the exact value and breaks an
/// exact tie to the even digit, as CPython's `repr` (David Gay's dtoa) does. Rust's own
/// float formatting rounds such ties up (`1125899906842624.25` prints `…624.3`, CPython
/// `…624.2`), which the differential test caught.
fn shortest_digits(x: f64, buf: &mut Vec<u8>) -> i32 {
    let mut ryu = ryu::Buffer::new();
    // Ryu writes `123.45`, `1e16` or `1.5e-7`: collect the digits, note the point.
    let text = ryu.format_finite(x.abs()).as_bytes();
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e') {
        Some(i) => (&text[..i], parse_i32(&text[i + 1..])),
        None => (text, 0),
    };
    buf.clear();
    let mut point = mantissa.len() as i32;
    for (i, &b) in mantissa.iter().enumerate() {
        match b {
            b'.' => point = i as i32,
            _ => buf.push(b),
        }
    }
    let lead = buf.iter().take_while(|&&b| b == b'0').count();
    buf.drain(..lead);
    while buf.last() == Some(&b'0') {
        buf.pop();
    }
    if buf.is_empty() {
        buf.push(b'0');
        return 0;
    }
    point + exp - lead as i32 - 1
}

fn parse_i32(b: &[u8]) -> i32 {
    std::str::from_utf8(b)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0)
}

/// UTF-8 generalized to surrogates, so that byte order is code point order for every key.
fn push_wtf8(buf: &mut Vec<u8>, cp: u32) {
    match cp {
        0..=0x7F => buf.push(cp as u8),
        0x80..=0x7FF => buf.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]),
        0x800..=0xFFFF => buf.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | (cp >> 6 & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
        _ => buf.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | (cp >> 12 & 0x3F) as u8,
            0x80 | (cp >> 6 & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
    }
}

/// Writes `x` as CPython's `float.__repr__` (and so `json.dumps`) does: the shortest digits
/// that round-trip, in fixed notation when the decimal exponent is in -4..=15 (with `.0`
/// for whole numbers), else as `d.ddde±XX` with at least two exponent digits.
pub fn push_float_repr(out: &mut Vec<u8>, num: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    let exp = shortest_digits(x, num);
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let digits = &num[..];
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_len - digits.len(), b'0');
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-exp - 1) as usize, b'0');
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs(); // at most 324
        if e >= 100 {
            out.push(b'0' + (e / 100) as u8);
        }
        out.push(b'0' + (e / 10 % 10) as u8);
        out.push(b'0' + (e % 10) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        let mut out = Vec::new();
        canonicalize(s.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn fails(s: &[u8]) -> &'static str {
        canonicalize(s, &mut Vec::new()).unwrap_err().what
    }

    #[test]
    fn sorts_keys_by_code_point_and_compacts() {
        assert_eq!(
            canon(
                r#"{ "b": [1, {"z": null, "a": true}], "10": "x", "2": "y", "\u00e9": 1, "z": 2 }"#
            ),
            r#"{"10":"x","2":"y","b":[1,{"a":true,"z":null}],"z":2,"\u00e9":1}"#
        );
    }

    #[test]
    fn last_duplicate_key_wins() {
        assert_eq!(canon(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        assert_eq!(canon(r#"{"a":1,"\u0061":2}"#), r#"{"a":2}"#);
    }

    #[test]
    fn keys_sharing_their_first_eight_bytes_sort_by_the_rest() {
        assert_eq!(
            canon(r#"{"step_00002":1,"step_00001":2,"a":0,"step_00002":3,"step_0000":4}"#),
            r#"{"a":0,"step_0000":4,"step_00001":2,"step_00002":3}"#
        );
        assert_eq!(
            canon(r#"{"abcdefgh\u0000":1,"abcdefgh":2,"abcdefgh\u0000":3}"#),
            r#"{"abcdefgh":2,"abcdefgh\u0000":3}"#
        );
    }

    #[test]
    fn astral_keys_sort_after_the_bmp_even_when_escaped_as_pairs() {
        // U+1F600 sorts after U+FFFD although its surrogates (D83D) sort before it.
        assert_eq!(
            canon(r#"{"\ud83d\ude00":1,"\ufffd":2}"#),
            r#"{"\ufffd":2,"\ud83d\ude00":1}"#
        );
        assert_eq!(
            canon(r#"{"😀":1,"\ufffd":2}"#),
            r#"{"\ufffd":2,"\ud83d\ude00":1}"#
        );
    }

    #[test]
    fn escapes_like_ensure_ascii() {
        assert_eq!(
            canon("\"M\u{fc}nchen \u{1F600} \u{7f} \\/ \\u0041 \\u000A \\t \\ud800 \u{2028}\""),
            r#""M\u00fcnchen \ud83d\ude00 \u007f / A \n \t \ud800 \u2028""#
        );
        // Runs of non-ASCII, in a value and (with an escape) in a key.
        assert_eq!(
            canon("{\"\u{65e5}\u{672c}\\n\u{e9}\u{1F680}\": \"\u{65e5}\u{672c}\u{8a9e}\u{1F680}\u{e9}x\"}"),
            r#"{"\u65e5\u672c\n\u00e9\ud83d\ude80":"\u65e5\u672c\u8a9e\ud83d\ude80\u00e9x"}"#
        );
    }

    #[test]
    fn floats_print_as_python_repr() {
        let cases = [
            ("1.0", "1.0"),
            ("1e-7", "1e-07"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("-0.0", "-0.0"),
            ("2.50", "2.5"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1.5E300", "1.5e+300"),
            ("1e400", "Infinity"),
            ("-1e400", "-Infinity"),
            ("5e-324", "5e-324"),
            ("123456789.125", "123456789.125"),
            ("0.1", "0.1"),
            // Exact ties between two shortest forms go to the even digit, as in CPython.
            ("1125899906842624.25", "1125899906842624.2"),
            ("-1125899906842624.25", "-1125899906842624.2"),
            ("99960613159575.625", "99960613159575.62"),
            ("1353986387834406.2", "1353986387834406.2"),
            ("1125899906842624.75", "1125899906842624.8"),
            ("9999999999999998.0", "9999999999999998.0"),
            ("1e22", "1e+22"),
            ("123e-20", "1.23e-18"),
            // Already repr's scientific form: copied as they are.
            ("1e-07", "1e-07"),
            ("-2.5e-05", "-2.5e-05"),
            ("1.5e+300", "1.5e+300"),
            ("1.2345678901234e+100", "1.2345678901234e+100"),
            ("9e-307", "9e-307"),
            // Nearly: each needs rewriting.
            ("1e+15", "1000000000000000.0"),
            ("1e-04", "0.0001"),
            ("1.0e-07", "1e-07"),
            ("1.50e-07", "1.5e-07"),
            ("10e-07", "1e-06"),
            ("0e-07", "0.0"),
            ("1e-007", "1e-07"),
            ("1e-7", "1e-07"),
            ("1E-07", "1e-07"),
            ("1e07", "10000000.0"),
            ("1e+100", "1e+100"),
            ("1e-320", "1e-320"),
            ("1.2345e-320", "1.2347e-320"),
            ("1.7976931348623157e+308", "1.7976931348623157e+308"),
            ("2e+308", "Infinity"),
            ("1.23456789012345678e+100", "1.2345678901234569e+100"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "input {input}");
        }
    }

    #[test]
    fn integers_stay_exact() {
        assert_eq!(canon("12345678901234567890123"), "12345678901234567890123");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("-12"), "-12");
        let max = "9".repeat(MAX_INT_DIGITS);
        assert_eq!(canon(&max), max);
        assert_eq!(
            fails(format!("{max}9").as_bytes()),
            "integer has more digits than CPython's limit of 4300"
        );
    }

    #[test]
    fn accepts_python_literals_and_bom() {
        assert_eq!(
            canon("[NaN, Infinity, -Infinity]"),
            "[NaN,Infinity,-Infinity]"
        );
        let mut out = Vec::new();
        canonicalize(b"\xEF\xBB\xBF{\"a\":1}", &mut out).unwrap();
        assert_eq!(out, b"{\"a\":1}");
    }

    #[test]
    fn refuses_what_python_refuses() {
        assert_eq!(fails(b""), "Expecting value");
        assert_eq!(fails(b"[1,]"), "Expecting value");
        assert_eq!(
            fails(b"{\"a\":1,}"),
            "Expecting property name enclosed in double quotes"
        );
        assert_eq!(fails(b"01"), "Extra data");
        assert_eq!(fails(b"1."), "Extra data");
        assert_eq!(fails(b"{\"a\" 1}"), "Expecting ':' delimiter");
        assert_eq!(fails(b"\"a\x01\""), "Invalid control character");
        assert_eq!(fails(b"\"\\x\""), "Invalid \\escape");
        assert_eq!(fails(b"\"\\u12\""), "Invalid \\uXXXX escape");
        assert_eq!(fails(b"\"\xC0\x80\""), "invalid UTF-8");
        // Also where the string is never printed: a value a later key replaced.
        for doc in [
            &b"{\"a\":\"\xff\",\"a\":1}"[..],
            b"{\"a\":[1, \"\xe2\x82\"],\"a\":1}",
            b"{\"a\":{\"c\":1,\"b\":\"x\xc0\xaf\"},\"a\":1}",
            b"[{\"a\":[{\"b\":0,\"b\":\"\xff\"}],\"a\":2}]",
        ] {
            assert_eq!(fails(doc), "invalid UTF-8", "{doc:?}");
        }
        assert_eq!(fails(b"\"abc"), "Unterminated string");
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(fails(deep.as_bytes()), "nesting too deep");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(canon(&ok), ok);
    }

    #[test]
    fn encoded_surrogates_pass_as_python_surrogatepass_does() {
        let mut out = Vec::new();
        canonicalize(b"\"\xED\xA0\x80\"", &mut out).unwrap();
        assert_eq!(out, br#""\ud800""#);
    }

    #[test]
    fn captures_values_by_path_with_the_last_duplicate_winning() {
        let input = br#"{"type":"x","payload":{"status":"old","task_id":"t1"},"payload":{"status":"new"},"deep":{"a":{"status":"no"}},"list":[{"status":"no"}]}"#;
        let paths: [&[&str]; 4] = [
            &["type"],
            &["payload", "status"],
            &["payload", "task_id"],
            &["a", "status"],
        ];
        let mut found = [None, None, None, None];
        let mut out = Vec::new();
        let scan = Canonicalizer::default()
            .canonicalize_capturing(input, &mut out, &paths, &mut found)
            .unwrap();
        let text = |r: &Option<Range<usize>>| r.clone().map(|r| &input[r]);
        assert_eq!(text(&found[0]), Some(&br#""x""#[..]));
        assert_eq!(text(&found[1]), Some(&br#""new""#[..]));
        assert_eq!(found[2], None, "the second payload has no task_id");
        assert_eq!(found[3], None, "too deep, or not on the path");
        assert!(scan.standard_json);
        let mut found = [None];
        let scan = Canonicalizer::default()
            .canonicalize_capturing(
                br#"{"t\u0079pe": [NaN]}"#,
                &mut out,
                &[&["type"]],
                &mut found,
            )
            .unwrap();
        assert!(!scan.standard_json);
        assert!(found[0].is_some(), "escaped keys are compared decoded");
    }

    #[test]
    fn plain_runs_stop_where_the_table_says() {
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut s = vec![b'a'; 24];
                s[at] = b;
                let want = if PLAIN[b as usize] { 24 } else { at };
                assert_eq!(plain_len(&s), want, "byte {b:#x} at {at}");
                // A stop byte after the first one must not move the answer.
                s[23] = b'"';
                assert_eq!(
                    plain_len(&s),
                    want.min(23),
                    "byte {b:#x} at {at}, quote at 23"
                );
            }
        }
        assert_eq!(plain_len(b""), 0);
        assert_eq!(plain_len("\u{7f}\u{ff}\"\u{1}".as_bytes()), 0);
    }

    #[test]
    fn value_runs_stop_at_quotes_escapes_and_controls_only() {
        for b in 0..=255u8 {
            let stops = b == b'"' || b == b'\\' || b < 0x20;
            for at in 0..20 {
                let mut s = vec![0xC3; 24];
                s[at] = b;
                assert_eq!(value_len(&s), if stops { at } else { 24 }, "{b:#x} at {at}");
                s[23] = b'"';
                assert_eq!(value_len(&s), if stops { at } else { 23 }, "{b:#x} at {at}");
            }
        }
    }

    #[test]
    fn key_prefixes_are_the_first_eight_bytes_zero_padded() {
        // Every key length at every distance from the end of the text, so both the word
        // load and the copy near the end are checked against the plain definition.
        let text: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) | 1).collect();
        for a in 0..text.len() {
            for b in a..=text.len() {
                let mut want = [0u8; 8];
                let n = (b - a).min(8);
                want[..n].copy_from_slice(&text[a..a + n]);
                assert_eq!(
                    key_prefix(&text, a, b),
                    u64::from_be_bytes(want),
                    "key {a}..{b}"
                );
            }
        }
    }

    #[test]
    fn block_copies_append_exactly_the_piece() {
        let text: Vec<u8> = (0..48u8).collect();
        for a in 0..text.len() {
            for b in a..=text.len() {
                let mut out = b"head".to_vec();
                copy(&mut out, &text, a, b);
                assert_eq!(&out[..4], b"head");
                assert_eq!(&out[4..], &text[a..b], "piece {a}..{b}");
            }
        }
    }

    #[test]
    fn replaced_containers_are_passed_over() {
        assert_eq!(
            canon(
                r#"[{"a":{"x":[1,{"q":1,"q":[2,{"z":0,"y":1}]}]},"a":{"y":2},"b":0},{"c":{"k":[{"b":1,"a":2}]},"c":{"d":1},"c":[{"e":1,"e":2}]},[{"b":1,"a":2}],5]"#
            ),
            r#"[{"a":{"y":2},"b":0},{"c":[{"e":2}]},[{"a":2,"b":1}],5]"#
        );
        assert_eq!(
            canon(
                r#"{"b":[{"y":1,"x":2}],"a":{"d":{"f":1,"e":2},"c":3},"b":{"n":{"q":1,"p":2}},"a":7}"#
            ),
            r#"{"a":7,"b":{"n":{"p":2,"q":1}}}"#
        );
    }

    #[test]
    fn reusable_state_gives_the_same_answer() {
        let mut c = Canonicalizer::default();
        for _ in 0..3 {
            let mut out = Vec::new();
            c.canonicalize(br#"{"b":{"y":1,"x":2},"a":[3]}"#, &mut out)
                .unwrap();
            assert_eq!(out, br#"{"a":[3],"b":{"x":2,"y":1}}"#);
        }
    }
}
