#!/usr/bin/env bash
# Every test of OpenIEC (called by `make test` after the bootstrap):
#   1. swift build --build-tests
#   2. swift test                                   (XCTest, Tests/)
#   3. .venv/bin/python -m pytest tests/interop -q  (Python interop, tests/interop)
# Both suites always run; the script fails if either fails, and ends with one
# plain line: "total: N passed, N failed, N skipped".
# Logs: tests/artifacts/swift-test.log, tests/artifacts/interop.xml (JUnit).
# SWIFT_FLAGS (set by the Makefile from SCRATCH=...) is passed to every swift command.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi

read -r -a FLAGS <<<"${SWIFT_FLAGS:-}"
ART="$ROOT/tests/artifacts"
mkdir -p "$ART"
rm -f "$ART/swift-test.log" "$ART/interop.xml"

echo "== building (swift build --build-tests) =="
if ! swift build "${FLAGS[@]}" --build-tests; then
    echo
    echo "== summary =="
    echo "build failed: no test ran"
    echo "total: 0 passed, 1 failed"
    exit 1
fi

echo
echo "== Swift unit tests (swift test) =="
swift test "${FLAGS[@]}" 2>&1 | tee "$ART/swift-test.log"
swift_rc=${PIPESTATUS[0]}

echo
echo "== interop tests (pytest tests/interop) =="
IECUTIL="${IECUTIL:-$(swift build "${FLAGS[@]}" --show-bin-path)/iecutil}"
export IECUTIL
export IEC_AM="${IEC_AM:-$(swift build "${FLAGS[@]}" --show-bin-path)/iec-am}"
export IECSERVICE="${IECSERVICE:-$(swift build "${FLAGS[@]}" --show-bin-path)/iecservice}"
.venv/bin/python -m pytest tests/interop -q -p no:cacheprovider --junitxml="$ART/interop.xml"
py_rc=$?

echo
echo "== summary =="
python3 - "$ART/swift-test.log" "$ART/interop.xml" "$swift_rc" "$py_rc" <<'EOF'
import re, sys
import xml.etree.ElementTree as ET

log, junit, swift_rc, py_rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def swift_counts(path):
    p = f = s = 0
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return 0, 0, 0
    # XCTest: "Test Case 'Suite.test' passed (0.001 seconds)"
    p += len(re.findall(r"^Test Case '[^']+' passed \(", text, re.M))
    f += len(re.findall(r"^Test Case '[^']+' failed \(", text, re.M))
    s += len(re.findall(r"^Test Case '[^']+' skipped \(", text, re.M))
    # Swift Testing: "✔ Test name() passed after ...", "✘ Test name() failed after ...", "➜ Test name() skipped"
    for line in text.splitlines():
        m = re.match(r"^\S+ +Test (?!run with |Case ')(.+?) (passed after|failed after|skipped)", line)
        if m:
            kind = m.group(2)
            if kind.startswith("passed"): p += 1
            elif kind.startswith("failed"): f += 1
            else: s += 1
    return p, f, s

def junit_counts(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return 0, 0, 0
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    t = f = s = 0
    for su in suites:
        t += int(su.get("tests", 0))
        f += int(su.get("failures", 0)) + int(su.get("errors", 0))
        s += int(su.get("skipped", 0))
    return t - f - s, f, s

total = [0, 0, 0]
for name, (p, f, s), rc in (("swift test", swift_counts(log), swift_rc),
                            ("interop (pytest)", junit_counts(junit), py_rc)):
    note = "ok"
    if rc != 0:
        note = f"FAILED (exit code {rc})"
        if f == 0:
            f = 1  # a crash or an error outside any test still counts as a failure
    print(f"{name:22} {p} passed, {f} failed, {s} skipped   {note}")
    total = [total[0] + p, total[1] + f, total[2] + s]
print(f"total: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
EOF

[ "$swift_rc" -eq 0 ] && [ "$py_rc" -eq 0 ]
