-- The same request every time: GET endpoints, and POSTs whose body is the same for every
-- request (client_credentials, introspection of one token). Headers come from wrk's -H.
--   wrk ... -s fixed.lua URL -- method=POST body=FILE expect=200

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

setup = bench.setup
response = bench.response
done = bench.done

function init(args)
   local options = bench.arguments(args)
   expected_status = tonumber(options.expect or "200")
   wrk.method = options.method or "GET"
   if options.body then wrk.body = bench.read_file(options.body) end
end
