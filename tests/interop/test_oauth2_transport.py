"""HTTP behaviour a deployment relies on, from outside: HTTPS when configured, request
timeouts (a slow client does not hold the server), keep-alive, request ids, and
single-use values staying single-use under concurrent requests (jti, device code,
refresh token).
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from am_server import (GRANT_DEVICE_CODE, GRANT_JWT_BEARER, GRANT_REFRESH, ClientKey, TokenVerifier,
                       VerificationBrowser, authlib_session, device_authorize, device_flow_tokens)


def self_signed(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)


def test_https_when_a_certificate_is_configured(am_factory, tmp_path):
    cert, key = self_signed(tmp_path)
    server = am_factory(start=False, server={"tls": {"certificate_file": cert, "key_file": key}})
    server.verify = cert
    server.start()
    discovery = server.discovery()
    assert discovery["issuer"].startswith("https://127.0.0.1:"), discovery["issuer"]
    r = server.sign_in()
    assert r.status_code == 200, r.text[:200]
    assert "secure" in [a.strip().lower() for a in r.headers["Set-Cookie"].split(";")], \
        f"the session cookie should be Secure under HTTPS: {r.headers['Set-Cookie']}"
    c = server.create_client()
    sess = authlib_session(discovery, c)
    # Per request: REQUESTS_CA_BUNDLE in the environment would override a session-wide verify.
    token = sess.fetch_token(grant_type="client_credentials", verify=cert)
    verifier = TokenVerifier(discovery, ssl_context=ssl.create_default_context(cafile=cert))
    verifier.access_token(token["access_token"], c["client_id"])
    # Plain HTTP on the TLS port gets no token endpoint.
    try:
        plain = requests.post(f"http://127.0.0.1:{server.port}/oauth2/realms/root/realms/edge/access_token",
                              data={"grant_type": "client_credentials"}, timeout=5)
        assert plain.status_code >= 400, plain.status_code
    except requests.RequestException:
        pass
    server.assert_live("plain HTTP on the TLS port")


def test_slow_client_is_timed_out_and_others_are_served(am_factory):
    server = am_factory(server={"connection_timeout_seconds": 2})
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    slow.sendall(b"POST /oauth2/realms/root/realms/edge/access_token HTTP/1.1\r\nHost: x\r\nContent-Le")
    start = time.monotonic()
    server.assert_live("a half-sent request")  # others are served meanwhile
    try:
        data = slow.recv(4096)
        while data:
            data = slow.recv(4096)
    except (ConnectionResetError, socket.timeout) as error:
        assert not isinstance(error, socket.timeout), "the half-sent request was never timed out"
    finally:
        slow.close()
    waited = time.monotonic() - start
    assert waited < 8, f"connection_timeout_seconds=2 but the connection stayed open {waited:.1f} s"
    server.assert_live("a timed-out connection")


def test_keep_alive_and_request_ids(am):
    with requests.Session() as s:
        first = s.get(am.url("/health/live"), headers={"X-Request-ID": "interop-req-1"}, timeout=10)
        assert first.headers.get("X-Request-ID") == "interop-req-1", first.headers
        second = s.get(am.url("/health/live"), timeout=10)
        assert second.headers.get("X-Request-ID"), "the server should make a request id when none is sent"
        assert second.headers["X-Request-ID"] != "interop-req-1"
        assert first.headers.get("Connection", "").lower() != "close", first.headers
    evil = requests.get(am.url("/health/live"), headers={"X-Request-ID": "bad id\twith <chars>"}, timeout=10)
    assert evil.headers.get("X-Request-ID") != "bad id\twith <chars>", "unsafe request ids must not be echoed"


def test_metrics_count_requests_by_route_and_status(am):
    requests.post(am.oauth2_url("/access_token"), data={"grant_type": "nope"}, timeout=10)
    text = requests.get(am.url("/metrics"), timeout=10).text
    lines = [line for line in text.splitlines() if "access_token" in line and not line.startswith("#")]
    assert lines, f"no metric names the token route:\n{text[:1500]}"
    assert any('"400"' in line for line in lines), f"no 400 counted for the token route: {lines[:10]}"


# --- single use under concurrency -------------------------------------------------------------


def parallel(n: int, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_replay_of_one_assertion_gives_one_token(am, am_discovery):
    from authlib.oauth2.rfc7523 import JWTBearerGrant
    key = ClientKey()
    client = am.create_client(method="private_key_jwt", grants=[GRANT_JWT_BEARER], jwks=key.jwks)
    now = int(time.time())
    assertion = JWTBearerGrant.sign(key.joserfc_key(), issuer=client["client_id"],
                                    audience=am_discovery["token_endpoint"], subject=client["client_id"],
                                    issued_at=now, expires_at=now + 300, claims={"jti": secrets.token_hex(16)},
                                    header={"alg": "ES256", "kid": key.kid})
    results = parallel(16, lambda i: requests.post(am_discovery["token_endpoint"], timeout=30, data={
        "grant_type": GRANT_JWT_BEARER, "assertion": assertion}))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1, f"one assertion sent 16 times at once: statuses {statuses}"
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code != 200)


def test_concurrent_polls_of_an_approved_device_code_give_one_token(am, am_discovery):
    client = am.create_client(grants=[GRANT_DEVICE_CODE])
    user, password = am.create_user()
    grant = device_authorize(authlib_session(am_discovery, client), am_discovery)
    VerificationBrowser(am).approve(grant["user_code"], user, password)
    form = {"grant_type": GRANT_DEVICE_CODE, "device_code": grant["device_code"]}
    results = parallel(12, lambda i: requests.post(am_discovery["token_endpoint"], data=form, timeout=30,
                                                  auth=(client["client_id"], client["client_secret"])))
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, f"an approved device code polled 12 times at once gave {len(ok)} tokens: " \
                         f"{[r.status_code for r in results]}"


def test_concurrent_use_of_one_refresh_token(am, am_discovery):
    client = am.create_client(grants=[GRANT_DEVICE_CODE, GRANT_REFRESH])
    user, password = am.create_user()
    sess = authlib_session(am_discovery, client)
    token = device_flow_tokens(am, sess, am_discovery, user, password, scope="openid")
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    results = parallel(12, lambda i: requests.post(am_discovery["token_endpoint"], data=form, timeout=30,
                                                  auth=(client["client_id"], client["client_secret"])))
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, f"one refresh token used 12 times at once rotated {len(ok)} times: " \
                         f"{sorted(r.status_code for r in results)}"
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code != 200)
    # The losers presented a rotated token: reuse, so the winner's successor is revoked too.
    successor = ok[0].json()["refresh_token"]
    again = requests.post(am_discovery["token_endpoint"], timeout=30,
                          data={"grant_type": "refresh_token", "refresh_token": successor},
                          auth=(client["client_id"], client["client_secret"]))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", \
        f"after concurrent reuse the family should be revoked: {again.status_code} {again.text[:200]}"
