"""Helpers of the interop suite: running iecutil, base64url, RFC 7638 thumbprints.

Everything here is written from the RFCs, independently of OpenIEC's Swift code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


class IECUtil:
    """Runs the real binary; every run must end by exiting, never by a signal."""

    def __init__(self, path: Path):
        self.path = path

    def run(self, *args, input: str | None = None, timeout: float = 60) -> Result:
        argv = [str(a) for a in args]
        proc = subprocess.run([str(self.path), *argv], input=input, capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode >= 0, (
            f"iecutil {' '.join(argv)} died from signal {-proc.returncode}\nstderr: {proc.stderr}")
        return Result(argv, proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args, input: str | None = None) -> Result:
        """Runs and requires exit code 0."""
        r = self.run(*args, input=input)
        assert r.returncode == 0, (
            f"iecutil {' '.join(r.args)} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


REQUIRED_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
                    "oct": ("k", "kty"), "OKP": ("crv", "kty", "x")}


def rfc7638_thumbprint(jwk: dict) -> str:
    """RFC 7638 section 3: SHA-256 over the required members, sorted, no whitespace."""
    members = {k: jwk[k] for k in REQUIRED_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())
