-- wrk script: POST the JWT-bearer grant (RFC 7523) to the token endpoint.
-- Every assertion has a fresh jti and iec-am accepts each jti once, so the
-- request bodies are pre-generated (bench/bench.py) into a file, one form
-- body per line; each wrk thread takes every BENCH_THREADS-th line and sends
-- each body once. A thread that runs out stops early (wrk.thread:stop()) and
-- the run is reported as "exhausted": its duration is then shorter than asked,
-- and requests/s is still computed over the time actually run.
--
-- Environment (set by bench/bench.py):
--   BENCH_ASSERTIONS   the file of form bodies
--   BENCH_THREADS      wrk's -t value
--   BENCH_DIR          this folder (for report.lua)

local file = os.getenv("BENCH_ASSERTIONS")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local threads = {}
local counter = 0

-- setup() runs in the main Lua state, once per thread, before that thread's init().
function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   bodies = {}
   local n = 0
   for line in io.lines(file) do
      if n % nthreads == id then
         bodies[#bodies + 1] = line
      end
      n = n + 1
   end
   nbodies = #bodies
   next_body = 0
   sent = 0
   exhausted = false
   headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json" }
end

function request()
   next_body = next_body + 1
   if next_body > nbodies then
      if not exhausted then
         exhausted = true
         wrk.thread:stop()
      end
      next_body = 1  -- a replay; sent only if the loop has not stopped yet
   else
      sent = sent + 1
   end
   return wrk.format("POST", nil, headers, bodies[next_body])
end

function bench_extra()
   local used, available, stopped = 0, 0, 0
   for _, t in ipairs(threads) do
      local a = t:get("nbodies") or 0
      used = used + math.min(t:get("sent") or 0, a)  -- wrk calls request() once more to check the script
      available = available + a
      if t:get("exhausted") then stopped = stopped + 1 end
   end
   return string.format(', "assertions_used": %d, "assertions_available": %d, "threads_exhausted": %d',
                        used, available, stopped)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
