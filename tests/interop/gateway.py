"""A small gateway client for iec-am's IEC realm service, written from docs/protocol-am.md.

It does what an Identity Edge Controller does towards AM, over real HTTP and
with code none of which comes from OpenIEC's Swift sources:

- keys: EC P-256 made by `cryptography`; JWS (ES256, raw r||s signatures) and
  HS256 JWTs are assembled here by hand, so that the tests can also craft the
  wrong ones (another key, a stale nonce, a foreign session);
- registration (`device_registration`) and authentication (`device_authentication`)
  in AM's callback shape; the challenge is checked with PyJWT against
  `am_public_key` (base64 SPKI from `iec-am setup --iec-config-out`) before the
  gateway answers it, as a real gateway must;
- the proof-of-possession JWT (sub, aud, iat, exp, nonce, cnf.jwk) and the
  registration ID token (HS256 with the vendor secret);
- the session (cookie jar and `iPlanetDirectoryPro` header), validate, logout;
- commands: a JWS with `command`, `id`, `params`, `aud` = the command URL,
  a strictly increasing `nonce` and `csrf` = the session token;
- JWT-bearer assertions signed by a node's own key for GET_TOKENS.

`IECAdmin` wraps the admin API of identities, scripts and settings;
`start_iec_am()` sets up and starts an iec-am that also writes the gateway's
`iec-config.json` values.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from am_server import AMServer
from helpers import b64url, b64url_decode, rfc7638_thumbprint

REGISTRATION = "device_registration"
AUTHENTICATION = "device_authentication"
CB_REGISTRATION = "jwt-pop-registration"
CB_AUTHENTICATION = "jwt-pop-authentication"
CB_ID_TOKEN = "jwt-id-token"
#: The challenge lifetime the contract gives (docs/protocol-am.md: `exp` (60 s)).
CHALLENGE_LIFETIME = 60


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


# --- keys and JWS ---------------------------------------------------------------------


class NodeKey:
    """A node's EC P-256 key pair (gateway, client app or device)."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.private_key.public_key().public_numbers()
        self.public_jwk = {"kty": "EC", "crv": "P-256",
                           "x": b64url(numbers.x.to_bytes(32, "big")),
                           "y": b64url(numbers.y.to_bytes(32, "big"))}
        self.kid = rfc7638_thumbprint(self.public_jwk)

    def jwk(self, with_kid: bool = False) -> dict:
        """The public JWK to register (optionally with kid = its RFC 7638 thumbprint)."""
        out = dict(self.public_jwk)
        if with_kid:
            out.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        return out

    def sign(self, claims: dict | bytes, header: dict | None = None, kid: bool = False) -> str:
        """A compact JWS (ES256) over `claims` (a dict, or the payload bytes as they are)."""
        head = {"alg": "ES256", **(header or {})}
        if kid:
            head["kid"] = self.kid
        payload = claims if isinstance(claims, bytes) else _json_bytes(claims)
        signing_input = f"{b64url(_json_bytes(head))}.{b64url(payload)}".encode("ascii")
        der = self.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input.decode("ascii") + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def hs256(claims: dict, secret: bytes, header: dict | None = None) -> str:
    """A compact JWS (HS256) over `claims`."""
    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    signing_input = f"{b64url(_json_bytes(head))}.{b64url(_json_bytes(claims))}".encode("ascii")
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return signing_input.decode("ascii") + "." + b64url(mac)


def unverified_claims(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


# --- configuration --------------------------------------------------------------------


@dataclass
class IECConfig:
    """What a gateway's iec-config.json says about AM (from `iec-am setup --iec-config-out`)."""

    url: str
    realm: str
    am_public_key: str
    cookie_name: str
    registration_chain: str
    authentication_chain: str
    id_token_issuer: str
    id_token_audience: str
    vendor_secret: str
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> "IECConfig":
        raw = json.loads(Path(path).read_text())
        am = raw["am_configuration"]
        iec = raw["iec_configuration"]

        def id_token(name: str) -> str:
            # The seed's file spells the keys with a dot ("id_token_config.issuer");
            # a nested object is accepted too.
            if f"id_token_config.{name}" in iec:
                return iec[f"id_token_config.{name}"]
            return iec["id_token_config"][name]

        return cls(url=am["url"].rstrip("/"), realm=am["realm"], am_public_key=am["am_public_key"],
                   cookie_name=am.get("cookie_name", "iPlanetDirectoryPro"),
                   registration_chain=am.get("registration_chain", REGISTRATION),
                   authentication_chain=am.get("authentication_chain", AUTHENTICATION),
                   id_token_issuer=id_token("issuer"), id_token_audience=id_token("audience"),
                   vendor_secret=id_token("vendor_secret"), raw=raw)

    @property
    def realm_name(self) -> str:
        return self.realm.strip("/")

    @property
    def realm_url(self) -> str:
        """`BASE/json/realms/root/realms/{realm}`: the challenge's and the PoP's audience."""
        return f"{self.url}/json/realms/root/realms/{self.realm_name}"

    @property
    def realm_issuer(self) -> str:
        return f"{self.url}/oauth2/realms/root/realms/{self.realm_name}"

    @property
    def command_url(self) -> str:
        return self.realm_url + "/iec?_action=command"

    def challenge_public_key(self):
        return serialization.load_der_public_key(base64.b64decode(self.am_public_key))


# --- AM-shaped errors -----------------------------------------------------------------


def am_error(response: requests.Response, status: int | None = None) -> str:
    """The `message` of an AM-shaped error (`{"code", "reason", "message"}`), shape checked."""
    where = f"{response.request.method} {response.request.url}"
    if status is not None:
        assert response.status_code == status, (
            f"{where}: expected HTTP {status}, got {response.status_code}: {response.text[:500]}")
    ctype = response.headers.get("Content-Type", "")
    assert "application/json" in ctype, f"{where}: error should be JSON, got {ctype!r}: {response.text[:300]}"
    body = response.json()
    assert body.get("code") == response.status_code, f"{where}: code should be {response.status_code}: {body}"
    assert isinstance(body.get("reason"), str) and body["reason"], f"{where}: no reason: {body}"
    assert isinstance(body.get("message"), str) and body["message"], f"{where}: no message: {body}"
    return body["message"]


class CommandFailed(AssertionError):
    def __init__(self, command: str, response: requests.Response):
        self.command = command
        self.response = response
        super().__init__(f"command {command}: HTTP {response.status_code}: {response.text[:600]}")


# --- the gateway ----------------------------------------------------------------------


@dataclass
class AuthStep:
    """Step 1 of a chain: AM's answer, and the challenge in it (verified)."""

    chain: str
    body: dict
    challenge: str
    claims: dict

    @property
    def nonce(self) -> str:
        return self.claims["nonce"]


class Gateway:
    """One Identity Edge Controller: its name and key, its session, its nonce counter, its nodes."""

    def __init__(self, config: IECConfig, name: str | None = None, key: NodeKey | None = None,
                 kid_in_headers: bool = False, timeout: float = 30):
        self.config = config
        self.name = name or "gw-" + secrets.token_hex(5)
        self.key = key or NodeKey()
        self.kid_in_headers = kid_in_headers
        self.timeout = timeout
        self.http = requests.Session()
        self.session_token: str | None = None
        self.last_nonce = 0
        self.node_keys: dict[str, NodeKey] = {}

    # --- chains ---

    def begin(self, chain: str, verify: bool = True) -> AuthStep:
        """Step 1: POST with no body; returns the callbacks with the challenge checked."""
        r = self.http.post(self.config.realm_url + "/authenticate", timeout=self.timeout,
                           params={"authIndexType": "service", "authIndexValue": chain})
        assert r.status_code == 200, f"{chain} step 1: HTTP {r.status_code}: {r.text[:500]}"
        body = r.json()
        assert isinstance(body.get("authId"), str) and body["authId"], f"{chain} step 1 has no authId: {body}"
        want = CB_REGISTRATION if chain == REGISTRATION else CB_AUTHENTICATION
        challenge = callback_output(body, want)
        assert challenge, f"{chain} step 1 has no {want} callback with a challenge: {body}"
        if chain == REGISTRATION:
            assert callback_output(body, CB_ID_TOKEN) is not None, f"registration lacks {CB_ID_TOKEN}: {body}"
        claims = self.verify_challenge(challenge, chain) if verify else unverified_claims(challenge)
        return AuthStep(chain, body, challenge, claims)

    def verify_challenge(self, challenge: str, chain: str | None = None, verify_exp: bool = True) -> dict:
        """What a gateway does before answering: ES256 with am_public_key, iss, aud, times, nonce."""
        header = jwt.get_unverified_header(challenge)
        assert header.get("alg") == "ES256", f"the challenge should be ES256: {header}"
        claims = jwt.decode(challenge, self.config.challenge_public_key(), algorithms=["ES256"],
                            audience=self.config.realm_url, issuer=self.config.realm_issuer,
                            options={"require": ["iss", "aud", "nonce", "iat", "exp"],
                                     "verify_exp": verify_exp}, leeway=5)
        assert isinstance(claims["nonce"], str) and len(claims["nonce"]) >= 16, f"weak nonce: {claims}"
        assert 0 < claims["exp"] - claims["iat"] <= CHALLENGE_LIFETIME, f"challenge lifetime: {claims}"
        if chain is not None and "chain" in claims:
            assert claims["chain"] == chain, f"challenge names chain {claims['chain']}, asked {chain}"
        return claims

    def pop(self, nonce: str, *, registration: bool, key: NodeKey | None = None,
            cnf_key: NodeKey | None = None, sub: str | None = None, lifetime: int = 120,
            aud: str | None = None, extra: dict | None = None) -> str:
        """The proof-of-possession JWT: signed by `key` (default the gateway's), cnf.jwk of `cnf_key`."""
        now = int(time.time())
        claims = {"sub": sub or self.name, "aud": aud or self.config.realm_url, "iat": now,
                  "exp": now + lifetime, "nonce": nonce, **(extra or {})}
        if registration:
            claims["cnf"] = {"jwk": (cnf_key or self.key).jwk(self.kid_in_headers)}
        return (key or self.key).sign(claims, {"typ": "JWT"}, kid=self.kid_in_headers)

    def registration_id_token(self, sub: str | None = None, secret: str | None = None,
                              lifetime: int = 120, issuer: str | None = None,
                              audience: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": issuer or self.config.id_token_issuer,
                  "aud": [audience or self.config.id_token_audience],
                  "sub": sub or self.name, "iat": now, "exp": now + lifetime}
        return hs256(claims, (secret if secret is not None else self.config.vendor_secret).encode("utf-8"))

    def answer(self, step: AuthStep, pop: str, id_token: str | None = None) -> requests.Response:
        """Step 2: the step-1 body with IDToken1 (and IDToken2) filled, posted back."""
        body = copy.deepcopy(step.body)
        fill_callback(body, CB_REGISTRATION if step.chain == REGISTRATION else CB_AUTHENTICATION, pop)
        if id_token is not None:
            fill_callback(body, CB_ID_TOKEN, id_token)
        return self.http.post(self.config.realm_url + "/authenticate", json=body, timeout=self.timeout,
                              params={"authIndexType": "service", "authIndexValue": step.chain})

    def _take_session(self, r: requests.Response, what: str) -> str:
        assert r.status_code == 200, f"{what} of {self.name}: HTTP {r.status_code}: {r.text[:500]}"
        body = r.json()
        token = body.get("tokenId")
        assert isinstance(token, str) and token, f"{what}: no tokenId: {body}"
        assert body.get("realm") == self.config.realm, f"{what}: realm should be {self.config.realm}: {body}"
        cookie = self.http.cookies.get(self.config.cookie_name)
        assert cookie == token, f"{what}: the {self.config.cookie_name} cookie should carry the session: {r.headers}"
        self.session_token = token
        return token

    def register(self) -> str:
        """device_registration: challenge checked, PoP with cnf.jwk, ID token; returns the session."""
        step = self.begin(REGISTRATION)
        r = self.answer(step, self.pop(step.nonce, registration=True), self.registration_id_token())
        return self._take_session(r, "registration")

    def authenticate(self) -> str:
        """device_authentication: the same challenge answered with a PoP the stored key verifies."""
        step = self.begin(AUTHENTICATION)
        r = self.answer(step, self.pop(step.nonce, registration=False))
        return self._take_session(r, "authentication")

    def validate_session(self, token: str | None = None) -> dict:
        r = requests.post(self.config.realm_url + "/sessions", params={"_action": "validate"},
                          headers={self.config.cookie_name: token or self.session_token}, timeout=self.timeout)
        assert r.status_code == 200, f"session validate: HTTP {r.status_code}: {r.text[:300]}"
        return r.json()

    def logout(self) -> requests.Response:
        return requests.post(self.config.realm_url + "/sessions", params={"_action": "logout"},
                             headers={self.config.cookie_name: self.session_token}, timeout=self.timeout)

    # --- commands ---

    def next_nonce(self) -> int:
        self.last_nonce += 1
        return self.last_nonce

    def command_jws(self, command: str, params: dict | None = None, *, id: str | None = None,
                    nonce: int | None = None, key: NodeKey | None = None, csrf: str | None = None,
                    aud: str | None = None) -> str:
        claims: dict[str, Any] = {"command": command, "params": params or {},
                                  "aud": aud or self.config.command_url,
                                  "nonce": nonce if nonce is not None else self.next_nonce(),
                                  "csrf": csrf if csrf is not None else self.session_token,
                                  "iat": int(time.time())}
        if id is not None:
            claims["id"] = id
        return (key or self.key).sign(claims, {"typ": "JWT"}, kid=self.kid_in_headers)

    def post_command(self, body: str, session: str | None = None) -> requests.Response:
        """POSTs a command JWS with the session header (and the cookie from the jar)."""
        token = session if session is not None else self.session_token
        return self.http.post(self.config.command_url, data=body.encode("ascii"), timeout=self.timeout,
                              headers={self.config.cookie_name: token, "Content-Type": "application/jose",
                                       "Accept-API-Version": "resource=1.0, protocol=2.1"})

    def command(self, command: str, params: dict | None = None, **kwargs) -> requests.Response:
        session = kwargs.pop("session", None)
        return self.post_command(self.command_jws(command, params, **kwargs), session=session)

    def ok(self, command: str, params: dict | None = None, **kwargs) -> Any:
        r = self.command(command, params, **kwargs)
        if r.status_code != 200:
            raise CommandFailed(command, r)
        return r.json()

    # --- nodes ---

    def register_client(self, client_id: str, key: NodeKey | None = None) -> dict:
        key = key or NodeKey()
        self.node_keys[client_id] = key
        return self.ok("REGISTER_CLIENT", {"id": client_id, "jwk": key.jwk(self.kid_in_headers)})

    def register_device(self, device_id: str, client_id: str, registration_data: Any = None,
                        key: NodeKey | None = None) -> dict:
        key = key or NodeKey()
        self.node_keys[device_id] = key
        params: dict[str, Any] = {"id": device_id, "client": client_id, "jwk": key.jwk(self.kid_in_headers)}
        if registration_data is not None:
            params["registration_data"] = registration_data
        return self.ok("REGISTER_DEVICE", params)

    def assertion(self, node_id: str, audience: str, key: NodeKey | None = None, lifetime: int = 120) -> str:
        """A JWT-bearer assertion (RFC 7523) made by the node with its own key."""
        now = int(time.time())
        claims = {"iss": node_id, "sub": node_id, "aud": audience, "iat": now, "exp": now + lifetime,
                  "jti": secrets.token_urlsafe(16)}
        return (key or self.node_keys[node_id]).sign(claims, {"typ": "JWT"}, kid=self.kid_in_headers)

    def get_tokens(self, node_id: str, token_endpoint: str, scope: str | None = "openid",
                   key: NodeKey | None = None, **kwargs) -> requests.Response:
        params = {"id": node_id, "assertion": self.assertion(node_id, token_endpoint, key)}
        if scope:
            params["scope"] = scope
        return self.command("GET_TOKENS", params, id=node_id, **kwargs)


def callback_output(body: dict, callback_id: str) -> str | None:
    """The `value` output of the HiddenValueCallback whose `id` output is `callback_id`."""
    for cb in body.get("callbacks", []):
        outputs = {o.get("name"): o.get("value") for o in cb.get("output", [])}
        if outputs.get("id") == callback_id:
            assert cb.get("type") == "HiddenValueCallback", f"callback {callback_id} type: {cb}"
            return outputs.get("value", "")
    return None


def fill_callback(body: dict, callback_id: str, value: str) -> None:
    for cb in body.get("callbacks", []):
        outputs = {o.get("name"): o.get("value") for o in cb.get("output", [])}
        if outputs.get("id") == callback_id:
            cb["input"][0]["value"] = value
            return
    raise AssertionError(f"no callback {callback_id} to fill: {body}")


# --- admin API of the IEC service -----------------------------------------------------


class IECAdmin:
    """The admin REST of identities, scripts and settings (docs/protocol-am.md), as the admin."""

    def __init__(self, server: AMServer, realm: str = "edge"):
        self.server = server
        self.base = f"/json/realms/root/realms/{realm}/iec"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.server.admin(method, self.base + path, **kwargs)

    def _ok(self, r: requests.Response, what: str, status: tuple[int, ...] = (200,)) -> Any:
        assert r.status_code in status, f"admin {what}: HTTP {r.status_code}: {r.text[:500]}"
        return r.json()

    def identities(self, **filters) -> dict:
        return self._ok(self.call("GET", "/identities", params=filters), f"list identities {filters}")

    def all_identities(self, **filters) -> list[dict]:
        out: list[dict] = []
        cookie = None
        for _ in range(1000):
            params = {"_pageSize": 100, **filters}
            if cookie:
                params["_pagedResultsCookie"] = cookie
            page = self.identities(**params)
            out.extend(page["result"])
            cookie = page.get("pagedResultsCookie")
            if not cookie:
                return out
        raise AssertionError("the identities listing never ended")

    def identity(self, node_id: str) -> dict:
        return self._ok(self.call("GET", f"/identities/{node_id}"), f"read identity {node_id}")

    def set_configuration(self, node_id: str, configuration: dict) -> dict:
        return self._ok(self.call("PUT", f"/identities/{node_id}/configuration", json=configuration),
                        f"configure {node_id}")

    def action(self, node_id: str, action: str) -> dict:
        return self._ok(self.call("POST", f"/identities/{node_id}", params={"_action": action}),
                        f"{action} {node_id}")

    def put_script(self, name: str, source: str, kind: str = "command",
                   description: str = "interop test script") -> requests.Response:
        return self.call("PUT", f"/scripts/{name}", json={"source": source, "kind": kind,
                                                          "description": description})

    def settings(self) -> dict:
        return self._ok(self.call("GET", "/settings"), "read settings")

    def put_settings(self, changes: dict) -> dict:
        return self._ok(self.call("PUT", "/settings", json=changes), f"put settings {list(changes)}")

    def map_commands(self, mapping: dict[str, str]) -> dict:
        """Adds command → script mappings, keeping the existing ones."""
        current = dict(self.settings().get("command_scripts") or {})
        current.update(mapping)
        return self.put_settings({"command_scripts": current})


# --- the server -----------------------------------------------------------------------


def start_iec_am(binary: Path, **kwargs) -> tuple[AMServer, IECConfig]:
    """`iec-am setup --iec-config-out F` then `iec-am serve`; returns the server and F's values.

    The caller closes the server (`server.close()`)."""
    server = AMServer(binary, **kwargs)
    try:
        out = server.root / "iec-config.json"
        server.setup("--iec-config-out", out)
        mode = out.stat().st_mode & 0o777
        assert mode == 0o600, f"--iec-config-out should write mode 0600 (it holds the vendor secret), got {mode:o}"
        config = IECConfig.load(out)
        assert config.url == server.base_url, f"am_configuration.url {config.url} != {server.base_url}"
        assert config.realm == "/edge", f"am_configuration.realm: {config.realm}"
        assert config.vendor_secret, "iec_configuration has no vendor secret"
        server.start()
    except BaseException:
        server.close()
        raise
    return server, config
