-- wrk script for the mixed load: page reads and comment posts from logged-in sessions.
--
--   wrk -t256 -c256 -d40s -s mixed_load.lua http://127.0.0.1:PORT -- /path/to/data.lua
--
-- data.lua (written by mixed.py) returns:
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
--
-- Latency per kind of request (reads, writes): response() is not told which request it
-- answers, so mixed.py runs ONE CONNECTION PER THREAD (-t as many as -c). On a thread,
-- request() and response() then alternate strictly: the time from request() (wrk takes
-- its own start time right after it) to response() is that request's latency, and the
-- kind noted in request() is the kind answered. Each thread keeps every latency of each
-- kind (microseconds) but its first request's (see start_time()); done() merges them
-- and prints their percentiles (nearest rank).
-- A request that never gets its answer (a socket error) has no latency: the next
-- request() on the reconnected socket starts afresh, and wrk counts the error.

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

local data, load_until, serial, verifying, started, kind, timed
counts = {} -- global: done() reads it from each thread with thread:get("counts")
-- Globals too: this thread's latencies in µs, by kind. Flat lists: wrk's thread:get()
-- crashes (segfault) on copying a table of tables.
read_us, write_us = {}, {}

function init(args)
  data = dofile(args[1])
  counts = {}
  read_us, write_us = {}, {}
  serial = 0
  load_until = now() + data.load_seconds
  -- wrk calls the first thread's request() once right after init(), to check the request
  -- it makes, and never sends that one: it must not be counted.
  verifying = id == 1
  timed = false -- this thread's first request is not timed (see request())
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

-- When the request being made starts: now, or nil (not timed) for the thread's first.
-- wrk starts its threads one after another on the load core (10 to 20 ms each with this
-- script, so about 4 s for 256), and the answers to the first requests wait for wrk meanwhile, not
-- for the server: measured at the server, every first request was answered within
-- 0.35 s of its connection, while wrk timed them at up to 3.9 s. Counted all the same.
local function start_time()
  if timed then
    return now()
  end
  timed = true
  return nil
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
    kind, started = "write", start_time()
    form_headers["Cookie"] = s.cookie
    form_headers["Content-Type"] = "application/x-www-form-urlencoded"
    local body = "content=Mixed+load+comment+" .. (id or 0) .. "-" .. serial ..
                 "+from+wrk.&csrf_token=" .. s.token
    return wrk.format("POST", "/posts/" .. post_id .. "/comments", form_headers, body)
  end
  bump("GET sent")
  kind, started = "read", start_time()
  read_headers["Cookie"] = s.cookie
  if math.random() < 0.5 then
    return wrk.format("GET", "/", read_headers)
  end
  return wrk.format("GET", "/posts/" .. post_id, read_headers)
end

-- response() is not told which request it answers, so statuses are counted by code alone:
-- reads answer 200 and comment posts 303; anything else shows up under its own code.
function response(status, headers, body)
  if started then
    local record = kind == "write" and write_us or read_us
    record[#record + 1] = math.floor((now() - started) * 1e6 + 0.5)
    started = nil
  end
  bump(tostring(status))
  if now() < load_until then
    bump("answered in load")
  end
end

-- The p-th percentile of the sorted list `xs` (nearest rank), 0 for an empty list.
local function percentile(xs, p)
  if #xs == 0 then
    return 0
  end
  return xs[math.max(1, math.ceil(p / 100 * #xs))]
end

local function summary_of(xs)
  table.sort(xs)
  local sum = 0
  for _, x in ipairs(xs) do
    sum = sum + x
  end
  return string.format(
    '{"count": %d, "p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}',
    #xs, percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), xs[#xs] or 0,
    #xs > 0 and sum / #xs or 0)
end

function done(summary, latency, requests)
  local total = {}
  local merged = {read = {}, write = {}}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("counts")) do
      total[k] = (total[k] or 0) + v
    end
    for name, into in pairs(merged) do
      for _, x in ipairs(thread:get(name .. "_us")) do
        into[#into + 1] = x
      end
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
    '"counts": {%s}, "by_kind_us": {"read": %s, "write": %s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, table.concat(parts, ", "),
    summary_of(merged.read), summary_of(merged.write)))
end
