#!/usr/bin/env bash
# Big deliveries end to end, in full mode: each one answered, queued (its envelope spilled to
# KV past the queue message limit), delivered to a real origin on loopback by the consumer.
# Measures workerd's CPU per delivery from the first request until the origin has accepted
# all of them (fetch handler + queue consumer + the local KV and queue simulators, which run
# inside workerd too), and each answer's wall time. With two builds, runs alternate between
# them (A B, B A, ...) so the machine's drift falls on both alike.
#
#   bench/big.sh BUILD_DIR [BUILD_DIR_B]
#   (REQ_SIZE=10485760 BIG_PROVIDER=skyvern BIG_FLAVOR=realistic BIG_COUNT=4 BIG_ROUNDS=3)
# MAX_BODY_BYTES is raised to REQ_SIZE + 64 KiB. Only 127.0.0.1 is used; every process
# started here is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/bench
SIZE=${REQ_SIZE:-10485760}
PROVIDER=${BIG_PROVIDER:-skyvern}
FLAVOR=${BIG_FLAVOR:-realistic}
COUNT=${BIG_COUNT:-4}
ROUNDS=${BIG_ROUNDS:-3}
ORIGIN_SECRET=whsec_bG9jYWwtb3JpZ2luLXNlY3JldC1mb3ItZWRnZWhvb2s=
export MAX_BODY_BYTES=$((SIZE + 65536))
BUILDS=("$(cd "$1" && pwd)")
[ $# -ge 2 ] && BUILDS+=("$(cd "$2" && pwd)")
RD=$B/out/big/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RD"
AN="python3 $B/analyze.py"
PIDS=""
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
trap 'for p in $PIDS; do stop $p; done' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

: >"$RD/rows.jsonl"
for round in $(seq "$ROUNDS"); do
  labels="A"
  [ ${#BUILDS[@]} = 2 ] && labels="A B"
  [ ${#BUILDS[@]} = 2 ] && [ $((round % 2)) = 0 ] && labels="B A"
  for label in $labels; do
    dir=${BUILDS[0]}
    [ "$label" = B ] && dir=${BUILDS[1]}
    # Fresh deliveries each time: new ids (none is a duplicate), fresh timestamps.
    python3 "$B/gen_requests.py" --provider "$PROVIDER" --flavor "$FLAVOR" --count "$COUNT" \
      --threads 1 --mix 100/0/0 --size "$SIZE" --out "$RD/req" >/dev/null 2>&1
    oport=$(free_port)
    python3 "$B/origin.py" --listen "127.0.0.1:$oport" --secret "$ORIGIN_SECRET" \
      >"$RD/origin.out" 2>"$RD/origin.err" &
    opid=$!
    PIDS="$PIDS $opid"
    node "$B/serve.mjs" --worker edgehook --build "$dir" --mode full \
      --origin "http://127.0.0.1:$oport/events" >"$RD/serve.json" 2>/dev/null &
    spid=$!
    PIDS="$PIDS $spid"
    for _ in $(seq 600); do grep -q '"url"' "$RD/serve.json" 2>/dev/null && break; sleep 0.1; done
    url=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['url'])" "$RD/serve.json")
    sleep 2
    $AN cpu-snap "$RD/c0.json"
    python3 - "$RD/req.t0.req" "$url" "$RD/origin.out" "$COUNT" >"$RD/send.json" <<'PY'
import http.client, json, sys, time, urllib.parse
data = open(sys.argv[1], "rb").read()
u = urllib.parse.urlparse(sys.argv[2])
pos = data.index(b"\n") + 1
answers = []
while pos < len(data):
    nl = data.index(b"\n", pos)
    kind, path, nh, blen = data[pos:nl].decode().split()
    pos = nl + 1
    headers = {}
    for _ in range(int(nh)):
        nl = data.index(b"\n", pos)
        k, v = data[pos:nl].decode().split(": ", 1)
        headers[k] = v
        pos = nl + 1
    body = data[pos:pos + int(blen)]
    pos += int(blen) + 1
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    t = time.time()
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    answers.append({"status": r.status, "ms": round((time.time() - t) * 1000, 1), "bytes": len(body)})
    c.close()
deadline = time.time() + 180
want = int(sys.argv[4])
while time.time() < deadline:
    got = sum(1 for l in open(sys.argv[3]) if l.strip())
    if got >= want:
        break
    time.sleep(0.05)
print(json.dumps({"answers": answers, "delivered": got, "drain_s": round(time.time() - t, 2)}))
PY
    $AN cpu-snap "$RD/c1.json"
    $AN cpu-diff "$RD/c0.json" "$RD/c1.json" $$ >"$RD/cpu.json"
    python3 - "$RD/send.json" "$RD/cpu.json" "$label" "$round" "$dir" <<'PY' | tee -a "$RD/rows.jsonl" >&2
import json, sys
s, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
n = len(s["answers"])
wd = c["by_process"].get("workerd", 0) * c["seconds"]
print(json.dumps({"build": sys.argv[3], "round": int(sys.argv[4]), "dir": sys.argv[5],
                  "count": n, "statuses": sorted({a["status"] for a in s["answers"]}),
                  "delivered": s["delivered"], "body_bytes": s["answers"][0]["bytes"],
                  "workerd_ms_per_delivery": round(wd * 1000 / n, 1),
                  "answer_ms": [a["ms"] for a in s["answers"]],
                  "foreign_cores": c["foreign_cores"]}))
PY
    stop "$spid"
    stop "$opid"
  done
done
python3 - "$RD/rows.jsonl" <<'PY' | tee "$RD/summary.txt"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for b in sorted({r["build"] for r in rows}):
    rs = [r for r in rows if r["build"] == b]
    cpu = [r["workerd_ms_per_delivery"] for r in rs]
    ans = sorted(a for r in rs for a in r["answer_ms"])
    print(f"{b} ({rs[0]['dir']}): {rs[0]['body_bytes']:,} B bodies, {len(rs)} runs x {rs[0]['count']}; "
          f"workerd ms per delivery, end to end: median {statistics.median(cpu):.1f} "
          f"({min(cpu):.1f}-{max(cpu):.1f}); answer ms median {statistics.median(ans):.0f}; "
          f"statuses {sorted({s for r in rs for s in r['statuses']})}; "
          f"delivered {sum(r['delivered'] for r in rs)}/{sum(r['count'] for r in rs)}; "
          f"other processes at most {max(r['foreign_cores'] for r in rs)} cores")
PY
