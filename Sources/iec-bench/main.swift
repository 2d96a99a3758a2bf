import Glibc

// iec-bench: the load driver of bench/ (bench/README.md). `gateway` runs N
// concurrent SDK clients (IECClient) against iecservice; `store` times identity
// lookups and registrations in SQLite at two store sizes. Each prints one JSON
// line that bench/bench.py reads.
exit(BenchCommand.run(Array(CommandLine.arguments.dropFirst())))
