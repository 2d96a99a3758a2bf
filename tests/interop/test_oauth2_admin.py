"""The AM-shaped admin API from outside: sign-in, the failed-login limit, serverinfo,
session validate/logout, and changes refused without the session header.
"""

from __future__ import annotations

import requests

from am_server import ADMIN_REALM_PATH, COOKIE, GRANT_CLIENT_CREDENTIALS

CLIENTS = ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client"


def test_serverinfo(am):
    r = requests.get(am.url("/json/serverinfo/*"), timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    info = r.json()
    assert info["cookieName"] == "iPlanetDirectoryPro", info
    assert info["realm"] == "/", info
    assert info["_id"] == "*", info
    for field in ("domains", "secureCookie", "lang", "zeroPageLogin"):
        assert field in info, f"serverinfo lacks {field}: {info}"


def test_sign_in_validate_and_logout(am):
    r = am.sign_in()
    assert r.status_code == 200, (r.status_code, r.text[:200])
    body = r.json()
    token = body["tokenId"]
    assert token and body["realm"] == "/" and "successUrl" in body, body
    cookie = r.headers.get("Set-Cookie", "")
    assert cookie.startswith(f"{COOKIE}={token}"), cookie
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes, cookie

    v = requests.post(am.url("/json/realms/root/sessions"), params={"_action": "validate"},
                      headers={COOKIE: token}, timeout=10)
    assert v.status_code == 200 and v.json()["valid"] is True, (v.status_code, v.text)
    assert v.json().get("uid") == am.admin_username, v.json()

    made = requests.post(am.url(CLIENTS), params={"_action": "create"}, headers={COOKIE: token}, timeout=10,
                         json={"client_id": "admin-test-" + token[:6].replace("/", "x"),
                               "grant_types": [GRANT_CLIENT_CREDENTIALS]})
    assert made.status_code == 201, (made.status_code, made.text[:200])

    out = requests.post(am.url("/json/realms/root/sessions"), params={"_action": "logout"},
                        headers={COOKIE: token}, timeout=10)
    assert out.status_code == 200, (out.status_code, out.text)
    v = requests.post(am.url("/json/realms/root/sessions"), params={"_action": "validate"},
                      headers={COOKIE: token}, timeout=10)
    assert v.status_code == 200 and v.json()["valid"] is False, (v.status_code, v.text)
    after = requests.post(am.url(CLIENTS), params={"_action": "create"}, headers={COOKIE: token}, timeout=10,
                          json={"client_id": "after-logout", "grant_types": [GRANT_CLIENT_CREDENTIALS]})
    assert after.status_code == 401, f"a signed-out session must not change anything: {after.status_code}"


def test_wrong_password_is_401_with_am_error_shape(am_factory):
    server = am_factory()
    r = server.sign_in(password="definitely-wrong")
    assert r.status_code == 401, (r.status_code, r.text[:200])
    body = r.json()
    assert body["code"] == 401 and body.get("reason") and body.get("message"), body
    assert "Set-Cookie" not in r.headers
    assert server.sign_in(username="nobody-at-all", password="x" * 10).status_code == 401


def test_failed_login_limit_gives_429(am_factory):
    limit = 3
    server = am_factory(security={"failed_login_limit": limit, "failed_login_window_seconds": 300})
    for i in range(limit):
        r = server.sign_in(password=f"wrong-{i}-password")
        assert r.status_code == 401, f"failure {i + 1} of {limit}: {r.status_code} {r.text[:200]}"
    r = server.sign_in(password="wrong-again-password")
    assert r.status_code == 429, f"after failed_login_limit={limit} failures: {r.status_code} {r.text[:200]}"
    right = server.sign_in()
    assert right.status_code == 429, f"even the right password is refused while limited: {right.status_code}"
    server.assert_live("the failed-login limit")


def test_changes_need_the_session_header(am):
    token = am.admin_token
    body = {"client_id": "cookie-only", "grant_types": [GRANT_CLIENT_CREDENTIALS]}
    nothing = requests.post(am.url(CLIENTS), params={"_action": "create"}, json=body, timeout=10)
    assert nothing.status_code == 401, (nothing.status_code, nothing.text[:200])
    cookie_only = requests.post(am.url(CLIENTS), params={"_action": "create"}, json=body, timeout=10,
                                cookies={COOKIE: token})
    assert cookie_only.status_code == 401, \
        f"a change with only the session cookie (CSRF) must be refused: {cookie_only.status_code}"
    forged = requests.post(am.url(CLIENTS), params={"_action": "create"}, json=body, timeout=10,
                           headers={COOKIE: "forged-" + token[7:]})
    assert forged.status_code == 401, forged.status_code
    user = requests.post(am.url(ADMIN_REALM_PATH + "/users"), params={"_action": "create"}, timeout=10,
                         cookies={COOKIE: token}, json={"username": "cookie-user", "password": "longenough1"})
    assert user.status_code == 401, user.status_code
    assert am.admin("GET", CLIENTS + "/cookie-only").status_code == 404, "the refused client must not exist"
    delete = requests.delete(am.url(CLIENTS + "/cookie-only"), cookies={COOKIE: token}, timeout=10)
    assert delete.status_code == 401, delete.status_code


def test_client_and_user_crud(am):
    c = am.create_client(grants=[GRANT_CLIENT_CREDENTIALS])
    cid = c["client_id"]
    assert "client_secret" in c
    got = am.admin("GET", CLIENTS + "/" + cid)
    assert got.status_code == 200 and got.json()["client_id"] == cid, got.text[:200]
    assert "client_secret" not in got.json(), "the secret is shown once, at creation"
    listing = am.admin("GET", CLIENTS, params={"_queryFilter": "true"}).json()
    assert {"result", "resultCount"} <= listing.keys(), listing.keys()
    dup = am.admin("POST", CLIENTS, params={"_action": "create"}, json={"client_id": cid})
    assert dup.status_code == 409, dup.status_code
    assert am.admin("DELETE", CLIENTS + "/" + cid).status_code == 200
    assert am.admin("GET", CLIENTS + "/" + cid).status_code == 404
    gone = requests.post(am.oauth2_url("/access_token"), data={"grant_type": "client_credentials"},
                         auth=(cid, c["client_secret"]), timeout=10)
    assert gone.status_code == 401, "a deleted client must not get tokens"

    unknown = am.admin("POST", CLIENTS, params={"_action": "create"}, json={"client_id": "x", "colour": "blue"})
    assert unknown.status_code == 400, unknown.status_code
    no_keys = am.admin("POST", CLIENTS, params={"_action": "create"},
                       json={"client_id": "pk-without-keys", "token_endpoint_auth_method": "private_key_jwt"})
    assert no_keys.status_code == 400, f"private_key_jwt without jwks: {no_keys.status_code}"

    name, _ = am.create_user()
    got = am.admin("GET", ADMIN_REALM_PATH + "/users/" + name)
    assert got.status_code == 200 and "password" not in got.text.lower().replace('"password":', ""), got.text[:300]
    short = am.admin("POST", ADMIN_REALM_PATH + "/users", params={"_action": "create"},
                     json={"username": "shorty", "password": "short"})
    assert short.status_code == 400, short.status_code
    assert am.admin("DELETE", ADMIN_REALM_PATH + "/users/" + name).status_code == 200
    assert am.admin("GET", ADMIN_REALM_PATH + "/users/" + name).status_code == 404


def test_health_and_metrics(am):
    assert requests.get(am.url("/health/live"), timeout=10).status_code == 200
    assert requests.get(am.url("/health/ready"), timeout=10).status_code == 200
    m = requests.get(am.url("/metrics"), timeout=10)
    assert m.status_code == 200 and m.headers["Content-Type"].startswith("text/plain"), m.headers
    assert "# TYPE" in m.text and "_bucket" in m.text, m.text[:500]


def test_setup_is_idempotent(am_factory):
    server = am_factory(start=False)
    jwks_file = server.root / "iec-config.json"
    second = server.setup("--iec-config-out", jwks_file, use_env_password=True)
    assert "exists" in second.stdout and "kept the existing" in second.stdout, second.stdout
    assert jwks_file.stat().st_mode & 0o077 == 0, "the gateway settings hold a secret: mode 0600"
    short = server.run_cli("setup", "--config", server.config_path, "--admin-username", "second-admin",
                           env={"IEC_ADMIN_PASSWORD": "short"})
    assert short.returncode == 1 and "8" in short.stderr, (short.returncode, short.stderr)
    bad = server.config_path.with_name("bad.json")
    bad.write_text('{"server": {"port": 1, "colour": "blue"}}')
    r = server.run_cli("serve", "--config", bad)
    assert r.returncode != 0 and "server.colour" in r.stderr, (r.returncode, r.stderr)
