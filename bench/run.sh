#!/usr/bin/env bash
# OpenIEC's benchmark (bench/README.md). One command: builds the release binaries
# (iec-am, iecservice, iecutil, iec-bench), installs what it needs (Debian: wrk,
# nginx-light, glewlwyd without prompts; PyPI: bench/requirements.txt into .venv),
# then bench/bench.py starts every server on loopback, measures, stops them and
# writes bench/results/<time>/{results.json,results.md,chart.png}.
#
#   bench/run.sh                       # or: make bench
#   bench/run.sh --quick               # or: make bench-quick (short runs, smaller store)
#   bench/run.sh --only gateway        # one part: http, gateway or store (repeatable)
#   BIN=.build/release bench/run.sh    # skip the build, use binaries you already have
#
# Environment: SWIFT_FLAGS (e.g. "--scratch-path /tmp/b", as the Makefile's SCRATCH=...
# sets it), BIN, DURATION, THREADS, CONNECTIONS, SERVER_THREADS, NODES, STORE_SIZES,
# ASSERTIONS, SCOPE. Other arguments go to bench/bench.py (--help lists them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
read -r -a FLAGS <<<"${SWIFT_FLAGS:-}"

if [ -z "${BIN:-}" ]; then
    echo "== building iec-am, iecservice, iecutil and iec-bench (release) =="
    for product in iec-am iecservice iecutil iec-bench; do
        nice swift build "${FLAGS[@]}" -c release --product "$product"
    done
    BIN="$(swift build "${FLAGS[@]}" -c release --show-bin-path)"
fi
for binary in iec-am iecservice iecutil iec-bench; do
    [ -x "$BIN/$binary" ] || { echo "bench: no $binary in $BIN" >&2; exit 1; }
done

# Debian packages: wrk (load), nginx-light (the HTTP ceiling), glewlwyd (the peer).
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v glewlwyd >/dev/null 2>&1 || missing+=(glewlwyd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing ${missing[*]} (Debian packages) =="
        # glewlwyd asks about its database set-up: no configuration (the bench makes its own).
        printf '%s\n' "glewlwyd glewlwyd/config_type select No configuration" \
            "glewlwyd glewlwyd/dbconfig-install boolean false" | debconf-set-selections
        install() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >/dev/null; }
        install || { apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && install; }
    else
        echo "bench: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import requests, cryptography, jwt, zmq, pytest' 2>/dev/null; then
    scripts/bootstrap.sh
fi
if ! .venv/bin/python -c 'import matplotlib' 2>/dev/null; then
    echo "== installing bench/requirements.txt into .venv =="
    .venv/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements.txt
fi

exec .venv/bin/python bench/bench.py --bin "$BIN" "$@"
