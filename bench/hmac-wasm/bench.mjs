// Times HMAC-SHA256 three ways on the same bytes, 1 KB to 1 MB:
//   wasm-loop:   RustCrypto inside wasm, n iterations per call (compute only)
//   wasm-call:   RustCrypto, one call per HMAC (data copied into wasm each time)
//   subtle:      crypto.subtle.sign with an imported key, awaited one at a time
// Usage: node bench.mjs <path to wasm-bindgen nodejs output dir>
import { createRequire } from "node:module";
import { webcrypto } from "node:crypto";
const require = createRequire(import.meta.url);
const wasm = require(`${process.argv[2]}/hmac_wasm_bench.js`);
const subtle = webcrypto.subtle;

const key = new TextEncoder().encode("whsec_benchmark_key_0123456789");
const cryptoKey = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
const sizes = [1024, 8 * 1024, 64 * 1024, 1024 * 1024];

async function time(label, size, fn) {
  const budgetNs = 1_500_000_000n; // about 1.5 s per measurement
  let iters = 0;
  await fn(); // warm up
  const start = process.hrtime.bigint();
  let now = start;
  while (now - start < budgetNs) {
    await fn();
    iters++;
    now = process.hrtime.bigint();
  }
  const us = Number(now - start) / 1000 / iters;
  return { label, size, us, mbps: size / us };
}

const rows = [];
for (const size of sizes) {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
  const n = Math.max(1, Math.floor((256 * 1024) / size));
  const loop = await time("wasm-loop", size, () => wasm.hmac_sha256_n(key, data, n));
  loop.us /= n;
  loop.mbps = size / loop.us;
  rows.push(loop);
  rows.push(await time("wasm-call", size, () => wasm.hmac_sha256(key, data)));
  rows.push(await time("subtle", size, () => subtle.sign("HMAC", cryptoKey, data)));
}
console.log(`node ${process.version}, ${rows.length} measurements`);
console.log("size      method      µs/op      MB/s");
for (const r of rows) {
  console.log(`${String(r.size).padEnd(9)} ${r.label.padEnd(10)} ${r.us.toFixed(2).padStart(9)} ${r.mbps.toFixed(1).padStart(9)}`);
}
