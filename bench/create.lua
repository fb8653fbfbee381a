-- wrk script: POST a new contact per request.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid or 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"data":{"first_name":"bench-%d-%d","middle_name":"m","last_name":"load","date_of_birth":"01/02/03"}}',
    thread_id, counter)
  local headers = {["Content-Type"] = "application/json"}
  local token = os.getenv("BENCH_TOKEN") or ""
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("POST", "/store/contacts", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
