"""Fixtures of the interop suite: our `iecutil` binary, run from outside.

The binary is $IECUTIL when set (the Makefile sets it), otherwise
`$(swift build --show-bin-path)/iecutil`, computed once per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import IECUtil

REPO = Path(__file__).resolve().parents[2]


def _find_iecutil() -> Path:
    env = os.environ.get("IECUTIL")
    if env:
        return Path(env)
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    out = subprocess.run([swift, "build", "--show-bin-path"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        pytest.fail(f"swift build --show-bin-path failed: {out.stderr.strip()}", pytrace=False)
    return Path(out.stdout.strip()) / "iecutil"


@pytest.fixture(scope="session")
def iecutil() -> IECUtil:
    path = _find_iecutil()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"iecutil binary not found at {path}: build it first (make test does)",
                    pytrace=False)
    return IECUtil(path)


@pytest.fixture
def p256_key(iecutil: IECUtil, tmp_path: Path):
    """A P-256 key from `iecutil keygen p256 --private-key-out`: (PEM path, printed JSON)."""
    pem = tmp_path / "key.pem"
    out = iecutil.ok("keygen", "p256", "--private-key-out", pem).json()
    return pem, out
