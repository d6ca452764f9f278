#!/usr/bin/env python3
"""Differential reference for `edgehook::canonical::canonicalize`.

Generates raw JSON text documents (deterministically for a given seed) and, for
each one, prints a JSON line with what CPython does with it:

    {"input": "<base64 raw bytes>", "expected": "<base64 canonical output>"}
    {"input": "<base64 raw bytes>", "error": "<exception type: message>"}

The reference is exactly

    json.dumps(json.loads(raw_bytes), separators=(",", ":"), sort_keys=True)

encoded as ASCII (ensure_ascii=True, allow_nan=True defaults). json.loads is given
the raw bytes, so a leading UTF-8 BOM is skipped and the text is decoded as UTF-8
with 'surrogatepass'.

Usage:
    python3 tests/canonical_ref.py --count N --seed S [--large] [--stats]

--large makes every document 8-64 KB. --stats prints the valid/error mix to stderr.
Stdlib only.
"""

import argparse
import base64
import json
import math
import random
import struct
import sys

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

WS_CHARS = " \t\n\r"
BOM = b"\xef\xbb\xbf"

# Logical key pool: keys whose code-point order is interesting. Lone surrogates
# are allowed (python str can hold them; raw ones are written surrogatepass).
KEY_POOL = [
    "a", "b", "A", "B", "Z", "aa", "ab", "a0", "a ", "", " ", "0", "1", "2", "9",
    "10", "2a", "01", "100", "_", "-", "~", "key", "Key", "KEY", "id", "type",
    "data", "\u007f", "\u0080", "\u00e9", "e\u0301", "\u00df", "\u00ff", "\u0100",
    "\u07ff", "\u0800", "\u20ac", "\u4e2d", "\u2028", "\u2029", "\ud7ff",
    "\ue000", "\ufeff", "\ufffd", "\uffff", "\U00010000", "\U0001f600",
    "\U0001f601", "\U0001f468\u200d\U0001f469", "\U0010ffff", "\ud800", "\udbff",
    "\udc00", "\udfff", "\ud83d", "\ude00", "\ud83d\ude00x",
    # two surrogate code points: written raw (surrogatepass) they stay two code points
    # and sort before U+E000; written as two escapes they join into U+1F600
    "\ud83d\ude00", "a\u0000b", "\t",
    "\n", "\"", "\\", "/", "\\/", "\u0001", "\u001f", "k\u00e9y", "\u00e9a",
    "\U0001f600a", "a\U0001f600", "\uffffa",
]

SPECIAL_CHARS = [
    "\u007f", "\u0080", "\u00a0", "\u00e9", "\u00ff", "\u0100", "\u07ff", "\u0800",
    "\u0fff", "\u1000", "\u2028", "\u2029", "\u200b", "\u200d", "\u20ac", "\u4e2d",
    "\ud7ff", "\ue000", "\uf8ff", "\ufeff", "\ufffd", "\ufffe", "\uffff",
    "\U00010000", "\U0001f600", "\U0001f4a9", "\U00020000", "\U000e0001",
    "\U0010fffd", "\U0010ffff", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t",
    "\u0000", "\u0001", "\u001b", "\u001f", " ", "'", "<", ">", "&",
]

# Raw escape snippets (JSON text, already escaped) that stress surrogate handling.
SURROGATE_SNIPPETS = [
    r"\ud83d\ude00", r"\uD83D\uDE00", r"\uD83d\uDe00", r"\ud800\udc00",
    r"\udbff\udfff", r"\ude00\ud83d", r"\udc00\ud800", r"\ud800", r"\udbff",
    r"\udc00", r"\udfff", r"\uDFFF", r"\ud800\u0041", r"\ud800A", r"\ud800\n",
    r"\ud800\\", r"\ud800\"", r"\ud800\ud800\udc00", r"\ud800\ud800",
    r"\udc00\udc00", r"\ud83d\u00e9", r"\ud83d\uffff", r"\ud83d\ue000",
    r"\ud83d\ud7ff", r"\ud83d/", r"\ud83d\/", r"\ud83d\u005cu0041",
]

# Raw UTF-8 byte sequences accepted by python's surrogatepass decoder.
RAW_SURROGATE_BYTES = [
    b"\xed\xa0\x80",                   # U+D800
    b"\xed\xbf\xbf",                   # U+DFFF
    b"\xed\xaf\xbf",                   # U+DBFF
    b"\xed\xb0\x80",                   # U+DC00
    b"\xed\xa0\xbd\xed\xb8\x80",       # CESU-8 form of U+1F600 (two surrogates)
    b"\xed\xb8\x80\xed\xa0\xbd",       # reversed
]

INVALID_UTF8 = [
    b"\xc0\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
    b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\x80", b"\xbf", b"\x80\x80",
    b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80",
    b"\xfe", b"\xff", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xe2", b"\xf0\x9f\x98",
    b"\xc3", b"\xe2\x28\xa1", b"\xc3\x28", b"\xa0\xa1", b"\xf0\x28\x8c\xbc",
]

FLOAT_SPECIALS = [
    "0.0", "-0.0", "0e0", "0E0", "-0e0", "0e-0", "0e+0", "0.0e10", "-0.0E-10",
    "1.0", "1.50", "1.5", "-1.5", "1E5", "1e5", "1e-7", "1E-7", "1e+16", "1e16",
    "1E16", "1e15", "1e+15", "1e17", "123456789012345678.0", "123456789012345678e0",
    "1.23456789012345678e17", "0.0001", "0.00001", "0.0000999", "0.000099999",
    "1e-4", "1e-5", "1e-05", "5e-324", "4.9406564584124654e-324", "2e-324",
    "3e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-323",
    "2.2250738585072014e-308", "2.2250738585072011e-308", "2.2250738585072012e-308",
    "2.225073858507201e-308", "1.7976931348623157e308", "1.7976931348623158e308",
    "1.7976931348623159e308", "1.797693134862315807e308", "1e308", "1e309",
    "1e400", "-1e400", "1E400", "1e-400", "-1e-400", "1e99999999999999999999",
    "-1e99999999999999999999", "1e-99999999999999999999", "0e99999999999999999",
    "9999999999999998.0", "9999999999999999.0", "9999999999999998", "1e15",
    "999999999999999.9", "999999999999999.94", "1000000000000000.0",
    "10000000000000000.0", "9007199254740993.0", "9007199254740992.0",
    "9007199254740993e0", "9007199254740995.0", "4503599627370496.5",
    "4503599627370497.5", "0.1", "0.2", "0.3", "0.30000000000000004", "1.1",
    "2.5", "100.0", "1e1", "1e2", "1e21", "1e22", "1e23", "1e-1", "1.0e-0",
    "7.2057594037927933e16", "1.00000000000000011102230246251565404236316680908203125",
    "1.00000000000000011102230246251565404236316680908203124",
    "1.00000000000000011102230246251565404236316680908203126",
    "3.14159265358979323846264338327950288", "2.718281828459045235360287",
    "123.456e-789", "0.000000000000000000000000000000000001", "1e0", "1e-0",
    "1e00007", "1E+007", "12345678901234567890.0", "0.1e1", "10e-1", "-1e-7",
    "1.7e308", "-2.2250738585072014e-308", "8.98846567431158e307",
    "4.940656458412465441765687928682213723651e-324", "1e-5", "1.5e-5",
    "9.999999999999999e-5", "0.00009999999999999999", "9.999999999999999e22",
    "1.0000000000000001", "1.0000000000000002", "0.9999999999999999",
    "0.99999999999999999",
    # shortest repr has two equally near candidates: CPython rounds half to even
    "1125899906842624.25", "1125899906842624.75", "99960613159575.625",
    "562949953421312.125", "562949953421312.375", "4503599627370495.5",
    "2251799813685247.25", "123456789012345.625", "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.0",
]

INT_SPECIALS = [
    "0", "-0", "1", "-1", "9", "10", "-10", "123", "2147483647", "2147483648",
    "-2147483648", "-2147483649", "4294967295", "4294967296",
    "9007199254740991", "9007199254740992", "9007199254740993",
    "-9007199254740993", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "-18446744073709551616",
    "340282366920938463463374607431768211455",
    "340282366920938463463374607431768211456", "123456789012345678",
    "1000000000000000", "10000000000000000", "99999999999999999999",
]

BAD_NUMBERS = [
    "01", "00", "-01", "001", "1.", "-1.", ".5", "-.5", "+1", "+0", "1e", "1E",
    "1e+", "1e-", "-", "--1", "0x10", "0X1F", "1.e5", "1.5.5", "1e5e5", "1ee5",
    "0b1", "1_000", "-+1", "1,5", "0.e1", "Infinity1", "- 1", "1 .5", "1. 5",
    "1e 5", "\u0661", "１", "1e1.5", ".", "e5", "-e5", "0.5.", "07.5",
    "-Infinity-", "+Infinity", "-NaN", "+NaN", "NaN1", "inf", "-inf", "nan",
    "infinity", "INFINITY", "NAN", "Inf", "-Inf", "Nan", "1f", "1d", "1L",
]

BAD_LITERALS = [
    "tru", "True", "TRUE", "fals", "False", "nul", "Null", "NULL", "None", "nil",
    "undefined", "truee", "nulll", "t", "f", "n", "true1", "nullx", "falsey",
    "t rue", "NaN_", "Infinit", "Infinityy", "-Infinit", "Na", "N",
]

STRUCTURAL_GARBAGE = [
    b"x", b"]", b"}", b",", b":", b"[", b"{", b'"', b"'", b"1", b"null", b"//",
    b"/* c */", b"#", b"\\", b"\x7f", b"\xc2\xa0", b"\xe2\x80\xa8", b"\x0b",
    b"\x0c", b"\x00", b"\x01", b"\xef\xbb\xbf", b"\xed\xa0\x80", b";", b"=",
]


SHORT_ESCAPES = {'"': b'\\"', "\\": b"\\\\", "\b": b"\\b", "\f": b"\\f",
                 "\n": b"\\n", "\r": b"\\r", "\t": b"\\t"}
PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]


def utf8sp(s):
    return s.encode("utf-8", "surrogatepass")


def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------


class Generator:
    """Writes raw JSON text. All structural randomness comes from self.r; fault
    content comes from self.f so that a document can be generated twice (once to
    count fault sites, once to fire one chosen site) with the same shape."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.f = random.Random(seed ^ 0x5DEECE66D)
        self.reset_doc()

    def reset_doc(self):
        self.fault_kind = None   # "container" | "string" | "number" | "literal"
        self.site_count = 0
        self.fire_at = -1
        self.fired = False
        self.style = "compact"
        self.indent = "  "
        self.budget = 0
        self.chain_p = 0.0

    # -- fault sites -------------------------------------------------------

    def site(self, kind):
        """True if the fault must be fired at this site (one per document)."""
        if self.fault_kind != kind:
            return False
        idx = self.site_count
        self.site_count += 1
        if idx == self.fire_at:
            self.fired = True
            return True
        return False

    # -- whitespace ----------------------------------------------------------

    def ws_random(self, lo, hi):
        r = self.r
        return "".join(r.choice(WS_CHARS) for _ in range(r.randint(lo, hi)))

    def gap(self):
        """Whitespace between two tokens (inline position)."""
        st = self.style
        if st == "compact":
            return ""
        if st == "pretty":
            return ""
        if st == "spaces":
            return " " if self.r.random() < 0.5 else ""
        if st == "random":
            return self.ws_random(0, 2) if self.r.random() < 0.6 else ""
        if st == "heavy":
            return self.ws_random(1, 6)
        return ""

    def after_colon(self):
        st = self.style
        if st == "pretty":
            return " "
        return self.gap()

    def line(self, depth):
        """Whitespace before a member / closing bracket."""
        st = self.style
        if st == "pretty":
            nl = "\r\n" if self.indent == "\r\n" else "\n"
            ind = "\t" if self.indent == "\t" else ("  " if self.indent != "    " else "    ")
            return nl + ind * depth
        return self.gap()

    # -- strings -------------------------------------------------------------

    def hex4(self, cp):
        h = "%04x" % cp
        m = self.r.random()
        if m < 0.5:
            return h
        if m < 0.85:
            return h.upper()
        return "".join(c.upper() if self.r.random() < 0.5 else c for c in h)

    def esc_u(self, cp):
        return "\\u" + self.hex4(cp)

    def encode_char(self, ch, escape_bias):
        """Raw JSON text (as bytes) for one logical code point."""
        r = self.r
        cp = ord(ch)
        if 0x20 <= cp < 0x7F and ch not in '"\\/':
            if escape_bias and r.random() < escape_bias:
                return self.esc_u(cp).encode()
            return ch.encode()
        if ch in ('"', "\\") or cp < 0x20:
            if ch in SHORT_ESCAPES and r.random() < 0.7:
                return SHORT_ESCAPES[ch]
            return self.esc_u(cp).encode()
        if ch == "/":
            x = r.random()
            if x < 0.6:
                return b"/"
            if x < 0.85:
                return b"\\/"
            return self.esc_u(cp).encode()
        if 0xD800 <= cp <= 0xDFFF:
            if r.random() < 0.75:
                return self.esc_u(cp).encode()
            return utf8sp(ch)
        if escape_bias and r.random() < escape_bias:
            if cp > 0xFFFF:
                v = cp - 0x10000
                hi = 0xD800 + (v >> 10)
                lo = 0xDC00 + (v & 0x3FF)
                return (self.esc_u(hi) + self.esc_u(lo)).encode()
            return self.esc_u(cp).encode()
        return ch.encode("utf-8")

    def encode_logical(self, s):
        r = self.r
        bias = r.choice([0.0, 0.0, 0.1, 0.5, 1.0])
        return b'"' + b"".join(self.encode_char(c, bias) for c in s) + b'"'

    def random_char(self):
        r = self.r
        x = r.random()
        if x < 0.45:
            return PRINTABLE[int(r.random() * 95)]
        if x < 0.55:
            return r.choice(SPECIAL_CHARS)
        if x < 0.65:
            return chr(r.randint(0x80, 0x7FF))            # 2-byte
        if x < 0.78:
            cp = r.randint(0x800, 0xFFFF)                  # 3-byte
            if is_surrogate(cp):
                cp = 0xE000 + (cp - 0xD800)
            return chr(cp)
        if x < 0.88:
            return chr(r.randint(0x10000, 0x10FFFF))      # 4-byte
        if x < 0.93:
            return chr(r.randint(0, 0x1F))                 # control -> escape
        if x < 0.97:
            return chr(r.randint(0xD800, 0xDFFF))         # lone surrogate
        return chr(r.randint(0x7F, 0x9F))

    def random_logical_string(self, maxlen):
        r = self.r
        n = r.randint(0, maxlen)
        mode = r.random()
        if mode < 0.3:
            # plain ASCII words
            return "".join(r.choices("abcdefghijklmnopqrstuvwxyz", k=n))
        return "".join(self.random_char() for _ in range(n))

    def string_body(self, maxlen):
        """Raw bytes between the quotes of a JSON string."""
        r = self.r
        parts = []
        n = r.randint(0, maxlen)
        bias = r.choice([0.0, 0.0, 0.05, 0.3, 1.0])
        for _ in range(n):
            x = r.random()
            if x < 0.04:
                parts.append(r.choice(SURROGATE_SNIPPETS).encode())
            elif x < 0.05:
                parts.append(r.choice(RAW_SURROGATE_BYTES))
            elif x < 0.13:
                parts.append(self.encode_char(r.choice(SPECIAL_CHARS), bias))
            elif x < 0.18:
                # \u escape of printable ASCII or control char
                cp = r.randint(0x20, 0x7E) if r.random() < 0.6 else r.randint(0, 0x1F)
                parts.append(self.esc_u(cp).encode())
            elif x < 0.22:
                parts.append(r.choice([b'\\"', b"\\\\", b"\\/", b"\\b", b"\\f", b"\\n",
                                       b"\\r", b"\\t"]))
            elif x < 0.25:
                run = r.choices(PRINTABLE, k=r.randint(1, 30))
                parts.append(b"".join(self.encode_char(c, bias) for c in run))
            else:
                parts.append(self.encode_char(self.random_char(), bias))
        return b"".join(parts)

    def gen_string_value(self):
        r = self.r
        x = r.random()
        if x < 0.55:
            body = self.string_body(8)
        elif x < 0.85:
            body = self.string_body(40)
        elif x < 0.985:
            body = self.string_body(300)
        else:
            body = self.string_body(3000)
        return self.maybe_break_string(b'"' + body + b'"')

    def gen_key(self):
        r = self.r
        x = r.random()
        if x < 0.55:
            s = r.choice(KEY_POOL)
            if r.random() < 0.1:
                s = s + r.choice(KEY_POOL)
            raw = self.encode_logical(s)
        elif x < 0.8:
            raw = self.encode_logical(self.random_logical_string(6))
        elif x < 0.9:
            raw = b'"' + self.string_body(6) + b'"'
        else:
            # single-character keys across the code space, to stress sorting
            raw = self.encode_logical(self.random_char())
        return self.maybe_break_string(raw)

    def maybe_break_string(self, raw):
        """String fault site: raw is a complete string literal including quotes."""
        if not self.site("string"):
            return raw
        f = self.f
        body = raw[1:-1]
        pos = f.randint(0, len(body))
        # Do not split an escape sequence or a UTF-8 sequence: cut only before
        # an ASCII char that is not preceded by a backslash.
        while pos > 0 and pos < len(body) and (body[pos] >= 0x80 or body[pos - 1] == 0x5C):
            pos -= 1
        while pos > 0 and body[pos - 1] == 0x5C:
            pos -= 1
        head, tail = body[:pos], body[pos:]
        k = f.randint(0, 4)
        if k == 0:
            # bare control character inside the string
            c = f.choice([0x01, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1B, 0x1F, 0x00])
            ins = bytes([c])
        elif k == 1:
            ins = f.choice([b"\\x41", b"\\a", b"\\0", b"\\'", b"\\U0041", b"\\u12",
                            b"\\u12G4", b"\\uXYZW", b"\\u-123", b"\\u 123", b"\\v",
                            b"\\e", b"\\ ", b"\\\n", b"\\N", b"\\u{41}", b"\\ud800\\u12",
                            b"\\ud800\\uzzzz", b"\\ud800\\", b"\\\xc3\xa9", b"\\x"])
        elif k == 2:
            ins = f.choice(INVALID_UTF8)
        elif k == 3:
            # unterminated: drop the closing quote
            return b'"' + body
        else:
            # trailing lone backslash escapes the closing quote
            return b'"' + body + b'\\"'
        return b'"' + head + ins + tail + b'"'

    # -- numbers -------------------------------------------------------------

    def digits(self, n):
        r = self.r
        if n <= 0:
            return ""
        return str(r.randint(1, 9)) + "".join(str(r.randint(0, 9)) for _ in range(n - 1))

    def random_double(self):
        r = self.r
        x = r.random()
        if x < 0.35:
            while True:
                v = struct.unpack("<d", struct.pack("<Q", r.getrandbits(64)))[0]
                if math.isfinite(v):
                    return v
        if x < 0.5:
            # subnormals and values near the bottom of the range
            v = struct.unpack("<d", struct.pack("<Q", r.getrandbits(52 + r.randint(0, 3))))[0]
            return -v if r.random() < 0.5 else v
        if x < 0.7:
            # around the repr switch points (1e16 and 1e-4)
            e = r.choice([15, 16, 17, -4, -5, -3, 21, 22])
            v = r.uniform(1.0, 10.0) * (10.0 ** e)
            return -v if r.random() < 0.3 else v
        if x < 0.8:
            v = float(r.randint(-(10 ** 17), 10 ** 17))
            return v
        if x < 0.9:
            return r.uniform(-1000, 1000)
        return r.uniform(0, 1) * (10.0 ** r.randint(-320, 308))

    def format_double(self, v):
        r = self.r
        x = r.random()
        if x < 0.3:
            s = repr(v)
        elif x < 0.5:
            s = "%.17g" % v
        elif x < 0.65:
            s = "%.20e" % v
        elif x < 0.8:
            s = ("%%.%dg" % r.randint(1, 25)) % v
        elif x < 0.9:
            s = ("%%.%de" % r.randint(0, 25)) % v
        else:
            if abs(v) < 1e30:
                s = ("%%.%df" % r.randint(0, 30)) % v
            else:
                s = repr(v)
        if "e" in s and r.random() < 0.3:
            s = s.replace("e", "E")
        return s

    def gen_number_text(self):
        r = self.r
        x = r.random()
        if x < 0.15:
            s = str(r.randint(-1000, 1000))
        elif x < 0.25:
            s = r.choice(INT_SPECIALS)
        elif x < 0.31:
            # huge ints
            y = r.random()
            if y < 0.7:
                n = r.randint(20, 100)
            elif y < 0.93:
                n = r.randint(100, 1500)
            elif y < 0.97:
                n = r.randint(1500, 4300)
            else:
                n = 4300
            s = ("-" if r.random() < 0.3 else "") + self.digits(n)
        elif x < 0.5:
            s = r.choice(FLOAT_SPECIALS)
            if r.random() < 0.3 and not s.startswith("-"):
                s = "-" + s
        elif x < 0.75:
            s = self.format_double(self.random_double())
        elif x < 0.88:
            # long mantissas, 17-25 significant digits, various exponents
            nd = r.randint(17, 25)
            d = self.digits(nd)
            p = r.randint(1, nd)
            if r.random() < 0.5:
                s = d[:p] + "." + d[p:] if p < nd else d + ".0"
            else:
                s = "0." + "0" * r.randint(0, 8) + d
            if r.random() < 0.6:
                s += r.choice("eE") + r.choice(["", "+", "-"]) + str(r.randint(0, 330))
            if r.random() < 0.3:
                s = "-" + s
        elif x < 0.93:
            # very long mantissas (float has no digit limit)
            nd = r.randint(30, 800)
            s = self.digits(nd)
            p = r.randint(1, nd - 1)
            s = s[:p] + "." + s[p:]
            if r.random() < 0.5:
                s += "e" + str(r.randint(-700, 400))
        elif x < 0.97:
            # exponent forms
            m = r.choice(["0", "1", "5", "9", "12", "1.5", "0.5", "123.456", "7.0"])
            s = m + r.choice("eE") + r.choice(["", "+", "-"]) + "0" * r.randint(0, 3) + \
                str(r.randint(0, 400))
            if r.random() < 0.3:
                s = "-" + s
        else:
            s = r.choice(["NaN", "Infinity", "-Infinity"])
        if self.site("number"):
            f = self.f
            if f.random() < 0.12:
                s = self.f_digits(4301 + f.randint(0, 3))
                if f.random() < 0.3:
                    s = "-" + s
            else:
                s = f.choice(BAD_NUMBERS)
        return s

    def f_digits(self, n):
        f = self.f
        return str(f.randint(1, 9)) + "".join(str(f.randint(0, 9)) for _ in range(n - 1))

    def gen_literal(self):
        r = self.r
        x = r.random()
        if x < 0.3:
            s = "true"
        elif x < 0.6:
            s = "false"
        elif x < 0.9:
            s = "null"
        else:
            s = r.choice(["NaN", "Infinity", "-Infinity"])
        if self.site("literal"):
            s = self.f.choice(BAD_LITERALS)
        return s

    # -- containers ------------------------------------------------------------

    def gen_scalar(self):
        r = self.r
        x = r.random()
        if x < 0.4:
            return self.gen_string_value()
        if x < 0.8:
            return self.gen_number_text().encode()
        return self.gen_literal().encode()

    def gen_value(self, depth, maxdepth):
        r = self.r
        self.budget -= 1
        if depth < maxdepth and self.budget > 0:
            pc = 0.55 if depth < 2 else 0.35
            if r.random() < pc:
                if depth <= 20 and r.random() < self.chain_p:
                    return self.gen_chain(depth)
                if r.random() < 0.5:
                    return self.gen_array(depth, maxdepth)
                return self.gen_object(depth, maxdepth)
        return self.gen_scalar()

    def member_count(self):
        r = self.r
        x = r.random()
        if x < 0.12:
            n = 0
        elif x < 0.7:
            n = r.randint(1, 4)
        elif x < 0.95:
            n = r.randint(5, 10)
        else:
            n = r.randint(11, 30)
        # keep documents small: a per-document budget of values
        return max(0, min(n, self.budget))

    def close_container(self, opener, closer, items, depth, is_object):
        """items: list of raw member bytes. Applies a container fault if this is
        the chosen site."""
        seps = [b"," + self.gap().encode() for _ in range(max(0, len(items) - 1))]
        lines = [self.line(depth + 1).encode() for _ in items]
        end_ws = self.line(depth).encode() if items else self.gap().encode()
        trailing = b""
        lead = b""
        if self.site("container"):
            f = self.f
            k = f.randint(0, 6)
            if k == 0:
                trailing = b","
            elif k == 1 and len(items) >= 2:
                seps[f.randrange(len(seps))] = f.choice([b" ", b"", b"\n", b";"])
            elif k == 2 and len(items) >= 2:
                seps[f.randrange(len(seps))] = b",,"
            elif k == 3:
                lead = b","
            elif k == 4:
                closer = f.choice([b"", b"]" if is_object else b"}", b")", b">"])
            elif k == 5 and is_object and items:
                i = f.randrange(len(items))
                key = f.choice([b"a", b"'a'", b"1", b"null", b"true", b"[]", b"{}",
                                b"a b", b"\"a\"\"b\"", b"`a`"])
                items[i] = key + b":1"
            elif k == 6 and is_object and items:
                i = f.randrange(len(items))
                items[i] = f.choice([b'"k"', b'"k":', b'"k" 1', b'"k"=1', b'"k"::1',
                                     b'"k":1:2', b':1'])
            elif not is_object and items and f.random() < 0.5:
                items[f.randrange(len(items))] = f.choice([b'"k":1', b'1:2', b'*'])
            else:
                trailing = b","
        out = [opener, lead]
        for i, it in enumerate(items):
            out.append(lines[i])
            out.append(it)
            if i < len(items) - 1:
                out.append(seps[i])
        out.append(trailing)
        out.append(end_ws)
        out.append(closer)
        return b"".join(out)

    def gen_array(self, depth, maxdepth):
        n = self.member_count()
        items = []
        for _ in range(n):
            items.append(self.gen_value(depth + 1, maxdepth))
        return self.close_container(b"[", b"]", items, depth, False)

    def gen_object(self, depth, maxdepth):
        r = self.r
        n = self.member_count()
        items = []
        keys = []
        for _ in range(n):
            if keys and r.random() < 0.12:
                # duplicate key: same raw text, or the same key re-encoded
                k = r.choice(keys)
            else:
                k = self.gen_key()
            keys.append(k)
            colon = self.gap().encode() + b":" + self.after_colon().encode()
            items.append(k + colon + self.gen_value(depth + 1, maxdepth))
        if keys and r.random() < 0.1:
            # same logical key written two ways: "a" and "\u0061"
            s = r.choice(KEY_POOL)
            k1 = self.encode_logical(s)
            k2 = self.encode_logical(s)
            colon = b":"
            items.append(k1 + colon + self.gen_scalar())
            items.append(k2 + colon + self.gen_scalar())
        return self.close_container(b"{", b"}", items, depth, True)

    def gen_chain(self, depth):
        """A deep chain of nested containers (60-250 levels: the nesting limit, 128, is
        in the middle, so both sides of it are covered)."""
        r = self.r
        n = r.randint(60, 250)
        opens = []
        closes = []
        kind = r.choice(["array", "object", "mixed"])
        for _ in range(n):
            use_obj = kind == "object" or (kind == "mixed" and r.random() < 0.5)
            g1 = self.gap()
            if use_obj:
                key = self.encode_logical(r.choice(KEY_POOL[:30]))
                opens.append(b"{" + g1.encode() + key + b":")
                closes.append(self.gap().encode() + b"}")
            else:
                opens.append(b"[" + g1.encode())
                closes.append(self.gap().encode() + b"]")
        inner = self.gen_scalar() if r.random() < 0.8 else (b"[]" if r.random() < 0.5 else b"{}")
        return b"".join(opens) + inner + b"".join(reversed(closes))

    # -- documents ---------------------------------------------------------------

    def choose_style(self):
        r = self.r
        self.style = r.choice(["compact", "compact", "pretty", "spaces", "random", "heavy"])
        self.indent = r.choice(["  ", "    ", "\t", "\r\n"])

    def gen_body(self, large):
        r = self.r
        if large:
            target = r.randint(8 * 1024, 64 * 1024)
            is_obj = r.random() < 0.5
            items = []
            size = 0
            keys = []
            while size < target:
                self.budget = r.randint(1, 60)
                v = self.gen_value(1, r.randint(1, 8))
                if is_obj:
                    if keys and r.random() < 0.05:
                        k = r.choice(keys)
                    else:
                        k = self.gen_key()
                    keys.append(k)
                    v = k + self.gap().encode() + b":" + self.after_colon().encode() + v
                items.append(v)
                size += len(v) + 2
            if is_obj:
                return self.close_container(b"{", b"}", items, 0, True)
            return self.close_container(b"[", b"]", items, 0, False)
        self.budget = r.choice([4, 10, 20, 40, 80, 150, 300])
        x = r.random()
        if x < 0.1:
            return self.gen_scalar()
        maxdepth = r.choice([1, 2, 3, 3, 4, 4, 5, 6, 8, 10, 14, 20])
        if r.random() < 0.5:
            return self.gen_array(0, maxdepth)
        return self.gen_object(0, maxdepth)

    def gen_document(self, large):
        """Returns the raw bytes of one document."""
        r = self.r
        self.reset_doc()
        self.choose_style()
        self.chain_p = 0.0 if large else (0.03 if r.random() < 0.3 else 0.0)
        bom = r.random() < 0.06
        lead = self.ws_random(0, 3) if r.random() < 0.3 else ""
        trail = self.ws_random(0, 3) if r.random() < 0.3 else ""
        invalid = r.random() < 0.105
        fault = None
        if invalid:
            fault = r.choice(["container", "container", "string", "string", "number",
                              "literal", "doc", "doc", "doc"])
        if fault in ("container", "string", "number", "literal"):
            # pass 1: count the sites of that kind; pass 2: fire one of them.
            state = r.getstate()
            self.fault_kind = fault
            self.fire_at = -1
            self.site_count = 0
            self.gen_body(large)
            count = self.site_count
            r.setstate(state)
            self.site_count = 0
            self.fire_at = self.f.randrange(count) if count else -1
            body = self.gen_body(large)
            self.fault_kind = None
            if not self.fired:
                fault = "doc"
        else:
            body = self.gen_body(large)
        doc = lead.encode() + body + trail.encode()
        if fault == "doc":
            doc = self.doc_fault(doc)
        if bom:
            doc = BOM + doc
        return self.guard(doc)

    def doc_fault(self, doc):
        f = self.f
        k = f.randint(0, 11)
        if k == 0:
            return b""
        if k == 1:
            return "".join(f.choice(WS_CHARS) for _ in range(f.randint(1, 8))).encode()
        if k in (2, 3):
            # truncated
            if len(doc) <= 1:
                return b"["
            return doc[:f.randrange(1, len(doc))]
        if k == 4:
            return doc + f.choice([b" x", b"x", b",", b" 1", b"]", b"}", b" null",
                                   b"{}", b"[]", b'""', b" /", b"\x00", b"\x0b",
                                   b"\xc2\xa0", b"\xef\xbb\xbf", b"0"])
        if k == 5:
            return doc + f.choice([b" // comment", b" /* c */", b" #c", b"\n;"])
        if k == 6:
            return BOM + BOM + doc
        if k == 7:
            # invalid UTF-8 anywhere
            p = f.randint(0, len(doc))
            return doc[:p] + f.choice(INVALID_UTF8) + doc[p:]
        if k == 8:
            # junk between tokens or anywhere
            p = f.randint(0, len(doc))
            return doc[:p] + f.choice(STRUCTURAL_GARBAGE) + doc[p:]
        if k == 9:
            return f.choice([b"'a'", b"{'a':1}", b"['x']", b"{a:1}", b"[1,]", b"{,}",
                             b"[,]", b'{"a":1,}', b"[1 2]", b'{"a" 1}', b"(1)",
                             b"1.", b".5", b"+1", b"01", b"1e", b"-", b"\"\t\"",
                             b'"\\q"', b"[", b"{", b'"', b"]", b"}", b"undefined",
                             b"0x1", b'{"a":1}}', b"[[]", b"\xed\xa0\x80",
                             b'"\xed\xa0\x80"', b'"\xc0\x80"', b'"\x80"', b'"\xf5"',
                             b"\xef\xbb\xbf", b"\xef\xbb\xbf \t", b"nan", b"-nan"])
        if k == 10:
            # an int of 4301 digits (python's conversion limit), somewhere
            big = self.f_digits(4301).encode()
            return b"[" + doc + b"," + big + b"]" if doc.strip() else big
        # remove one structural char somewhere
        idxs = [i for i, c in enumerate(doc[:20000]) if c in b"[]{},:"]
        if not idxs:
            return doc + b"]"
        i = f.choice(idxs)
        return doc[:i] + doc[i + 1:]

    @staticmethod
    def guard(doc):
        """Never let python switch away from UTF-8 (NUL in the first bytes or a
        UTF-16/32 BOM)."""
        if doc.startswith(BOM):
            return doc
        if doc.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in doc[:2]:
            return b"  " + doc
        return doc


# ---------------------------------------------------------------------------
# Reference
# ---------------------------------------------------------------------------


def reference(raw):
    try:
        out = json.dumps(json.loads(raw), separators=(",", ":"), sort_keys=True)
        return out.encode("ascii"), None
    except Exception as e:  # noqa: BLE001 - any exception is "python rejects it"
        msg = "%s: %s" % (type(e).__name__, e)
        if len(msg) > 300:
            msg = msg[:300] + "..."
        return None, msg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--large", action="store_true",
                    help="every document is 8-64 KB")
    ap.add_argument("--stats", action="store_true",
                    help="print the valid/error mix to stderr")
    args = ap.parse_args()

    # The reference depends on CPython's integer-string conversion limit (4300
    # digits, the default since 3.11): pin it so PYTHONINTMAXSTRDIGITS or
    # -X int_max_str_digits cannot change the expected results.
    if not hasattr(sys, "set_int_max_str_digits"):
        sys.exit("canonical_ref.py needs CPython 3.11+ (sys.set_int_max_str_digits); got %s"
                 % sys.version.split()[0])
    sys.set_int_max_str_digits(4300)

    gen = Generator(args.seed)
    out = sys.stdout
    valid = errors = 0
    total_bytes = 0
    for _ in range(args.count):
        raw = gen.gen_document(args.large)
        total_bytes += len(raw)
        expected, err = reference(raw)
        rec = {"input": base64.b64encode(raw).decode("ascii")}
        if err is None:
            valid += 1
            rec["expected"] = base64.b64encode(expected).decode("ascii")
        else:
            errors += 1
            rec["error"] = err
        out.write(json.dumps(rec))
        out.write("\n")
    out.flush()
    if args.stats:
        sys.stderr.write("documents=%d valid=%d errors=%d (%.1f%%) bytes=%d\n" % (
            args.count, valid, errors, 100.0 * errors / max(1, args.count), total_bytes))


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        # `... | head`: the reader went away; stop quietly.
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
