#!/usr/bin/env node
// CPU profile of one Worker under load: where its isolate's time goes, by function.
//
//   node bench/profile.mjs --worker edgehook|reference [--mode verify|full]
//        [--case healthz|bu-valid|bu-real|sky-valid]
//        [--seconds 10] [--build DIR] [--top 30] [--size BYTES]
//
// Serves the Worker through Miniflare with workerd's inspector on, drives it with wrk
// (bench/static.lua: one fixed 8.5 KB delivery, made by bench/gen_requests.py), records a
// V8 CPU profile of the isolate for --seconds, and prints the functions with the most self
// time (wasm functions appear under their Rust names when the module has a name section).
// Writes bench/out/profile-<worker>-<case>.cpuprofile (open it in Chrome DevTools).
// Only the isolate's JS/wasm thread is profiled: workerd's own C++ (HTTP parsing, KV and
// queue simulators) shows up as "(program)" or not at all.

import { Miniflare, Log, LogLevel } from "miniflare";
import WebSocket from "ws";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const args = { worker: "edgehook", mode: "verify", case: "bu-valid", seconds: "10", build: null, top: "30", size: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) args[argv[i].replace(/^--/, "")] = argv[++i];
const out = path.join(here, "out");
const tmp = path.join(out, "tmp");
mkdirSync(tmp, { recursive: true });

const freePort = () =>
  new Promise((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

// One delivery for the case, as bench/breakdown.sh makes them.
const cases = {
  healthz: ["browser-use", "js-safe"], // the request is made but a GET /healthz is sent
  "bu-valid": ["browser-use", "js-safe"],
  "bu-real": ["browser-use", "realistic"],
  "sky-valid": ["skyvern", "realistic"],
};
const [provider, flavor] = cases[args.case] ?? cases["bu-valid"];
const prefix = path.join(tmp, `profile-${args.case}`);
execFileSync("python3", [path.join(here, "gen_requests.py"), "--provider", provider, "--flavor", flavor,
  "--count", "1", "--threads", "1", "--mix", "100/0/0", ...(args.size ? ["--size", args.size] : []),
  "--out", prefix], { stdio: "ignore" });
{
  const data = readFileSync(prefix + ".t0.req");
  let pos = data.indexOf(10) + 1;
  let nl = data.indexOf(10, pos);
  const [, p, nh, blen] = data.subarray(pos, nl).toString().split(" ");
  pos = nl + 1;
  const headers = [];
  for (let i = 0; i < Number(nh); i++) {
    nl = data.indexOf(10, pos);
    headers.push(data.subarray(pos, nl).toString());
    pos = nl + 1;
  }
  writeFileSync(prefix + ".body", data.subarray(pos, pos + Number(blen)));
  writeFileSync(prefix + ".headers", headers.join("\n") + "\n");
  writeFileSync(prefix + ".path", p);
}

const inspectorPort = await freePort();
const edgehook = args.worker === "edgehook";
const dir = edgehook ? path.resolve(args.build ?? path.join(root, "build")) : path.join(out, "reference");
const modules = [{ type: "ESModule", path: path.join(dir, "index.js") }];
if (edgehook) modules.push({ type: "CompiledWasm", path: path.join(dir, "index_bg.wasm") });
const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  inspectorPort,
  log: new Log(LogLevel.WARN),
  modules,
  modulesRoot: dir,
  compatibilityDate: "2026-04-20",
  cf: false,
  bindings: {
    FORWARD_MODE: args.mode === "verify" ? "discard" : "queue",
    VERIFY_ONLY: args.mode === "verify" ? "1" : "0",
    ORIGIN_URL: "http://127.0.0.1:9/events",
    DEDUP_TTL_S: "604800",
    // Room for --size bodies (at least the default 1 MiB).
    MAX_BODY_BYTES: String(Math.max(1048576, Number(args.size ?? 0) + 65536)),
    SOURCES: {
      "browser-use": { provider: "browser-use", secrets: ["BROWSER_USE_WEBHOOK_SECRET"], tolerance_s: 300 },
      skyvern: { provider: "skyvern", secrets: ["SKYVERN_API_KEY"] },
    },
    BROWSER_USE_WEBHOOK_SECRET: "whsec_local_browser_use_secret",
    SKYVERN_API_KEY: "sk_local_skyvern_key",
    SMARTBROWSE_TOKEN: "local-smartbrowse-token",
    ORIGIN_SECRET: "whsec_bG9jYWwtb3JpZ2luLXNlY3JldC1mb3ItZWRnZWhvb2s=",
  },
  kvNamespaces: { SEEN: "00000000000000000000000000000000" },
  queueProducers: { EVENTS: { queueName: "edgehook-events" } },
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.resume();
  },
});
const url = (await mf.ready).toString();

function wrk(seconds) {
  return new Promise((res, rej) => {
    const p = spawn("wrk", ["-t2", "-c16", `-d${seconds}s`, "-s", path.join(here, "static.lua"), url], {
      env: {
        ...process.env,
        ...(args.case === "healthz"
          ? { STATIC_METHOD: "GET", STATIC_PATH: "/healthz", STATIC_BODY: "", STATIC_HEADERS: "" }
          : {
              STATIC_METHOD: "POST",
              STATIC_PATH: readFileSync(prefix + ".path", "utf8"),
              STATIC_BODY: prefix + ".body",
              STATIC_HEADERS: prefix + ".headers",
            }),
        BENCH_OUT: prefix + ".wrk.json",
      },
      stdio: "ignore",
    });
    p.on("exit", (code) => (code === 0 ? res(JSON.parse(readFileSync(prefix + ".wrk.json", "utf8"))) : rej(new Error(`wrk ${code}`))));
  });
}

await wrk(3); // warm up, before the inspector is attached

const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
const target = list.find((t) => !String(t.title ?? t.id).includes("miniflare")) ?? list[0];
const ws = new WebSocket(target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${inspectorPort}/${target.id}`);
await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
let nextId = 1;
const pending = new Map();
ws.on("message", (m) => {
  const msg = JSON.parse(m.toString());
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
});
const call = (method, params = {}) =>
  new Promise((res) => {
    const id = nextId++;
    pending.set(id, res);
    ws.send(JSON.stringify({ id, method, params }));
  });

await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 100 });
await call("Profiler.start");
const load = await wrk(Number(args.seconds));
const { result } = await call("Profiler.stop");
ws.close();
await mf.dispose();

const profile = result.profile;
const file = path.join(out, `profile-${args.worker}-${args.case}.cpuprofile`);
writeFileSync(file, JSON.stringify(profile));

// Self time per function, from the sample counts.
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const total = profile.samples.length;
const byName = new Map();
for (const node of profile.nodes) {
  const c = counts.get(node.id) ?? 0;
  if (!c) continue;
  const f = node.callFrame;
  const where = f.url ? path.basename(f.url) : "";
  const name = `${f.functionName || "(anonymous)"}${where ? "  " + where : ""}`;
  byName.set(name, (byName.get(name) ?? 0) + c);
}
const rows = [...byName.entries()].sort((a, b) => b[1] - a[1]);
const idle = (byName.get("(idle)") ?? 0) / total;
console.log(
  `${args.worker} ${args.case} (${args.mode}): ${load.rps.toFixed(0)} req/s, ${total} samples, ` +
    `isolate busy ${(100 * (1 - idle)).toFixed(0)} % of the time; self time, busy samples only:`,
);
const busy = total - (byName.get("(idle)") ?? 0);
for (const [name, c] of rows.slice(0, Number(args.top))) {
  if (name.startsWith("(idle)")) continue;
  console.log(`${((100 * c) / busy).toFixed(1).padStart(5)} %  ${name}`);
}
console.log(`profile: ${path.relative(root, file)}`);
