-- Shared by the bench scripts: done() prints one machine-readable line,
--   BENCH_JSON {...}
-- with wrk's own counts and latency percentiles (microseconds), which
-- bench/bench.py reads. A script may define bench_extra() returning more
-- JSON members (a string starting with a comma).

function done(summary, latency, requests)
   local e = summary.errors
   local extra = ""
   if bench_extra then extra = bench_extra() end
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, ' ..
      '"p50": %d, "p90": %d, "p99": %d, "p99_9": %d}%s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      extra))
end
