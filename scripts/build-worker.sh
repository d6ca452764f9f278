#!/bin/sh
# Builds the Worker (wasm + JS shim) into build/. wrangler runs this as its [build] command.
# Where a wasm-bindgen CLI of the locked version is installed, worker-build uses it instead
# of downloading one (which fails on machines without GitHub access).
set -eu
cd "$(dirname "$0")/.."
want=$(sed -n '/^name = "wasm-bindgen"$/{n;s/version = "\(.*\)"/\1/p;}' Cargo.lock)
if [ -z "${WASM_BINDGEN_BIN:-}" ] && command -v wasm-bindgen >/dev/null 2>&1 &&
  [ "$(wasm-bindgen --version)" = "wasm-bindgen $want" ]; then
  WASM_BINDGEN_BIN=$(command -v wasm-bindgen)
  export WASM_BINDGEN_BIN
fi
exec worker-build --release
