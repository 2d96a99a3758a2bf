"""The JWT-bearer grant (RFC 7523 §2.1) with Authlib's AssertionSession and JWTBearerGrant.sign.

Good assertions give tokens PyJWT verifies; replayed (same jti), expired,
not-yet-valid, wrong-audience, foreign-key and too-long-lived assertions are
each refused with invalid_grant and an error_description, and the server keeps
serving after every one.
"""

from __future__ import annotations

import secrets
import time

import pytest
import requests
from authlib.integrations.requests_client import AssertionSession
from authlib.oauth2.rfc7523 import JWTBearerGrant

from am_server import GRANT_JWT_BEARER, ClientKey, oauth_error


@pytest.fixture(scope="module")
def bearer_client(am):
    key = ClientKey()
    client = am.create_client(method="private_key_jwt", grants=[GRANT_JWT_BEARER],
                              scopes=["openid", "iec:node"], jwks=key.jwks)
    return client, key


def sign(key: ClientKey, client_id: str, audience: str, *, iat=None, exp=None, sub=None,
         claims=None, kid=None) -> str:
    now = int(time.time())
    claims = dict(claims or {})
    claims.setdefault("jti", secrets.token_urlsafe(16))
    return JWTBearerGrant.sign(key.joserfc_key(), issuer=client_id, audience=audience,
                               subject=sub or client_id, issued_at=iat or now,
                               expires_at=exp or now + 300, claims=claims,
                               header={"alg": "ES256", "kid": kid or key.kid})


def post_assertion(url: str, assertion: str) -> requests.Response:
    return requests.post(url, data={"grant_type": GRANT_JWT_BEARER, "assertion": assertion}, timeout=30)


def test_jwt_bearer_with_authlib_assertion_session(am, am_discovery, verifier, bearer_client):
    client, key = bearer_client
    sess = AssertionSession(token_endpoint=am_discovery["token_endpoint"], issuer=client["client_id"],
                            subject=client["client_id"], audience=am_discovery["token_endpoint"],
                            grant_type=JWTBearerGrant.GRANT_TYPE, key=key.joserfc_key(), alg="ES256",
                            header={"kid": key.kid}, expires_in=300, default_timeout=30)
    first = dict(sess.refresh_token())
    second = dict(sess.refresh_token())  # a fresh assertion (new jti) each time
    for token in (first, second):
        assert token["token_type"] == "Bearer" and isinstance(token["expires_in"], int), token
        assert "refresh_token" not in token, token
        at = verifier.access_token(token["access_token"], client["client_id"])
        assert at["sub"] == client["client_id"], at
        verifier.id_token(token["id_token"], client["client_id"])
    assert first["access_token"] != second["access_token"]


@pytest.mark.parametrize("audience", ["token_endpoint", "issuer"])
def test_audience_may_be_token_endpoint_or_issuer(am, am_discovery, verifier, bearer_client, audience):
    client, key = bearer_client
    r = post_assertion(am_discovery["token_endpoint"], sign(key, client["client_id"], am_discovery[audience]))
    assert r.status_code == 200, (r.status_code, r.text[:300])
    verifier.access_token(r.json()["access_token"], client["client_id"])


def test_replayed_assertion_is_invalid_grant(am, am_discovery, bearer_client):
    client, key = bearer_client
    assertion = sign(key, client["client_id"], am_discovery["token_endpoint"])
    first = post_assertion(am_discovery["token_endpoint"], assertion)
    assert first.status_code == 200, (first.status_code, first.text[:300])
    again = post_assertion(am_discovery["token_endpoint"], assertion)
    assert again.status_code == 400, (again.status_code, again.text[:300])
    assert oauth_error(again)["error"] == "invalid_grant"
    # Same jti in a freshly signed assertion: still a replay.
    jti = secrets.token_urlsafe(16)
    ok = post_assertion(am_discovery["token_endpoint"],
                        sign(key, client["client_id"], am_discovery["token_endpoint"], claims={"jti": jti}))
    assert ok.status_code == 200, ok.text[:300]
    reuse = post_assertion(am_discovery["token_endpoint"],
                           sign(key, client["client_id"], am_discovery["token_endpoint"], claims={"jti": jti},
                                exp=int(time.time()) + 200))
    assert reuse.status_code == 400 and oauth_error(reuse)["error"] == "invalid_grant", reuse.text[:300]
    am.assert_live("replayed assertions")


BAD_ASSERTIONS = {
    # name: (what makes it bad, as keyword arguments of sign(); relative times)
    "expired": dict(iat=-700, exp=-120),
    "not_yet_valid": dict(claims={"nbf": 240}),
    "wrong_audience": dict(audience="https://elsewhere.example/oauth2/access_token"),
    "exp_too_far_ahead": dict(exp=7200),
    "signed_by_another_key": dict(other_key=True),
    "subject_is_another_principal": dict(sub="someone-else"),
    "no_jti": dict(no_jti=True),
    "issued_in_the_future": dict(iat=600, exp=900),
}


@pytest.mark.parametrize("case", list(BAD_ASSERTIONS))
def test_bad_assertion_is_invalid_grant(am, am_discovery, bearer_client, case):
    client, key = bearer_client
    spec = dict(BAD_ASSERTIONS[case])
    now = int(time.time())
    token_endpoint = am_discovery["token_endpoint"]
    signer = ClientKey() if spec.pop("other_key", False) else key
    audience = spec.pop("audience", token_endpoint)
    kwargs = {}
    if "iat" in spec:
        kwargs["iat"] = now + spec.pop("iat")
    if "exp" in spec:
        kwargs["exp"] = now + spec.pop("exp")
    if "claims" in spec:
        kwargs["claims"] = {k: now + v for k, v in spec.pop("claims").items()}
    if "sub" in spec:
        kwargs["sub"] = spec.pop("sub")
    if spec.pop("no_jti", False):
        from joserfc import jwt as jose_jwt
        payload = {"iss": client["client_id"], "sub": client["client_id"], "aud": token_endpoint,
                   "iat": now, "exp": now + 300}
        assertion = jose_jwt.encode({"alg": "ES256", "kid": key.kid}, payload, key.joserfc_key())
    else:
        assertion = sign(signer, client["client_id"], audience, kid=key.kid, **kwargs)
    assert not spec, spec
    r = post_assertion(token_endpoint, assertion)
    assert r.status_code == 400, f"{case}: expected 400 invalid_grant, got {r.status_code} {r.text[:300]}"
    body = oauth_error(r)
    assert body["error"] == "invalid_grant", f"{case}: {body}"
    am.assert_live(f"a {case} assertion")


def test_malformed_assertion_is_invalid_grant(am, am_discovery):
    for junk in ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "x" * 5000]:
        r = post_assertion(am_discovery["token_endpoint"], junk)
        assert r.status_code == 400, (junk[:20], r.status_code, r.text[:200])
        assert oauth_error(r)["error"] == "invalid_grant", (junk[:20], r.text[:200])
    am.assert_live("malformed assertions")


def test_unknown_issuer_is_invalid_grant(am, am_discovery):
    r = post_assertion(am_discovery["token_endpoint"],
                       sign(ClientKey(), "no-such-client-" + secrets.token_hex(4), am_discovery["token_endpoint"]))
    assert r.status_code == 400 and oauth_error(r)["error"] == "invalid_grant", (r.status_code, r.text[:300])
