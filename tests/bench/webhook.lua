-- SPDX-License-Identifier: AGPL-3.0-or-later
-- wrk script: replays pre-signed webhook requests (see webhook_requests.py),
-- each thread taking every Nth line so no MessageSid is sent twice, and
-- counts the answers by status for the "every accepted row is stored" check.
local threads = {}
local nthreads = tonumber(os.getenv("WRK_THREADS") or "2")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  ok, other = 0, 0
  local i = 0
  for line in io.lines(os.getenv("WEBHOOK_REQUESTS")) do
    if i % nthreads == id then
      local sig, body = line:match("^([^\t]+)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig,
      }, body)
    end
    i = i + 1
  end
  n = 0
end

function request()
  n = n + 1
  if n > #reqs then n = 1 end    -- wrapping replays: duplicates, still 200
  return reqs[n]
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_other, max_sent = 0, 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_other = total_other + t:get("other")
  end
  io.write(string.format("answers: 200=%d other=%d\n", total_ok, total_other))
  io.write(string.format("latency: p50=%.2fms p99=%.2fms max=%.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("throughput: %.0f req/s\n",
    summary.requests / (summary.duration / 1e6)))
end
