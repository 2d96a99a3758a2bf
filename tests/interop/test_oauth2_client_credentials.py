"""iec-am's discovery and client_credentials grant, driven by Authlib (code nobody here wrote).

Each client authentication method of RFC 6749 §2.3 / RFC 7523 §2.2 —
client_secret_basic, client_secret_post and private_key_jwt — through Authlib's
`OAuth2Session` (requests client). PyJWT verifies every access and ID token
against the JWKS found through discovery (iss, aud, exp, kid).
"""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.base_client import OAuthError

from am_server import (GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_JWT_BEARER, GRANT_REFRESH,
                       OAUTH2_PATH, REALM, ClientKey, authlib_session)


def test_openid_discovery(am, am_discovery):
    d = am_discovery
    assert d["issuer"] == am.base_url + "/oauth2/realms/root/realms/" + REALM
    base = d["issuer"]
    assert d["jwks_uri"] == base + "/connect/jwk_uri"
    assert d["token_endpoint"] == base + "/access_token"
    assert d["device_authorization_endpoint"] == base + "/device/code"
    assert d["introspection_endpoint"] == base + "/introspect"
    assert d["revocation_endpoint"] == base + "/token/revoke"
    assert d["userinfo_endpoint"] == base + "/userinfo"
    for grant in (GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_REFRESH, GRANT_DEVICE_CODE):
        assert grant in d["grant_types_supported"], (grant, d["grant_types_supported"])
    for method in ("client_secret_basic", "client_secret_post", "private_key_jwt"):
        assert method in d["token_endpoint_auth_methods_supported"], d["token_endpoint_auth_methods_supported"]
    assert "ES256" in d["id_token_signing_alg_values_supported"], d
    assert "openid" in d.get("scopes_supported", ["openid"])


def test_rfc8414_metadata_matches_openid_discovery(am, am_discovery):
    r = requests.get(am.url("/.well-known/oauth-authorization-server" + OAUTH2_PATH), timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    meta = r.json()
    assert meta["issuer"] == am_discovery["issuer"]  # RFC 8414 §3.3
    assert meta["token_endpoint"] == am_discovery["token_endpoint"]
    assert meta["jwks_uri"] == am_discovery["jwks_uri"]


def test_jwks_holds_public_p256_keys_with_kids(am_discovery):
    jwks = requests.get(am_discovery["jwks_uri"], timeout=10).json()
    assert jwks["keys"], jwks
    for k in jwks["keys"]:
        assert k["kty"] == "EC" and k["crv"] == "P-256" and k.get("kid"), k
        assert "d" not in k, "the JWKS must not publish private key material"


def _check_token_response(token: dict, scope_has_openid: bool):
    assert token["token_type"].lower() == "bearer", token
    assert token["token_type"] == "Bearer", f"token_type should be 'Bearer': {token}"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0, token
    assert isinstance(token["scope"], str), token
    assert "refresh_token" not in token, "client_credentials must not issue a refresh token (RFC 6749 §4.4.3)"
    assert ("id_token" in token) == scope_has_openid, token


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
def test_client_credentials_with_each_auth_method(am, am_discovery, verifier, method):
    key = ClientKey() if method == "private_key_jwt" else None
    client = am.create_client(method=method, grants=[GRANT_CLIENT_CREDENTIALS],
                              scopes=["openid", "profile", "iec:read"],
                              jwks=key.jwks if key else None)
    if method == "private_key_jwt":
        assert "client_secret" not in client, "a private_key_jwt client should get no secret"
    else:
        assert len(client["client_secret"]) >= 32, "client secrets should be high-entropy"

    sess = authlib_session(am_discovery, client, key=key)
    token = sess.fetch_token(grant_type="client_credentials")
    _check_token_response(token, scope_has_openid=True)
    assert set(token["scope"].split()) == {"openid", "profile", "iec:read"}, token["scope"]
    at = verifier.access_token(token["access_token"], client["client_id"])
    assert at["sub"] == client["client_id"]
    assert at["exp"] - at["iat"] == token["expires_in"], (at, token["expires_in"])
    idt = verifier.id_token(token["id_token"], client["client_id"])
    assert idt["sub"] == client["client_id"]

    # A narrower scope, asked for: exactly that, and no ID token without openid.
    sess2 = authlib_session(am_discovery, client, key=key, scope="iec:read")
    narrow = sess2.fetch_token(grant_type="client_credentials")
    _check_token_response(narrow, scope_has_openid=False)
    assert narrow["scope"] == "iec:read"
    assert verifier.access_token(narrow["access_token"], client["client_id"])["scope"] == "iec:read"
    # A second token: a different jti.
    assert verifier.access_token(sess.fetch_token(grant_type="client_credentials")["access_token"],
                                 client["client_id"])["jti"] != at["jti"]


def test_scope_not_allowed_is_invalid_scope(am, am_discovery):
    client = am.create_client(scopes=["openid"])
    sess = authlib_session(am_discovery, client, scope="admin")
    with pytest.raises(OAuthError) as info:
        sess.fetch_token(grant_type="client_credentials")
    assert info.value.error == "invalid_scope", (info.value.error, info.value.description)


def test_private_key_jwt_assertion_is_single_use(am, am_discovery):
    """The same client assertion twice: the second is a replay (RFC 7523 §3 item 7)."""
    from authlib.oauth2.rfc7523 import private_key_jwt_sign

    key = ClientKey()
    client = am.create_client(method="private_key_jwt", jwks=key.jwks)
    assertion = private_key_jwt_sign(key.joserfc_key(), client["client_id"], am_discovery["token_endpoint"],
                                     alg="ES256", header={"kid": key.kid}, expires_in=120)
    form = {"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}
    first = requests.post(am_discovery["token_endpoint"], data=form, timeout=30)
    assert first.status_code == 200, (first.status_code, first.text[:300])
    second = requests.post(am_discovery["token_endpoint"], data=form, timeout=30)
    assert second.status_code == 401 and second.json()["error"] == "invalid_client", \
        (second.status_code, second.text[:300])
    assert "WWW-Authenticate" in second.headers


def test_private_key_jwt_signed_by_another_key_is_refused(am, am_discovery):
    key, other = ClientKey(), ClientKey()
    client = am.create_client(method="private_key_jwt", jwks=key.jwks)
    other.kid = key.kid  # same kid, wrong key: the signature itself must be checked
    sess = authlib_session(am_discovery, client, key=other)
    with pytest.raises(OAuthError) as info:
        sess.fetch_token(grant_type="client_credentials")
    assert info.value.error == "invalid_client", (info.value.error, info.value.description)


def test_private_key_jwt_with_authlib_default_lifetime(am, am_discovery):
    """Authlib signs client assertions valid for 3600 s by default; iec-am accepts them
    unchanged (its limit is an hour), as a standard client must be served."""
    key = ClientKey()
    client = am.create_client(method="private_key_jwt", jwks=key.jwks)
    sess = authlib_session(am_discovery, client, key=key, pk_lifetime=None)
    token = sess.fetch_token(grant_type="client_credentials")
    assert token["access_token"]


def test_grant_the_client_may_not_use_is_unauthorized_client(am, am_discovery):
    client = am.create_client(grants=[GRANT_REFRESH, GRANT_DEVICE_CODE])
    sess = authlib_session(am_discovery, client)
    with pytest.raises(OAuthError) as info:
        sess.fetch_token(grant_type="client_credentials")
    assert info.value.error == "unauthorized_client", (info.value.error, info.value.description)
