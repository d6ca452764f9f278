#!/usr/bin/env python3
"""Which shared test vectors the reference TypeScript Worker gets wrong, next to edgehook.

    python3 bench/reference_mismatches.py [--out bench/out/vectors] [--mode verify|full]

Starts both Workers through bench/serve.mjs (verify-only by default, so each answer is the
verdict of verify + normalize alone; browser-use tolerance 10^10 s, since the vectors are
signed at 1700000000), sends every vector of tests/fixtures/providers.json (and
generated.json, if present) to each, and lists the deliveries the reference refuses. Every
vector is a valid delivery: the right answer is 202.

The Workers are configured with the secrets of providers.json; vectors signed with another
secret (generated.json) are re-signed with it exactly as the provider signs (CPython's
canonical form for browser-use, the raw body for skyvern) and keep their timestamp. For each
browser-use vector the docs' JS canonical form (JSON.parse, sorted keys, JSON.stringify) is
computed with node and compared with CPython's, to say where they part.
"""

import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BU_SECRET = "whsec_test_vector"
SKY_KEY = "sk_test_vector_key"

JS_CANON = r"""
const sortKeys = (v) => Array.isArray(v) ? v.map(sortKeys)
  : v !== null && typeof v === "object"
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v;
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((b) => {
    try { return JSON.stringify(sortKeys(JSON.parse(b))); } catch (e) { return null; }
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def py_canonical(body):
    return json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)


def load_vectors():
    vectors = []
    for name in ("providers.json", "generated.json"):
        path = os.path.join(ROOT, "tests", "fixtures", name)
        if not os.path.exists(path):
            continue
        data = json.load(open(path, encoding="utf-8"))
        for i, v in enumerate(data.get("browser-use", [])):
            ts, body = v["timestamp"], v["body"]
            sig = v["signature"]
            resigned = False
            if v["secret"] != BU_SECRET:
                msg = f"{ts}.{py_canonical(body)}"
                sig = hmac.new(BU_SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
                resigned = True
            else:
                mine = hmac.new(BU_SECRET.encode(), f"{ts}.{py_canonical(body)}".encode(),
                                hashlib.sha256).hexdigest()
                if mine != sig:
                    print(f"warning: {name} browser-use #{i}: CPython's canonical form does not "
                          f"reproduce the vector's signature", file=sys.stderr)
            vectors.append({
                "file": name, "provider": "browser-use", "n": i, "note": v.get("note", ""),
                "path": "/in/browser-use", "body": body, "resigned": resigned,
                "headers": {"content-type": "application/json",
                            "x-browser-use-signature": sig, "x-browser-use-timestamp": ts},
            })
        for i, v in enumerate(data.get("skyvern", [])):
            body = v["body"]
            headers = {"content-type": "application/json", **v["headers"]}
            resigned = False
            if v["secret"] != SKY_KEY:
                headers["x-skyvern-signature"] = hmac.new(
                    SKY_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
                resigned = True
            vectors.append({"file": name, "provider": "skyvern", "n": i,
                            "note": v.get("note", ""), "path": "/in/skyvern", "body": body,
                            "headers": headers, "resigned": resigned})
    return vectors


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(worker, mode, logdir, build=None):
    out = open(os.path.join(logdir, f"vectors-{worker}.serve.json"), "w+")
    proc = subprocess.Popen(
        ["node", os.path.join(HERE, "serve.mjs"), "--worker", worker, "--mode", mode,
         "--tolerance", "10000000000", "--browser-use-secret", BU_SECRET,
         "--skyvern-key", SKY_KEY, "--origin", f"http://127.0.0.1:{free_port()}/events",
         "--log", os.path.join(logdir, f"vectors-{worker}.log")]
        + (["--build", build] if build else []),
        stdout=out, stderr=subprocess.DEVNULL)
    for _ in range(600):
        out.seek(0)
        line = out.read().strip()
        if line:
            return proc, json.loads(line)["url"]
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{worker} did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def send(url, v):
    req = urllib.request.Request(url.rstrip("/") + v["path"], data=v["body"].encode(),
                                 headers=v["headers"], method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def first_difference(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return i


def escape_non_ascii(text):
    """What CPython's ensure_ascii does to the characters JSON.stringify leaves raw."""
    out = []
    for ch in text:
        c = ord(ch)
        if c < 0x80:
            out.append(ch)
        elif c < 0x10000:
            out.append(f"\\u{c:04x}")
        else:
            c -= 0x10000
            out.append(f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}")
    return "".join(out)


def explain(py, js):
    """Where the docs' JS canonical form departs from CPython's: the kinds of difference, and
    snippets around the first one."""
    if js is None:
        return "JSON.parse refuses the body", "", ""
    if py == js:
        return "same canonical form", "", ""
    kinds = []
    esc = escape_non_ascii(js)
    if esc != js:
        kinds.append("non-ASCII kept raw by JSON.stringify, escaped \\uXXXX by CPython")
    if esc != py:
        if sorted(esc) == sorted(py):
            kinds.append("key order (JS enumerates integer-like keys first, in numeric "
                         "order, whatever sort() said; sort() compares UTF-16 units)")
        else:
            kinds.append("numbers (CPython float repr 1.0 / 1e-07 / 1e+16, exact big ints; "
                         "JS prints doubles: 1, 1e-7, 10000000000000000, 1.2345678901234568e+22)")
    i = first_difference(py, js)
    lo = max(0, i - 12)
    return "; ".join(kinds), py[lo:i + 16], js[lo:i + 16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out", "vectors"))
    ap.add_argument("--mode", default="verify", choices=["verify", "full"])
    ap.add_argument("--build", default=None, help="edgehook's build directory (default build/)")
    a = ap.parse_args()
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    logdir = os.path.join(HERE, "out", "tmp")
    os.makedirs(logdir, exist_ok=True)
    vectors = load_vectors()

    bu = [v["body"] for v in vectors if v["provider"] == "browser-use"]
    js = json.loads(subprocess.run(["node", "-e", JS_CANON], input=json.dumps(bu),
                                   capture_output=True, text=True, check=True).stdout)
    js_iter = iter(js)
    for v in vectors:
        if v["provider"] == "browser-use":
            v["why"], v["py_snip"], v["js_snip"] = explain(py_canonical(v["body"]), next(js_iter))
        else:
            v["why"], v["py_snip"], v["js_snip"] = ("raw-body HMAC: no canonical form", "", "")

    for worker in ("reference", "edgehook"):
        proc, url = start(worker, a.mode, logdir, a.build)
        try:
            for v in vectors:
                status, body = send(url, v)
                reason = ""
                try:
                    reason = json.loads(body).get("reason") or ""
                except ValueError:
                    pass
                v[worker] = status
                v[worker + "_reason"] = reason
        finally:
            stop(proc)

    ok = {"reference": 0, "edgehook": 0}
    lines = ["", f"Shared vectors ({len(vectors)} valid deliveries; right answer 202), "
             f"{a.mode} mode:", "",
             "| vector | note | reference | edgehook | why the reference differs |",
             "| --- | --- | --- | --- | --- |"]
    for v in vectors:
        for w in ok:
            ok[w] += v[w] == 202
        ref = f"{v['reference']} {v['reference_reason']}".strip()
        edge = f"{v['edgehook']} {v['edgehook_reason']}".strip()
        why = "" if v["reference"] == 202 else v["why"]
        if why and v["py_snip"]:
            why += f": CPython `…{v['py_snip']}…` vs JS `…{v['js_snip']}…`"
        note = v["note"].replace("|", "\\|") + (" (re-signed)" if v["resigned"] else "")
        why = why.replace("|", "\\|")
        lines.append(f"| {v['file']} {v['provider']} #{v['n']} | {note} | {ref} | {edge} | {why} |")
    lines.append("")
    lines.append(f"Right answers: reference {ok['reference']}/{len(vectors)}, "
                 f"edgehook {ok['edgehook']}/{len(vectors)}.")
    text = "\n".join(lines) + "\n"
    with open(a.out + ".md", "w") as f:
        f.write(text)
    with open(a.out + ".json", "w") as f:
        json.dump([{k: v[k] for k in v if k not in ("headers",)} for v in vectors], f, indent=1,
                  ensure_ascii=False)
    print(text)


if __name__ == "__main__":
    main()
