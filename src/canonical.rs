//! CPython-exact canonical JSON, in one pass over the bytes and one over an index.
//!
//! Browser Use signs `json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)`.
//! [`canonicalize`] prints exactly that without building a JSON value. The parse reads the
//! input once into a flat index (a tape of values in input order, each object's members
//! sorted as it closes); the print walks the index in key order, copying each value's
//! canonical text once. Most values (plain strings, integers, literals, floats already in
//! `repr` form) are their own canonical text, so the index just points into the input; the
//! rest are written to a side buffer during the parse. Nothing goes through `f64` but
//! floats (which CPython parses to a double too), so integers of any length stay exact.
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

use std::cmp::Ordering;
use std::ops::Range;

/// Deepest nesting accepted. CPython stops near 1000 (its recursion limit); this stays
/// well under what a Worker's stack holds.
pub const MAX_DEPTH: usize = 512;

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
    /// Every value, in input order; a container comes before its values.
    tape: Vec<Node>,
    /// Every object's members in key order, the superseded duplicates left out; an object's
    /// node says which.
    placed: Vec<Placed>,
    /// Members of the objects currently open, innermost last, in input order.
    members: Vec<Member>,
    /// The closing object's members in key order, as `prefix << 64 | index`.
    order: Vec<u128>,
    /// Canonical text that is not in the input: strings with escapes or non-ASCII,
    /// reformatted numbers.
    side: Vec<u8>,
    /// Decoded keys that had escapes in them (most keys are compared straight from input).
    keys: Vec<u8>,
    /// Formatting space for floats.
    num: Vec<u8>,
    /// The keys leading to the object being read, while that is shallow enough to capture.
    path: Vec<KeyRef>,
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

/// Where a scalar's (or a key's) canonical text is.
#[derive(Debug, Clone, Copy)]
enum Piece {
    /// `input[a..b]` already is the canonical text.
    Input(usize, usize),
    /// `Canonicalizer::side[a..b]`, written by the parse.
    Side(usize, usize),
}

/// One value on the tape.
#[derive(Debug, Clone, Copy)]
enum Node {
    Scalar(Piece),
    /// An array of `len` values, which follow it on the tape.
    Array {
        len: usize,
    },
    /// An object whose members are `placed[first..last]`; its values' nodes end before
    /// tape index `end`.
    Object {
        first: usize,
        last: usize,
        end: usize,
    },
}

/// One member of an open object, in input order, with what sorting it needs.
#[derive(Debug, Clone, Copy)]
struct Member {
    /// The key's first eight bytes, big-endian and zero-padded: comparing these first
    /// settles almost every comparison without touching the key bytes.
    prefix: u64,
    key: KeyRef,
    /// The key's canonical text, quotes included.
    name: Piece,
    /// The value's tape index.
    value: usize,
}

/// One member of a closed object, in key order: what the print needs.
#[derive(Debug, Clone, Copy)]
struct Placed {
    name: Piece,
    value: usize,
}

/// A key's code points as (generalized) UTF-8, whose byte order is code point order.
#[derive(Debug, Clone, Copy)]
enum KeyRef {
    /// The key as it stands in the input: it had no escapes.
    Input(usize, usize),
    /// The key decoded into `Canonicalizer::keys`.
    Decoded(usize, usize),
}

impl KeyRef {
    /// The buffer the key is in (the input or the decoded-keys buffer), and where.
    fn span<'k>(self, src: &'k [u8], decoded: &'k [u8]) -> (&'k [u8], Range<usize>) {
        match self {
            KeyRef::Input(a, b) => (src, a..b),
            KeyRef::Decoded(a, b) => (decoded, a..b),
        }
    }

    /// The key's bytes.
    fn bytes<'k>(self, src: &'k [u8], decoded: &'k [u8]) -> &'k [u8] {
        let (text, at) = self.span(src, decoded);
        &text[at]
    }

    /// The key's [`key_prefix`].
    fn prefix(self, src: &[u8], decoded: &[u8]) -> u64 {
        let (text, at) = self.span(src, decoded);
        key_prefix(text, at.start, at.end)
    }
}

impl Canonicalizer {
    /// As [`canonicalize`], reusing this value's buffers.
    pub fn canonicalize(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CanonicalError> {
        self.canonicalize_capturing(input, out, &[], &mut [])
            .map(|_| ())
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
        self.placed.clear();
        self.members.clear();
        self.order.clear();
        self.side.clear();
        self.keys.clear();
        self.path.clear();
        found.iter_mut().for_each(|f| *f = None);
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
        p.value(0)?;
        p.skip_ws();
        if p.pos != p.src.len() {
            return Err(p.err("Extra data"));
        }
        let standard_json = p.standard_json;
        let printer = Printer {
            src: input,
            side: &self.side,
            tape: &self.tape,
            placed: &self.placed,
        };
        printer.print(out);
        Ok(Scan { standard_json })
    }
}

/// The index a parse built, printed in key order.
struct Printer<'a> {
    src: &'a [u8],
    side: &'a [u8],
    tape: &'a [Node],
    placed: &'a [Placed],
}

impl Printer<'_> {
    /// Appends the canonical text to `out`.
    fn print(&self, out: &mut Vec<u8>) {
        // Every byte printed is a byte of the input or of the side text, each used at most
        // once (punctuation included: a printed `,` or `:` stands for one in the input), so
        // this is room enough, with slack for `copy`'s whole blocks.
        out.reserve(self.src.len() + self.side.len() + BLOCK);
        self.value(out, 0);
    }

    #[inline(always)]
    fn piece(&self, out: &mut Vec<u8>, p: Piece) {
        match p {
            Piece::Input(a, b) => copy(out, self.src, a, b),
            Piece::Side(a, b) => copy(out, self.side, a, b),
        }
    }

    /// Appends the canonical text of the value at tape index `i`; returns the index after
    /// it and its values.
    fn value(&self, out: &mut Vec<u8>, i: usize) -> usize {
        match self.tape[i] {
            Node::Scalar(p) => {
                self.piece(out, p);
                i + 1
            }
            Node::Array { len } => {
                out.push(b'[');
                let mut next = i + 1;
                for k in 0..len {
                    if k > 0 {
                        out.push(b',');
                    }
                    next = self.value(out, next);
                }
                out.push(b']');
                next
            }
            Node::Object { first, last, end } => {
                out.push(b'{');
                for (k, m) in self.placed[first..last].iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    self.piece(out, m.name);
                    out.push(b':');
                    // Most values are scalars: print those here rather than in a call.
                    match self.tape[m.value] {
                        Node::Scalar(p) => self.piece(out, p),
                        _ => {
                            self.value(out, m.value);
                        }
                    }
                }
                out.push(b'}');
                end
            }
        }
    }
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

    fn skip_ws(&mut self) {
        let s = self.src;
        let mut i = self.pos;
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
        self.pos = i;
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

    /// Reads one value onto the tape. Inlined where values are read: most are scalars,
    /// read there without a call; the containers are the calls (and the recursion).
    #[inline(always)]
    fn value(&mut self, depth: usize) -> Result<(), CanonicalError> {
        let piece = match self.peek() {
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
        self.st.tape.push(Node::Scalar(piece));
        Ok(())
    }

    /// `null`, `true`, `false`, and CPython's `NaN`, `Infinity` and `-Infinity`.
    fn literal(&mut self) -> Result<Piece, CanonicalError> {
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
        Ok(Piece::Input(self.pos - lit.len(), self.pos))
    }

    #[inline(never)]
    fn array(&mut self, depth: usize) -> Result<(), CanonicalError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.pos += 1;
        let at = self.st.tape.len();
        self.st.tape.push(Node::Array { len: 0 });
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut len = 0;
        loop {
            self.value(depth)?;
            len += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
        self.st.tape[at] = Node::Array { len };
        Ok(())
    }

    #[inline(never)]
    fn object(&mut self, depth: usize) -> Result<(), CanonicalError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.pos += 1;
        let at = self.st.tape.len();
        self.st.tape.push(Node::Array { len: 0 }); // a placeholder until the object closes
        let first_member = self.st.members.len();
        let keys_mark = self.st.keys.len();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            self.members(depth)?;
        }
        let first = self.st.placed.len();
        self.place_members(first_member);
        self.st.tape[at] = Node::Object {
            first,
            last: self.st.placed.len(),
            end: self.st.tape.len(),
        };
        self.st.members.truncate(first_member);
        self.st.keys.truncate(keys_mark);
        Ok(())
    }

    /// Reads a non-empty object's members, up to and including its `}`.
    fn members(&mut self, depth: usize) -> Result<(), CanonicalError> {
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("Expecting property name enclosed in double quotes"));
            }
            self.pos += 1;
            let key_start = self.pos;
            let decoded = self.st.keys.len();
            let mut had_escapes = false;
            let name = self.string(Some(&mut had_escapes))?;
            let key = if had_escapes {
                KeyRef::Decoded(decoded, self.st.keys.len())
            } else {
                // No escapes: the input bytes are the code points' UTF-8 already.
                KeyRef::Input(key_start, self.pos - 1)
            };
            let prefix = key.prefix(self.src, &self.st.keys);
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("Expecting ':' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
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
            let value = self.st.tape.len();
            self.value(depth)?;
            if track {
                self.capture(depth, Some(value_start..self.pos));
            }
            self.st.members.push(Member {
                prefix,
                key,
                name,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
    }

    fn key_bytes(&self, k: KeyRef) -> &[u8] {
        k.bytes(self.src, &self.st.keys)
    }

    /// With `Some(range)`: records `range` for the paths equal to the current path (of
    /// `depth` keys). With `None`: clears the paths below the current path.
    fn capture(&mut self, depth: usize, range: Option<Range<usize>>) {
        for (i, path) in self.paths.iter().enumerate() {
            let wanted = match range {
                Some(_) => path.len() == depth,
                None => path.len() > depth,
            };
            let on_path = wanted
                && path[..depth]
                    .iter()
                    .zip(&self.st.path)
                    .all(|(want, &k)| want.as_bytes() == self.key_bytes(k));
            if on_path {
                self.found[i] = range.clone();
            }
        }
    }

    /// Appends the members of the closing object (`members[first..]`) to `placed` in key
    /// order, keeping the last of equal keys, as a Python dict built by `json.loads` and
    /// printed with `sort_keys=True` would.
    fn place_members(&mut self, first: usize) {
        let Canonicalizer {
            members,
            keys,
            placed,
            order,
            ..
        } = &mut *self.st;
        let src = self.src;
        let key_of = |k: KeyRef| k.bytes(src, keys);
        let cmp = |a: &Member, b: &Member| {
            a.prefix
                .cmp(&b.prefix)
                .then_with(|| key_of(a.key).cmp(key_of(b.key)))
        };
        let ms = &members[first..];
        let place = |m: &Member| Placed {
            name: m.name,
            value: m.value,
        };
        if ms.windows(2).all(|w| cmp(&w[0], &w[1]) == Ordering::Less) {
            // In order, no key repeated: the common case costs one comparison a member.
            placed.extend(ms.iter().map(place));
            return;
        }
        // Sort by prefix as plain numbers, the input order breaking ties (so the last of
        // equal keys ends last); then each run of equal prefixes (keys that share their
        // first eight bytes) by whole key, stably. Sorting these 16-byte numbers costs a
        // fraction of sorting the members with a comparison that may look at the keys.
        order.clear();
        order.extend(
            ms.iter()
                .enumerate()
                .map(|(i, m)| u128::from(m.prefix) << 64 | i as u128),
        );
        order.sort_unstable();
        let member = |o: u128| &ms[o as u64 as usize];
        for run in order.chunk_by_mut(|a, b| a >> 64 == b >> 64) {
            if run.len() > 1 {
                run.sort_by(|&a, &b| key_of(member(a).key).cmp(key_of(member(b).key)));
            }
        }
        for (r, &o) in order.iter().enumerate() {
            let m = member(o);
            let superseded = order
                .get(r + 1)
                .is_some_and(|&next| cmp(member(next), m) == Ordering::Equal);
            if !superseded {
                placed.push(place(m));
            }
        }
    }

    /// Parses a string whose opening quote is consumed; returns where its canonical text
    /// (quoted, escaped as CPython's `ensure_ascii` does) is. With `key`, a key is being
    /// read, and `key` is set if it had escapes (it is then decoded into `keys`).
    #[inline(always)]
    fn string(&mut self, key: Option<&mut bool>) -> Result<Piece, CanonicalError> {
        let open = self.pos - 1;
        self.pos += plain_len(&self.src[self.pos..]);
        if self.peek() == Some(b'"') {
            // Printable ASCII without escapes: the common case is its own canonical text.
            self.pos += 1;
            return Ok(Piece::Input(open, self.pos));
        }
        self.string_to_side(open, key)
    }

    /// As [`Parser::string`], for a string that must be rewritten: writes its canonical
    /// text to `side`, from its opening quote at `open`; `pos` is at the first byte that
    /// does not print as itself. With `key`: from its first escape on, its code points also
    /// go to `keys` (the bytes before the escape are copied from the input then), and `key`
    /// is set to say so.
    #[inline(never)]
    fn string_to_side(
        &mut self,
        open: usize,
        mut key: Option<&mut bool>,
    ) -> Result<Piece, CanonicalError> {
        let side = self.st.side.len();
        copy(&mut self.st.side, self.src, open, self.pos);
        let mut decoding = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("Unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    self.st.side.push(b'"');
                    return Ok(Piece::Side(side, self.st.side.len()));
                }
                b'\\' => {
                    if let Some(escaped) = key.as_deref_mut() {
                        if !decoding {
                            // Raw UTF-8 (and surrogatepass bytes) are their own WTF-8.
                            let prefix = &self.src[open + 1..self.pos];
                            self.st.keys.extend_from_slice(prefix);
                            decoding = true;
                            *escaped = true;
                        }
                    }
                    let cp = self.escape()?;
                    self.emit(cp, decoding);
                }
                0..=0x1F => return Err(self.err("Invalid control character")),
                _ => {
                    // Non-ASCII comes in runs (words, CJK text): stay here for the run.
                    loop {
                        let cp = self.utf8_char()?;
                        self.emit(cp, decoding);
                        if !matches!(self.peek(), Some(0x80..)) {
                            break;
                        }
                    }
                }
            }
            // Copy the run of bytes that print as themselves in one go.
            let run = plain_len(&self.src[self.pos..]);
            copy(&mut self.st.side, self.src, self.pos, self.pos + run);
            if decoding {
                let plain = &self.src[self.pos..self.pos + run];
                self.st.keys.extend_from_slice(plain);
            }
            self.pos += run;
        }
    }

    /// Decodes one backslash escape; `\uD83D\uDE00` pairs become one code point.
    fn escape(&mut self) -> Result<u32, CanonicalError> {
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.err("Unterminated string"));
        };
        self.pos += 1;
        Ok(match c {
            b'"' => 0x22,
            b'\\' => 0x5C,
            b'/' => 0x2F,
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => 0x0A,
            b'r' => 0x0D,
            b't' => 0x09,
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) && self.src[self.pos..].starts_with(b"\\u") {
                    let save = self.pos;
                    self.pos += 2;
                    let lo = self.hex4()?;
                    if (0xDC00..0xE000).contains(&lo) {
                        return Ok(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
                    }
                    self.pos = save;
                }
                hi
            }
            _ => {
                self.pos -= 2;
                return Err(self.err("Invalid \\escape"));
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, CanonicalError> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("Invalid \\uXXXX escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("Invalid \\uXXXX escape"))?;
            v = v << 4 | n;
        }
        self.pos += 4;
        Ok(v)
    }

    /// Decodes one UTF-8 sequence as CPython's `utf-8` codec with `surrogatepass` does:
    /// strict UTF-8, except that encoded surrogates (ED A0..BF xx) are accepted.
    fn utf8_char(&mut self) -> Result<u32, CanonicalError> {
        let s = &self.src[self.pos..];
        let bad = || CanonicalError {
            what: "invalid UTF-8",
            offset: self.pos,
        };
        let cont = |i: usize| match s.get(i) {
            Some(&b) if b & 0xC0 == 0x80 => Ok(u32::from(b & 0x3F)),
            _ => Err(bad()),
        };
        let (cp, len) = match s[0] {
            0x7F => (0x7F, 1),
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
        self.pos += len;
        Ok(cp)
    }

    /// Writes one code point to `side` as CPython's `ensure_ascii` encoder does; with
    /// `key`, also its generalized UTF-8 to the decoded-key buffer.
    #[inline(always)]
    fn emit(&mut self, cp: u32, key: bool) {
        if key {
            push_wtf8(&mut self.st.keys, cp);
        }
        let out = &mut self.st.side;
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

    /// Reads a number; returns where its canonical text is.
    fn number(&mut self) -> Result<Piece, CanonicalError> {
        let s = self.src;
        let start = self.pos;
        let digits =
            |from: usize| from + s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let int_start = start + usize::from(s[start] == b'-');
        let int_end = match s.get(int_start) {
            Some(b'0') => int_start + 1,
            Some(b'1'..=b'9') => digits(int_start + 1),
            _ => return Err(self.err("Expecting value")),
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
        match (frac, exponent) {
            (None, None) => {
                if int.len() > MAX_INT_DIGITS {
                    return Err(self.err("integer has more digits than CPython's limit of 4300"));
                }
                self.pos = end;
                // `-0` prints `0`.
                let from = if int == b"0" { int_start } else { start };
                Ok(Piece::Input(from, end))
            }
            (Some(frac), None) if is_own_repr(int, frac) => {
                self.pos = end;
                Ok(Piece::Input(start, end))
            }
            (frac, Some(exponent)) if is_own_scientific_repr(int, frac, exponent) => {
                self.pos = end;
                Ok(Piece::Input(start, end))
            }
            _ => {
                self.pos = end;
                // ASCII by construction, so this cannot fail; Rust's parse rounds correctly,
                // as CPython's float() does, and overflows to infinity the same way.
                let text = std::str::from_utf8(&s[start..end]).unwrap_or_default();
                let x: f64 = text.parse().map_err(|_| self.err("Expecting value"))?;
                let st = &mut *self.st;
                let from = st.side.len();
                push_float_repr(&mut st.side, &mut st.num, x);
                Ok(Piece::Side(from, st.side.len()))
            }
        }
    }
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
