-- Each thread sends its share of the pre-signed deliveries in the file, each once; it starts
-- over (and says so in `wrapped`) only if it runs out. A file line is "id TAB signature TAB body"
-- (bench.load.write_deliveries); the arguments after `--` are: file, thread count, Host header.
-- done() prints one line "WRKJSON {...}" that bench.load.run_wrk reads.
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

reqs = {}
idx = 0
ok202 = 0
with_jobs = 0
other = 0
wrapped = 0

function init(args)
  local path, nthreads, host = args[1], tonumber(args[2]), args[3]
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local d, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/hooks/github", {
        ["Host"] = host, ["X-GitHub-Event"] = "push", ["X-GitHub-Delivery"] = d,
        ["X-Hub-Signature-256"] = "sha256=" .. sig, ["Content-Type"] = "application/json"}, body)
    end
    i = i + 1
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = 1
  end
  return reqs[idx]
end

function response(status, headers, body)
  if status == 202 then
    ok202 = ok202 + 1
    if string.find(body, '"jobs"', 1, true) then with_jobs = with_jobs + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok, jobs, bad, wr = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok202")
    jobs = jobs + t:get("with_jobs")
    bad = bad + t:get("other")
    wr = wr + t:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "ok202": %d, "with_jobs": %d, ' ..
    '"other_status": %d, "wrapped_threads": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration, ok, jobs, bad, wr, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
