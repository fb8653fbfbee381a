-- wrk script: a page of 100 contacts with two fields, ordered by a field
-- (the list a client's table view asks for).
local headers = {}

function init(args)
  local token = os.getenv("BENCH_TOKEN") or ""
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end

function request()
  local offset = math.random(0, 1000)
  return wrk.format("GET", "/store/contacts?limit=100&offset=" .. offset
    .. "&pluck=first_name,last_name&order=-first_name", headers)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
