"""valgrind memcheck on a whole simpleclient run against a real gateway: no definite (or
indirect) leak and no memory error. Suppressed, as not leaks: the Swift runtime's metadata
caches (the "possibly lost" blocks of ConcurrentReadableHashMap) and the thread stacks of
libzmq's I/O threads, still running at exit (tests/interop/valgrind-swift.supp).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sdk_support import sdk_world  # noqa: F401

SUPPRESSIONS = Path(__file__).with_name("valgrind-swift.supp")


def test_simpleclient_under_memcheck_has_no_definite_leak(sdk_world):
    valgrind = shutil.which("valgrind")
    if not valgrind:
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    app = sdk_world.app("valgrind-" + __import__("secrets").token_hex(3))
    program = sdk_world.bundle.build("simpleclient")
    log = app.root / "memcheck.log"
    r = app.run([valgrind, "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
                 "--errors-for-leak-kinds=definite,indirect,possible", f"--suppressions={SUPPRESSIONS}",
                 "--error-exitcode=42", f"--log-file={log}", str(program)], timeout=300, check=False)
    report = log.read_text()
    summary = "\n".join(line for line in report.splitlines() if re.search(r"lost:|reachable:|suppressed:|ERROR SUMMARY", line))
    print(summary)
    assert "Received tokens: {" in r.stdout and "no script found for command" in r.stdout, r.stdout
    assert re.search(r"definitely lost: 0 bytes in 0 blocks", report), summary
    assert re.search(r"indirectly lost: 0 bytes in 0 blocks", report), summary
    assert re.search(r"ERROR SUMMARY: 0 errors", report), f"memcheck found errors:\n{report[-6000:]}"
    assert r.returncode == 0, f"simpleclient under valgrind exited {r.returncode}\n{summary}"
