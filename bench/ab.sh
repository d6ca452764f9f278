#!/usr/bin/env bash
# A/B of two edgehook builds on one fixed request: both Workers are served at once and short
# wrk runs alternate between them (A B, B A, ...), so the machine's drift (single runs vary by
# ±20 % here) falls on both alike. Prints the medians and the ratio B/A.
#
#   bench/ab.sh BUILD_DIR_A BUILD_DIR_B [CASE]    CASE: bu-valid (default), bu-real,
#                                                 bu-stale, sky-valid, healthz
#   (AB_ROUNDS=6 AB_SECONDS=5 THREADS=2 CONNS=16 REQ_SIZE=8500: body bytes)
# A build dir holds index.js and index_bg.wasm (copy build/ after `sh scripts/build-worker.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/bench
A_DIR=$(cd "$1" && pwd)
B_DIR=$(cd "$2" && pwd)
CASE=${3:-bu-valid}
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
  node "$B/serve.mjs" --worker edgehook --build "$2" --mode verify >"$RD/$1.serve.json" 2>/dev/null &
  PIDS="$PIDS $!"
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
  make_requests
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for w in $order; do
    url=$URL_A
    [ "$w" = B ] && url=$URL_B
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
for k, unit in (("rps", "req/s"), ("workerd_us", "workerd µs/request")):
    a, b = med("A", k), med("B", k)
    print(f"  {unit}: A {a:,.0f}  B {b:,.0f}  B/A {b / a:.2f}")
print(f"  answers: " + ", ".join(sorted({f'{r["worker"]}:{",".join(r["status"])}' for r in rows})))
print(f"  other processes: at most {max(r['foreign_cores'] for r in rows)} cores")
PY
