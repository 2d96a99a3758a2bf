"""Runs the real `iec-am` binary for the interop suite: set up, serve, stop, restart.

Everything here talks to iec-am from outside, as a deployment would: a JSON
config file, `iec-am setup`, `iec-am serve`, HTTP. No Swift code is imported or
mirrored; the expectations come from the OAuth2/OIDC RFCs and the iec-am contract.

    server = AMServer(binary, root=Path("/tmp/x"))
    server.setup()
    server.start()            # free port, waits for GET /health/ready
    ...
    server.stop()             # SIGTERM, requires a clean exit
    server.start()            # same database, same port
    server.close()            # stops if running, removes the folder

The store is SQLite unless `store="ldap"` (or IEC_TEST_STORE=ldap in the
environment): then the server gets a slapd of its own (ldap_directory.py),
started before setup, kept running across iec-am restarts, stopped by close().

Only the PIDs started here are ever signalled.
"""

from __future__ import annotations

import html.parser
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from ldap_directory import LDAPDirectory

REALM = "edge"
OAUTH2_PATH = f"/oauth2/realms/root/realms/{REALM}"
ADMIN_REALM_PATH = f"/json/realms/root/realms/{REALM}"
COOKIE = "iPlanetDirectoryPro"

GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_REFRESH = "refresh_token"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


def free_port() -> int:
    """A port nobody listens on right now (bind 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AMServerError(AssertionError):
    """iec-am did something a deployment would not accept (failed to start, crashed, hung)."""


class AMServer:
    """One iec-am installation in its own folder: config, database, log."""

    def __init__(self, binary: Path, root: Path | None = None, *, server: dict | None = None,
                 security: dict | None = None, logging: dict | None = None,
                 admin_password: str | None = None, keep: bool | None = None, store: str | None = None):
        self.binary = Path(binary)
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="iec-am-interop-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = bool(os.environ.get("IEC_AM_KEEP")) if keep is None else keep
        self.config_path = self.root / "am.json"
        self.db_path = self.root / "data" / "iec-am.db"
        self.log_path = self.root / "iec-am.log"
        self.admin_username = "amadmin"
        self.admin_password = admin_password or "interop-" + secrets.token_urlsafe(12)
        self.server_overrides = dict(server or {})
        self.security = dict(security or {})
        self.logging = dict(logging or {"level": "info", "access_log": True})
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        self.http = requests.Session()
        # What requests verifies the server's certificate with (a CA file under TLS).
        self.verify: bool | str = True
        self._admin_token: str | None = None
        self.store = store or os.environ.get("IEC_TEST_STORE") or "sqlite"
        if self.store not in ("sqlite", "ldap"):
            raise ValueError(f"store must be sqlite or ldap, not {self.store!r}")
        self.directory: LDAPDirectory | None = None
        if self.store == "ldap":
            self.directory = LDAPDirectory(self.root / "slapd")
            self.directory.start()
        self.write_config()

    # --- configuration and lifecycle -------------------------------------------------

    @property
    def base_url(self) -> str:
        scheme = "https" if "tls" in self.server_overrides else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base_url + OAUTH2_PATH

    def oauth2_url(self, path: str) -> str:
        return self.issuer + path

    def url(self, path: str) -> str:
        return self.base_url + path

    def config(self) -> dict:
        server = {"host": "127.0.0.1", "port": self.port, "threads": 4, "public_url": self.base_url,
                  "max_body_bytes": 1048576, "max_header_bytes": 16384,
                  "connection_timeout_seconds": 30}
        server.update(self.server_overrides)
        store = self.directory.store_config() if self.directory else {"sqlite": {"path": "data/iec-am.db"}}
        cfg: dict[str, Any] = {"server": server, "store": store, "logging": self.logging}
        if self.security:
            cfg["security"] = self.security
        return cfg

    def write_config(self) -> None:
        self.config_path.write_text(json.dumps(self.config(), indent=2) + "\n")

    def run_cli(self, *args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.pop("IEC_ADMIN_PASSWORD", None)
        full_env.update(env or {})
        proc = subprocess.run([str(self.binary), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)
        if proc.returncode < 0:
            raise AMServerError(f"iec-am {' '.join(map(str, args))} died from signal {-proc.returncode}\n"
                                f"stderr: {proc.stderr}")
        return proc

    def setup(self, *extra, use_env_password: bool = False) -> subprocess.CompletedProcess:
        """`iec-am setup` with the admin password from a 0600 file (or IEC_ADMIN_PASSWORD)."""
        args = ["setup", "--config", self.config_path, "--realm", REALM,
                "--admin-username", self.admin_username, *extra]
        env = None
        if use_env_password:
            env = {"IEC_ADMIN_PASSWORD": self.admin_password}
        else:
            pw = self.root / "admin-password"
            pw.write_text(self.admin_password + "\n")
            pw.chmod(0o600)
            args += ["--admin-password-file", pw]
        proc = self.run_cli(*args, env=env)
        if proc.returncode != 0:
            raise AMServerError(f"iec-am setup exited {proc.returncode}\nstdout: {proc.stdout}\n"
                                f"stderr: {proc.stderr}")
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        bad = [line for line in lines if not line.startswith("iec-am setup:")]
        if not lines or bad:
            raise AMServerError(f"iec-am setup printed lines not starting 'iec-am setup:': {bad or lines}")
        return proc

    def start(self, timeout: float = 30) -> None:
        """`iec-am serve`, then polls GET /health/ready until 200."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n===== serve on port {self.port} at {time.ctime()} =====\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen([str(self.binary), "serve", "--config", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AMServerError(f"iec-am serve exited {self.proc.returncode} before it was ready\n"
                                    f"{self.log_tail()}")
            try:
                r = requests.get(self.url("/health/ready"), timeout=2, verify=self.verify)
                last = r.status_code
                if r.status_code == 200:
                    return
            except requests.RequestException as error:
                last = repr(error)
            time.sleep(0.05)
        self.kill()
        raise AMServerError(f"iec-am was not ready within {timeout} s (last: {last})\n{self.log_tail()}")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait; a server that does not exit in time (or not with 0) fails the test."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AMServerError(f"iec-am did not stop within {timeout} s of SIGTERM\n{self.log_tail()}")
        finally:
            self._close_log()
        if rc != 0:
            raise AMServerError(f"iec-am exited {rc} after SIGTERM (expected 0)\n{self.log_tail()}")
        return rc

    def kill(self) -> None:
        """SIGKILL (kill -9) the server this object started."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close_log()

    def restart(self) -> None:
        self.stop()
        self._admin_token = None
        self.start()

    def close(self) -> None:
        """Stops (SIGTERM, then SIGKILL if needed) and removes the folder."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.kill()
        finally:
            self._close_log()
            self.http.close()
            if self.directory is not None:
                self.directory.stop()
            if self._own_root and not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "--- iec-am log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def assert_live(self, context: str = "") -> None:
        """The server process is alive and GET /health/live answers 200."""
        where = f" after {context}" if context else ""
        if not self.running:
            raise AMServerError(f"iec-am is no longer running{where} (exit code "
                                f"{self.proc.returncode if self.proc else '?'})\n{self.log_tail()}")
        try:
            r = requests.get(self.url("/health/live"), timeout=5, verify=self.verify)
        except requests.RequestException as error:
            raise AMServerError(f"GET /health/live failed{where}: {error!r}\n{self.log_tail()}")
        if r.status_code != 200:
            raise AMServerError(f"GET /health/live answered {r.status_code}{where}: {r.text[:300]}")

    # --- admin REST ---------------------------------------------------------------

    def sign_in(self, username: str | None = None, password: str | None = None) -> requests.Response:
        return requests.post(self.url("/json/realms/root/authenticate"), timeout=30, verify=self.verify, headers={
            "X-OpenAM-Username": username or self.admin_username,
            "X-OpenAM-Password": password if password is not None else self.admin_password,
            "Content-Type": "application/json", "Accept-API-Version": "resource=2.0, protocol=1.0"},
            data=b"{}")

    @property
    def admin_token(self) -> str:
        if self._admin_token is None:
            r = self.sign_in()
            assert r.status_code == 200, f"admin sign-in: {r.status_code} {r.text[:300]}"
            self._admin_token = r.json()["tokenId"]
        return self._admin_token

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault(COOKIE, self.admin_token)
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("verify", self.verify)
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def create_client(self, client_id: str | None = None, *, method: str = "client_secret_basic",
                      grants: list[str] | None = None, scopes: list[str] | None = None,
                      jwks: dict | None = None, name: str | None = None) -> dict:
        """Creates an OAuth2 client (201 required); the answer holds client_secret for secret methods."""
        client_id = client_id or "c-" + secrets.token_hex(6)
        body: dict[str, Any] = {"client_id": client_id, "client_name": name or f"Interop {client_id}",
                                "token_endpoint_auth_method": method,
                                "grant_types": grants or [GRANT_CLIENT_CREDENTIALS],
                                "scopes": scopes if scopes is not None else ["openid", "profile"]}
        if jwks is not None:
            body["jwks"] = jwks
        r = self.admin("POST", ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client",
                       params={"_action": "create"}, json=body)
        assert r.status_code == 201, f"create client {client_id}: {r.status_code} {r.text[:500]}"
        return r.json()

    def create_user(self, username: str | None = None, password: str | None = None,
                    attributes: dict | None = None) -> tuple[str, str]:
        username = username or "u-" + secrets.token_hex(5)
        password = password or "pw-" + secrets.token_urlsafe(12)
        r = self.admin("POST", ADMIN_REALM_PATH + "/users", params={"_action": "create"},
                       json={"username": username, "password": password, "attributes": attributes or {}})
        assert r.status_code == 201, f"create user {username}: {r.status_code} {r.text[:500]}"
        return username, password

    def list_all_clients(self, page_size: int = 100) -> list[dict]:
        """Every client of the realm, following pagedResultsCookie."""
        out: list[dict] = []
        cookie = None
        for _ in range(10_000):
            params = {"_queryFilter": "true", "_pageSize": page_size}
            if cookie:
                params["_pagedResultsCookie"] = cookie
            r = self.admin("GET", ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client", params=params)
            assert r.status_code == 200, f"list clients: {r.status_code} {r.text[:300]}"
            body = r.json()
            out.extend(body["result"])
            cookie = body.get("pagedResultsCookie")
            if not cookie:
                return out
        raise AssertionError("client listing never ended")

    def discovery(self) -> dict:
        r = requests.get(self.oauth2_url("/.well-known/openid-configuration"), timeout=10, verify=self.verify)
        assert r.status_code == 200, f"discovery: {r.status_code} {r.text[:300]}"
        return r.json()


# --- the verification page ------------------------------------------------------------


class Form:
    def __init__(self, action: str, method: str):
        self.action = action
        self.method = method
        self.inputs: dict[str, str] = {}
        self.input_types: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []


class PageParser(html.parser.HTMLParser):
    """Forms (inputs and buttons), the title and the visible text of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False
        self._form: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form.inputs[a["name"]] = a.get("value", "")
            self._form.input_types[a["name"]] = a.get("type", "text")
        elif tag == "button" and self._form is not None and a.get("name"):
            self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.text.append(data)


class Page:
    def __init__(self, response: requests.Response):
        self.response = response
        self.status = response.status_code
        self.url = response.url
        parser = PageParser()
        parser.feed(response.text)
        self.forms = parser.forms
        self.title = parser.title.strip()
        self.text = " ".join(" ".join(parser.text).split())

    def form(self) -> Form:
        assert len(self.forms) == 1, f"expected one form on the page, found {len(self.forms)}: {self.text[:400]}"
        return self.forms[0]

    def describe(self) -> str:
        return f"HTTP {self.status} '{self.title}': {self.text[:400]}"


class VerificationBrowser:
    """A person at the verification page, with plain form posts and a cookie jar (no JS)."""

    def __init__(self, server: AMServer):
        self.server = server
        self.session = requests.Session()
        self.page_url = server.oauth2_url("/device/user")

    def open(self, user_code: str | None = None) -> Page:
        params = {"user_code": user_code} if user_code is not None else None
        page = Page(self.session.get(self.page_url, params=params, timeout=30))
        assert page.status == 200, f"GET verification page: {page.describe()}"
        return page

    def submit(self, page: Page, fields: dict[str, str], button: tuple[str, str] | None = None) -> Page:
        form = page.form()
        data = dict(form.inputs)
        data.update(fields)
        if button:
            data[button[0]] = button[1]
        target = urljoin(page.url, form.action) if form.action else page.url
        assert form.method == "post", f"the form should post, it uses {form.method}"
        return Page(self.session.post(target, data=data, timeout=30))

    def sign_in(self, user_code: str, username: str, password: str, prefill: bool = True) -> Page:
        page = self.open(user_code if prefill else None)
        form = page.form()
        assert form.inputs.get("step") == "sign_in", f"sign-in form has step={form.inputs.get('step')!r}"
        assert form.inputs.get("csrf"), "sign-in form has no csrf value"
        assert "user_code" in form.inputs and "username" in form.inputs and "password" in form.inputs, form.inputs
        assert self.session.cookies.get("iec_csrf"), "the page set no iec_csrf cookie"
        return self.submit(page, {"user_code": user_code, "username": username, "password": password})

    def decide(self, consent: Page, approve: bool) -> Page:
        form = consent.form()
        assert form.inputs.get("step") == "decide", f"consent form: {form.inputs}"
        assert form.inputs.get("state") and form.inputs.get("csrf"), f"consent form: {form.inputs}"
        decision = "approve" if approve else "deny"
        assert ("decision", decision) in form.buttons, f"no {decision} button: {form.buttons}"
        return self.submit(consent, {}, button=("decision", decision))

    def approve(self, user_code: str, username: str, password: str, approve: bool = True) -> Page:
        consent = self.sign_in(user_code, username, password)
        assert consent.status == 200, f"sign-in on the verification page: {consent.describe()}"
        done = self.decide(consent, approve)
        want = "Device approved" if approve else "Request denied"
        assert done.status == 200 and want in done.text, f"expected '{want}': {done.describe()}"
        return done


# --- client keys and token checks --------------------------------------------------------


class ClientKey:
    """A client's EC P-256 key made by `cryptography`, with its public JWK (kid = RFC 7638 thumbprint)."""

    def __init__(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        from helpers import b64url, rfc7638_thumbprint

        self.private_key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.private_key.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
               "y": b64url(numbers.y.to_bytes(32, "big"))}
        self.kid = rfc7638_thumbprint(jwk)
        self.public_jwk = {**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}
        self.pem = self.private_key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption())

    @property
    def jwks(self) -> dict:
        return {"keys": [self.public_jwk]}

    def joserfc_key(self):
        """The key as Authlib's JOSE layer (joserfc) takes it."""
        from joserfc.jwk import ECKey
        return ECKey.import_key(self.pem)


class TokenVerifier:
    """PyJWT with the JWKS found through discovery (jwks_uri), as a resource server would do."""

    def __init__(self, discovery: dict, ssl_context=None):
        import jwt
        self.jwt = jwt
        self.issuer = discovery["issuer"]
        self.jwks_uri = discovery["jwks_uri"]
        self.client = jwt.PyJWKClient(self.jwks_uri, cache_keys=False, cache_jwk_set=False,
                                      ssl_context=ssl_context)

    def _verify(self, token: str, audience: str, typ: str | None, required: list[str]) -> dict:
        header = self.jwt.get_unverified_header(token)
        assert header.get("alg") == "ES256", f"alg should be ES256: {header}"
        assert header.get("kid"), f"the token header has no kid: {header}"
        if typ is not None:
            assert str(header.get("typ", "")).lower() in (typ, "application/" + typ), \
                f"typ should be {typ}: {header}"
        key = self.client.get_signing_key_from_jwt(token)  # fails unless the kid is in the JWKS
        claims = self.jwt.decode(token, key.key, algorithms=["ES256"], audience=audience,
                                 issuer=self.issuer, options={"require": required})
        now = time.time()
        assert claims["exp"] > now, f"token already expired: {claims}"
        assert claims["iat"] <= now + 5, f"iat is in the future: {claims}"
        return claims

    def access_token(self, token: str, client_id: str) -> dict:
        """RFC 9068: typ at+jwt, iss, sub, aud, exp, iat, jti, client_id, scope."""
        claims = self._verify(token, client_id, "at+jwt",
                              ["iss", "sub", "aud", "exp", "iat", "jti"])
        assert claims.get("client_id") == client_id, f"client_id claim: {claims}"
        assert isinstance(claims.get("scope"), str), f"scope claim: {claims}"
        assert claims.get("realm") == "/" + REALM, f"realm claim: {claims}"
        return claims

    def id_token(self, token: str, client_id: str) -> dict:
        """OIDC Core 2: iss, sub, aud, exp, iat, auth_time; azp = client_id."""
        claims = self._verify(token, client_id, None, ["iss", "sub", "aud", "exp", "iat", "auth_time"])
        assert claims.get("azp") == client_id, f"azp claim: {claims}"
        return claims


def oauth_error(response: requests.Response) -> dict:
    """The RFC 6749 §5.2 error body of a response, checked for shape."""
    ctype = response.headers.get("Content-Type", "")
    assert "application/json" in ctype, \
        f"error response should be JSON, got {ctype!r}: {response.status_code} {response.text[:300]}"
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], f"no error code: {body}"
    assert isinstance(body.get("error_description"), str) and body["error_description"], \
        f"no error_description: {body}"
    return body


# --- Authlib clients ---------------------------------------------------------------------


def private_key_jwt_auth(key: ClientKey, lifetime: int | None = 300):
    """Authlib's `PrivateKeyJWT` client authentication (ES256, kid in the header).

    Authlib signs client assertions valid for 3600 s unless told otherwise;
    iec-am accepts at most 600 s (RFC 7523 §3 lets a server refuse an exp
    "unreasonably far in the future"), so `lifetime` is passed through to
    Authlib's own signer. `lifetime=None` keeps Authlib's default.
    """
    from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign

    class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
        def sign(self, auth, token_endpoint):
            extra = {} if lifetime is None else {"expires_in": lifetime}
            return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id,
                                        token_endpoint=token_endpoint, alg=self.alg,
                                        header=dict(self.headers or {}), **extra)

    return ShortLivedPrivateKeyJWT(alg="ES256", headers={"kid": key.kid})


def authlib_session(discovery: dict, client: dict, *, key: ClientKey | None = None,
                    scope: str | None = None, pk_lifetime: int | None = 300):
    """An Authlib `OAuth2Session` for `client` (as the admin API returned it)."""
    from authlib.integrations.requests_client import OAuth2Session

    method = client["token_endpoint_auth_method"]
    if method == "private_key_jwt":
        assert key is not None, "private_key_jwt needs the client's key"
        sess = OAuth2Session(client["client_id"], key.joserfc_key(), token_endpoint_auth_method=method,
                             revocation_endpoint_auth_method=method, scope=scope,
                             token_endpoint=discovery["token_endpoint"], default_timeout=30)
        sess.register_client_auth_method(private_key_jwt_auth(key, pk_lifetime))
    else:
        sess = OAuth2Session(client["client_id"], client.get("client_secret"),
                             token_endpoint_auth_method=method, revocation_endpoint_auth_method=method,
                             scope=scope, token_endpoint=discovery["token_endpoint"], default_timeout=30)
    return sess


def device_authorize(sess, discovery: dict, scope: str | None = None) -> dict:
    """RFC 8628 §3.1 through the Authlib session's own client authentication."""
    data = {"scope": scope} if scope else {}
    # Content-Type is sent even for an empty body, as Authlib does for its own token requests.
    r = sess.post(discovery["device_authorization_endpoint"], data=data, withhold_token=True,
                  auth=sess.client_auth(sess.token_endpoint_auth_method),
                  headers={"Accept": "application/json",
                           "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
    assert r.status_code == 200, f"device authorization: {r.status_code} {r.text[:300]}"
    body = r.json()
    for name in ("device_code", "user_code", "verification_uri", "expires_in", "interval"):
        assert name in body, f"device authorization response lacks {name}: {body}"
    return body


def poll_device(sess, discovery: dict, device_code: str):
    """One poll of the token endpoint (grant_type device_code) with Authlib; returns the token
    or raises Authlib's OAuthError (its .error is authorization_pending, slow_down, ...)."""
    from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
    return sess.fetch_token(discovery["token_endpoint"], grant_type=DEVICE_CODE_GRANT_TYPE,
                            device_code=device_code)


def device_flow_tokens(server: AMServer, sess, discovery: dict, username: str, password: str,
                       scope: str | None = "openid profile") -> dict:
    """The whole device flow as a well-behaved client runs it: authorize, poll once (pending),
    the user approves on the page, wait `interval`, poll again → tokens."""
    from authlib.integrations.base_client import OAuthError

    grant = device_authorize(sess, discovery, scope)
    try:
        poll_device(sess, discovery, grant["device_code"])
        raise AssertionError("the first poll gave tokens before the user approved")
    except OAuthError as error:
        assert error.error == "authorization_pending", f"first poll: {error.error} {error.description}"
    VerificationBrowser(server).approve(grant["user_code"], username, password)
    interval = int(grant["interval"])
    deadline = time.monotonic() + 60
    while True:
        time.sleep(interval)
        try:
            return dict(poll_device(sess, discovery, grant["device_code"]))
        except OAuthError as error:
            if error.error == "slow_down":
                interval += 5
            elif error.error != "authorization_pending" or time.monotonic() > deadline:
                raise AssertionError(f"polling after approval: {error.error} {error.description}")
