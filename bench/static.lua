-- wrk script: one fixed request, repeated; counts answers by status.
--   STATIC_METHOD=POST STATIC_PATH=/in/browser-use STATIC_BODY=file STATIC_HEADERS=file \
--   BENCH_OUT=result.json wrk ... -s bench/static.lua URL
-- STATIC_HEADERS is a file of "Name: value" lines.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local headers = {}
  local hf = os.getenv("STATIC_HEADERS")
  if hf and hf ~= "" then
    for line in io.lines(hf) do
      local name, value = line:match("^([^:]+): (.*)$")
      if name then headers[name] = value end
    end
  end
  local body = nil
  local bf = os.getenv("STATIC_BODY")
  if bf and bf ~= "" then
    local f = assert(io.open(bf, "rb"))
    body = f:read("*a")
    f:close()
  end
  req = wrk.format(os.getenv("STATIC_METHOD") or "GET", os.getenv("STATIC_PATH") or "/", headers, body)
  got = {}
end

function request()
  return req
end

function response(status, headers, body)
  got[status] = (got[status] or 0) + 1
end

function done(summary, latency, requests)
  local G = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("got")) do G[k] = (G[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(G) do parts[#parts + 1] = string.format('"%s":%d', tostring(k), v) end
  local dur_s = summary.duration / 1e6
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"latency_us":{"p50":%d,"p99":%d},' ..
    '"socket_errors":%d,"status_got":{%s}}',
    summary.requests, dur_s, summary.requests / dur_s, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, table.concat(parts, ","))
  local path = os.getenv("BENCH_OUT")
  local f = assert(io.open(path, "w"))
  f:write(out, "\n")
  f:close()
end
