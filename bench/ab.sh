#!/usr/bin/env bash
# A/B of two edgehook builds on one fixed request: both Workers are served at once and short
# wrk runs alternate between them (A B, B A, ...), so the machine's drift (single runs vary by
# ±20 % here) falls on both alike. Prints the medians and the ratio B/A.
#
#   bench/ab.sh BUILD_DIR_A BUILD_DIR_B [CASE]    CASE: bu-valid (default), bu-real,
#                                                 bu-stale, sky-valid, healthz
#   (AB_ROUNDS=6 AB_SECONDS=5 THREADS=2 CONNS=16 REQ_SIZE=8500: body bytes)
#   AB_MODE=full: both builds in full mode (KV, queue, consumer, each with its own origin,
#   bench/origin.py), driven by bench/replay.lua with fresh deliveries every run (CASE then
#   names a mix, e.g. browser-use:realistic; AB_MIX=80/10/10 new/resent/bad, AB_POOL=3000);
#   reports the answers' p50 and p99 as well.
# A build dir holds index.js and index_bg.wasm (copy build/ after `sh scripts/build-worker.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/bench
A_DIR=$(cd "$1" && pwd)
B_DIR=$(cd "$2" && pwd)
CASE=${3:-bu-valid}
MODE=${AB_MODE:-verify}
[ "$MODE" = full ] && [ -z "${3:-}" ] && CASE=browser-use:realistic
ORIGIN_SECRET=whsec_bG9jYWwtb3JpZ2luLXNlY3JldC1mb3ItZWRnZWhvb2s=
ROUNDS=${AB_ROUNDS:-6}
D=${AB_SECONDS:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
RD=$B/out/ab/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RD"
AN="python3 $B/analyze.py"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null || true; done' EXIT
. "$B/requests.sh"

# Started from this shell (not a $(...) subshell), so their CPU counts as ours, not foreign.
serve() { # label dir
  local origin=()
  if [ "$MODE" = full ]; then
    local oport
    oport=$($AN free-port)
    python3 "$B/origin.py" --listen "127.0.0.1:$oport" --secret "$ORIGIN_SECRET" \
      >"$RD/$1.origin.out" 2>"$RD/$1.origin.err" &
    PIDS="$PIDS $!"
    origin=(--origin "http://127.0.0.1:$oport/events")
  fi
  node "$B/serve.mjs" --worker edgehook --build "$2" --mode "$MODE" "${origin[@]}" >"$RD/$1.serve.json" 2>/dev/null &
  PIDS="$PIDS $!"
}
full_run() { # label url round: fresh deliveries, so that new ones are new
  local pool=$RD/$1-pool-$3
  python3 "$B/gen_requests.py" --provider "${CASE%%:*}" --flavor "${CASE#*:}" --size "${REQ_SIZE:-8500}" \
    --mix "${AB_MIX:-80/10/10}" --count "${AB_POOL:-3000}" --threads "$THREADS" --out "$pool" >/dev/null 2>&1
  $AN cpu-snap "$RD/c0.json"
  BENCH_REQS=$pool BENCH_MODE=full BENCH_OUT=$RD/$1-$3.json \
    wrk -t"$THREADS" -c"$CONNS" -d"${D}s" --timeout 10s -s "$B/replay.lua" "$2" >/dev/null
  $AN cpu-snap "$RD/c1.json"
  $AN cpu-diff "$RD/c0.json" "$RD/c1.json" $$ >"$RD/$1-$3.cpu.json"
  rm -f "$pool".t*.req
  python3 - "$RD/$1-$3.json" "$RD/$1-$3.cpu.json" "$1" "$3" <<'PY'
import json, sys
r, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
wd = c["by_process"].get("workerd", 0)
print(json.dumps({"worker": sys.argv[3], "case": "full", "rep": int(sys.argv[4]), "rps": r["rps"],
                  "p50_ms": r["latency_us"]["p50"] / 1000, "p99_ms": r["latency_us"]["p99"] / 1000,
                  "status": r["status_got"], "wrong": r["wrong"],
                  "workerd_us": round(wd * c["seconds"] * 1e6 / max(1, r["requests"]), 1),
                  "foreign_cores": c["foreign_cores"]}))
PY
}
url_of() {
  for _ in $(seq 600); do grep -q '"url"' "$RD/$1.serve.json" 2>/dev/null && break; sleep 0.1; done
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['url'])" "$RD/$1.serve.json"
}
serve A "$A_DIR"
serve B "$B_DIR"
URL_A=$(url_of A)
URL_B=$(url_of B)

: >"$RD/rows.jsonl"
for round in $(seq "$ROUNDS"); do
  [ "$MODE" = full ] || make_requests
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for w in $order; do
    url=$URL_A
    [ "$w" = B ] && url=$URL_B
    if [ "$MODE" = full ]; then
      full_run "$w" "$url" "$round" >>"$RD/rows.jsonl"
      tail -1 "$RD/rows.jsonl" >&2
      continue
    fi
    if [ "$CASE" = healthz ]; then
      export STATIC_METHOD=GET STATIC_PATH=/healthz STATIC_BODY= STATIC_HEADERS=
    else
      export STATIC_METHOD=POST STATIC_PATH=$(cat "$RD/$CASE.path") \
        STATIC_BODY=$RD/$CASE.body STATIC_HEADERS=$RD/$CASE.headers
    fi
    BENCH_OUT=$RD/warm.json wrk -t"$THREADS" -c"$CONNS" -d1s -s "$B/static.lua" "$url" >/dev/null
    $AN cpu-snap "$RD/c0.json"
    BENCH_OUT=$RD/$w-$CASE-$round.json wrk -t"$THREADS" -c"$CONNS" -d"${D}s" -s "$B/static.lua" "$url" >/dev/null
    $AN cpu-snap "$RD/c1.json"
    $AN cpu-diff "$RD/c0.json" "$RD/c1.json" $$ >"$RD/$w-$CASE-$round.cpu.json"
    $AN breakdown-row "$w" "$CASE" "$round" "$RD" >>"$RD/rows.jsonl"
    tail -1 "$RD/rows.jsonl" >&2
  done
done
python3 - "$RD/rows.jsonl" "$A_DIR" "$B_DIR" "$CASE" <<'PY' | tee "$RD/summary.txt"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda w, k: statistics.median(r[k] for r in rows if r["worker"] == w)
print(f"case {sys.argv[4]}, {len(rows) // 2} rounds; A = {sys.argv[2]}, B = {sys.argv[3]}")
keys = [("rps", "req/s"), ("workerd_us", "workerd µs/request")]
if "p99_ms" in rows[0]:
    keys += [("p50_ms", "answer p50 ms"), ("p99_ms", "answer p99 ms")]
for k, unit in keys:
    a, b = med("A", k), med("B", k)
    print(f"  {unit}: A {a:,.0f}  B {b:,.0f}  B/A {b / a:.2f}")
print(f"  answers: " + ", ".join(sorted({f'{r["worker"]}:{",".join(r["status"])}' for r in rows})))
print(f"  other processes: at most {max(r['foreign_cores'] for r in rows)} cores")
PY
