-- send.lua - wrk script: valid Twilio create-message requests with keep-alive, each with its
-- own I-Twilio-Idempotency-Token and To number, against the imitation Twilio.
-- Environment: FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN (both required).
local sid = os.getenv("FAKE_ACCOUNT_SID")
local token = os.getenv("FAKE_AUTH_TOKEN")
local counter = 0
local thread_id = 0
local threads = {}
local statuses = {}

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

local path = "/2010-04-01/Accounts/" .. sid .. "/Messages.json"
local auth = "Basic " .. base64(sid .. ":" .. token)

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
end

function request()
  counter = counter + 1
  local body = "To=%2B1500" .. string.format("%07d", counter % 10000000) ..
    "&From=%2B15005550001&Body=Reminder%3A+field+trip+tomorrow+at+8am.+Reply+STOP+to+opt+out." ..
    "&StatusCallback=http%3A%2F%2F127.0.0.1%3A9%2Fstatus"
  -- wrk.format replaces wrk.headers by the table it is given, so pass every header.
  return wrk.format("POST", path, {
    ["Host"] = wrk.host .. ":" .. wrk.port,
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["I-Twilio-Idempotency-Token"] = "bench-" .. thread_id .. "-" .. counter,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("p50=%.2fms p99=%.2fms non2xx+errors=%d\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
