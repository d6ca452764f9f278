#!/usr/bin/env bash
# Run command: sets up what is missing, builds the Worker, and serves it on
# 127.0.0.1:8787 with the example configuration (wrangler.toml, .dev.vars) together with a
# local origin (`edgehook origin`) on 127.0.0.1:9000 that prints each event it receives.
# Try it from a second terminal, e.g.:
#   cargo run -q -- send skyvern --url http://127.0.0.1:8787/in/skyvern --secret sk_local_skyvern_key
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false

if [ ! -f .dev.vars ]; then
  cp .dev.vars.example .dev.vars
  echo "created .dev.vars from .dev.vars.example (local secrets; never committed)" >&2
fi
origin_secret=$(sed -n 's/^ORIGIN_SECRET=//p' .dev.vars)

cargo build -q --bin edgehook
sh scripts/build-worker.sh

pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

set -m # each background job in its own process group, so cleanup ends its children too
ORIGIN_SECRET="$origin_secret" target/debug/edgehook origin --listen 127.0.0.1:9000 &
pids+=($!)
node_modules/.bin/wrangler dev --ip 127.0.0.1 --port 8787 --persist-to .wrangler/state &
pids+=($!)
set +m
wait -n "${pids[@]}"
