"""Fixtures of the interop suite: our `iecutil` and `iec-am` binaries, run from outside.

The binaries are $IECUTIL and $IEC_AM when set (scripts/test.sh sets both),
otherwise `$(swift build --show-bin-path)/iecutil` and `.../iec-am`, computed
once per session.

iec-am fixtures (see am_server.py): `am` is one server for the whole session
(set up, serving on a free port, stopped with SIGTERM at the end); `am_factory`
makes servers of a test's own (their own folder, database and port), stopped and
removed after the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from am_server import AMServer, TokenVerifier
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


def _find_iec_am() -> Path:
    env = os.environ.get("IEC_AM")
    if env:
        return Path(env)
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    out = subprocess.run([swift, "build", "--show-bin-path"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        pytest.fail(f"swift build --show-bin-path failed: {out.stderr.strip()}", pytrace=False)
    return Path(out.stdout.strip()) / "iec-am"


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


# --- iec-am ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def iec_am_binary() -> Path:
    path = _find_iec_am()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"iec-am binary not found at {path}: build it first (make test does), "
                    "or set IEC_AM", pytrace=False)
    return path


@pytest.fixture(scope="session")
def am(iec_am_binary: Path):
    """One iec-am for the session: set up, serving, admin signed in lazily; SIGTERM at the end.

    Tests sharing it create their own clients and users (random ids). Tests that
    exhaust a rate limit or restart the server use `am_factory` instead.
    """
    server = AMServer(iec_am_binary, server={"max_body_bytes": 65536, "max_header_bytes": 16384})
    try:
        server.setup()
        server.start()
        yield server
        server.stop()
    finally:
        server.close()


@pytest.fixture
def am_factory(iec_am_binary: Path):
    """Makes iec-am servers of the test's own: `am_factory(security={...}, start=True)`."""
    made: list[AMServer] = []

    def make(start: bool = True, **kwargs) -> AMServer:
        server = AMServer(iec_am_binary, **kwargs)
        made.append(server)
        server.setup()
        if start:
            server.start()
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture(scope="session")
def am_discovery(am: AMServer) -> dict:
    return am.discovery()


@pytest.fixture(scope="session")
def verifier(am_discovery: dict) -> TokenVerifier:
    return TokenVerifier(am_discovery)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: waits past the 60 s challenge lifetime")
