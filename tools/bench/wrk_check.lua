-- wrk's part of the HTTP bench (kwecli.netbench): every answer checked --
-- status 200, Content-Length, ETag, no "Connection: close", the body's bytes
-- -- and one WRK line at the end with the counts netbench reads.
--   wrk ... -s wrk_check.lua URL -- BODY_FILE ETAG
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  expected = f:read("*a")
  f:close()
  etag, length = args[2], tostring(#expected)
  good, bad, first = 0, 0, ""
end

function response(status, headers, body)
  local h = {}
  for name, value in pairs(headers) do
    h[string.lower(name)] = value
  end
  if status == 200 and h["etag"] == etag and h["content-length"] == length and body == expected
      and string.lower(h["connection"] or "") ~= "close" then
    good = good + 1
    return
  end
  if bad == 0 then
    first = string.format("status %d, Content-Length %s (expected %s), ETag %s (expected %s), Connection %s, "
                          .. "%d body bytes%s", status, tostring(h["content-length"]), length, tostring(h["etag"]),
                          etag, tostring(h["connection"]), #body, body == expected and "" or ", not the expected ones")
  end
  bad = bad + 1
end

function done(summary, latency, requests)
  local g, b, f = 0, 0, ""
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    if f == "" then f = t:get("first") end
  end
  local e = summary.errors
  io.write(string.format("WRK requests %d good %d bad %d duration_us %d connect %d read %d write %d timeout %d "
                         .. "status %d p50_us %d p99_us %d max_us %d\n", summary.requests, g, b, summary.duration,
                         e.connect, e.read, e.write, e.timeout, e.status, latency:percentile(50),
                         latency:percentile(99), latency.max))
  if b > 0 then
    io.write("WRK first-bad " .. f .. "\n")
  end
end
