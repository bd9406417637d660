-- A fresh single-use credential in every request (authorization codes, refresh tokens): each
-- line of FILE is one complete form body, and each thread sends only its own lines, once.
-- When a thread has used up its lines it keeps sending a body that cannot succeed and counts it
-- as `exhausted`, so the run is reported as short of credentials instead of timing errors.
--   wrk ... -s single_use.lua URL -- bodies=FILE threads=N expect=200

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

setup = bench.setup
response = bench.response
done = bench.done

local requests = {}
local next_request = 1
local spent

function init(args)
   local options = bench.arguments(args)
   expected_status = tonumber(options.expect or "200")
   local bodies = bench.slice(options.bodies, thread_index, tonumber(options.threads))
   -- Built here, not per request: wrk.format in request() would cost wrk's own CPU.
   for i, body in ipairs(bodies) do
      requests[i] = wrk.format("POST", nil, nil, body)
   end
   spent = wrk.format("POST", nil, nil, options.spent or "")
end

function request()
   local next = requests[next_request]
   if next == nil then
      exhausted = exhausted + 1
      return spent
   end
   next_request = next_request + 1
   return next
end
