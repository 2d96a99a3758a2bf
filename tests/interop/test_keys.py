"""Keys made by iecutil, checked by pyzmq, cryptography and a Python RFC 7638 thumbprint."""

from __future__ import annotations

import json
import os
import stat

import pytest
import zmq
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpers import b64url, b64url_decode, rfc7638_thumbprint

Z85_ALPHABET = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


# --- CURVE (ZeroMQ) ---------------------------------------------------------------

def test_curve_keypair_shape(iecutil):
    out = iecutil.ok("keygen", "curve").json()
    assert set(out) == {"public_key", "secret_key"}
    for name in ("public_key", "secret_key"):
        assert len(out[name]) == 40, name
        assert set(out[name]) <= Z85_ALPHABET, name
    assert out["public_key"] != out["secret_key"]


def test_pyzmq_derives_the_same_public_key_for_20_pairs(iecutil):
    seen = set()
    for _ in range(20):
        out = iecutil.ok("keygen", "curve").json()
        derived = zmq.curve_public(out["secret_key"].encode("ascii")).decode("ascii")
        assert derived == out["public_key"], out
        seen.add(out["secret_key"])
    assert len(seen) == 20, "keygen curve repeated a secret key"


def test_curve_handshake_with_pyzmq_over_loopback(iecutil):
    """A CURVE server keyed by iecutil talks to a pyzmq client keyed by pyzmq."""
    assert zmq.has("curve")
    server_keys = iecutil.ok("keygen", "curve").json()
    client_public, client_secret = zmq.curve_keypair()
    ctx = zmq.Context()
    try:
        server = ctx.socket(zmq.ROUTER)
        server.curve_server = True
        server.curve_secretkey = server_keys["secret_key"].encode("ascii")
        server.curve_publickey = server_keys["public_key"].encode("ascii")
        server.linger = 0
        port = server.bind_to_random_port("tcp://127.0.0.1")

        client = ctx.socket(zmq.DEALER)
        client.curve_serverkey = server_keys["public_key"].encode("ascii")
        client.curve_publickey = client_public
        client.curve_secretkey = client_secret
        client.linger = 0
        client.connect(f"tcp://127.0.0.1:{port}")

        client.send(b"ping")
        assert server.poll(5000), "CURVE handshake with iecutil's keys did not complete"
        ident, msg = server.recv_multipart()
        assert msg == b"ping"
        server.send_multipart([ident, b"pong"])
        assert client.poll(5000)
        assert client.recv() == b"pong"
    finally:
        ctx.destroy(linger=0)


# --- P-256 -------------------------------------------------------------------------

def _check_ec_jwk_matches(jwk: dict, public_key: ec.EllipticCurvePublicKey):
    numbers = public_key.public_numbers()
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert len(b64url_decode(jwk["x"])) == 32 and len(b64url_decode(jwk["y"])) == 32
    assert b64url(numbers.x.to_bytes(32, "big")) == jwk["x"]
    assert b64url(numbers.y.to_bytes(32, "big")) == jwk["y"]


def test_keygen_p256_stdout(iecutil):
    out = iecutil.ok("keygen", "p256").json()
    assert {"private_key_pem", "public_key_pem", "jwk"} <= set(out)
    private = serialization.load_pem_private_key(out["private_key_pem"].encode(), password=None)
    public = serialization.load_pem_public_key(out["public_key_pem"].encode())
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(private.curve, ec.SECP256R1)
    assert private.public_key().public_numbers() == public.public_numbers()
    jwk = out["jwk"]
    _check_ec_jwk_matches(jwk, public)
    assert jwk["use"] == "sig" and jwk["alg"] == "ES256"
    assert "d" not in jwk, "the printed JWK must be public only"


def test_keygen_p256_private_key_out_is_0600_and_not_printed(iecutil, tmp_path):
    pem = tmp_path / "gw.pem"
    r = iecutil.ok("keygen", "p256", "--private-key-out", pem)
    out = r.json()
    assert "private_key_pem" not in out
    assert "PRIVATE KEY" not in r.stdout
    mode = stat.S_IMODE(os.stat(pem).st_mode)
    assert mode == 0o600, oct(mode)
    private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    _check_ec_jwk_matches(out["jwk"], private.public_key())


def test_kid_is_the_rfc7638_thumbprint(iecutil, tmp_path):
    for i in range(5):
        pem = tmp_path / f"k{i}.pem"
        jwk = iecutil.ok("keygen", "p256", "--private-key-out", pem).json()["jwk"]
        assert jwk["kid"] == rfc7638_thumbprint(jwk)
        (published,) = iecutil.ok("jwks", pem).json()["keys"]
        assert published["kid"] == rfc7638_thumbprint(published) == jwk["kid"]


def test_jwks_public_only_and_several_files(iecutil, tmp_path):
    private_pem = tmp_path / "a.pem"
    a = iecutil.ok("keygen", "p256", "--private-key-out", private_pem).json()
    b = iecutil.ok("keygen", "p256").json()
    public_pem = tmp_path / "b.pub.pem"
    public_pem.write_text(b["public_key_pem"])

    r = iecutil.ok("jwks", private_pem, public_pem)
    assert "PRIVATE" not in r.stdout
    jwks = r.json()
    assert [k["kid"] for k in jwks["keys"]] == [a["jwk"]["kid"], b["jwk"]["kid"]]
    for key, made in zip(jwks["keys"], (a, b)):
        assert "d" not in key
        assert key["use"] == "sig" and key["alg"] == "ES256"
        for member in ("kty", "crv", "x", "y", "kid"):
            assert key[member] == made["jwk"][member], member


def test_jwks_thumbprint_for_a_key_cryptography_made(iecutil, tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "py.pem"
    pem.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (key,) = iecutil.ok("jwks", pem).json()["keys"]
    _check_ec_jwk_matches(key, private.public_key())
    assert key["kid"] == rfc7638_thumbprint(key)


@pytest.mark.parametrize("content", ["", "not a pem\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
                         ids=["empty", "text", "broken PEM body"])
def test_jwks_rejects_garbage_pem(iecutil, tmp_path, content):
    bad = tmp_path / "bad.pem"
    bad.write_text(content)
    r = iecutil.run("jwks", bad)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip()


def test_jwks_missing_file(iecutil, tmp_path):
    r = iecutil.run("jwks", tmp_path / "nope.pem")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.strip()
