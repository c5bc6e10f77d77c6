-- SPDX-License-Identifier: AGPL-3.0-or-later
-- wrk script: replays pre-signed webhook requests.  Thread K reads
-- $WEBHOOK_REQUESTS.K (webhook_wrk_files.py: every Nth request of
-- webhook_requests.py, so no MessageSid is sent twice), one request at a time,
-- so that init() costs nothing: wrk starts each thread as soon as its own
-- init() returns but its clock only after the last one, and an init() that
-- read every request first (~3.5 s for 600,000) let thread 0 send for
-- seconds off the clock, which inflated the printed rate.
-- No response() function either: with one wrk builds a Lua table of the
-- headers and a string of the body for every answer; wrk counts answers with
-- a status above 399 itself (summary.errors.status).
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  f = assert(io.open(os.getenv("WEBHOOK_REQUESTS") .. "." .. id, "rb"))
end

function request()
  local len = f:read(8)
  if len == nil then            -- wrapping replays: duplicates, still 200
    f:seek("set")
    len = f:read(8)
  end
  return f:read(tonumber(len))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("answers: ok=%d (status < 400) other=%d\n",
    summary.requests - e.status, e.status + e.connect + e.read + e.write + e.timeout))
  io.write(string.format("latency: p50=%.2fms p99=%.2fms max=%.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("throughput: %.0f req/s\n",
    summary.requests / (summary.duration / 1e6)))
end
