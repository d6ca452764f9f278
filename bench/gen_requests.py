#!/usr/bin/env python3
"""Pre-generates the request mix the load benchmark replays (stdlib only).

    python3 bench/gen_requests.py --provider browser-use --count 40000 --threads 2 \
        --out bench/out/tmp/run1 [--size 8500] [--mix 80/10/10] [--flavor realistic|js-safe]

Writes, for each wrk thread t, `{out}.t{t}.req` (read by bench/replay.lua) and one
`{out}.meta.json` with, for every request, its kind, the envelope id edgehook derives
from it, and the answer edgehook should give.

Each request is signed exactly as the provider signs:
  browser-use  X-Browser-Use-Signature = hex HMAC-SHA256(secret, f"{ts}.{canonical}") with
               canonical = json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)
               (CPython's own), X-Browser-Use-Timestamp = now at generation time; the body is
               pretty-printed as a Python sender does (indent=2, ensure_ascii=False).
  skyvern      x-skyvern-signature = hex HMAC-SHA256(api key, raw body); compact body with
               raw UTF-8 (ensure_ascii=False), as Skyvern sends.

Kinds (the mix, default 80/10/10):
  v  a new valid delivery (unique event id)      edgehook: 202 accepted
  d  an exact resend of an earlier `v` of the same thread, at least --dup-gap (1000) requests
     later (so the original was answered first; two copies in flight at once may both be
     accepted and forwarded, as the README says)  edgehook: 200 duplicate (202 in verify-only)
  b  a valid-looking delivery with a bad signature (signed with another key, or the body
     changed after signing)                      edgehook: 401 unauthorized

Flavors: `realistic` bodies carry non-ASCII text (é, ü, 日本語, emoji), the floats 1.0, 1e-7
(written `1e-7`) and 2.50 (written `2.50`), and an integer beyond 2^53: what a docs-style JS
verifier canonicalizes differently from CPython. `js-safe` bodies have the same size and
shape but only ASCII text, floats whose JS and Python reprs agree, and integers < 2^53, so
that the reference TypeScript Worker accepts them too (equal work on both sides).
"""

import argparse
import bisect
import hashlib
import hmac
import json
import random
import sys
import time

DEFAULT_SECRETS = {
    "browser-use": "whsec_local_browser_use_secret",
    "skyvern": "sk_local_skyvern_key",
}

BU_STATUSES = ["finished", "running", "started", "stopped", "paused", "initializing"]
SKY_STATUSES = ["completed", "failed", "running", "queued", "terminated", "timed_out"]

TITLES_REALISTIC = [
    "Résultats de recherche – page 2",
    "Übersicht der Bestellungen für München",
    "検索結果 — 日本語のページ",
    "Ofertas de última hora en España",
    "Отчёт о заказе №42",
    "Checkout 🚀 confirmed ✅",
]
TITLES_ASCII = [
    "Search results - page 2",
    "Order overview for Munich",
    "Search results - Japanese page",
    "Last minute offers in Spain",
    "Order report no. 42",
    "Checkout confirmed",
]


def raw_numbers(flavor):
    """Numbers written verbatim into the body text, as a sender may write them."""
    if flavor == "realistic":
        return {"__RAW_DURATION__": "2.50", "__RAW_EPSILON__": "1e-7"}
    return {"__RAW_DURATION__": "2.5", "__RAW_EPSILON__": "0.125"}


def step(rng, n, flavor):
    titles = TITLES_REALISTIC if flavor == "realistic" else TITLES_ASCII
    return {
        "n": n,
        "action": rng.choice(["click", "type", "scroll", "navigate", "extract"]),
        "url": f"https://shop.example.com/orders/{rng.randrange(10**6)}?page={n}",
        "title": rng.choice(titles),
        "duration_s": "__RAW_DURATION__",
        "confidence": 1.0 if flavor == "realistic" else 0.75,
        "epsilon": "__RAW_EPSILON__",
        "tokens": rng.randrange(100, 5000),
        "ok": rng.random() > 0.1,
    }


def render(obj, flavor, indent):
    if indent:
        text = json.dumps(obj, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for k, v in raw_numbers(flavor).items():
        text = text.replace(f'"{k}"', v)
    return text


def template(provider, flavor, rng, size):
    """The body text with @@NAME@@ placeholders for what changes per delivery, with enough
    steps that a filler brings each body to `size` bytes. Pretty-printing 8 KB in Python is
    slow (the C encoder does not indent), so each run renders its template once; every body
    still differs (run id, session, status, time) and is signed on its own."""
    realistic = flavor == "realistic"
    steps = []

    def obj():
        if provider == "browser-use":
            return {
                "type": "agent.task.status_update",
                "timestamp": "@@TIME@@+00:00",
                "payload": {
                    "task_id": "@@RUN@@",
                    "session_id": "@@SESSION@@",
                    "status": "@@STATUS@@",
                    "metadata": (
                        {"city": "München", "customer": "Société Générale", "lang": "日本語",
                         "emoji": "😀", "sep": "a\u2028b"}
                        if realistic
                        else {"city": "Munich", "customer": "Societe Generale", "lang": "ja",
                              "emoji": ":)", "sep": "a-b"}
                    ),
                    "cost_usd": 2.5 if realistic else 0.5,
                    "big_id": 12345678901234567890123 if realistic else 9007199254740991,
                    "steps": steps,
                    "notes": "@@FILLER@@",
                },
            }
        return {
            "run_id": "@@RUN@@",
            "run_type": "task_v2",
            "status": "@@STATUS@@",
            "failure_reason": "__RAW_FAILURE__",
            "created_at": "@@TIME@@",
            "modified_at": "@@TIME@@",
            "output": {
                "summary": "Bestellung bestätigt – 日本語 😀" if realistic else "Order confirmed",
                "total": 1.0 if realistic else 0.5,
                "big_id": 12345678901234567890123 if realistic else 9007199254740991,
                "steps": steps,
            },
            "notes": "@@FILLER@@",
        }

    indent = provider == "browser-use"  # Browser Use's senders pretty-print; Skyvern's do not
    base = None
    while True:
        text = render(obj(), flavor, indent).replace('"__RAW_FAILURE__"', "@@FAILURE@@")
        n = len(text.encode())
        if n >= size - 600:
            return text
        base = n if base is None else base
        # Far from the size, add steps in batches (rendering after each step is quadratic:
        # minutes for 1 MB); near it, one at a time, so the body is the one step by step
        # would give.
        batch = 1
        if steps:
            batch = max(1, int((size - 600 - n) / ((n - base) / len(steps)) * 0.8))
        for _ in range(batch):
            steps.append(step(rng, len(steps) + 1, flavor))


def fill_template(tpl, size, values):
    body = tpl
    for k, v in values.items():
        body = body.replace(f"@@{k}@@", v)
    gap = size - len(body.replace("@@FILLER@@", "").encode())
    return body.replace("@@FILLER@@", "x" * max(gap, 0))


def stamp(rng, now):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{rng.randrange(10**6):06d}"


def sign_browser_use(secret, ts, body):
    canonical = json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)
    sig = hmac.new(secret.encode(), f"{ts}.{canonical}".encode(), hashlib.sha256).hexdigest()
    return sig, "browser-use:" + hashlib.sha256(canonical.encode()).hexdigest()


def make_delivery(provider, tpl, rng, serial, size, flavor, secret, now, bad=False):
    """One delivery: (path, headers, body, id). bad=True signs it wrongly."""
    ts = str(int(now))
    prefix = "task" if provider == "browser-use" else "tsk"
    run_id = f"{prefix}_{serial:08d}{rng.getrandbits(48):012x}"
    if provider == "browser-use":
        body = fill_template(tpl, size, {
            "TIME": stamp(rng, now), "RUN": run_id, "STATUS": rng.choice(BU_STATUSES),
            "SESSION": f"sess_{rng.getrandbits(64):016x}"})
        key = secret if not bad else secret + "-wrong"
        sig, eid = sign_browser_use(key, ts, body)
        if bad and rng.random() < 0.5:
            # Right key, but the body was changed after signing.
            sig, _ = sign_browser_use(secret, ts, body)
            body = body.replace(run_id, run_id[:-1] + "z", 1)
        headers = [
            ("Content-Type", "application/json"),
            ("X-Browser-Use-Signature", sig),
            ("X-Browser-Use-Timestamp", ts),
        ]
        return "/in/browser-use", headers, body, (None if bad else eid)
    if provider == "skyvern":
        status = rng.choice(SKY_STATUSES)
        failure = "null"
        if status == "failed":
            failure = '"Zeitüberschreitung beim Laden"' if flavor == "realistic" else '"timeout"'
        body = fill_template(tpl, size, {
            "TIME": stamp(rng, now), "RUN": run_id, "STATUS": status, "FAILURE": failure})
        key = secret if not bad else secret + "-wrong"
        sig = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
        if bad and rng.random() < 0.5:
            sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            body = body.replace(run_id, run_id[:-1] + "z", 1)
        headers = [
            ("Content-Type", "application/json"),
            ("x-skyvern-signature", sig),
            ("x-skyvern-timestamp", ts),
        ]
        return "/in/skyvern", headers, body, (None if bad else f"skyvern:{run_id}:{status}")
    raise SystemExit(f"unknown provider {provider}")


EXPECTED = {  # kind -> (first pass in full mode, later passes in full mode, verify-only)
    "v": (202, 200, 202),
    "d": (200, 200, 202),
    "b": (401, 401, 401),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--provider", default="browser-use", choices=["browser-use", "skyvern"])
    ap.add_argument("--count", type=int, default=40000, help="requests in all (split over threads)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads: one file each")
    ap.add_argument("--size", type=int, default=8500, help="body size in bytes")
    ap.add_argument("--mix", default="80/10/10", help="valid/duplicate/bad percentages")
    ap.add_argument("--flavor", default="realistic", choices=["realistic", "js-safe"])
    ap.add_argument("--dup-gap", type=int, default=1000,
                    help="a duplicate comes at least this many requests after its original "
                         "(in the same wrk thread): late enough that the original was answered "
                         "even at full mode's ~100 req/s per thread and multi-second p99")
    ap.add_argument("--secret", default=None, help="provider secret (default: .dev.vars.example's)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", required=True, help="output prefix")
    a = ap.parse_args()

    v, d, b = (float(x) for x in a.mix.split("/"))
    total = v + d + b
    p_dup, p_bad = d / total, b / total
    secret = a.secret or DEFAULT_SECRETS[a.provider]
    seed = a.seed if a.seed is not None else time.time_ns()
    rng = random.Random(seed)
    now = time.time()
    per_thread = -(-a.count // a.threads)
    serial = 0
    meta = {
        "provider": a.provider, "flavor": a.flavor, "size": a.size, "mix": a.mix,
        "generated_at": int(now), "seed": seed, "threads": [],
        "expected": {k: {"full_first": e[0], "full_again": e[1], "verify": e[2]}
                     for k, e in EXPECTED.items()},
    }
    started = time.time()
    tpl = template(a.provider, a.flavor, rng, a.size)
    sizes = []
    for t in range(a.threads):
        records = []  # (kind, path, headers, body, id)
        valid_positions = []
        for pos in range(per_thread):
            r = rng.random()
            # originals at least dup_gap back, among the last 4096 valid ones
            hi = bisect.bisect_right(valid_positions, pos - a.dup_gap)
            lo = max(0, hi - 4096)
            if r < p_bad:
                serial += 1
                path, headers, body, _ = make_delivery(a.provider, tpl, rng, serial, a.size,
                                                       a.flavor, secret, now, bad=True)
                records.append(("b", path, headers, body, None))
            elif r < p_bad + p_dup and hi > lo:
                orig = records[valid_positions[rng.randrange(lo, hi)]]
                records.append(("d",) + orig[1:])
            else:
                serial += 1
                path, headers, body, eid = make_delivery(a.provider, tpl, rng, serial, a.size,
                                                         a.flavor, secret, now)
                valid_positions.append(pos)
                records.append(("v", path, headers, body, eid))
        with open(f"{a.out}.t{t}.req", "wb") as f:
            f.write(b"#edgehook-bench-requests 1\n")
            for kind, path, headers, body, _ in records:
                raw = body.encode()
                sizes.append(len(raw))
                f.write(f"{kind} {path} {len(headers)} {len(raw)}\n".encode())
                for name, value in headers:
                    f.write(f"{name}: {value}\n".encode())
                f.write(raw + b"\n")
        meta["threads"].append([{"k": k, "id": i} for k, _, _, _, i in records])
    counts = {k: sum(1 for th in meta["threads"] for r in th if r["k"] == k) for k in "vdb"}
    meta["counts"] = counts
    meta["body_bytes"] = {"min": min(sizes), "max": max(sizes), "mean": sum(sizes) / len(sizes)}
    with open(f"{a.out}.meta.json", "w") as f:
        json.dump(meta, f)
    print(json.dumps({"out": a.out, "provider": a.provider, "flavor": a.flavor,
                      "requests": sum(counts.values()), "counts": counts,
                      "body_bytes": meta["body_bytes"],
                      "seconds": round(time.time() - started, 1)}), file=sys.stderr)


if __name__ == "__main__":
    main()
