"""Several iec-am instances behind nginx, sharing one store: the scale-out of docs/scale-out.md.

    cluster = Cluster(iec_am_binary, store="ldap")   # or "sqlite": one file, several processes
    cluster.start()             # setup once, every member serving, nginx in front
    cluster.url                 # what gateways and clients use (nginx)
    cluster.members[0].kill()   # kill -9 one instance; nginx fails over
    cluster.close()

Every member has the same `public_url` (nginx's), so issuers, challenge and
assertion audiences are the same whichever instance answers, and trusts nginx's
`X-Forwarded-For` (`server.trusted_proxies`). nginx is Debian's, run in the
foreground from a config of the test's own; only the PIDs started here are
ever signalled.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from am_server import AMServer, AMServerError, free_port
from gateway import IECConfig
from ldap_directory import LDAPDirectory

NGINX = "/usr/sbin/nginx"
#: The address nginx connects to the instances from (`server.trusted_proxies`).
PROXY_ADDRESS = "127.0.0.3"


def need_nginx() -> str:
    path = shutil.which("nginx") or (NGINX if Path(NGINX).exists() else None)
    if path is None:
        pytest.fail("nginx is missing: scripts/bootstrap.sh installs nginx-light", pytrace=False)
    return path


class Nginx:
    """nginx on a free loopback port, round-robin over `upstreams`, retrying the next one
    when an instance refuses the connection (the request was not sent to it)."""

    def __init__(self, root: Path, upstreams: list[int]):
        self.binary = need_nginx()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "temp").mkdir(exist_ok=True)
        self.port = free_port()
        self.upstreams = list(upstreams)
        self.config_path = self.root / "nginx.conf"
        self.log_path = self.root / "error.log"
        self.proc: subprocess.Popen | None = None
        self.write_config()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;"
                            for port in self.upstreams)
        temp = self.root / "temp"
        self.config_path.write_text(f"""\
# Written by tests/interop/cluster.py: the nginx of docs/scale-out.md, in the foreground.
daemon off;
worker_processes 1;
pid {self.root}/nginx.pid;
error_log {self.log_path} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream iec_am {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://iec_am;
            # From an address of its own, so that iec-am can trust nginx's
            # X-Forwarded-For without trusting the clients (all on 127.0.0.1 here).
            proxy_bind {PROXY_ADDRESS};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A refused or reset connection goes to the next instance; a request
            # an instance already received is never sent twice (nginx's default
            # for POST), so nothing is created twice.
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }}
    }}
}}
""")

    def start(self, timeout: float = 15) -> None:
        test = subprocess.run([self.binary, "-t", "-c", str(self.config_path), "-p", str(self.root)],
                              capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise AMServerError(f"nginx -t rejected the config: {test.stderr}")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config_path), "-p", str(self.root)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AMServerError(f"nginx exited {self.proc.returncode}\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/health/live", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AMServerError(f"nginx did not answer within {timeout} s\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)      # graceful: finish what is in flight
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no nginx log)"


class ClusterMember(AMServer):
    """One iec-am of the cluster: its own folder, port and log; the shared store and public URL."""

    def __init__(self, binary: Path, root: Path, *, public_url: str | None, store_config: dict, **kwargs):
        self.public_url = public_url
        self.store_config = store_config
        # store="sqlite": AMServer starts no directory of its own; the shared store replaces it below.
        super().__init__(binary, root, store="sqlite", **kwargs)

    def config(self) -> dict:
        cfg = super().config()
        if self.public_url is not None:
            cfg["server"]["public_url"] = self.public_url
        cfg["server"]["trusted_proxies"] = [PROXY_ADDRESS]
        cfg["store"] = self.store_config
        return cfg


class ReplicatedDirectory(LDAPDirectory):
    """A slapd in multi-provider replication with the others of its group
    (start-slapd.sh --server-id N --provider URL ...), all with one admin password."""

    def __init__(self, folder: Path, server_id: int):
        super().__init__(folder)
        self.server_id = server_id
        self.providers: list[str] = []

    @classmethod
    def pair(cls, root: Path) -> tuple["ReplicatedDirectory", "ReplicatedDirectory"]:
        """Two providers replicating each other, started; each in a folder of its own."""
        first, second = cls(Path(root) / "ds1" / "slapd", 1), cls(Path(root) / "ds2" / "slapd", 2)
        second.password = first.password
        second.password_file.write_text(first.password + "\n")
        first.providers, second.providers = [second.url], [first.url]
        try:
            first.start()
            second.start()
        except BaseException:
            first.stop()
            second.stop()
            raise
        return first, second

    def extra_arguments(self) -> list[str]:
        args = ["--server-id", str(self.server_id)]
        for url in self.providers:
            args += ["--provider", url]
        return args


class Cluster:
    """`instances` iec-am on one store, behind one nginx. `store` is "sqlite" (one
    database file shared by the processes) or "ldap" (one private slapd)."""

    def __init__(self, binary: Path, store: str = "sqlite", instances: int = 2, root: Path | None = None):
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="iec-am-cluster-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.directory: LDAPDirectory | None = None
        if store == "ldap":
            self.directory = LDAPDirectory(self.root / "slapd")
            self.directory.start()
            store_config = self.directory.store_config()
        elif store == "sqlite":
            store_config = {"sqlite": {"path": str(self.root / "shared.db")}}
        else:
            raise ValueError(f"store must be sqlite or ldap, not {store!r}")
        nginx_root = self.root / "nginx"
        ports = [free_port() for _ in range(instances)]
        self.nginx = Nginx(nginx_root, [])
        public_url = self.nginx.url
        self.members: list[ClusterMember] = []
        for index in range(instances):
            member = ClusterMember(binary, self.root / f"am{index + 1}", public_url=public_url, store_config=store_config,
                                   admin_password=self.members[0].admin_password if self.members else None)
            member.port = ports[index]
            member.write_config()
            self.members.append(member)
        self.nginx.upstreams = [m.port for m in self.members]
        self.nginx.write_config()
        self.iec_config: IECConfig | None = None

    @property
    def url(self) -> str:
        return self.nginx.url

    def start(self) -> IECConfig:
        """`iec-am setup` once (the store is shared), every member serving, then nginx."""
        first = self.members[0]
        out = self.root / "iec-config.json"
        first.setup("--iec-config-out", out)
        self.iec_config = IECConfig.load(out)
        assert self.iec_config.url == self.url, f"the gateways' URL should be nginx's: {self.iec_config.url}"
        for member in self.members:
            member.start()
        self.nginx.start()
        return self.iec_config

    def admin(self) -> AMServer:
        """A member whose admin calls go through nginx (any instance may answer)."""
        return self.members[0]

    def close(self) -> None:
        try:
            self.nginx.stop()
        finally:
            for member in self.members:
                member.close()
            if self.directory is not None:
                self.directory.stop()
            if self._own_root:
                shutil.rmtree(self.root, ignore_errors=True)
