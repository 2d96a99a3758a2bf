"""A private slapd for the interop suite, started with deploy/ldap/start-slapd.sh.

    directory = LDAPDirectory(root / "slapd")   # free loopback port, own folder
    directory.start()                            # waits until it answers; keeps the PID
    directory.store_config("ou=am,dc=iec,dc=test", password_file)  # for am.json
    directory.stop()                             # SIGTERM to that PID (stop-slapd.sh)

Only the PID start-slapd.sh printed is ever signalled.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START = REPO / "deploy" / "ldap" / "start-slapd.sh"
STOP = REPO / "deploy" / "ldap" / "stop-slapd.sh"
SUFFIX = "dc=iec,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LDAPDirectory:
    def __init__(self, folder: Path, port: int | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.password = "dir-" + secrets.token_urlsafe(12)
        self.password_file = self.folder.parent / "ldap-admin.password"
        self.password_file.write_text(self.password + "\n")
        self.password_file.chmod(0o600)
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}/"

    def start(self) -> int:
        proc = subprocess.run(
            [str(START), "--dir", str(self.folder), "--port", str(self.port), "--suffix", SUFFIX,
             "--admin-password-file", str(self.password_file), "--watch-pid", str(os.getpid()),
             *self.extra_arguments()],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"start-slapd.sh failed ({proc.returncode}): {proc.stderr}")
        self.pid = int(proc.stdout.strip())
        return self.pid

    def extra_arguments(self) -> list[str]:
        """More start-slapd.sh options, for subclasses (replication)."""
        return []

    def stop(self) -> None:
        if self.pid is None:
            return
        subprocess.run([str(STOP), "--dir", str(self.folder)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
        self.pid = None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def store_config(self, base_dn: str = f"ou=am,{SUFFIX}") -> dict:
        """The `store` member of am.json for iec-am on this directory."""
        return {"ldap": {"url": self.url, "bind_dn": ADMIN_DN, "bind_password_file": str(self.password_file),
                         "base_dn": base_dn, "pool_size": 4, "timeout_seconds": 5}}
