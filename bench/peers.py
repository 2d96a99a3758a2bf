"""The peers and limits bench/ measures OpenIEC against, each set up by the harness
itself on loopback in a temporary folder and stopped by PID:

- `Nginx`: Debian's nginx-light answering a static 200 (the HTTP ceiling of the machine);
- `Glewlwyd`: Debian's glewlwyd 2.7 (C OAuth2/OIDC server) on SQLite in WAL mode with
  the indexes its stock schema lacks, configured through its admin REST API
  (/work/shared/reference/peers.md has the recipe);
- `openssl_speed`: `openssl speed ecdsap256`, the signing and verifying limit.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from common import free_port, wait_for_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def stop_process(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL; only the process this module started."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# --- nginx ---------------------------------------------------------------------------


class Nginx:
    """nginx (Debian nginx-light) returning a static 200 to any GET or POST."""

    def __init__(self, root: Path):
        self.root = root / "nginx"
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        r = self.root
        conf = f"""
worker_processes auto;
daemon off;
master_process on;
pid {r}/nginx.pid;
error_log {r}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {r}/body;
    proxy_temp_path {r}/proxy;
    fastcgi_temp_path {r}/fastcgi;
    uwsgi_temp_path {r}/uwsgi;
    scgi_temp_path {r}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{self.port};
        location / {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}
}}
"""
        (r / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(["nginx", "-p", str(r), "-c", str(r / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(r / "stderr.log", "wb"))
        wait_for_port(self.port, proc=self.proc)
        check = requests.post(self.url, data="grant_type=client_credentials", timeout=5)
        assert check.status_code == 200, f"nginx check: {check.status_code}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc)


# --- openssl speed -------------------------------------------------------------------


def openssl_speed(seconds: int) -> dict:
    """`openssl speed -seconds S ecdsap256` on one core and with -multi 2 (every core)."""
    out = {}
    cpus = os.cpu_count() or 1
    for label, extra in (("one_core", []), ("all_cores", ["-multi", str(cpus)])):
        proc = subprocess.run(["openssl", "speed", "-seconds", str(seconds), *extra, "ecdsap256"],
                              capture_output=True, text=True, timeout=seconds * 4 + 60)
        text = proc.stdout
        m = re.search(r"256 bits ecdsa \(nistp256\)\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)\s+([\d.]+)", text)
        if not m:
            raise RuntimeError(f"cannot read openssl speed's output:\n{text}\n{proc.stderr}")
        out[label] = {"sign_per_s": float(m.group(3)), "verify_per_s": float(m.group(4))}
    return out


# --- Glewlwyd -------------------------------------------------------------------------


class PeerUnavailable(RuntimeError):
    """Glewlwyd could not be set up; the report says why."""


class Glewlwyd:
    """Glewlwyd 2.7 in its own folder: config, SQLite database (WAL, extra indexes), log."""

    PLUGIN = "oidc"
    SCOPE = "g_bench"

    def __init__(self, root: Path):
        self.root = root / "glewlwyd"
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = self.base + "/api"
        self.db = self.root / "glewlwyd.db"
        self.conf = self.root / "glewlwyd.conf"
        self.log = self.root / "glewlwyd.log"
        self.proc: subprocess.Popen | None = None
        self.admin = requests.Session()
        self.token_endpoint = f"{self.api}/{self.PLUGIN}/token"
        self.introspection_endpoint = f"{self.api}/{self.PLUGIN}/introspect"
        self.jwks_uri = f"{self.api}/{self.PLUGIN}/jwks"
        self.client_key = ec.generate_private_key(ec.SECP256R1())
        self.client_kid = "bench-client-key"

    # --- set-up ---

    def setup(self) -> None:
        if not shutil.which("glewlwyd"):
            raise PeerUnavailable("glewlwyd is not installed (Debian package glewlwyd)")
        self._database()
        self._config()
        self.start()
        self._sign_in()
        self._plugin()
        # peers.md: a plugin change is picked up only after a restart.
        self.stop()
        self.start()
        self._sign_in()
        self._clients()

    def _database(self) -> None:
        init = Path("/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz")
        if not init.is_file():
            raise PeerUnavailable(f"{init} is missing")
        con = sqlite3.connect(self.db)
        try:
            con.executescript(gzip.decompress(init.read_bytes()).decode())
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise PeerUnavailable(f"SQLite refused WAL mode ({mode})")
            # The indexes the stock schema lacks (peers.md): token scopes and the
            # client-assertion replay table grow with every token.
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            self.indexes = []
            for table, column in (("gpo_client_token_request", "gpoctr_cient_id"),
                                  ("gpo_client_token_request", "gpoctr_jti_hash"),
                                  ("gpo_access_token_scope", "gpoa_id"),
                                  ("gpo_access_token", "gpoa_jti"),
                                  ("gpo_access_token", "gpoa_token_hash"),
                                  ("gpo_refresh_token_scope", "gpor_id"),
                                  ("gpo_id_token", "gpoc_id")):
                if table not in tables:
                    continue
                columns = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
                if column in columns:
                    name = f"bench_{table}_{column}"
                    con.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table}({column})")
                    self.indexes.append(f"{table}({column})")
            con.commit()
        finally:
            con.close()

    def _config(self) -> None:
        sample = Path("/etc/glewlwyd/glewlwyd.conf").read_text()
        replace = {
            "port": str(self.port),
            "external_url": f'"{self.base}"',
            "cookie_secure": "0",
            "cookie_domain": '"127.0.0.1"',
            "log_mode": '"file"',
            "log_level": '"WARNING"',
            "log_file": f'"{self.log}"',
            "static_files_path": '"/usr/share/glewlwyd/webapp/"',
        }
        lines = []
        for line in sample.splitlines():
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith("#") and key in replace:
                line = f"{key}={replace.pop(key)}"
            lines.append(line)
        text = "\n".join(lines) + "\n"
        text = re.sub(r'path\s*=\s*"/var/cache/glewlwyd/glewlwyd.db"', f'path = "{self.db}"', text)
        if str(self.db) not in text:
            raise PeerUnavailable("could not point the sample config at the SQLite database")
        text += f'bind_address="127.0.0.1"\n'
        self.conf.write_text(text)

    def start(self) -> None:
        self.proc = subprocess.Popen(["glewlwyd", f"--config-file={self.conf}"], cwd=self.root,
                                     stdout=open(self.root / "stdout.log", "ab"), stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout=20, proc=self.proc)
        except RuntimeError as error:
            raise PeerUnavailable(f"glewlwyd did not start: {error}; {self.log_tail()}")

    def log_tail(self) -> str:
        parts = []
        for path in (self.log, self.root / "stdout.log"):
            try:
                parts.append("\n".join(path.read_text(errors="replace").splitlines()[-8:]))
            except OSError:
                pass
        return " | ".join(p for p in parts if p)

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        r = self.admin.request(method, self.api + path, timeout=20, **kwargs)
        if r.status_code >= 300:
            raise PeerUnavailable(f"glewlwyd {method} {path}: {r.status_code} {r.text[:400]}")
        return r

    def _sign_in(self) -> None:
        self.admin = requests.Session()
        self._call("POST", "/auth/", json={"username": "admin", "password": "password"})

    def _signing_jwks(self) -> dict:
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.private_numbers()
        pub = numbers.public_numbers
        jwk = {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "bench-es256",
               "x": b64url(pub.x.to_bytes(32, "big")), "y": b64url(pub.y.to_bytes(32, "big")),
               "d": b64url(numbers.private_value.to_bytes(32, "big"))}
        return {"keys": [jwk]}

    def _plugin(self) -> None:
        self._call("POST", "/scope/", json={"name": self.SCOPE, "display_name": "bench", "description": "bench",
                                            "password_required": False, "scheme": {}})
        params = {
            "iss": self.base, "jwks-private": json.dumps(self._signing_jwks()), "default-kid": "bench-es256",
            "jwt-type": "ec", "jwt-key-size": "256",
            "access-token-duration": 3600, "refresh-token-duration": 1209600, "code-duration": 600,
            "refresh-token-rolling": False, "allow-non-oidc": True,
            "auth-type-client-enabled": True, "auth-type-code-enabled": False, "auth-type-token-enabled": False,
            "auth-type-id-token-enabled": False, "auth-type-none-enabled": False, "auth-type-password-enabled": False,
            "auth-type-refresh-enabled": False, "auth-type-device-enabled": True,
            "request-parameter-allow": True, "request-maximum-exp": 3600,
            "client-jwks-parameter": "jwks", "client-pubkey-parameter": "",
            "introspection-revocation-allowed": True, "introspection-revocation-auth-scope": [],
            "introspection-revocation-allow-target-client": True,
            "token-endpoint-auth-method-allowed": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "scope": [], "claims": [], "additional-parameters": [], "allowed-scope": [self.SCOPE, "openid"],
        }
        self._call("POST", "/mod/plugin/", json={"module": "oidc", "name": self.PLUGIN, "display_name": "bench oidc",
                                                 "enabled": True, "parameters": params})

    def _public_jwk(self) -> dict:
        pub = self.client_key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.client_kid,
                "x": b64url(pub.x.to_bytes(32, "big")), "y": b64url(pub.y.to_bytes(32, "big"))}

    def _clients(self) -> None:
        self.cc_secret = secrets.token_urlsafe(24)
        self._call("POST", "/client/", json={
            "client_id": "bench-cc", "name": "bench-cc", "confidential": True, "enabled": True,
            "client_secret": self.cc_secret, "authorization_type": ["client_credentials"], "scope": [self.SCOPE],
            "redirect_uri": [], "token_endpoint_auth_method": ["client_secret_basic"]})
        self._call("POST", "/client/", json={
            "client_id": "bench-jwt", "name": "bench-jwt", "confidential": True, "enabled": True,
            "authorization_type": ["client_credentials"], "scope": [self.SCOPE], "redirect_uri": [],
            "token_endpoint_auth_method": ["private_key_jwt"], "jwks": {"keys": [self._public_jwk()]}})
        self.basic = "Basic " + base64.b64encode(f"bench-cc:{self.cc_secret}".encode()).decode()

    # --- requests ---

    def check(self) -> str:
        """One client_credentials token (checked to be a JWT), one private_key_jwt token, one introspection."""
        r = requests.post(self.token_endpoint, data={"grant_type": "client_credentials", "scope": self.SCOPE},
                          headers={"Authorization": self.basic}, timeout=10)
        if r.status_code != 200 or "access_token" not in r.json():
            raise PeerUnavailable(f"glewlwyd client_credentials check: {r.status_code} {r.text[:300]}")
        token = r.json()["access_token"]
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        if header.get("alg") != "ES256":
            raise PeerUnavailable(f"glewlwyd's access token is not ES256: {header}")
        body = self.assertion_bodies(1)[0]
        r = requests.post(self.token_endpoint, data=body, timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        if r.status_code != 200:
            raise PeerUnavailable(f"glewlwyd private_key_jwt check: {r.status_code} {r.text[:300]}")
        r2 = requests.post(self.token_endpoint, data=body, timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.replay_refused = r2.status_code != 200
        r = requests.post(self.introspection_endpoint, data={"token": token}, headers={"Authorization": self.basic},
                          timeout=10)
        if r.status_code != 200 or r.json().get("active") is not True:
            raise PeerUnavailable(f"glewlwyd introspection check: {r.status_code} {r.text[:300]}")
        r = requests.get(self.jwks_uri, timeout=10)
        if r.status_code != 200 or not r.json().get("keys"):
            raise PeerUnavailable(f"glewlwyd JWKS check: {r.status_code} {r.text[:300]}")
        return token

    def assertion_bodies(self, count: int) -> list[str]:
        """client_credentials form bodies with a private_key_jwt client assertion each (fresh jti)."""
        return sign_client_assertions(self.client_key, self.client_kid, "bench-jwt", self.token_endpoint,
                                      count, self.SCOPE)

    def empty_token_tables(self) -> None:
        """Token tables emptied before a run (as peers.md's figures were taken)."""
        con = sqlite3.connect(self.db, timeout=30)
        try:
            for table in ("gpo_access_token_scope", "gpo_access_token", "gpo_client_token_request"):
                try:
                    con.execute(f"DELETE FROM {table}")
                except sqlite3.OperationalError:
                    pass
            con.commit()
        finally:
            con.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


def sign_client_assertions(key, kid: str, client_id: str, audience: str, count: int, scope: str) -> list[str]:
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
    now = int(time.time())
    out = []
    for _ in range(count):
        payload = b64url(json.dumps({"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
                                     "exp": now + 590, "jti": secrets.token_urlsafe(18)},
                                    separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}"
        r, s = utils.decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
        jwt = signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        out.append("grant_type=client_credentials&scope=" + scope +
                   "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                   "&client_assertion=" + jwt)
    return out


def pem_of(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
