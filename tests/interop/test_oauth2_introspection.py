"""Introspection (RFC 7662) and revocation (RFC 7009) with Authlib; userinfo (OIDC Core §5.3).

Access and refresh tokens introspect as active, then inactive after Authlib's
revoke_token. Introspection requires an authenticated client.
"""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.base_client import OAuthError

from am_server import (GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_REFRESH, ClientKey,
                       authlib_session, device_flow_tokens)


def introspect(sess, discovery, token, hint=None) -> dict:
    r = sess.introspect_token(discovery["introspection_endpoint"], token=token, token_type_hint=hint)
    assert r.status_code == 200, f"introspection: {r.status_code} {r.text[:300]}"
    return r.json()


def revoke(sess, discovery, token, hint=None):
    r = sess.revoke_token(discovery["revocation_endpoint"], token=token, token_type_hint=hint)
    assert r.status_code == 200, f"revocation: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
def test_access_token_active_then_revoked(am, am_discovery, method):
    key = ClientKey() if method == "private_key_jwt" else None
    client = am.create_client(method=method, grants=[GRANT_CLIENT_CREDENTIALS], jwks=key.jwks if key else None)
    sess = authlib_session(am_discovery, client, key=key)
    token = sess.fetch_token(grant_type="client_credentials")

    info = introspect(sess, am_discovery, token["access_token"], "access_token")
    assert info["active"] is True, info
    assert info["client_id"] == client["client_id"] and info["sub"] == client["client_id"], info
    assert info["iss"] == am_discovery["issuer"] and isinstance(info["exp"], int), info
    assert set(info["scope"].split()) == set(token["scope"].split()), info
    assert introspect(sess, am_discovery, token["access_token"])["active"] is True  # no hint

    revoke(sess, am_discovery, token["access_token"], "access_token")
    assert introspect(sess, am_discovery, token["access_token"], "access_token") == {"active": False}
    revoke(sess, am_discovery, token["access_token"])  # again: still 200 (RFC 7009 §2.2)


def test_refresh_token_active_then_revoked(am, am_discovery, verifier):
    client = am.create_client(grants=[GRANT_DEVICE_CODE, GRANT_REFRESH])
    user = am.create_user(attributes={"name": "Rita Refresh", "email": "rita@example.test"})
    sess = authlib_session(am_discovery, client)
    token = device_flow_tokens(am, sess, am_discovery, *user)

    info = introspect(sess, am_discovery, token["refresh_token"], "refresh_token")
    assert info["active"] is True and info["client_id"] == client["client_id"] and info["sub"] == user[0], info

    # userinfo with the device flow's access token (the user's).
    r = sess.get(am_discovery["userinfo_endpoint"])
    assert r.status_code == 200, (r.status_code, r.text[:300])
    claims = r.json()
    assert claims["sub"] == user[0], claims
    assert claims.get("name") == "Rita Refresh" and claims.get("email") == "rita@example.test", claims

    revoke(sess, am_discovery, token["refresh_token"], "refresh_token")
    assert introspect(sess, am_discovery, token["refresh_token"], "refresh_token") == {"active": False}
    with pytest.raises(OAuthError) as err:
        sess.refresh_token(am_discovery["token_endpoint"], refresh_token=token["refresh_token"])
    assert err.value.error == "invalid_grant", (err.value.error, err.value.description)


def test_introspection_needs_client_authentication(am, am_discovery):
    client = am.create_client()
    token = authlib_session(am_discovery, client).fetch_token(grant_type="client_credentials")
    r = requests.post(am_discovery["introspection_endpoint"], data={"token": token["access_token"]}, timeout=30)
    assert r.status_code == 401, (r.status_code, r.text[:300])
    assert r.json()["error"] == "invalid_client" and "WWW-Authenticate" in r.headers, (r.headers, r.text)
    bad = requests.post(am_discovery["introspection_endpoint"], data={"token": token["access_token"]},
                        auth=(client["client_id"], "wrong-secret"), timeout=30)
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client", bad.text[:300]


def test_garbage_introspects_inactive(am, am_discovery):
    client = am.create_client()
    sess = authlib_session(am_discovery, client)
    for junk in ["nope", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "x" * 20000]:
        assert introspect(sess, am_discovery, junk) == {"active": False}, junk[:20]


def test_one_client_cannot_revoke_anothers_token(am, am_discovery):
    owner, other = am.create_client(), am.create_client()
    owner_sess = authlib_session(am_discovery, owner)
    token = owner_sess.fetch_token(grant_type="client_credentials")
    revoke(authlib_session(am_discovery, other), am_discovery, token["access_token"])
    assert introspect(owner_sess, am_discovery, token["access_token"])["active"] is True


def test_userinfo(am, am_discovery):
    client = am.create_client(scopes=["openid", "profile"])
    sess = authlib_session(am_discovery, client)
    token = sess.fetch_token(grant_type="client_credentials")
    r = sess.get(am_discovery["userinfo_endpoint"])  # Authlib sends the Bearer token
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json()["sub"] == client["client_id"], r.json()
    assert "application/json" in r.headers["Content-Type"]

    no_token = requests.get(am_discovery["userinfo_endpoint"], timeout=10)
    assert no_token.status_code == 401 and "WWW-Authenticate" in no_token.headers, (no_token.status_code, no_token.headers)
    forged = requests.get(am_discovery["userinfo_endpoint"], timeout=10,
                          headers={"Authorization": "Bearer " + token["access_token"][:-4] + "AAAA"})
    assert forged.status_code == 401, forged.text[:300]

    sess.revoke_token(am_discovery["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token")
    revoked = sess.get(am_discovery["userinfo_endpoint"])
    assert revoked.status_code == 401, f"userinfo with a revoked token: {revoked.status_code} {revoked.text[:300]}"
    assert revoked.json().get("error") == "invalid_token", revoked.text[:300]

    no_openid = authlib_session(am_discovery, client, scope="profile")
    no_openid.fetch_token(grant_type="client_credentials")
    r = no_openid.get(am_discovery["userinfo_endpoint"])
    assert r.status_code == 403 and r.json().get("error") == "insufficient_scope", (r.status_code, r.text[:300])


def test_id_token_and_forged_tokens_are_not_access_tokens(am, am_discovery):
    import time as _time

    from joserfc import jwt as jose_jwt

    client = am.create_client(scopes=["openid"])
    sess = authlib_session(am_discovery, client)
    token = sess.fetch_token(grant_type="client_credentials")
    assert introspect(sess, am_discovery, token["id_token"]) == {"active": False}, "an ID token is not an access token"
    r = requests.get(am_discovery["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["id_token"]},
                     timeout=10)
    assert r.status_code == 401, f"userinfo with an ID token: {r.status_code}"

    # Right claims and the server's kid, signed by someone else's key.
    server_kid = requests.get(am_discovery["jwks_uri"], timeout=10).json()["keys"][0]["kid"]
    now = int(_time.time())
    claims = {"iss": am_discovery["issuer"], "sub": client["client_id"], "aud": client["client_id"],
              "client_id": client["client_id"], "scope": "openid", "iat": now, "exp": now + 300,
              "jti": "forged", "realm": "/edge"}
    forged = jose_jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": server_kid}, claims,
                             ClientKey().joserfc_key())
    assert introspect(sess, am_discovery, forged) == {"active": False}, "a forged access token"
    r = requests.get(am_discovery["userinfo_endpoint"], headers={"Authorization": "Bearer " + forged}, timeout=10)
    assert r.status_code == 401, f"userinfo with a forged token: {r.status_code}"


def test_tokens_of_a_deleted_client_are_inactive(am, am_discovery):
    doomed, watcher = am.create_client(), am.create_client()
    token = authlib_session(am_discovery, doomed).fetch_token(grant_type="client_credentials")
    watch = authlib_session(am_discovery, watcher)
    assert introspect(watch, am_discovery, token["access_token"])["active"] is True
    r = am.admin("DELETE", "/json/realms/root/realms/edge/realm-config/agents/OAuth2Client/" + doomed["client_id"])
    assert r.status_code == 200, r.text[:200]
    assert introspect(watch, am_discovery, token["access_token"]) == {"active": False}
