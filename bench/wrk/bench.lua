-- One wrk script for every bench scenario.
-- Arguments after `--`: method=POST body=<file> headers=<file, one "Name: value" a line>
-- paths=<file, one path a line, each sent once, in order> rate=<requests/s, all connections>
-- It prints one line "BENCH_JSON {...}" with the counts and latency percentiles.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local now_ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local function read_lines(name)
  local lines = {}
  for line in io.lines(name) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return lines
end

local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

local paths = nil
local next_path = 1
-- wrk calls request() once before the run to check for pipelining; that call
-- must not use up a link. Paths mode therefore needs -t1.
local verified = false
local interval_ms = nil
local next_slot = nil
statuses = {}
exhausted = 0

function init(args)
  local options = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^(%w+)=(.*)$")
    if key then options[key] = value end
  end
  wrk.method = options.method or "GET"
  if options.body then
    local file = io.open(options.body, "rb")
    wrk.body = file:read("*a")
    file:close()
  end
  if options.headers then
    for _, line in ipairs(read_lines(options.headers)) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      wrk.headers[name] = value
    end
  end
  if options.paths then
    paths = read_lines(options.paths)
  end
  if options.rate then
    -- Each of the N threads paces its own share of the total rate.
    interval_ms = 1000 * tonumber(options.threads or 1) / tonumber(options.rate)
  end
end

function request()
  if paths == nil then
    return wrk.format()
  end
  if not verified then
    verified = true
    return wrk.format(nil, paths[1])
  end
  local path = paths[next_path]
  if path == nil then
    -- Out of pre-minted links: reuse the last (answered 410, counted as an error).
    exhausted = exhausted + 1
    path = paths[#paths]
  else
    next_path = next_path + 1
  end
  return wrk.format(nil, path)
end

function delay()
  if interval_ms == nil then return 0 end
  local now = now_ms()
  if next_slot == nil or next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  return wait
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  local reused = 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      counts[code] = (counts[code] or 0) + count
    end
    reused = reused + thread:get("exhausted")
  end
  local parts = {}
  for code, count in pairs(counts) do
    parts[#parts + 1] = string.format('"%s": %d', code, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "reused_paths": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.timeout,
    reused, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, table.concat(parts, ", ")))
end
