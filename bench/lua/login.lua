-- The hosted login form: each thread posts with its own CSRF cookie and token, fetched from the
-- login page beforehand. The token is a keyed hash of the cookie (a double-submit token), so the
-- server accepts one pair for any number of posts, as a browser's form would be.
-- Each line of FILE is `cookie<TAB>form body`.
--   wrk ... -s login.lua URL -- forms=FILE threads=N expect=303

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

setup = bench.setup
response = bench.response
done = bench.done

function init(args)
   local options = bench.arguments(args)
   expected_status = tonumber(options.expect or "303")
   local line = bench.slice(options.forms, thread_index, tonumber(options.threads))[1]
   local cookie, body = line:match("^([^\t]+)\t(.*)$")
   wrk.method = "POST"
   wrk.headers["Cookie"] = "sk_csrf=" .. cookie
   wrk.body = body
end
