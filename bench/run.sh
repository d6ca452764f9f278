#!/usr/bin/env bash
# The load benchmark, end to end: edgehook vs the TypeScript reference, each served by
# workerd through the Miniflare API, driven by wrk on loopback. See bench/README.md.
#
#   bench/run.sh                      # everything, ~15 min on 2 cores
#   MIXES=browser-use:realistic MODES=verify DURATION=10 bench/run.sh    # a subset
#
# Knobs (environment): DURATION (20 s) WARMUP (5 s) THREADS (2) CONNS (16) REPEAT (1)
#   MIXES ("browser-use:realistic browser-use:js-safe skyvern:realistic")
#   WORKERS ("edgehook reference") MODES ("full verify") SIZE (8500) MIX (80/10/10)
#   POOL_MAX (80000) WARM_POOL (3000) DRAIN_TIMEOUT (180 s) STARTUP_SAMPLES (7)
#   ORIGIN (python: bench/origin.py | edgehook: `edgehook origin`) REBUILD (auto|1|0)
#   QUIET_CORES (0.4) QUIET_WAIT (120 s): before each run, wait until other processes use
#   less than QUIET_CORES cores (other people's builds skew the figures), at most QUIET_WAIT.
#   VECTORS (1): also run bench/reference_mismatches.py.
#   BUILD_DIR (build): serve the edgehook build in this directory (a copy of an earlier
#   build/, to compare builds run by run); anything but build/ is never rebuilt.
#   BASELINE (1): also drive the `empty` Worker (reads the body, answers 202) once per mix:
#   the runtime's own cost per request, to subtract.
# Serves a copy of build/ taken at the start (bench/out/runs/<stamp>/build/), so a rebuild
# by someone else during the run changes nothing. Writes bench/out/results-<stamp>.{md,json}, bench/out/latest.md, and the raw files of each
# run under bench/out/runs/<stamp>/. Only 127.0.0.1 is used; every process started here is
# stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench
OUT=$B/out

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
REPEAT=${REPEAT:-1}
MIXES=${MIXES:-"browser-use:realistic browser-use:js-safe skyvern:realistic"}
WORKERS=${WORKERS:-"edgehook reference"}
MODES=${MODES:-"full verify"}
SIZE=${SIZE:-8500}
MIX=${MIX:-80/10/10}
POOL_MIN=${POOL_MIN:-4000}
POOL_MAX=${POOL_MAX:-80000}
WARM_POOL=${WARM_POOL:-3000}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-180}
STARTUP_SAMPLES=${STARTUP_SAMPLES:-7}
ORIGIN=${ORIGIN:-python}
REBUILD=${REBUILD:-auto}
QUIET_CORES=${QUIET_CORES:-0.4}
QUIET_WAIT=${QUIET_WAIT:-120}
VECTORS=${VECTORS:-1}
BASELINE=${BASELINE:-1}
BUILD_DIR=${BUILD_DIR:-build}
[ "$BUILD_DIR" = build ] || REBUILD=0
ORIGIN_SECRET=whsec_bG9jYWwtb3JpZ2luLXNlY3JldC1mb3ItZWRnZWhvb2s=
export WRANGLER_SEND_METRICS=false

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUNS=$OUT/runs/$STAMP
mkdir -p "$RUNS"
RESULTS=$RUNS/results.jsonl
: >"$RESULTS"
A="python3 $B/analyze.py"

STARTED=""
stop() { # stop one PID we started: TERM, then KILL after 10 s
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { for p in $STARTED; do stop "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- prerequisites
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if [ ! -f build/index.js ] || [ ! -f build/index_bg.wasm ] || [ "$REBUILD" = 1 ] ||
  { [ "$REBUILD" = auto ] && [ src/config.rs -nt build/index.js ]; }; then
  log "building the Worker (sh scripts/build-worker.sh, ~2 min)"
  sh scripts/build-worker.sh >"$RUNS/build-worker.log" 2>&1
fi
if [ -n "$(find src -name '*.rs' -newer build/index_bg.wasm 2>/dev/null | head -1)" ]; then
  log "note: some src/*.rs is newer than build/index_bg.wasm (REBUILD=1 to rebuild first)"
fi
if [ "$ORIGIN" = edgehook ] && [ ! -x target/release/edgehook ]; then
  log "building target/release/edgehook"
  cargo build --release --bin edgehook >"$RUNS/cargo-build.log" 2>&1
fi
# Serve a snapshot of build/: other people rebuild build/ while they work.
SNAP=$RUNS/build
mkdir -p "$SNAP"
for _ in 1 2 3 4 5; do # a copy of one build, not of one being written
  m0=$(stat -c %Y "$BUILD_DIR/index.js" "$BUILD_DIR/index_bg.wasm" | tr '\n' ' ')
  cp "$BUILD_DIR/index.js" "$BUILD_DIR/index_bg.wasm" "$SNAP/"
  m1=$(stat -c %Y "$BUILD_DIR/index.js" "$BUILD_DIR/index_bg.wasm" | tr '\n' ' ')
  [ "$m0" = "$m1" ] && [ $(($(date +%s) - $(stat -c %Y "$BUILD_DIR/index_bg.wasm"))) -ge 2 ] && break
  sleep 3
done
BUILD_MTIME=$(date -u -r "$BUILD_DIR/index_bg.wasm" +%Y-%m-%dT%H:%M:%SZ)
WASM_SHA=$(sha256sum "$SNAP/index_bg.wasm" | cut -c1-16)
ESBUILD=node_modules/esbuild/bin/esbuild
[ -x "$ESBUILD" ] || ESBUILD=node_modules/@esbuild/linux-x64/bin/esbuild
mkdir -p "$OUT/reference"
"$ESBUILD" "$B/reference-ts/src/index.ts" --bundle --format=esm --target=es2022 \
  --outfile="$OUT/reference/index.js" --log-level=warning

# ---------------------------------------------------------------- the machine, sizes, start-up
WASM_RAW=$(wc -c <"$SNAP/index_bg.wasm")
WASM_GZ=$(gzip -9 -c "$SNAP/index_bg.wasm" | wc -c)
JS_RAW=$(wc -c <"$SNAP/index.js")
REF_RAW=$(wc -c <"$OUT/reference/index.js")
log "wasm: $WASM_RAW bytes raw, $WASM_GZ gzip -9"
STARTUP_E="{}"
STARTUP_R="{}"
if [ "$STARTUP_SAMPLES" -gt 0 ]; then
  log "start-up: $STARTUP_SAMPLES cold starts of each Worker"
  STARTUP_E=$(node "$B/serve.mjs" --worker edgehook --build "$SNAP" --startup-samples "$STARTUP_SAMPLES")
  STARTUP_R=$(node "$B/serve.mjs" --worker reference --startup-samples "$STARTUP_SAMPLES")
fi
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain -- src 2>/dev/null | wc -l)
python3 - "$RUNS/env.json" <<EOF
import json, os, subprocess, sys
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
json.dump({
  "stamp": "$STAMP", "cpu": cpu, "nproc": sh("nproc"),
  "mem": sh("free -h | awk '/Mem:/{print \$2}'"),
  "kernel": sh("uname -r"), "node": sh("node --version"),
  "wrk": sh("wrk --version 2>&1 | head -1"),
  "miniflare": json.load(open("node_modules/miniflare/package.json"))["version"],
  "commit": "$COMMIT" + (" (+$DIRTY uncommitted src files)" if "$DIRTY" != "0" else ""),
  "threads": $THREADS, "conns": $CONNS, "duration": $DURATION, "warmup": $WARMUP,
  "repeat": $REPEAT, "size": $SIZE, "mix": "$MIX", "origin": "$ORIGIN",
  "wasm": {"raw": $WASM_RAW, "gzip": $WASM_GZ, "js": $JS_RAW, "reference_js": $REF_RAW,
           "sha256_16": "$WASM_SHA", "built_at": "$BUILD_MTIME"},
  "startup": {"edgehook": json.loads('''$STARTUP_E''' or "{}") or None,
              "reference": json.loads('''$STARTUP_R''' or "{}") or None},
}, open(sys.argv[1], "w"), indent=1)
EOF

# ---------------------------------------------------------------- one run
origin_count() {
  if [ "$ORIGIN" = edgehook ]; then grep -c '^{"specversion' "$1" || true; else wc -l <"$1"; fi
}

# drain FILE EXPECTED: waits until the origin printed >= EXPECTED envelopes and nothing new
# came for 2 s (late in-flight ones, or duplicates), at most DRAIN_TIMEOUT s.
drain() {
  local file=$1 want=$2 t0 n last=-1 stable=0 i
  t0=$(date +%s.%N)
  for i in $(seq $((DRAIN_TIMEOUT * 4))); do
    n=$(origin_count "$file")
    if [ "$n" -ge "$want" ]; then
      if [ "$n" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
      [ $stable -ge 8 ] && break
    fi
    last=$n
    sleep 0.25
  done
  python3 -c "import time; print('{\"expected\": $want, \"printed\": $n, \"seconds\": %.1f}' % (time.time() - $t0 - 2))"
}

status_count() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get('status_got',{}).get(sys.argv[2],0))" "$1" "$2"; }

run_one() { # mix worker mode rep
  local mix=$1 worker=$2 mode=$3 rep=$4
  local provider=${mix%%:*} flavor=${mix#*:}
  local rd=$RUNS/$provider-$flavor-$worker-$mode-$rep
  mkdir -p "$rd"
  log "== $mix $worker $mode (run $rep)"
  $A wait-quiet --max-cores "$QUIET_CORES" --timeout "$QUIET_WAIT" >"$rd/quiet.json"
  local origin_pid="" oport url spid
  oport=$($A free-port)
  if [ "$mode" = full ]; then
    if [ "$ORIGIN" = edgehook ]; then
      target/release/edgehook origin --listen "127.0.0.1:$oport" --secret "$ORIGIN_SECRET" \
        >"$rd/origin.out" 2>"$rd/origin.err" &
    else
      python3 "$B/origin.py" --listen "127.0.0.1:$oport" --secret "$ORIGIN_SECRET" \
        >"$rd/origin.out" 2>"$rd/origin.err" &
    fi
    origin_pid=$!
    STARTED="$STARTED $origin_pid"
  fi
  python3 "$B/gen_requests.py" --provider "$provider" --flavor "$flavor" --size "$SIZE" \
    --mix "$MIX" --count "$WARM_POOL" --threads "$THREADS" --out "$rd/warm" 2>"$rd/gen-warm.log"
  local smode=$mode
  [ "$mode" = empty ] && smode=verify
  node "$B/serve.mjs" --worker "$worker" --build "$SNAP" --mode "$smode" --origin "http://127.0.0.1:$oport/events" \
    --log "$rd/worker.log" >"$rd/serve.json" 2>"$rd/serve.err" &
  spid=$!
  STARTED="$STARTED $spid"
  for _ in $(seq 600); do grep -q '"url"' "$rd/serve.json" 2>/dev/null && break; sleep 0.1; done
  url=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['url'])" "$rd/serve.json")

  # warm-up (its deliveries are checked too)
  BENCH_REQS=$rd/warm BENCH_MODE=$mode BENCH_OUT=$rd/warm.json \
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$B/replay.lua" "$url" >"$rd/warm.wrk.txt"
  local wrps pool
  wrps=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rps'])" "$rd/warm.json")
  # enough unique requests for the whole run at the warm-up's rate (+80 %)
  pool=$(python3 -c "import math; print(max($POOL_MIN, min($POOL_MAX, math.ceil($wrps * $DURATION * 1.8))))")
  python3 "$B/gen_requests.py" --provider "$provider" --flavor "$flavor" --size "$SIZE" \
    --mix "$MIX" --count "$pool" --threads "$THREADS" --out "$rd/main" 2>"$rd/gen-main.log"
  if [ "$mode" = full ]; then
    drain "$rd/origin.out" "$(status_count "$rd/warm.json" 202)" >"$rd/drain-warm.json"
  fi

  # the measured run
  $A cpu-snap "$rd/cpu0.json"
  BENCH_REQS=$rd/main BENCH_MODE=$mode BENCH_OUT=$rd/main.json \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$B/replay.lua" "$url" >"$rd/main.wrk.txt"
  $A cpu-snap "$rd/cpu1.json"
  $A cpu-diff "$rd/cpu0.json" "$rd/cpu1.json" $$ >"$rd/cpu.json"
  if [ "$mode" = full ]; then
    local want
    want=$(($(status_count "$rd/warm.json" 202) + $(status_count "$rd/main.json" 202)))
    drain "$rd/origin.out" "$want" >"$rd/drain.json"
    $A cpu-snap "$rd/cpu2.json"
    $A cpu-diff "$rd/cpu0.json" "$rd/cpu2.json" $$ >"$rd/cpu-all.json"
  fi
  rm -f "$rd"/cpu[012].json
  stop "$spid"
  [ -n "$origin_pid" ] && stop "$origin_pid"
  python3 -c "import json; print(json.dumps({'mix': '$mix', 'provider': '$provider', 'flavor': '$flavor', 'worker': '$worker', 'mode': '$mode', 'rep': $rep, 'pool': $pool}))" >"$rd/run.json"
  $A row "$rd" >>"$RESULTS"
  rm -f "$rd"/*.req # the request files are large; the meta files stay
  python3 -c "
import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1])
o=r.get('once') or {}
print(f\"   {r['rps']:.0f} req/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  wrong {r['wrong']}  \"
      f\"foreign cpu {(r.get('cpu') or {}).get('foreign_cores')}\" +
      (f\"  delivered {o.get('delivered')}/{o.get('answered_202')} once={o.get('ok')}\" if o else ''))
" "$RESULTS" >&2
}

for mix in $MIXES; do
  for rep in $(seq "$REPEAT"); do
    for mode in $MODES; do
      for worker in $WORKERS; do
        run_one "$mix" "$worker" "$mode" "$rep"
      done
    done
    if [ "$BASELINE" = 1 ]; then run_one "$mix" empty empty "$rep"; fi
  done
done

$A report "$RESULTS" --env "$RUNS/env.json" --out "$OUT/results-$STAMP"
cp "$OUT/results-$STAMP.md" "$OUT/latest.md"

if [ "$VECTORS" = 1 ]; then
  log "shared vectors: reference vs edgehook"
  python3 "$B/reference_mismatches.py" --build "$SNAP" --out "$OUT/vectors-$STAMP" | tee -a "$OUT/latest.md"
fi
log "done: bench/out/results-$STAMP.md (raw runs in bench/out/runs/$STAMP)"
