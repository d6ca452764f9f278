#!/usr/bin/env bash
# The same hashes inside workerd (Miniflare from node_modules): RustCrypto HMAC-SHA256 and
# SHA-256 and portable BLAKE3 in wasm, against crypto.subtle and node:crypto, timed from
# outside (paired sequential requests from Node). Run from the repository: bench/hmac-wasm/run-workerd.sh [workerd.mjs options]
# Needs wasm-bindgen of the locked version and `npm ci` done. About 6-8 minutes on a
# quiet machine; writes bench/out/hmac-workerd.{md,jsonl,env.json}. See bench/README.md §3.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
out=../out/hmac-wasm-web
CARGO_TARGET_DIR=../../target/hmac-wasm cargo build -q --release --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir "$out" ../../target/hmac-wasm/wasm32-unknown-unknown/release/hmac_wasm_bench.wasm
node workerd.mjs --glue "$out" --out ../out/hmac-workerd "$@"
