-- wrk script: POST grant_type=client_credentials to the token endpoint with
-- HTTP Basic client authentication (client_secret_basic). The same request
-- every time: client_credentials has no single-use values.
--
-- Environment (set by bench/bench.py):
--   BENCH_BASIC_AUTH   the Authorization header value, "Basic base64(id:secret)"
--   BENCH_SCOPE        optional scope parameter
--   BENCH_DIR          this folder (for report.lua)

local scope = os.getenv("BENCH_SCOPE")
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
if scope and scope ~= "" then
   wrk.body = wrk.body .. "&scope=" .. scope:gsub(" ", "+")
end
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_BASIC_AUTH")

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
