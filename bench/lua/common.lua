-- Shared by the suite's wrk scripts: arguments, per-thread slices of a credential file, a
-- count of responses whose status is not the one expected, and a summary as one JSON line.
--
-- wrk counts only statuses above 399 as errors; a login form shown again with 200 is a failed
-- login too, so every script names the one status a successful request answers with.

local M = {}

local threads = {}

-- `key=value` arguments after wrk's `--` (args[0] is the URL).
function M.arguments(args)
   local parsed = {}
   for _, arg in ipairs(args) do
      local key, value = arg:match("^([%w_]+)=(.*)$")
      if key then parsed[key] = value end
   end
   return parsed
end

function M.read_file(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

-- The lines of a file that belong to this thread: every n-th from its index, so that no two
-- threads ever send the same single-use credential.
function M.slice(path, index, count)
   local mine = {}
   local number = 0
   for line in io.lines(path) do
      if line ~= "" then
         if number % count == index then mine[#mine + 1] = line end
         number = number + 1
      end
   end
   return mine
end

-- Run in the setup environment, once per thread before it starts.
function M.setup(thread)
   thread:set("thread_index", #threads)
   threads[#threads + 1] = thread
end

-- Globals of each thread's environment, read back by done().
unexpected = 0
exhausted = 0
expected_status = 200

function M.response(status, headers, body)
   if status ~= expected_status then unexpected = unexpected + 1 end
end

local function thread_sum(name)
   local total = 0
   for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
   return total
end

function M.done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"unexpected":%d,"exhausted":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      thread_sum("unexpected"), thread_sum("exhausted")))
end

return M
