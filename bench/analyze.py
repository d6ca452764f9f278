#!/usr/bin/env python3
"""Helpers for bench/run.sh (stdlib only).

    analyze.py free-port
    analyze.py wait-quiet --max-cores 0.5 --timeout 180     # waits for other load to settle
    analyze.py cpu-snap FILE                                # CPU counters of every process
    analyze.py count-origin FILE                            # envelopes the origin printed
    analyze.py row RUNDIR                                   # one run's figures and checks
    analyze.py report RESULTS.jsonl --env ENV.json --out PREFIX
    analyze.py breakdown-row WORKER CASE REP DIR / breakdown-report ROWS.jsonl OUT.md
"""

import json
import os
import socket
import statistics
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- small helpers


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def busy_jiffies():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    return sum(parts[:8]) - idle


def wait_quiet(max_cores, timeout):
    """Waits until the machine's busy CPU over 2 s is below max_cores, at most timeout s."""
    start = time.time()
    while True:
        b0 = busy_jiffies()
        time.sleep(2)
        cores = (busy_jiffies() - b0) / HZ / 2
        waited = time.time() - start
        if cores <= max_cores or waited >= timeout:
            print(json.dumps({"busy_cores": round(cores, 2), "waited_s": round(waited, 1),
                              "quiet": cores <= max_cores}))
            return
        time.sleep(3)


def cpu_snap(path):
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        ppid, utime, stime = int(rest[1]), int(rest[11]), int(rest[12])
        cutime, cstime = int(rest[13]), int(rest[14])  # reaped children (wrk, helpers)
        procs[pid] = [ppid, comm, utime + stime, cutime + cstime]
    with open(path, "w") as f:
        json.dump({"t": time.time(), "busy": busy_jiffies(), "procs": procs}, f)


def cpu_diff(before, after, root_pid):
    """Cores used during the interval: by the benchmark's own processes (descendants of
    root_pid) and by everything else ("foreign": other people's builds and tests)."""
    a, b = json.load(open(before)), json.load(open(after))
    secs = b["t"] - a["t"]
    parent = {int(p): v[0] for p, v in b["procs"].items()}

    def mine(pid):
        seen = 0
        while pid > 1 and seen < 64:
            if pid == root_pid:
                return True
            pid = parent.get(pid, 0)
            seen += 1
        return False

    own = {}
    for pid, (ppid, comm, t, _) in b["procs"].items():
        if mine(int(pid)):
            d = t - a["procs"].get(pid, [0, "", 0, 0])[2]
            own[comm] = own.get(comm, 0) + d
    # processes that ended in between and were reaped by the benchmark (wrk, its helpers)
    root = str(root_pid)
    if root in a["procs"] and root in b["procs"]:
        own["wrk+helpers"] = b["procs"][root][3] - a["procs"][root][3]
    total = b["busy"] - a["busy"]
    own_total = sum(own.values())
    return {
        "seconds": round(secs, 2),
        "busy_cores": round(total / HZ / secs, 2),
        "bench_cores": round(own_total / HZ / secs, 2),
        "foreign_cores": round(max(0, total - own_total) / HZ / secs, 2),
        "by_process": {k: round(v / HZ / secs, 2) for k, v in sorted(own.items()) if v},
    }


def origin_ids(path):
    """Envelope ids the origin printed: bench/origin.py writes {"id": ...} lines,
    `edgehook origin` whole envelopes (which may span lines): decode a stream of values."""
    ids = []
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return ids
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except ValueError:
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if isinstance(obj, dict) and "id" in obj:
            ids.append(obj["id"])
    return ids


def count_origin(path):
    print(len(origin_ids(path)))


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def sent_ids(meta, wrk):
    """Ids of the new valid deliveries wrk sent in its first pass over each thread's list."""
    ids = set()
    for th in wrk.get("threads", []):
        records = meta["threads"][th["tid"]]
        upto = th["n"] if th["pass"] > 1 else th["pos"]
        for r in records[:upto]:
            if r["k"] == "v":
                ids.add(r["id"])
    return ids


# ---------------------------------------------------------------- one run


def row(rundir):
    info = load(os.path.join(rundir, "run.json"), {})
    main = load(os.path.join(rundir, "main.json"), {})
    warm = load(os.path.join(rundir, "warm.json"), {})
    meta = load(os.path.join(rundir, "main.meta.json"), {})
    wmeta = load(os.path.join(rundir, "warm.meta.json"), {})
    serve = load(os.path.join(rundir, "serve.json"), {})
    r = dict(info)
    r["startup_ms"] = serve.get("startup_ms")
    r["ready_ms"] = serve.get("ready_ms")
    r["rps"] = main.get("rps")
    lat = main.get("latency_us", {})
    for k in ("p50", "p90", "p99", "p999", "max"):
        r[f"{k}_ms"] = round(lat[k] / 1000, 2) if k in lat else None
    se = main.get("socket_errors", {})
    r["socket_errors"] = sum(se.values()) if se else None
    r["status_got"] = main.get("status_got")
    r["status_expected"] = main.get("status_expected")
    r["wrong"] = main.get("wrong")
    r["requests"] = main.get("requests")
    r["in_flight"] = main.get("in_flight")
    r["max_pass"] = main.get("max_pass")
    r["pool"] = sum(len(t) for t in meta.get("threads", [])) or None
    r["first_pass_share"] = None
    if main.get("sent"):
        first = sum(min(t["sent"], t["n"]) for t in main.get("threads", []))
        r["first_pass_share"] = round(first / main["sent"], 3)
    # 5xx answers are errors whatever the mix
    r["http_5xx"] = sum(v for k, v in (main.get("status_got") or {}).items() if k.startswith("5"))
    r["cpu"] = load(os.path.join(rundir, "cpu.json"))
    # workerd CPU per answered request, over the run and (full mode) the queue's drain: a
    # figure that other load on the machine disturbs much less than req/s does
    cpu_all = load(os.path.join(rundir, "cpu-all.json")) or r["cpu"] or {}
    wd = (cpu_all.get("by_process") or {}).get("workerd")
    r["cpu_all"] = cpu_all
    r["workerd_us_per_req"] = (round(wd * cpu_all["seconds"] * 1e6 / main["requests"], 1)
                               if wd and main.get("requests") else None)
    r["warm_rps"] = warm.get("rps")
    if info.get("mode") == "full" and meta:
        got = main.get("status_got") or {}
        wgot = warm.get("status_got") or {}
        m_ids = sent_ids(meta, main)
        w_ids = sent_ids(wmeta, warm) if wmeta and warm else set()
        printed = origin_ids(os.path.join(rundir, "origin.out"))
        o_ids = set(printed)
        dups = 0
        try:
            with open(os.path.join(rundir, "origin.err"), errors="replace") as f:
                dups = sum(1 for line in f if line.startswith("duplicate"))
        except OSError:
            pass
        answered = got.get("202", 0)
        delivered = len(o_ids & m_ids)
        w_answered = wgot.get("202", 0)
        w_delivered = len(o_ids & w_ids)
        unknown = len(o_ids - m_ids - w_ids)
        slack = main.get("in_flight", 0)
        ok = (
            dups == 0 and unknown == 0 and len(printed) == len(o_ids)
            and answered <= delivered <= answered + slack
            and w_answered <= w_delivered <= w_answered + warm.get("in_flight", 0)
        )
        r["once"] = {
            "answered_202": answered,
            "delivered": delivered,
            "warmup_answered_202": w_answered,
            "warmup_delivered": w_delivered,
            "origin_duplicates": dups,
            "unknown_ids": unknown,
            "in_flight_slack": slack,
            "drain": load(os.path.join(rundir, "drain.json")),
            "ok": ok,
        }
    print(json.dumps(r))


# ---------------------------------------------------------------- the report


def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


MIX_LABEL = {
    "browser-use:realistic": "browser-use 8.5 KB, realistic (non-ASCII, 1.0, 1e-7, 2.50, big int)",
    "browser-use:js-safe": "browser-use 8.5 KB, JS-safe (ASCII, floats/ints JS prints alike)",
    "skyvern:realistic": "skyvern 8.5 KB, realistic",
    "skyvern:js-safe": "skyvern 8.5 KB, JS-safe",
}


def report(results, env_path, out_prefix):
    rows = [json.loads(line) for line in open(results) if line.strip()]
    env = load(env_path, {})
    groups = {}
    for r in rows:
        groups.setdefault((r["mix"], r["mode"], r["worker"]), []).append(r)
    mixes = list(dict.fromkeys(r["mix"] for r in rows))
    modes = [m for m in ("full", "verify", "empty") if any(r["mode"] == m for r in rows)]
    lines = []
    w = lines.append
    w(f"Run {env.get('stamp', '?')} on {env.get('cpu', '?')}, {env.get('nproc', '?')} cores, "
      f"{env.get('mem', '?')} RAM; commit {env.get('commit', '?')}; "
      f"wrk -t{env.get('threads')} -c{env.get('conns')} -d{env.get('duration')}s "
      f"(warm-up {env.get('warmup')}s), {env.get('repeat')} run(s) each, medians shown.")
    w("")
    w("| mix | mode | worker | req/s | p50 ms | p99 ms | workerd CPU µs/req | wrong answers "
      "| socket errors / 5xx | foreign CPU (cores) | first-pass share | exactly once |")
    w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    ratios = []
    for mix in mixes:
        for mode in modes:
            per = {}
            for worker in ("edgehook", "reference", "empty"):
                rs = groups.get((mix, mode, worker), [])
                if not rs:
                    continue
                rps = med([r["rps"] for r in rs])
                p50 = med([r["p50_ms"] for r in rs])
                p99 = med([r["p99_ms"] for r in rs])
                cpu_us = med([r.get("workerd_us_per_req") for r in rs])
                per[worker] = (rps, p50, p99, cpu_us)
                wrong = sum(r["wrong"] or 0 for r in rs)
                answered = sum(r["requests"] or 0 for r in rs)
                errs = sum((r["socket_errors"] or 0) for r in rs)
                e5 = sum((r["http_5xx"] or 0) for r in rs)
                foreign = med([(r.get("cpu") or {}).get("foreign_cores") for r in rs])
                share = med([r.get("first_pass_share") for r in rs])
                if mode == "full":
                    oks = [r.get("once", {}).get("ok") for r in rs]
                    d = [r.get("once", {}) for r in rs]
                    once = (f"{oks.count(True)}/{len(oks)} runs; delivered/202: "
                            + ", ".join(f"{x.get('delivered')}/{x.get('answered_202')}" for x in d))
                    dups = sum(x.get("origin_duplicates", 0) for x in d)
                    unknown = sum(x.get("unknown_ids", 0) for x in d)
                    if dups or unknown:
                        once += f"; {dups} sent twice, {unknown} unknown ids"
                else:
                    once = "n/a"
                spread = ""
                if len(rs) > 1:
                    spread = f" ({min(r['rps'] for r in rs):,.0f}-{max(r['rps'] for r in rs):,.0f})"
                w(f"| {mix} | {mode} | {worker} | {fmt(rps)}{spread} | {fmt(p50, 1)} | "
                  f"{fmt(p99, 1)} | {fmt(cpu_us)} | {wrong:,} of {answered:,} | {errs} / {e5} | "
                  f"{fmt(foreign, 2)} | {fmt(share, 2)} | {once} |")
            if "edgehook" in per and "reference" in per:
                e, f_ = per["edgehook"], per["reference"]
                ratios.append((mix, mode, e[0] / f_[0] if f_[0] else None,
                               e[1] / f_[1] if f_[1] else None,
                               e[2] / f_[2] if f_[2] else None,
                               e[3] / f_[3] if e[3] and f_[3] else None))
    w("")
    w("Ratios edgehook / reference (throughput: > 1 means edgehook is faster; latency: < 1 "
      "means edgehook answers sooner):")
    w("")
    w("| mix | mode | req/s ratio | p50 ratio | p99 ratio | workerd CPU/req ratio |")
    w("| --- | --- | ---: | ---: | ---: | ---: |")
    for mix, mode, a, b, c, d in ratios:
        w(f"| {mix} | {mode} | {fmt(a, 2)} | {fmt(b, 2)} | {fmt(c, 2)} | {fmt(d, 2)} |")
    w("")
    st = env.get("startup", {})
    if st or env.get("wasm"):
        w("| worker | start-up, median of samples (ms) | samples (ms) |")
        w("| --- | ---: | --- |")
        for worker in ("edgehook", "reference"):
            s = st.get(worker)
            if s:
                w(f"| {worker} | {s['startup_ms_median']} | "
                  f"{', '.join(str(x) for x in s['startup_ms_all'])} |")
        w("")
        ws = env.get("wasm", {})
        if ws:
            w(f"build/index_bg.wasm: {ws.get('raw'):,} bytes raw, {ws.get('gzip'):,} bytes "
              f"gzip -9; build/index.js {ws.get('js'):,} bytes; reference bundle "
              f"{ws.get('reference_js'):,} bytes.")
            w("")
    text = "\n".join(lines) + "\n"
    with open(out_prefix + ".md", "w") as f:
        f.write(text)
    with open(out_prefix + ".json", "w") as f:
        json.dump({"env": env, "rows": rows,
                   "ratios": [dict(zip(("mix", "mode", "rps", "p50", "p99", "cpu_per_req"), x))
                              for x in ratios]}, f, indent=1)
    print(text)


def breakdown_row(worker, case, rep, rd):
    r = json.load(open(f"{rd}/{worker}-{case}-{rep}.json"))
    cpu = json.load(open(f"{rd}/{worker}-{case}-{rep}.cpu.json"))
    wd = cpu["by_process"].get("workerd", 0)
    print(json.dumps({"worker": worker, "case": case, "rep": int(rep), "rps": r["rps"],
                      "p50_ms": r["latency_us"]["p50"] / 1000, "status": r["status_got"],
                      "workerd_us": round(wd * cpu["seconds"] * 1e6 / r["requests"], 1),
                      "foreign_cores": cpu["foreign_cores"]}))


BREAKDOWN_CASES = {
    "healthz": "`GET /healthz`",
    "bu-stale": "browser-use, stale timestamp (401)",
    "bu-valid": "browser-use, valid JS-safe body (202)",
    "bu-real": "browser-use, realistic body (202; reference 401)",
    "sky-valid": "skyvern, valid (202)",
}


def breakdown_report(rows_path, out_path):
    rows = [json.loads(line) for line in open(rows_path) if line.strip()]
    reps = max(r["rep"] for r in rows)

    def pick(w, c, k):
        v = [r[k] for r in rows if r["worker"] == w and r["case"] == c]
        return (statistics.median(v), min(v), max(v)) if v else None

    def cell(t):
        if not t:
            return "-"
        if t[1] == t[2]:
            return f"{t[0]:,.0f}"
        return f"{t[0]:,.0f} ({t[1]:,.0f}-{t[2]:,.0f})"

    out = [f"Medians of {reps} run(s) each, range in brackets: workerd CPU µs per request, "
           "and req/s.", "",
           "| case | empty µs | floor µs | edgehook µs | reference µs | edgehook req/s "
           "| reference req/s | req/s ratio | µs ratio | reference / floor (µs) |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    cases = [c for c in BREAKDOWN_CASES if any(r["case"] == c for r in rows)]
    for c in cases:
        e, fl, ed, rf = (pick(w, c, "workerd_us")
                         for w in ("empty", "floor", "edgehook", "reference"))
        er, rr = pick("edgehook", c, "rps"), pick("reference", c, "rps")
        ratio = f"{er[0] / rr[0]:.2f}" if er and rr else "-"
        uratio = f"{ed[0] / rf[0]:.2f}" if ed and rf else "-"
        bound = f"{rf[0] / fl[0]:.2f}" if rf and fl else "-"
        out.append(f"| {BREAKDOWN_CASES[c]} | {cell(e)} | {cell(fl)} | {cell(ed)} | {cell(rf)} "
                   f"| {cell(er)} | {cell(rr)} | {ratio} | {uratio} | {bound} |")
    expected = {"healthz": "200", "bu-stale": "401", "bu-valid": "202", "bu-real": "202",
                "sky-valid": "202"}
    odd = []
    for r in rows:
        want = expected[r["case"]]
        if r["worker"] in ("empty", "floor") and r["case"] != "healthz":
            want = "202"
        if r["worker"] == "reference" and r["case"] == "bu-real":
            want = "401"  # the reference's wrong answer, expected here
        if set(r["status"]) != {want}:
            odd.append(f"{r['worker']} {r['case']} run {r['rep']}: {r['status']}")
    fr = max(r["foreign_cores"] for r in rows)
    if odd:
        out += ["", "Unexpected answers: " + "; ".join(odd)]
    out += ["", f"Other processes used at most {fr} cores during these runs. Ratios are "
            "edgehook / reference: req/s > 1 and µs < 1 mean edgehook is cheaper. "
            "reference / floor bounds what any Worker doing the floor's work can reach "
            "against the reference."]
    text = "\n".join(out) + "\n"
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free-port":
        free_port()
    elif cmd == "wait-quiet":
        opts = dict(zip(args[::2], args[1::2]))
        wait_quiet(float(opts.get("--max-cores", 0.5)), float(opts.get("--timeout", 180)))
    elif cmd == "cpu-snap":
        cpu_snap(args[0])
    elif cmd == "cpu-diff":
        print(json.dumps(cpu_diff(args[0], args[1], int(args[2]))))
    elif cmd == "count-origin":
        count_origin(args[0])
    elif cmd == "row":
        row(args[0])
    elif cmd == "breakdown-row":
        breakdown_row(*args)
    elif cmd == "breakdown-report":
        breakdown_report(*args)
    elif cmd == "report":
        opts = dict(zip(args[1::2], args[2::2]))
        report(args[0], opts.get("--env"), opts.get("--out"))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
