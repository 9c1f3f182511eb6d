-- wrk script for the bench's HTTP scenarios (bench/load/external.ts; wrk is not a dependency:
-- Debian's wrk package has it). POST bodies of SIZE bytes, PIPELINE requests per round trip,
-- every answer checked against its body; prints the line the bench reads.
--   wrk -t1 -c50 -d3s --latency -s bench/load/wrk-echo.lua http://127.0.0.1:PORT/ -- SIZE PIPELINE
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local size = tonumber(args[1]) or 64
  local depth = tonumber(args[2]) or 1
  local chars = {}
  for i = 0, size - 1 do
    chars[#chars + 1] = string.char(97 + (i * 7) % 26)
  end
  expected = table.concat(chars)
  local one = wrk.format("POST", "/", { ["Content-Type"] = "text/plain" }, expected)
  batch = string.rep(one, depth)
  mismatches = 0
end

function request()
  return batch
end

function response(status, headers, body)
  if status ~= 200 or body ~= expected then
    mismatches = mismatches + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("mismatches")
  end
  local e = summary.errors
  io.write(string.format(
    "msgs/s=%.0f MB/s=%.2f p50_us=%.0f p99_us=%.0f p999_us=%.0f errors=%d mismatches=%d\n",
    summary.requests / (summary.duration / 1e6),
    summary.bytes / summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect + e.read + e.write + e.timeout, wrong))
end
