-- wrk script for the soak: each thread goes round a prepared list of raw HTTP requests
-- (a Lua file returning a table of strings, written by tests/soak/soak.py) and stops itself
-- after its share of responses, saying so on stderr ("soak-thread-done"): wrk's main thread
-- sleeps for the whole -d duration regardless, so the driver interrupts it (SIGINT) once
-- every thread is done.
--   wrk -t2 -c16 -d<cap>s -s rotate.lua <url> -- <requests.lua> <responses per thread>
local reqs, limit, i, seen = nil, 0, 1, 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  reqs = dofile(args[1])
  limit = tonumber(args[2])
  i = ((offset or 0) % #reqs) + 1
end

function request()
  local r = reqs[i]
  i = (i % #reqs) + 1
  return r
end

function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    io.stderr:write("soak-thread-done\n")
    io.stderr:flush()
    wrk.thread:stop()
  end
end
