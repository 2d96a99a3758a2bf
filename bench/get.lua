-- wrk script: a plain GET (JWKS documents, nginx's static answer).
--   BENCH_DIR          this folder (for report.lua)

wrk.method = "GET"
wrk.headers["Accept"] = "application/json"

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
