"""JWS/JWT interop both ways with PyJWT and cryptography (code nobody here wrote).

- PyJWT verifies ES256 and HS256 tokens that `iecutil token sign` made, with the
  JWKS that `iecutil jwks` printed.
- `iecutil token verify` accepts PyJWT's tokens and rejects forged ones, each with
  exit code 1 and `token rejected: <reason>` on stderr.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from helpers import b64url, b64url_decode, rfc7638_thumbprint

ISS = "https://iec-am.test/oauth2/realms/root/realms/edge"
AUD = "iec-interop"


def claims(**extra):
    now = int(time.time())
    base = {"iss": ISS, "sub": "gateway-7", "aud": AUD, "iat": now, "exp": now + 300,
            "nonce": secrets.token_urlsafe(8)}
    base.update(extra)
    return base


def compact(header: dict, payload: dict, signature: bytes = b"") -> str:
    enc = lambda obj: b64url(json.dumps(obj, separators=(",", ":")).encode())
    return f"{enc(header)}.{enc(payload)}.{b64url(signature)}"


def hs256(header: dict, payload: dict, secret: bytes) -> str:
    unsigned = compact(header, payload).rsplit(".", 1)[0]
    mac = hmac.new(secret, unsigned.encode("ascii"), hashlib.sha256).digest()
    return f"{unsigned}.{b64url(mac)}"


def assert_rejected(r):
    assert r.returncode == 1, f"expected exit code 1, got {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert "token rejected:" in r.stderr, r.stderr
    reason = r.stderr.split("token rejected:", 1)[1].strip()
    assert reason, "a rejection must say why"
    assert r.stdout.strip() == "", "no claims may be printed for a rejected token"


# --- iecutil signs, PyJWT verifies ---------------------------------------------------

@pytest.fixture
def signer(iecutil, tmp_path, p256_key):
    pem, made = p256_key
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(iecutil.ok("jwks", pem).stdout)
    return pem, made["jwk"]["kid"], jwks_file


def test_pyjwt_verifies_iecutil_es256_with_iecutil_jwks(iecutil, signer):
    pem, kid, jwks_file = signer
    c = claims()
    token = iecutil.ok("token", "sign", "--key", pem, "--claims", json.dumps(c)).stdout.strip()

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == kid
    key = jwt.PyJWKSet.from_dict(json.loads(jwks_file.read_text()))[header["kid"]]
    decoded = jwt.decode(token, key.key, algorithms=["ES256"], audience=AUD, issuer=ISS,
                         options={"require": ["exp", "iss", "aud"]})
    assert decoded == c

    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key.key, algorithms=["ES256"], audience="someone-else", issuer=ISS)
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(token, key.key, algorithms=["ES256"], audience=AUD, issuer="https://evil.test")


def test_es256_signature_is_raw_r_s_and_verifies_with_cryptography(iecutil, signer):
    pem, kid, _ = signer
    token = iecutil.ok("token", "sign", "--key", pem, "--claims", json.dumps(claims())).stdout.strip()
    head, body, sig = token.split(".")
    raw = b64url_decode(sig)
    assert len(raw) == 64, "ES256 JWS signatures are R||S, 64 bytes (RFC 7518 3.4)"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = serialization.load_pem_private_key(pem.read_bytes(), password=None).public_key()
    public.verify(der, f"{head}.{body}".encode("ascii"), ec.ECDSA(hashes.SHA256()))


def test_pyjwt_picks_the_right_key_from_a_two_key_jwks(iecutil, tmp_path):
    pems = []
    for name in ("old", "new"):
        pem = tmp_path / f"{name}.pem"
        iecutil.ok("keygen", "p256", "--private-key-out", pem)
        pems.append(pem)
    jwkset = jwt.PyJWKSet.from_dict(iecutil.ok("jwks", *pems).json())
    for pem in pems:
        c = claims()
        token = iecutil.ok("token", "sign", "--key", pem, "--claims", json.dumps(c)).stdout.strip()
        kid = jwt.get_unverified_header(token)["kid"]
        assert jwt.decode(token, jwkset[kid].key, algorithms=["ES256"], audience=AUD, issuer=ISS) == c


def test_claims_from_file(iecutil, signer, tmp_path):
    pem, _, jwks_file = signer
    c = claims(scope="read write")
    f = tmp_path / "claims.json"
    f.write_text(json.dumps(c))
    token = iecutil.ok("token", "sign", "--key", pem, "--claims", f"@{f}").stdout.strip()
    key = jwt.PyJWKSet.from_dict(json.loads(jwks_file.read_text()))[jwt.get_unverified_header(token)["kid"]]
    assert jwt.decode(token, key.key, algorithms=["ES256"], audience=AUD) == c


def test_pyjwt_rejects_an_expired_iecutil_token(iecutil, signer):
    pem, kid, jwks_file = signer
    c = claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    token = iecutil.ok("token", "sign", "--key", pem, "--claims", json.dumps(c)).stdout.strip()
    key = jwt.PyJWKSet.from_dict(json.loads(jwks_file.read_text()))[kid]
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, key.key, algorithms=["ES256"], audience=AUD)


# --- PyJWT signs, iecutil verifies ---------------------------------------------------

@pytest.fixture
def py_key(tmp_path):
    """A P-256 key made by `cryptography`, published as a JWKS written from PyJWT's to_jwk."""
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk["kid"] = rfc7638_thumbprint(jwk)
    jwk["use"] = "sig"
    jwk["alg"] = "ES256"
    jwks_file = tmp_path / "py-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    return private, jwk, jwks_file


def py_es256(private, kid, payload, **headers):
    return jwt.encode(payload, private, algorithm="ES256", headers={"kid": kid, **headers})


def test_iecutil_verifies_pyjwt_es256(iecutil, py_key):
    private, jwk, jwks_file = py_key
    c = claims()
    token = py_es256(private, jwk["kid"], c)
    r = iecutil.ok("token", "verify", token, "--jwks", jwks_file, "--issuer", ISS, "--audience", AUD)
    assert r.json() == c


def test_iecutil_verifies_token_from_stdin(iecutil, py_key):
    private, jwk, jwks_file = py_key
    c = claims()
    r = iecutil.ok("token", "verify", "--jwks", jwks_file, input=py_es256(private, jwk["kid"], c) + "\n")
    assert r.json() == c


def test_iecutil_accepts_audience_in_an_array(iecutil, py_key):
    private, jwk, jwks_file = py_key
    c = claims(aud=["other", AUD])
    r = iecutil.ok("token", "verify", py_es256(private, jwk["kid"], c), "--jwks", jwks_file, "--audience", AUD)
    assert r.json() == c


def test_iecutil_verifies_against_a_jwks_url(iecutil, py_key):
    private, jwk, jwks_file = py_key
    body = jwks_file.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/oauth2/connect/jwk_uri"
        c = claims()
        r = iecutil.ok("token", "verify", py_es256(private, jwk["kid"], c), "--jwks", url, "--audience", AUD)
        assert r.json() == c
    finally:
        server.shutdown()
        server.server_close()


def test_leeway(iecutil, py_key):
    private, jwk, jwks_file = py_key
    now = int(time.time())
    token = py_es256(private, jwk["kid"], claims(iat=now - 100, exp=now - 30))
    assert_rejected(iecutil.run("token", "verify", token, "--jwks", jwks_file, "--leeway", "0"))
    iecutil.ok("token", "verify", token, "--jwks", jwks_file, "--leeway", "120")


# Forged and broken tokens: each one exit code 1 and a reason, never a crash.

def _other_key_same_kid(private, jwk):
    return py_es256(ec.generate_private_key(ec.SECP256R1()), jwk["kid"], claims())


def _other_key_other_kid(private, jwk):
    other = ec.generate_private_key(ec.SECP256R1())
    other_jwk = jwt.algorithms.ECAlgorithm.to_jwk(other.public_key(), as_dict=True)
    return py_es256(other, rfc7638_thumbprint(other_jwk), claims())


def _tampered_payload(private, jwk):
    head, body, sig = py_es256(private, jwk["kid"], claims()).split(".")
    payload = json.loads(b64url_decode(body))
    payload["sub"] = "admin"
    return ".".join([head, b64url(json.dumps(payload, separators=(",", ":")).encode()), sig])


def _tampered_signature(private, jwk):
    head, body, sig = py_es256(private, jwk["kid"], claims()).split(".")
    raw = bytearray(b64url_decode(sig))
    raw[10] ^= 0x01
    return ".".join([head, body, b64url(bytes(raw))])


def _expired(private, jwk):
    now = int(time.time())
    return py_es256(private, jwk["kid"], claims(iat=now - 7200, exp=now - 3600))


def _not_yet_valid(private, jwk):
    now = int(time.time())
    return py_es256(private, jwk["kid"], claims(nbf=now + 3600, exp=now + 7200))


def _alg_none(private, jwk):
    return compact({"alg": "none", "typ": "JWT", "kid": jwk["kid"]}, claims())


def _alg_none_with_signature(private, jwk):
    head, body, sig = py_es256(private, jwk["kid"], claims()).split(".")
    none_head = b64url(json.dumps({"alg": "none", "kid": jwk["kid"]}).encode())
    return f"{none_head}.{body}.{sig}"


def _hs256_with_jwk_json_as_secret(private, jwk):
    """Algorithm confusion: HMAC keyed with the public key, as a naive verifier would."""
    secret = json.dumps({"keys": [jwk]}).encode()
    return hs256({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}, claims(), secret)


def _hs256_with_single_jwk_json_as_secret(private, jwk):
    secret = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return hs256({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}, claims(), secret)


def _hs256_with_public_pem_as_secret(private, jwk):
    secret = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hs256({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}, claims(), secret)


def _es384_header(private, jwk):
    head, body, sig = py_es256(private, jwk["kid"], claims()).split(".")
    return f"{b64url(json.dumps({'alg': 'ES384', 'kid': jwk['kid']}).encode())}.{body}.{sig}"


def _truncated(private, jwk):
    return py_es256(private, jwk["kid"], claims())[:-20]


def _two_segments(private, jwk):
    return ".".join(py_es256(private, jwk["kid"], claims()).split(".")[:2])


def _garbage(private, jwk):
    return "!!!.@@@.###"


def _short_signature(private, jwk):
    head, body, _ = py_es256(private, jwk["kid"], claims()).split(".")
    return f"{head}.{body}.AAAA"


FORGERIES = {
    "signed by another key (same kid)": _other_key_same_kid,
    "signed by another key (unknown kid)": _other_key_other_kid,
    "tampered payload": _tampered_payload,
    "tampered signature": _tampered_signature,
    "expired": _expired,
    "not yet valid (nbf)": _not_yet_valid,
    "alg none": _alg_none,
    "alg none keeping the signature": _alg_none_with_signature,
    "HS256 keyed with the JWKS JSON": _hs256_with_jwk_json_as_secret,
    "HS256 keyed with the JWK JSON": _hs256_with_single_jwk_json_as_secret,
    "HS256 keyed with the public PEM": _hs256_with_public_pem_as_secret,
    "ES384 header on an ES256 signature": _es384_header,
    "truncated": _truncated,
    "two segments": _two_segments,
    "garbage": _garbage,
    "3-byte signature": _short_signature,
}


@pytest.mark.parametrize("make_token", FORGERIES.values(), ids=FORGERIES.keys())
def test_iecutil_rejects(iecutil, py_key, make_token):
    private, jwk, jwks_file = py_key
    token = make_token(private, jwk)
    assert_rejected(iecutil.run("token", "verify", token, "--jwks", jwks_file))


def test_iecutil_rejects_wrong_audience(iecutil, py_key):
    private, jwk, jwks_file = py_key
    token = py_es256(private, jwk["kid"], claims())
    assert_rejected(iecutil.run("token", "verify", token, "--jwks", jwks_file, "--audience", "someone-else"))


def test_iecutil_rejects_missing_audience_when_one_is_required(iecutil, py_key):
    private, jwk, jwks_file = py_key
    c = claims()
    del c["aud"]
    assert_rejected(iecutil.run("token", "verify", py_es256(private, jwk["kid"], c),
                                "--jwks", jwks_file, "--audience", AUD))


def test_iecutil_rejects_wrong_issuer(iecutil, py_key):
    private, jwk, jwks_file = py_key
    token = py_es256(private, jwk["kid"], claims())
    assert_rejected(iecutil.run("token", "verify", token, "--jwks", jwks_file, "--issuer", "https://evil.test"))


# --- HS256 both ways -----------------------------------------------------------------

@pytest.fixture
def hmac_secret(tmp_path):
    secret = secrets.token_urlsafe(48)  # printable, no trailing newline in the file
    f = tmp_path / "vendor-secret"
    f.write_text(secret)
    return secret, f


def test_pyjwt_verifies_iecutil_hs256(iecutil, hmac_secret):
    secret, f = hmac_secret
    c = claims()
    token = iecutil.ok("token", "sign", "--alg", "HS256", "--hmac-secret-file", f,
                       "--claims", json.dumps(c)).stdout.strip()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert jwt.decode(token, secret, algorithms=["HS256"], audience=AUD, issuer=ISS) == c
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, secret + "x", algorithms=["HS256"], audience=AUD)


def test_iecutil_verifies_pyjwt_hs256(iecutil, hmac_secret):
    secret, f = hmac_secret
    c = claims()
    token = jwt.encode(c, secret, algorithm="HS256")
    r = iecutil.ok("token", "verify", token, "--hmac-secret-file", f, "--issuer", ISS, "--audience", AUD)
    assert r.json() == c


def test_iecutil_rejects_hs256_with_another_secret(iecutil, hmac_secret):
    _, f = hmac_secret
    token = jwt.encode(claims(), secrets.token_urlsafe(48), algorithm="HS256")
    assert_rejected(iecutil.run("token", "verify", token, "--hmac-secret-file", f))


def test_iecutil_rejects_es256_token_given_an_hmac_secret(iecutil, hmac_secret, py_key):
    _, f = hmac_secret
    private, jwk, _ = py_key
    assert_rejected(iecutil.run("token", "verify", py_es256(private, jwk["kid"], claims()),
                                "--hmac-secret-file", f))


# --- decode --------------------------------------------------------------------------

def test_decode_prints_header_and_claims_and_warns(iecutil, py_key):
    private, jwk, _ = py_key
    c = claims()
    token = py_es256(private, jwk["kid"], c)
    for r in (iecutil.ok("token", "decode", token), iecutil.ok("token", "decode", input=token + "\n")):
        out = r.json()
        assert out["claims"] == c
        assert out["header"]["alg"] == "ES256" and out["header"]["kid"] == jwk["kid"]
        assert "not verified" in r.stderr.lower(), r.stderr


def test_decode_garbage_fails_cleanly(iecutil):
    r = iecutil.run("token", "decode", "not-a-token")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.strip()


def test_hmac_secret_file_trailing_newline_is_not_part_of_the_secret(iecutil, tmp_path):
    secret = secrets.token_urlsafe(48)
    f = tmp_path / "secret-with-newline"
    f.write_text(secret + "\n")
    c = claims()
    token = iecutil.ok("token", "sign", "--alg", "HS256", "--hmac-secret-file", f,
                       "--claims", json.dumps(c)).stdout.strip()
    assert jwt.decode(token, secret, algorithms=["HS256"], audience=AUD) == c
