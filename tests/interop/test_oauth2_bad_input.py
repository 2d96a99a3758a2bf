"""Bad input gets a clear error, and iec-am keeps serving (GET /health/live after each).

Malformed and oversized bodies (413 past max_body_bytes), oversized headers,
wrong content types, unknown grants, bad client credentials (401 invalid_client
with WWW-Authenticate), repeated parameters, a garbage request line, and a
guessed user code past the limit (429) on the verification page.
"""

from __future__ import annotations

import base64
import json
import socket

import pytest
import requests

from am_server import (ADMIN_REALM_PATH, COOKIE, GRANT_DEVICE_CODE, VerificationBrowser,
                       authlib_session, device_authorize, oauth_error)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def client(am):
    return am.create_client(method="client_secret_basic")


def basic(client) -> str:
    return "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()


def token_post(am, body, content_type=FORM, headers=None) -> requests.Response:
    h = {"Content-Type": content_type} if content_type else {}
    h.update(headers or {})
    return requests.post(am.oauth2_url("/access_token"), data=body, headers=h, timeout=30)


def expect_oauth_error(r: requests.Response, status: int, error: str, what: str) -> dict:
    assert r.status_code == status, f"{what}: expected {status} {error}, got {r.status_code} {r.text[:300]}"
    body = oauth_error(r)
    assert body["error"] == error, f"{what}: expected {error}, got {body}"
    return body


def raw_http(am, payload: bytes, timeout: float = 5) -> bytes:
    """Sends bytes on a fresh connection; returns what came back before the server closed it
    (or `timeout` seconds of silence)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", am.port), timeout=timeout) as s:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except (socket.timeout, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(raw: bytes) -> int | None:
    if not raw.startswith(b"HTTP/1."):
        return None
    return int(raw.split(b" ", 2)[1])


# --- bodies --------------------------------------------------------------------------------


def test_oversized_body_is_413(am, client):
    limit = am.config()["server"]["max_body_bytes"]
    big = "grant_type=client_credentials&pad=" + "x" * (limit + 100)
    try:
        r = token_post(am, big, headers={"Authorization": basic(client)})
        status = r.status_code
        detail = r.text[:200]
    except requests.ConnectionError as error:  # the server may close before reading everything
        status, detail = None, repr(error)
    if status is None:
        # requests could not read the answer while still sending; a raw socket can.
        head = f"POST {'/oauth2/realms/root/realms/edge/access_token'} HTTP/1.1\r\nHost: x\r\n" \
               f"Content-Type: {FORM}\r\nContent-Length: {len(big)}\r\nConnection: close\r\n\r\n"
        raw = raw_http(am, head.encode() + big.encode())
        status, detail = status_of(raw), raw[:300]
    assert status == 413, f"a body over max_body_bytes ({limit}) should get 413: {status} {detail}"
    am.assert_live("an oversized body")

    # The same to a JSON endpoint (admin API).
    r = requests.post(am.url(ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client"), params={"_action": "create"},
                      data=json.dumps({"client_id": "big", "client_name": "y" * (limit + 10)}),
                      headers={"Content-Type": "application/json", COOKIE: am.admin_token}, timeout=30)
    assert r.status_code == 413, (r.status_code, r.text[:200])
    am.assert_live("an oversized JSON body")


def test_body_just_under_the_limit_is_processed(am, client):
    limit = am.config()["server"]["max_body_bytes"]
    body = "grant_type=client_credentials&pad=" + "x" * (limit - 200)
    r = token_post(am, body, headers={"Authorization": basic(client)})
    assert r.status_code == 200, f"a body under the limit should be processed: {r.status_code} {r.text[:200]}"


def test_oversized_declared_content_length_is_413(am):
    """A Content-Length past the limit is refused before any body arrives."""
    head = ("POST /oauth2/realms/root/realms/edge/access_token HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: {FORM}\r\nContent-Length: 500000000\r\nConnection: close\r\n\r\n")
    raw = raw_http(am, head.encode() + b"grant_type=client_credentials")
    assert status_of(raw) == 413, f"Content-Length 500000000: {raw[:300]!r}"
    am.assert_live("a huge Content-Length")


def test_oversized_header_is_refused(am):
    limit = am.config()["server"]["max_header_bytes"]
    r = requests.get(am.url("/health/live"), headers={"X-Padding": "p" * (limit + 1000)}, timeout=30)
    assert r.status_code in (413, 431), f"headers over max_header_bytes ({limit}): {r.status_code} {r.text[:200]}"
    am.assert_live("an oversized header")


@pytest.mark.parametrize("body", [
    b"",
    b"\x00\xff\xfe\x01binary garbage\x80\x81",
    b"=&=&&==",
    b"grant_type",
    b"%%%%%%",
], ids=["empty", "binary", "only_separators", "name_without_value", "bad_escapes"])
def test_malformed_form_body_is_invalid_request(am, client, body):
    r = token_post(am, body, headers={"Authorization": basic(client)})
    expect_oauth_error(r, 400, "invalid_request", f"form body {body[:20]!r}")
    am.assert_live(f"malformed body {body[:20]!r}")


def test_malformed_json_to_the_admin_api(am):
    for body in [b"{", b"[1,2", b"\xff\xfe", b'{"client_id": "x",}', b"null"]:
        r = requests.post(am.url(ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client"),
                          params={"_action": "create"}, data=body,
                          headers={"Content-Type": "application/json", COOKIE: am.admin_token}, timeout=30)
        assert r.status_code == 400, (body, r.status_code, r.text[:200])
        err = r.json()
        assert err["code"] == 400 and err.get("message"), err
    am.assert_live("malformed JSON")


# --- content types -------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None, "multipart/form-data; boundary=x"])
def test_token_endpoint_wants_a_form(am, client, content_type):
    body = json.dumps({"grant_type": "client_credentials"}) if content_type == "application/json" \
        else "grant_type=client_credentials"
    r = token_post(am, body, content_type=content_type, headers={"Authorization": basic(client)})
    expect_oauth_error(r, 400, "invalid_request", f"Content-Type {content_type}")
    am.assert_live(f"Content-Type {content_type}")


def test_form_content_type_with_charset_is_accepted(am, client):
    r = token_post(am, "grant_type=client_credentials", content_type=FORM + "; charset=UTF-8",
                   headers={"Authorization": basic(client)})
    assert r.status_code == 200, (r.status_code, r.text[:300])


def test_admin_api_wants_json(am):
    r = requests.post(am.url(ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client"), params={"_action": "create"},
                      data="client_id=x", headers={"Content-Type": FORM, COOKIE: am.admin_token}, timeout=30)
    assert r.status_code == 415, (r.status_code, r.text[:200])
    am.assert_live("a form to the admin API")


# --- grants and parameters -----------------------------------------------------------------


@pytest.mark.parametrize("grant", ["password", "authorization_code", "implicit", "urn:x:custom", "x" * 300])
def test_unknown_grant_is_unsupported_grant_type(am, client, grant):
    r = token_post(am, {"grant_type": grant}, headers={"Authorization": basic(client)})
    expect_oauth_error(r, 400, "unsupported_grant_type", f"grant_type={grant[:30]}")
    am.assert_live("an unknown grant")


def test_missing_grant_type_is_invalid_request(am, client):
    r = token_post(am, {"scope": "openid"}, headers={"Authorization": basic(client)})
    expect_oauth_error(r, 400, "invalid_request", "no grant_type")


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&grant_type=client_credentials",
    "grant_type=client_credentials&scope=openid&scope=profile",
    "grant_type=client_credentials&grant_type=password",
])
def test_repeated_parameters_are_invalid_request(am, client, body):
    r = token_post(am, body, headers={"Authorization": basic(client)})
    expect_oauth_error(r, 400, "invalid_request", body)
    am.assert_live("repeated parameters")


def test_repeated_client_id_with_post_auth_is_invalid_request(am):
    c = am.create_client(method="client_secret_post")
    body = f"grant_type=client_credentials&client_id={c['client_id']}&client_id={c['client_id']}" \
           f"&client_secret={c['client_secret']}"
    expect_oauth_error(token_post(am, body), 400, "invalid_request", "client_id twice")


# --- client authentication -----------------------------------------------------------------


def expect_invalid_client(r: requests.Response, what: str):
    body = expect_oauth_error(r, 401, "invalid_client", what)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge, f"{what}: 401 invalid_client without WWW-Authenticate (RFC 6749 §5.2)"
    return body, challenge


def test_bad_client_credentials(am, am_discovery, client):
    from authlib.integrations.base_client import OAuthError

    cid = client["client_id"]
    cases = {
        "wrong secret (basic)": dict(auth=(cid, "wrong-" + client["client_secret"][6:])),
        "unknown client (basic)": dict(auth=("no-such-client", "whatever")),
        "empty secret (basic)": dict(auth=(cid, "")),
        "basic header not base64": dict(headers={"Authorization": "Basic %%%not-base64%%%"}),
        "basic without colon": dict(headers={"Authorization": "Basic " + base64.b64encode(cid.encode()).decode()}),
        "no credentials at all": dict(),
        "confidential client sends only client_id": dict(data_extra={"client_id": cid}),
        "unknown scheme": dict(headers={"Authorization": "Digest username=x"}),
    }
    for what, case in cases.items():
        data = {"grant_type": "client_credentials", **case.get("data_extra", {})}
        r = requests.post(am_discovery["token_endpoint"], data=data, auth=case.get("auth"),
                          headers=case.get("headers"), timeout=30)
        _, challenge = expect_invalid_client(r, what)
        if "auth" in case or "Basic" in case.get("headers", {}).get("Authorization", ""):
            assert challenge.lower().startswith("basic"), f"{what}: challenge {challenge!r}"
        am.assert_live(what)

    post_client = am.create_client(method="client_secret_post")
    r = requests.post(am_discovery["token_endpoint"], timeout=30, data={
        "grant_type": "client_credentials", "client_id": post_client["client_id"], "client_secret": "wrong"})
    expect_invalid_client(r, "wrong secret (post)")

    # Authlib sees the same as an OAuthError.
    bad = dict(client, client_secret="wrong")
    with pytest.raises(OAuthError) as info:
        authlib_session(am_discovery, bad).fetch_token(grant_type="client_credentials")
    assert info.value.error == "invalid_client"


def test_two_client_authentication_methods_at_once(am, am_discovery):
    c = am.create_client(method="client_secret_basic")
    r = requests.post(am_discovery["token_endpoint"], auth=(c["client_id"], c["client_secret"]), timeout=30,
                      data={"grant_type": "client_credentials", "client_id": c["client_id"],
                            "client_secret": c["client_secret"]})
    assert r.status_code in (400, 401), (r.status_code, r.text[:200])
    assert oauth_error(r)["error"] in ("invalid_request", "invalid_client")


def test_garbage_request_line(am):
    raw = raw_http(am, b"THIS IS NOT HTTP\r\n\r\n")
    assert raw == b"" or status_of(raw) in (400, 405, 501, 505), raw[:200]
    raw = raw_http(am, b"GET /health/live HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n")
    assert raw == b"" or status_of(raw) == 400, raw[:200]
    am.assert_live("garbage requests")


def test_unknown_routes_and_methods(am):
    r = requests.get(am.url("/no/such/route"), timeout=10)
    assert r.status_code == 404, r.status_code
    r = requests.get(am.oauth2_url("/access_token"), timeout=10)
    assert r.status_code in (404, 405), r.status_code
    am.assert_live("unknown routes")


# --- the verification page ---------------------------------------------------------------


def test_verification_page_errors(am_factory):
    """Wrong code → 400, wrong password → 401, missing or wrong csrf → 403; each a page with a message."""
    server = am_factory(security={"user_code_attempt_limit": 50, "failed_login_limit": 50})
    discovery = server.discovery()
    user, password = server.create_user()
    c = server.create_client(grants=[GRANT_DEVICE_CODE])
    grant = device_authorize(authlib_session(discovery, c), discovery)
    browser = VerificationBrowser(server)

    wrong_code = browser.sign_in("BCDF-GHJK" if grant["user_code"] != "BCDF-GHJK" else "BCDF-GHJL", user, password)
    assert wrong_code.status == 400 and wrong_code.forms, f"wrong code: {wrong_code.describe()}"
    assert "code" in wrong_code.text.lower(), f"the page should say the code is wrong: {wrong_code.describe()}"
    not_a_code = browser.sign_in("0000-1111", user, password)
    assert not_a_code.status == 400, not_a_code.describe()

    wrong_pw = browser.sign_in(grant["user_code"], user, password + "x")
    assert wrong_pw.status == 401 and wrong_pw.forms, f"wrong password: {wrong_pw.describe()}"
    unknown_user = browser.sign_in(grant["user_code"], "nobody-here", password)
    assert unknown_user.status == 401, unknown_user.describe()

    page = browser.open(grant["user_code"])
    fields = {"user_code": grant["user_code"], "username": user, "password": password}
    forged = browser.submit(page, {**fields, "csrf": "A" * 43})
    assert forged.status == 403, f"mismatched csrf: {forged.describe()}"
    no_field = dict(page.form().inputs, **fields)
    no_field.pop("csrf")
    r = browser.session.post(browser.page_url, data=no_field, timeout=30)
    assert r.status_code == 403, f"missing csrf field: {r.status_code}"
    cookieless = requests.post(browser.page_url, data=dict(page.form().inputs, **fields), timeout=30)
    assert cookieless.status_code == 403, f"csrf field without its cookie: {cookieless.status_code}"

    # A tampered consent state is refused, not approved.
    consent = browser.sign_in(grant["user_code"], user, password)
    assert consent.status == 200, consent.describe()
    tampered = browser.submit(consent, {"state": consent.form().inputs["state"][:-3] + "AAA"},
                              button=("decision", "approve"))
    assert tampered.status in (400, 403) and "Device approved" not in tampered.text, tampered.describe()
    server.assert_live("verification page errors")


def test_guessed_user_codes_past_the_limit_get_429(am_factory):
    limit = 4
    server = am_factory(security={"user_code_attempt_limit": limit, "user_code_attempt_window_seconds": 300,
                                  "failed_login_limit": 50})
    discovery = server.discovery()
    user, password = server.create_user()
    c = server.create_client(grants=[GRANT_DEVICE_CODE])
    real = device_authorize(authlib_session(discovery, c), discovery)["user_code"]
    browser = VerificationBrowser(server)
    guesses = ["BCDF-GHJK", "ZXWV-TSRQ", "PNML-KJHG", "FDCB-ZXWV", "GHJK-LMNP", "QRST-VWXZ"]
    guesses = [g for g in guesses if g != real]
    for i, guess in enumerate(guesses[:limit]):
        page = browser.sign_in(guess, user, password)
        assert page.status == 400, f"wrong guess {i + 1} of {limit}: {page.describe()}"
    limited = browser.sign_in(guesses[limit], user, password)
    assert limited.status == 429, f"guess {limit + 1} (past user_code_attempt_limit={limit}): {limited.describe()}"
    assert "too many" in limited.text.lower(), limited.describe()
    # Past the limit even the right code is refused from that address.
    right = browser.sign_in(real, user, password)
    assert right.status == 429, f"the right code after the limit: {right.describe()}"
    assert right.response.headers.get("Retry-After"), "429 should say when to retry (Retry-After)"
    server.assert_live("user code guessing")
    # The OAuth2 endpoints are not affected.
    assert authlib_session(discovery, server.create_client()).fetch_token(grant_type="client_credentials")
