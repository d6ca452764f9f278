#!/usr/bin/env node
// Serves one Worker (edgehook from build/, the TypeScript reference from
// bench/out/reference/, or `empty`: a Worker that only reads the body, the floor) through the Miniflare Node API, so load goes straight to workerd's
// own socket (no `wrangler dev` proxy in front). KV SEEN, queue producer EVENTS, consumers
// for edgehook-events (with a dead-letter queue) and edgehook-dlq, vars with SOURCES as an
// object, secrets as plain bindings; nothing persisted (Miniflare's in-memory default).
//
//   node bench/serve.mjs --worker edgehook|reference|empty --mode full|verify
//        [--port 0] [--origin http://127.0.0.1:9000/events] [--log FILE]
//        [--tolerance S] [--browser-use-secret S] [--skyvern-key K]
//        [--smartbrowse-token T] [--origin-secret whsec_...] [--build DIR]
//        [--reference-log 0|1]   (the reference's per-delivery log line; edgehook always logs)
//   node bench/serve.mjs --worker edgehook --startup-samples 5
//
// Prints one JSON line: {"url", "startup_ms", "ready_ms", ...} once the Worker answers
// GET /healthz, then serves until SIGTERM/SIGINT (or stdin closes, with --stdin-lifetime).
// startup_ms = from `new Miniflare(...)` until the first /healthz answer (200);
// ready_ms = until `mf.ready` resolved (workerd listening, the Worker not yet run).

import { Miniflare, Log, LogLevel } from "miniflare";
import { createWriteStream, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");

function parseArgs(argv) {
  const a = {
    worker: "edgehook",
    mode: "full",
    port: 0,
    origin: "http://127.0.0.1:9000/events",
    log: null,
    tolerance: 300,
    "browser-use-secret": "whsec_local_browser_use_secret",
    "skyvern-key": "sk_local_skyvern_key",
    "smartbrowse-token": "local-smartbrowse-token",
    "origin-secret": "whsec_bG9jYWwtb3JpZ2luLXNlY3JldC1mb3ItZWRnZWhvb2s=",
    "startup-samples": 0,
    "stdin-lifetime": false,
    build: null,
    "reference-log": "1",
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in a)) throw new Error(`unknown option --${k}`);
    if (typeof a[k] === "boolean") a[k] = true;
    else a[k] = argv[++i];
  }
  a.port = Number(a.port);
  a.tolerance = Number(a.tolerance);
  a["startup-samples"] = Number(a["startup-samples"]);
  if (!["edgehook", "reference", "empty", "floor"].includes(a.worker)) {
    throw new Error("--worker edgehook|reference|empty");
  }
  if (!["full", "verify"].includes(a.mode)) throw new Error("--mode full|verify");
  return a;
}

// The runtime's floor: reads the body and answers 202, nothing else.
const EMPTY_WORKER = `export default {
  async fetch(req) {
    if (new URL(req.url).pathname === "/healthz") return new Response('{"ok":true}');
    await req.arrayBuffer();
    return new Response('{"status":"accepted"}', { status: 202 });
  },
};`;

// The verifier's floor: what any Worker verifying these deliveries does besides handling the
// JSON (read the signature headers and the body, an HMAC-SHA256 and a SHA-256 by
// crypto.subtle, a log line, a JSON answer). It checks nothing and answers 202 to every
// POST; the reference's and edgehook's time above it is their JSON work and glue.
const FLOOR_WORKER = `let key;
const enc = new TextEncoder();
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
export default {
  async fetch(req, env) {
    if (new URL(req.url).pathname === "/healthz") return new Response('{"ok":true}');
    const sig = req.headers.get("x-browser-use-signature") ?? req.headers.get("x-skyvern-signature") ?? "";
    const ts = req.headers.get("x-browser-use-timestamp") ?? "";
    const body = new Uint8Array(await req.arrayBuffer());
    key ??= await crypto.subtle.importKey("raw", enc.encode(env.KEY), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const msg = new Uint8Array(ts.length + 1 + body.length);
    msg.set(enc.encode(ts + "."));
    msg.set(body, ts.length + 1);
    const mac = hex(await crypto.subtle.sign("HMAC", key, msg));
    const id = hex(await crypto.subtle.digest("SHA-256", body));
    const outcome = mac === sig ? "accepted" : "unchecked";
    console.log(JSON.stringify({ event: "delivery", outcome, status: 202, id }));
    return new Response(JSON.stringify({ id, status: "accepted" }), {
      status: 202,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  },
};`;

function options(a, logStream) {
  const edgehook = a.worker === "edgehook";
  if (a.worker === "empty" || a.worker === "floor") {
    return {
      host: "127.0.0.1",
      port: a.port,
      log: new Log(LogLevel.WARN),
      modules: true,
      script: a.worker === "empty" ? EMPTY_WORKER : FLOOR_WORKER,
      bindings: { KEY: a["browser-use-secret"] },
      compatibilityDate: "2026-04-20",
      cf: false,
      handleRuntimeStdio(stdout, stderr) {
        stdout.resume();
        stderr.resume();
      },
    };
  }
  // --build: a copy of build/ (bench/run.sh snapshots it, since others rebuild build/ as
  // they work); the reference is always bench/out/reference/.
  const dir = edgehook ? path.resolve(a.build ?? path.join(root, "build")) : path.join(here, "out", "reference");
  const script = path.join(dir, "index.js");
  if (!existsSync(script)) throw new Error(`${script} is missing: build it first (bench/run.sh does)`);
  const modules = [{ type: "ESModule", path: script }];
  if (edgehook) modules.push({ type: "CompiledWasm", path: path.join(dir, "index_bg.wasm") });

  const secrets = {
    BROWSER_USE_WEBHOOK_SECRET: a["browser-use-secret"],
    SKYVERN_API_KEY: a["skyvern-key"],
    SMARTBROWSE_TOKEN: a["smartbrowse-token"],
    ORIGIN_SECRET: a["origin-secret"],
  };
  const vars = {
    FORWARD_MODE: edgehook && a.mode === "verify" ? "discard" : "queue",
    ORIGIN_URL: a.origin,
    ORIGIN_TIMEOUT_MS: "5000",
    DEDUP_TTL_S: "604800",
    // MAX_BODY_BYTES in the environment raises it (bench/breakdown.sh with 10 MiB bodies).
    MAX_BODY_BYTES: process.env.MAX_BODY_BYTES ?? "1048576",
    RETRY_BASE_DELAY_S: "10",
    DEAD_LETTER_QUEUE: "edgehook-dlq",
    // As wrangler binds [vars.SOURCES.*]: a JSON object, not text.
    SOURCES: {
      "browser-use": {
        provider: "browser-use",
        secrets: ["BROWSER_USE_WEBHOOK_SECRET"],
        tolerance_s: a.tolerance,
      },
      skyvern: { provider: "skyvern", secrets: ["SKYVERN_API_KEY"] },
      smartbrowse: { provider: "smartbrowse", secrets: ["SMARTBROWSE_TOKEN"], auth: "path" },
    },
  };
  if (!edgehook) {
    vars.TOLERANCE_S = String(a.tolerance);
    vars.VERIFY_ONLY = a.mode === "verify" ? "1" : "0";
    vars.LOG_DELIVERIES = a["reference-log"]; // "0": no log line per delivery
  }
  // The same queue settings as wrangler.toml.
  return {
    host: "127.0.0.1",
    port: a.port,
    log: new Log(LogLevel.WARN),
    modules,
    modulesRoot: dir,
    compatibilityDate: "2026-04-20",
    cf: false, // no network: the placeholder Request.cf
    bindings: { ...vars, ...secrets },
    kvNamespaces: { SEEN: "00000000000000000000000000000000" },
    queueProducers: { EVENTS: { queueName: "edgehook-events" } },
    queueConsumers: {
      "edgehook-events": {
        maxBatchSize: 10,
        maxBatchTimeout: 1,
        maxRetries: 5,
        retryDelay: 10,
        deadLetterQueue: "edgehook-dlq",
      },
      "edgehook-dlq": { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 3, retryDelay: 30 },
    },
    handleRuntimeStdio(stdout, stderr) {
      if (logStream) {
        stdout.pipe(logStream, { end: false });
        stderr.pipe(logStream, { end: false });
      } else {
        stdout.resume();
        stderr.resume();
      }
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts one Worker; resolves once GET /healthz answered 200. */
async function start(a, logStream) {
  const opts = options(a, logStream);
  const t0 = performance.now();
  const mf = new Miniflare(opts);
  const url = await mf.ready;
  const tReady = performance.now();
  const health = new URL("/healthz", url);
  let status = 0;
  for (let i = 0; i < 6000 && status !== 200; i++) {
    try {
      const r = await fetch(health);
      await r.arrayBuffer();
      status = r.status;
    } catch {
      await sleep(5);
    }
  }
  const tFirst = performance.now();
  if (status !== 200) {
    await mf.dispose();
    throw new Error(`GET /healthz never answered 200 (last ${status})`);
  }
  return { mf, url: url.toString(), ready_ms: tReady - t0, startup_ms: tFirst - t0 };
}

const a = parseArgs(process.argv.slice(2));

if (a["startup-samples"] > 0) {
  const samples = [];
  for (let i = 0; i < Math.min(a["startup-samples"], 50); i++) {
    const s = await start(a, null);
    samples.push({ startup_ms: s.startup_ms, ready_ms: s.ready_ms });
    await s.mf.dispose();
  }
  const med = (k) => {
    const v = samples.map((s) => s[k]).sort((x, y) => x - y);
    return v[Math.floor(v.length / 2)];
  };
  console.log(
    JSON.stringify({
      worker: a.worker,
      mode: a.mode,
      samples: samples.length,
      startup_ms_median: +med("startup_ms").toFixed(1),
      ready_ms_median: +med("ready_ms").toFixed(1),
      startup_ms_all: samples.map((s) => +s.startup_ms.toFixed(1)),
    }),
  );
  process.exit(0);
}

const logStream = a.log ? createWriteStream(a.log, { flags: "a" }) : null;
const s = await start(a, logStream);
console.log(
  JSON.stringify({
    worker: a.worker,
    mode: a.mode,
    url: s.url,
    startup_ms: +s.startup_ms.toFixed(1),
    ready_ms: +s.ready_ms.toFixed(1),
    pid: process.pid,
  }),
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(1), 10_000);
  try {
    await s.mf.dispose();
  } finally {
    clearTimeout(timer);
    logStream?.end();
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (a["stdin-lifetime"]) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
