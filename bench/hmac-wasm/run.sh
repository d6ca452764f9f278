#!/usr/bin/env bash
# RustCrypto HMAC-SHA256 in wasm vs crypto.subtle, on Node's V8 (workerd runs V8 too).
# Run from the repository: bench/hmac-wasm/run.sh   (needs wasm-bindgen of the locked version;
# scripts/setup.sh installs it)
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
out=../out/hmac-wasm
CARGO_TARGET_DIR=../../target/hmac-wasm cargo build -q --release --target wasm32-unknown-unknown
wasm-bindgen --target nodejs --out-dir "$out" ../../target/hmac-wasm/wasm32-unknown-unknown/release/hmac_wasm_bench.wasm
node bench.mjs "$(cd "$out" && pwd)"
