#!/usr/bin/env bash
# Test command: sets up what is missing, checks formatting and lints, builds the Worker,
# and runs every test: the native unit and vector tests, the differential canonical-JSON
# test against this machine's python3, and the integration tests that run the built Worker
# in workerd (wrangler dev, local KV and Queues) against a real origin on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false

echo "==> cargo fmt --check, cargo clippy (warnings are errors)" >&2
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings

echo "==> building the Worker" >&2
sh scripts/build-worker.sh

echo "==> wrangler deploy --dry-run (offline: every binding and table a user deploys)" >&2
node_modules/.bin/wrangler deploy --dry-run --outdir target/dry-run >/dev/null
node_modules/.bin/wrangler deploy --dry-run --outdir target/dry-run-example \
  -c examples/three-destinations.toml >/dev/null

echo "==> cargo test" >&2
# Benches are compiled by clippy above; criterion does not take the test harness flags.
cargo test --lib --bins --tests
