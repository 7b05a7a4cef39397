-- wrk script for the mixed load: page reads and comment posts from logged-in sessions.
--
--   wrk -t1 -c256 -d40s -s mixed_load.lua http://127.0.0.1:PORT -- /path/to/data.lua
--
-- data.lua (written by run.py) returns:
--   { sessions = { {cookie = "www_session=...", token = "..."}, ... },
--     post_ids = {1, 2, ...}, write_share = 0.1, load_seconds = 30, seed = 6 }
--
-- For `load_seconds`, each request picks a session at random, then: with probability
-- write_share, POST a comment (form body with that session's CSRF token) to a random post;
-- otherwise GET / or GET /posts/<random id> (half each), with the session's cookie.
-- After that, the drain: delay() holds every connection back, so the requests in flight
-- finish and are counted, and none is left unanswered when wrk stops (-d must be longer
-- than load_seconds by the drain time). Then every comment in the database has had its
-- answer counted here.
--
-- Requests sent are counted per method ("GET sent", "POST sent"), answers per status code
-- ("200", "303"...), and "answered in load" those that came during load_seconds; each
-- thread counts its own and done() sums them, printing one line starting with BENCH_JSON.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local data, load_until, serial, verifying
counts = {} -- global: done() reads it from each thread with thread:get("counts")

function init(args)
  data = dofile(args[1])
  counts = {}
  serial = 0
  load_until = now() + data.load_seconds
  -- wrk calls the first thread's request() once right after init(), to check the request
  -- it makes, and never sends that one: it must not be counted.
  verifying = id == 1
  math.randomseed(data.seed + (id or 0))
end

function delay()
  if now() < load_until then
    return 0
  end
  return 3600 * 1000 -- the drain: no more requests on this connection
end

local form_headers = {}
local read_headers = {}

local function bump(key)
  counts[key] = (counts[key] or 0) + 1
end

function request()
  if verifying then
    verifying = false
    return wrk.format("GET", "/")
  end
  local s = data.sessions[math.random(#data.sessions)]
  local post_id = data.post_ids[math.random(#data.post_ids)]
  if math.random() < data.write_share then
    serial = serial + 1
    bump("POST sent")
    form_headers["Cookie"] = s.cookie
    form_headers["Content-Type"] = "application/x-www-form-urlencoded"
    local body = "content=Mixed+load+comment+" .. (id or 0) .. "-" .. serial ..
                 "+from+wrk.&csrf_token=" .. s.token
    return wrk.format("POST", "/posts/" .. post_id .. "/comments", form_headers, body)
  end
  bump("GET sent")
  read_headers["Cookie"] = s.cookie
  if math.random() < 0.5 then
    return wrk.format("GET", "/", read_headers)
  end
  return wrk.format("GET", "/posts/" .. post_id, read_headers)
end

-- response() is not told which request it answers, so statuses are counted by code alone:
-- reads answer 200 and comment posts 303; anything else shows up under its own code.
function response(status, headers, body)
  bump(tostring(status))
  if now() < load_until then
    bump("answered in load")
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("counts")) do
      total[k] = (total[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(total) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %.0f, "p90": %.0f, "p99": %.0f, "mean": %.1f, "max": %.0f}, ' ..
    '"counts": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, table.concat(parts, ", ")))
end
