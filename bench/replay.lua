-- wrk script: replays the requests bench/gen_requests.py wrote, one file per wrk thread
-- ({BENCH_REQS}.t{N}.req), in order, cycling when a thread runs out (later passes are
-- duplicates: edgehook should answer them 200, not 202).
--
--   BENCH_REQS=bench/out/tmp/run1 BENCH_MODE=full|verify BENCH_OUT=result.json \
--     wrk -t2 -c16 -d20s -s bench/replay.lua http://127.0.0.1:PORT
--
-- Counts the answers by status next to the answers edgehook should give (from each
-- request's kind and pass), and writes one JSON object to BENCH_OUT (or stdout) in done().
-- wrk cannot pair an answer with its request when several connections share a thread, so
-- "wrong" answers are counted per status: sum over statuses of max(0, got - expected), exact
-- up to the requests still in flight when wrk stops (at most one per connection).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local prefix = assert(os.getenv("BENCH_REQS"), "set BENCH_REQS")
  mode = os.getenv("BENCH_MODE") or "full"
  local f = assert(io.open(prefix .. ".t" .. tid .. ".req", "rb"))
  local data = f:read("*a")
  f:close()
  reqs, kinds = {}, {}
  local pos = data:find("\n", 1, true) + 1 -- skip the magic line
  local len = #data
  while pos <= len do
    local nl = data:find("\n", pos, true)
    local kind, path, nh, blen = data:sub(pos, nl - 1):match("^(%a) (%S+) (%d+) (%d+)$")
    assert(kind, "bad record at byte " .. pos)
    pos = nl + 1
    local headers = {}
    for _ = 1, tonumber(nh) do
      nl = data:find("\n", pos, true)
      local name, value = data:sub(pos, nl - 1):match("^([^:]+): (.*)$")
      headers[name] = value
      pos = nl + 1
    end
    blen = tonumber(blen)
    local body = data:sub(pos, pos + blen - 1)
    pos = pos + blen + 1
    reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
    kinds[#kinds + 1] = kind
  end
  data = nil
  n = #reqs
  i = 0
  pass = 1
  sent = 0
  sent_new = 0 -- first-pass valid deliveries sent (each should reach the origin once)
  got, exp = {}, {}
end

function request()
  i = i + 1
  if i > n then
    i = 1
    pass = pass + 1
  end
  local k = kinds[i]
  local e
  if mode == "empty" then
    e = 202
  elseif k == "b" then
    e = 401
  elseif mode == "verify" then
    e = 202
  elseif k == "v" and pass == 1 then
    e = 202
  else
    e = 200
  end
  if k == "v" and pass == 1 then
    sent_new = sent_new + 1
  end
  exp[e] = (exp[e] or 0) + 1
  sent = sent + 1
  return reqs[i]
end

function response(status, headers, body)
  got[status] = (got[status] or 0) + 1
end

local function counts_json(t)
  local parts = {}
  for k, v in pairs(t) do
    parts[#parts + 1] = string.format('"%s":%d', tostring(k), v)
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local G, E = {}, {}
  local per_thread = {}
  local total_sent, total_new, max_pass = 0, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("got")) do G[k] = (G[k] or 0) + v end
    for k, v in pairs(t:get("exp")) do E[k] = (E[k] or 0) + v end
    local s, sn, p, ii, nn = t:get("sent"), t:get("sent_new"), t:get("pass"), t:get("i"), t:get("n")
    total_sent = total_sent + s
    total_new = total_new + sn
    if p > max_pass then max_pass = p end
    per_thread[#per_thread + 1] = string.format(
      '{"tid":%d,"sent":%d,"sent_new":%d,"pass":%d,"pos":%d,"n":%d}', t:get("tid"), s, sn, p, ii, nn)
  end
  local wrong, answered = 0, 0
  local keys = {}
  for k in pairs(G) do keys[k] = true end
  for k in pairs(E) do keys[k] = true end
  for k in pairs(keys) do
    local d = (G[k] or 0) - (E[k] or 0)
    if d > 0 then wrong = wrong + d end
  end
  for _, v in pairs(G) do answered = answered + v end
  local dur_s = summary.duration / 1e6
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"mean":%.1f,"max":%d},' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"status_got":%s,"status_expected":%s,"wrong":%d,"in_flight":%d,' ..
    '"sent":%d,"sent_new":%d,"max_pass":%d,"threads":[%s]}',
    summary.requests, dur_s, summary.requests / dur_s, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max,
    e.connect, e.read, e.write, e.timeout,
    counts_json(G), counts_json(E), wrong, total_sent - answered,
    total_sent, total_new, max_pass, table.concat(per_thread, ","))
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
