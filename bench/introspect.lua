-- wrk script: POST token=... to an introspection endpoint (RFC 7662) with HTTP
-- Basic client authentication. The same request every time.
--
-- Environment (set by bench/bench.py):
--   BENCH_BASIC_AUTH   the Authorization header value, "Basic base64(id:secret)"
--   BENCH_TOKEN        the access token to introspect
--   BENCH_DIR          this folder (for report.lua)

wrk.method = "POST"
wrk.body = "token=" .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_BASIC_AUTH")

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
