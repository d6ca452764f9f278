// The Worker that bench/hmac-wasm/workerd.mjs serves through Miniflare: it hashes a
// deterministic buffer K times per request, so the cost per operation can be taken from
// outside (timers inside workerd do not advance during a request).
//
//   GET /op?method=M&size=N&n=K    answers one byte of the last result, as text
//
// M (all on the same N-byte buffer, made once per size per isolate):
//   wasm           HMAC-SHA256, RustCrypto in wasm, one call per HMAC (key and data copied
//                  into wasm memory each time, as a Worker's body is)
//   wasm-loop      HMAC-SHA256, RustCrypto, K iterations inside one wasm call (compute only)
//   subtle         crypto.subtle.sign("HMAC"), key imported once per isolate, awaited one
//                  at a time
//   node-hmac      createHmac from node:crypto (nodejs_compat; synchronous)
//   wasm-digest    SHA-256, RustCrypto in wasm, one call per digest
//   subtle-digest  crypto.subtle.digest("SHA-256"), awaited one at a time
//   blake3         BLAKE3 (portable Rust, no SIMD) in wasm, one call per hash
// K=0 does everything but the hashing: the baseline to subtract.

import { initSync, hmac_sha256, hmac_sha256_n, sha256_n, blake3_n } from "./hmac_wasm_bench.js";
import wasmModule from "./hmac_wasm_bench_bg.wasm";
import { createHmac } from "node:crypto";

initSync({ module: wasmModule });

const keyBytes = new TextEncoder().encode("whsec_benchmark_key_0123456789");
let cryptoKey = null; // imported once per isolate, on first use
const buffers = new Map();

function buffer(size) {
  let b = buffers.get(size);
  if (!b) {
    b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
    buffers.set(size, b);
  }
  return b;
}

async function run(method, data, n) {
  let last = 0;
  switch (method) {
    case "wasm":
      for (let i = 0; i < n; i++) last ^= hmac_sha256(keyBytes, data)[0];
      return last;
    case "wasm-loop":
      return n === 0 ? 0 : hmac_sha256_n(keyBytes, data, n);
    case "subtle":
      if (!cryptoKey) {
        cryptoKey = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      }
      for (let i = 0; i < n; i++) last ^= new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, data))[0];
      return last;
    case "node-hmac":
      for (let i = 0; i < n; i++) last ^= createHmac("sha256", keyBytes).update(data).digest()[0];
      return last;
    case "wasm-digest":
      for (let i = 0; i < n; i++) last ^= sha256_n(data, 1);
      return last;
    case "subtle-digest":
      for (let i = 0; i < n; i++) last ^= new Uint8Array(await crypto.subtle.digest("SHA-256", data))[0];
      return last;
    case "blake3":
      for (let i = 0; i < n; i++) last ^= blake3_n(data, 1);
      return last;
    default:
      return null;
  }
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname !== "/op") return new Response("not found", { status: 404 });
    const method = url.searchParams.get("method") ?? "";
    const size = Number(url.searchParams.get("size") ?? 1024);
    const n = Number(url.searchParams.get("n") ?? 1);
    if (!(size >= 0 && size <= 16 << 20 && n >= 0 && n <= 1e6)) return new Response("bad size/n", { status: 400 });
    const out = await run(method, buffer(size), n);
    if (out === null) return new Response("unknown method", { status: 400 });
    return new Response(String(out));
  },
};
