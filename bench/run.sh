#!/usr/bin/env bash
# The first iec-am benchmark (bench/README.md): builds iec-am in release mode,
# then bench/bench.py sets it up in a temporary folder on a free port and runs
# wrk against the token endpoint, client_credentials then JWT bearer.
#
#   bench/run.sh                       # or: make bench
#   DURATION=20 CONNECTIONS=64 bench/run.sh
#   IEC_AM=/path/to/iec-am bench/run.sh --only jwt_bearer
#
# Environment: SWIFT_FLAGS (e.g. "--scratch-path /tmp/b", as the Makefile's
# SCRATCH=... sets it), IEC_AM (skip the build, use this binary), DURATION,
# THREADS, CONNECTIONS, SERVER_THREADS, ASSERTIONS, SCOPE. Other arguments go to
# bench/bench.py (--help lists them). Results: bench/results/<time>.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
read -r -a FLAGS <<<"${SWIFT_FLAGS:-}"

if [ -z "${IEC_AM:-}" ]; then
    echo "== building iec-am (release) =="
    swift build "${FLAGS[@]}" -c release --product iec-am
    IEC_AM="$(swift build "${FLAGS[@]}" -c release --show-bin-path)/iec-am"
fi
[ -x "$IEC_AM" ] || { echo "bench: no iec-am binary at $IEC_AM" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing wrk (Debian package) =="
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
    else
        echo "bench: wrk is missing; install it (Debian: apt-get install wrk)" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import requests, cryptography, jwt, joserfc' 2>/dev/null; then
    scripts/bootstrap.sh
fi

exec .venv/bin/python bench/bench.py --iec-am "$IEC_AM" "$@"
