// The reference: the Worker a team would write from the providers' docs, in plain
// TypeScript on the Workers runtime. It does what edgehook does, the straightforward way:
//
//   POST /in/browser-use           JSON.parse -> sort keys -> JSON.stringify -> HMAC-SHA256 hex
//                                  over `${timestamp}.${json}`, timestamp within TOLERANCE_S
//   POST /in/skyvern               HMAC-SHA256 hex of the raw body (optional `sha256=` prefix)
//   POST /in/smartbrowse/:token    token compare
//
// then (unless VERIFY_ONLY = "1") dedup in KV (get, then put with expirationTtl) and
// forward: `env.EVENTS.send(envelope)`; the queue consumer POSTs each envelope to
// ORIGIN_URL, signed with Standard Webhooks headers (ORIGIN_SECRET), acks on 2xx, retries
// otherwise; the dead-letter queue's consumer keeps the message in KV under dead:{id}.
//
// Like edgehook it answers 202 {"id","status":"accepted"} / 200 duplicate / 401 / 400 / 404,
// and writes one JSON log line per delivery. It is a benchmark baseline, not a product:
// it has the bugs the docs' recipe has (see bench/README.md, "What the reference gets wrong").

interface KV {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, opts?: { expirationTtl?: number }): Promise<void>;
}
interface Queue {
  send(body: unknown): Promise<void>;
}
interface Message {
  id: string;
  body: unknown;
  attempts: number;
  ack(): void;
  retry(opts?: { delaySeconds?: number }): void;
}
interface MessageBatch {
  queue: string;
  messages: Message[];
}
interface Env {
  SEEN: KV;
  EVENTS: Queue;
  ORIGIN_URL: string;
  ORIGIN_SECRET: string;
  BROWSER_USE_WEBHOOK_SECRET: string;
  SKYVERN_API_KEY: string;
  SMARTBROWSE_TOKEN: string;
  DEDUP_TTL_S?: string;
  MAX_BODY_BYTES?: string;
  RETRY_BASE_DELAY_S?: string;
  DEAD_LETTER_QUEUE?: string;
  TOLERANCE_S?: string; // browser-use timestamp tolerance, default 300
  VERIFY_ONLY?: string; // "1": verify + normalize, answer 202, no KV, no queue
  LOG_DELIVERIES?: string; // "0" turns the per-delivery log line off
}

const enc = new TextEncoder();

class HttpError extends Error {
  constructor(
    public status: number,
    public body: Record<string, unknown>,
  ) {
    super(String(body.reason ?? body.error));
  }
}
const unauthorized = (reason: string) =>
  new HttpError(401, { error: "unauthorized", reason, message: reason.replace(/_/g, " ") });
const malformed = (reason: string) =>
  new HttpError(400, { error: "malformed", reason, message: reason });

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

// ---- crypto helpers (keys imported once per isolate, as a careful team would) ----

const hmacKeys = new Map<string, Promise<CryptoKey>>();
function hmacKey(raw: string | Uint8Array): Promise<CryptoKey> {
  const id = typeof raw === "string" ? "s:" + raw : "b:" + bytesToHex(raw);
  let k = hmacKeys.get(id);
  if (!k) {
    const bytes = typeof raw === "string" ? enc.encode(raw) : raw;
    k = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    hmacKeys.set(id, k);
  }
  return k;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
function bytesToHex(b: ArrayBuffer | Uint8Array): string {
  const u = b instanceof Uint8Array ? b : new Uint8Array(b);
  let s = "";
  for (let i = 0; i < u.length; i++) s += HEX[u[i]];
  return s;
}

async function hmacHex(secret: string, data: string | Uint8Array | ArrayBuffer): Promise<string> {
  const key = await hmacKey(secret);
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return bytesToHex(await crypto.subtle.sign("HMAC", key, bytes));
}

async function sha256Hex(data: string): Promise<string> {
  return bytesToHex(await crypto.subtle.digest("SHA-256", enc.encode(data)));
}

// Constant-time compare of two strings (the runtime's timingSafeEqual needs equal lengths).
function safeEqual(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  if (x.byteLength !== y.byteLength) return false;
  return (crypto.subtle as unknown as { timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean })
    .timingSafeEqual(x, y);
}

function base64(bytes: ArrayBuffer): string {
  const u = new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
  return btoa(s);
}
function unbase64(text: string): Uint8Array {
  const s = atob(text);
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u;
}

// ---- the docs' canonical JSON: parse, sort keys recursively, stringify compact ----

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      out[k] = sortKeys((v as Record<string, unknown>)[k]);
    }
    return out;
  }
  return v;
}

// ---- normalization (the same envelope edgehook builds, the plain way) ----

type Facts = {
  naturalId: string;
  runId: string | null;
  status: string;
  providerStatus: string | null;
  providerEvent: string | null;
  time: string | null;
  test: boolean;
  error: unknown;
};

const BU_STATUS: Record<string, string> = {
  initializing: "queued",
  started: "running",
  running: "running",
  paused: "paused",
  finished: "completed",
  stopped: "canceled",
};
const SKYVERN_STATUS: Record<string, string> = {
  created: "queued",
  queued: "queued",
  running: "running",
  paused: "paused",
  completed: "completed",
  failed: "failed",
  terminated: "canceled",
  canceled: "canceled",
  timed_out: "timed_out",
};
const SB_STATUS: Record<string, string> = {
  completed: "completed",
  failed: "failed",
  cancelled: "canceled",
};
const TERMINAL = new Set(["completed", "failed", "canceled", "timed_out"]);

function isoTime(t: unknown): string | null {
  if (typeof t !== "string") return null;
  // Naive ISO times (no zone) are UTC.
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : t + "Z");
  return isNaN(d.getTime()) ? null : d.toISOString();
}

function envelope(provider: string, source: string, facts: Facts, payload: unknown, now: number) {
  const received = new Date(now).toISOString();
  return {
    specversion: "1.0",
    id: `${provider}:${facts.naturalId}`,
    source: `/in/${source}`,
    type: facts.test ? "webhook.test" : `run.${facts.status}`,
    ...(facts.runId ? { subject: facts.runId } : {}),
    time: isoTime(facts.time) ?? received,
    datacontenttype: "application/json",
    provider,
    receivedat: received,
    data: {
      run_id: facts.runId,
      status: facts.status,
      provider_status: facts.providerStatus,
      provider_event: facts.providerEvent,
      terminal: TERMINAL.has(facts.status),
      error: facts.error ?? null,
      payload,
    },
  };
}
type Envelope = ReturnType<typeof envelope>;

// ---- the three providers ----

async function browserUse(req: Request, env: Env, now: number): Promise<Envelope> {
  const signature = req.headers.get("x-browser-use-signature");
  if (!signature) throw unauthorized("missing_signature");
  const timestamp = req.headers.get("x-browser-use-timestamp");
  if (!timestamp) throw unauthorized("missing_timestamp");
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) throw unauthorized("bad_timestamp");
  const tolerance = Number(env.TOLERANCE_S ?? "300");
  if (Math.abs(now / 1000 - ts) > tolerance) {
    throw unauthorized(now / 1000 > ts ? "stale_timestamp" : "future_timestamp");
  }
  const text = await readText(req, env);
  const body = parseJson(text);
  const canonical = JSON.stringify(sortKeys(body));
  const expected = await hmacHex(env.BROWSER_USE_WEBHOOK_SECRET, `${timestamp}.${canonical}`);
  if (!safeEqual(expected, signature.trim().toLowerCase())) throw unauthorized("bad_signature");
  const p = body?.payload ?? {};
  const word: string | null = typeof p.status === "string" ? p.status : null;
  const test = body?.type === "test";
  const facts: Facts = {
    naturalId: await sha256Hex(canonical),
    runId: typeof p.task_id === "string" ? p.task_id : null,
    status: (word && BU_STATUS[word]) || "unknown",
    providerStatus: word,
    providerEvent: typeof body?.type === "string" ? body.type : null,
    time: body?.timestamp ?? null,
    test,
    error: null,
  };
  return envelope("browser-use", "browser-use", facts, body, now);
}

async function skyvern(req: Request, env: Env, now: number): Promise<Envelope> {
  let signature = req.headers.get("x-skyvern-signature");
  if (!signature) throw unauthorized("missing_signature");
  if (signature.startsWith("sha256=")) signature = signature.slice(7);
  const raw = await readBytes(req, env);
  const expected = await hmacHex(env.SKYVERN_API_KEY, raw);
  if (!safeEqual(expected, signature.trim().toLowerCase())) throw unauthorized("bad_signature");
  const body = parseJson(new TextDecoder().decode(raw));
  const runId = body?.run_id ?? body?.task_id ?? body?.workflow_run_id;
  if (typeof runId !== "string") throw malformed("missing_run_id");
  const word = body?.status;
  if (typeof word !== "string") throw malformed("missing_status");
  const facts: Facts = {
    naturalId: `${runId}:${word}`,
    runId,
    status: SKYVERN_STATUS[word] ?? "unknown",
    providerStatus: word,
    providerEvent: typeof body.run_type === "string" ? body.run_type : null,
    time: body.timestamp ?? body.finished_at ?? body.modified_at ?? null,
    test: false,
    error: body.failure_reason ?? null,
  };
  return envelope("skyvern", "skyvern", facts, body, now);
}

async function smartbrowse(req: Request, env: Env, token: string, now: number): Promise<Envelope> {
  if (!token) throw unauthorized("missing_token");
  if (!safeEqual(token, env.SMARTBROWSE_TOKEN)) throw unauthorized("bad_token");
  const text = await readText(req, env);
  const body = parseJson(text);
  const event = typeof body?.event === "string" ? body.event : null;
  const runId = typeof body?.run_id === "string" ? body.run_id : null;
  const test = !runId && (event === "test" || event === "ping");
  if (!test && !runId) throw malformed("missing_run_id");
  if (!event) throw malformed("missing_event");
  const word = event.replace(/^smartbrowse\./, "");
  const facts: Facts = {
    naturalId: test ? await sha256Hex(text) : `${runId}:${event}`,
    runId,
    status: SB_STATUS[word] ?? "unknown",
    providerStatus: word,
    providerEvent: event,
    time: body.timestamp ?? null,
    test,
    error: body.error ?? null,
  };
  return envelope("smartbrowse", "smartbrowse", facts, body, now);
}

function tooLarge(env: Env, n: number) {
  const limit = Number(env.MAX_BODY_BYTES ?? "1048576");
  if (n > limit) throw new HttpError(413, { error: "too_large", message: `over ${limit} bytes` });
}
function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed("not_json");
  }
}
async function readText(req: Request, env: Env): Promise<string> {
  tooLarge(env, Number(req.headers.get("content-length") ?? "0"));
  const text = await req.text();
  tooLarge(env, text.length);
  return text;
}
async function readBytes(req: Request, env: Env): Promise<ArrayBuffer> {
  tooLarge(env, Number(req.headers.get("content-length") ?? "0"));
  const raw = await req.arrayBuffer();
  tooLarge(env, raw.byteLength);
  return raw;
}

// ---- fetch: route, verify, dedup, enqueue, answer ----

async function ingest(req: Request, env: Env, source: string, token: string, now: number) {
  let ev: Envelope;
  if (source === "browser-use" && !token) ev = await browserUse(req, env, now);
  else if (source === "skyvern" && !token) ev = await skyvern(req, env, now);
  else if (source === "smartbrowse") ev = await smartbrowse(req, env, token, now);
  else throw new HttpError(404, { error: "not_found", message: `no source /in/${source}` });
  if (env.VERIFY_ONLY === "1") {
    JSON.stringify(ev); // normalize: what would be handed on
    return { status: 202, id: ev.id, outcome: "accepted" };
  }
  const key = `seen:${source}:${ev.id}`;
  let seen: string | null = null;
  try {
    seen = await env.SEEN.get(key);
  } catch {
    // unknown: forward anyway, the origin dedups
  }
  if (seen !== null) return { status: 200, id: ev.id, outcome: "duplicate" };
  try {
    await env.EVENTS.send(ev);
  } catch {
    throw new HttpError(503, { error: "unavailable", message: "queue send failed" });
  }
  try {
    await env.SEEN.put(key, ev.receivedat, { expirationTtl: Number(env.DEDUP_TTL_S ?? "604800") });
  } catch {
    // handed on already: still 202
  }
  return { status: 202, id: ev.id, outcome: "accepted" };
}

async function handleFetch(req: Request, env: Env): Promise<Response> {
  const started = Date.now();
  const url = new URL(req.url);
  if (url.pathname === "/healthz") {
    return req.method === "GET" ? json(200, { ok: true, version: "reference" }) : json(405, { error: "method_not_allowed" });
  }
  const m = /^\/in\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  if (!m) return json(404, { error: "not_found", message: `no route ${url.pathname}` });
  if (req.method !== "POST") {
    const r = json(405, { error: "method_not_allowed" });
    r.headers.set("allow", "POST");
    return r;
  }
  const source = m[1];
  let status: number;
  let body: Record<string, unknown>;
  let outcome = "refused";
  let reason: unknown = null;
  let id: string | null = null;
  try {
    let token = m[2] ?? "";
    try {
      token = decodeURIComponent(token);
    } catch {
      // not percent-encoded text: compare as is
    }
    const r = await ingest(req, env, source, token, started);
    status = r.status;
    id = r.id;
    outcome = r.outcome;
    body = { id: r.id, status: r.outcome };
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    status = e.status;
    body = e.body;
    reason = e.body.reason ?? null;
  }
  if (env.LOG_DELIVERIES !== "0") {
    console.log(
      JSON.stringify({
        event: "delivery",
        source,
        outcome,
        status,
        reason,
        id,
        duration_ms: Date.now() - started,
      }),
    );
  }
  return json(status, body);
}

// ---- queue consumers ----

async function deliver(env: Env, ev: Envelope): Promise<boolean> {
  const body = JSON.stringify(ev);
  const ts = Math.floor(Date.now() / 1000).toString();
  const secret = env.ORIGIN_SECRET.startsWith("whsec_")
    ? env.ORIGIN_SECRET.slice(6)
    : env.ORIGIN_SECRET;
  const key = await hmacKey(unbase64(secret));
  const sig = base64(await crypto.subtle.sign("HMAC", key, enc.encode(`${ev.id}.${ts}.${body}`)));
  try {
    const resp = await fetch(env.ORIGIN_URL, {
      method: "POST",
      headers: {
        "content-type": "application/cloudevents+json; charset=utf-8",
        "webhook-id": ev.id,
        "webhook-timestamp": ts,
        "webhook-signature": `v1,${sig}`,
      },
      body,
    });
    await resp.arrayBuffer();
    return resp.ok;
  } catch {
    return false;
  }
}

async function handleQueue(batch: MessageBatch, env: Env): Promise<void> {
  const dlq = env.DEAD_LETTER_QUEUE ?? "edgehook-dlq";
  if (batch.queue === dlq) {
    for (const msg of batch.messages) {
      const ev = msg.body as Envelope;
      await env.SEEN.put(`dead:${ev.source.replace("/in/", "")}:${ev.id}`, JSON.stringify(ev), {
        expirationTtl: Number(env.DEDUP_TTL_S ?? "604800"),
      });
      msg.ack();
    }
    return;
  }
  const base = Number(env.RETRY_BASE_DELAY_S ?? "10");
  await Promise.all(
    batch.messages.map(async (msg) => {
      if (await deliver(env, msg.body as Envelope)) msg.ack();
      else msg.retry({ delaySeconds: Math.min(base * 2 ** (msg.attempts - 1), 43200) });
    }),
  );
}

export default {
  fetch: handleFetch,
  queue: handleQueue,
};
