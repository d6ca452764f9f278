#!/usr/bin/env bash
# Where the time goes: one fixed request repeated, per Worker, in verify-only mode, with
# workerd's CPU per request. Cases:
#   healthz      GET /healthz: the runtime and each Worker's fetch glue, no body
#   bu-stale     POST /in/browser-use, 8.5 KB, stale timestamp: refused before any
#                canonicalization (edgehook has read the body and its config by then; the
#                reference checks the timestamp before reading the body)
#   bu-valid     POST /in/browser-use, 8.5 KB JS-safe body, valid: verify + normalize, 202
#   bu-real      POST /in/browser-use, 8.5 KB realistic body, valid (the reference refuses it
#                after the same parse/sort/stringify/HMAC work)
#   sky-valid    POST /in/skyvern, 8.5 KB, valid: HMAC of the raw body + normalize, 202
# The `empty` Worker answers 202 to every POST after reading the body: the runtime's floor.
# The `floor` Worker (bench/serve.mjs FLOOR_WORKER) also reads the signature headers, hashes
# (HMAC + SHA-256 by crypto.subtle), logs a line and answers JSON, but does no JSON work: the
# verifier's floor, below which neither edgehook nor the reference can go.
#
#   bench/breakdown.sh     (BD_DURATION=10 BD_WARMUP=3 BD_REPEAT=3 THREADS=2 CONNS=16
#                           BD_CASES="healthz bu-stale bu-valid bu-real sky-valid")
# Each repetition serves each Worker afresh (alternating the order) after waiting for other
# load to settle; the table shows medians and ranges: single runs vary by ±20 % here.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/bench
OUT=$B/out
D=${BD_DURATION:-10}
W=${BD_WARMUP:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
REPEAT=${BD_REPEAT:-3}
CASES=${BD_CASES:-healthz bu-stale bu-valid bu-real sky-valid}
QUIET_CORES=${QUIET_CORES:-0.4}
QUIET_WAIT=${QUIET_WAIT:-120}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RD=$OUT/breakdown/$STAMP
mkdir -p "$RD" "$OUT/reference"
A="python3 $B/analyze.py"
STARTED=""
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
trap 'for p in $STARTED; do stop $p; done' EXIT
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
SNAP=$RD/build # a copy: others rebuild build/ as they work
mkdir -p "$SNAP"
cp build/index.js build/index_bg.wasm "$SNAP/"
ESBUILD=node_modules/esbuild/bin/esbuild
[ -x "$ESBUILD" ] || ESBUILD=node_modules/@esbuild/linux-x64/bin/esbuild
"$ESBUILD" "$B/reference-ts/src/index.ts" --bundle --format=esm --target=es2022 \
  --outfile="$OUT/reference/index.js" --log-level=warning

# The request files: one delivery each, fresh timestamps (mk, make_requests).
. "$B/requests.sh"

: >"$RD/rows.jsonl"
for rep in $(seq "$REPEAT"); do
  order="empty floor edgehook reference"
  [ $((rep % 2)) = 0 ] && order="reference edgehook floor empty"
  for worker in $order; do
    $A wait-quiet --max-cores "$QUIET_CORES" --timeout "$QUIET_WAIT" >/dev/null
    make_requests
    node "$B/serve.mjs" --worker "$worker" --build "$SNAP" --mode verify >"$RD/$worker.serve.json" 2>/dev/null &
    spid=$!
    STARTED="$STARTED $spid"
    for _ in $(seq 600); do grep -q '"url"' "$RD/$worker.serve.json" 2>/dev/null && break; sleep 0.1; done
    url=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['url'])" "$RD/$worker.serve.json")
    for case in $CASES; do
      if [ "$case" = healthz ]; then
        export STATIC_METHOD=GET STATIC_PATH=/healthz STATIC_BODY= STATIC_HEADERS=
      else
        export STATIC_METHOD=POST STATIC_PATH=$(cat "$RD/$case.path") \
          STATIC_BODY=$RD/$case.body STATIC_HEADERS=$RD/$case.headers
      fi
      BENCH_OUT=$RD/warm.json wrk -t"$THREADS" -c"$CONNS" -d"${W}s" -s "$B/static.lua" "$url" >/dev/null
      $A cpu-snap "$RD/c0.json"
      BENCH_OUT=$RD/$worker-$case-$rep.json wrk -t"$THREADS" -c"$CONNS" -d"${D}s" -s "$B/static.lua" "$url" >/dev/null
      $A cpu-snap "$RD/c1.json"
      $A cpu-diff "$RD/c0.json" "$RD/c1.json" $$ >"$RD/$worker-$case-$rep.cpu.json"
      python3 "$B/analyze.py" breakdown-row "$worker" "$case" "$rep" "$RD" >>"$RD/rows.jsonl"
      tail -1 "$RD/rows.jsonl" >&2
    done
    stop "$spid"
  done
done
rm -f "$RD"/c[01].json "$RD"/*.req
python3 "$B/analyze.py" breakdown-report "$RD/rows.jsonl" "$OUT/breakdown-$STAMP.md"
