"""The device flow (RFC 8628) driven by Authlib, the verification page by plain form posts.

Device authorization through the Authlib session, polling the token endpoint
with grant_type device_code: authorization_pending, slow_down, access_denied,
expired_token (see the skip note), the approve path giving tokens PyJWT
verifies; then refresh_token with rotation and reuse detection (RFC 6749 §6,
OAuth 2.0 Security BCP §4.14.2).
"""

from __future__ import annotations

import os
import re
import time

import pytest
import requests
from authlib.integrations.base_client import OAuthError

from am_server import (GRANT_DEVICE_CODE, GRANT_REFRESH, VerificationBrowser, authlib_session,
                       device_authorize, device_flow_tokens, poll_device)


@pytest.fixture(scope="module")
def device_client(am):
    return am.create_client(method="client_secret_basic", grants=[GRANT_DEVICE_CODE, GRANT_REFRESH],
                            scopes=["openid", "profile", "iec:device"], name="Kitchen Gateway 7")


@pytest.fixture(scope="module")
def person(am):
    return am.create_user(attributes={"name": "Alice Example", "email": "alice@example.test"})


def expect_error(sess, discovery, device_code, code):
    with pytest.raises(OAuthError) as info:
        poll_device(sess, discovery, device_code)
    assert info.value.error == code, f"expected {code}, got {info.value.error}: {info.value.description}"
    assert info.value.description, f"{code} without error_description"


def test_device_authorization_response(am, am_discovery, device_client):
    sess = authlib_session(am_discovery, device_client)
    grant = device_authorize(sess, am_discovery, "openid iec:device")
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", grant["user_code"]), grant
    assert grant["verification_uri"] == am_discovery["issuer"] + "/device/user", grant
    assert grant["expires_in"] == 300 and grant["interval"] == 5, grant
    complete = grant.get("verification_uri_complete")
    if complete:
        assert grant["user_code"] in complete, complete
    assert len(grant["device_code"]) >= 32, "device codes should be high-entropy"


def test_pending_then_slow_down(am, am_discovery, device_client):
    sess = authlib_session(am_discovery, device_client)
    grant = device_authorize(sess, am_discovery)
    expect_error(sess, am_discovery, grant["device_code"], "authorization_pending")
    expect_error(sess, am_discovery, grant["device_code"], "slow_down")   # polled twice quickly
    # RFC 8628 §3.5: after slow_down the interval grows by 5 s, so waiting the old
    # interval (5 s) is still too fast.
    time.sleep(grant["interval"] + 0.5)
    expect_error(sess, am_discovery, grant["device_code"], "slow_down")


def test_user_denies_gives_access_denied(am, am_discovery, device_client, person):
    sess = authlib_session(am_discovery, device_client)
    grant = device_authorize(sess, am_discovery)
    expect_error(sess, am_discovery, grant["device_code"], "authorization_pending")
    browser = VerificationBrowser(am)
    consent = browser.sign_in(grant["user_code"], *person)
    assert consent.status == 200, consent.describe()
    assert "Kitchen Gateway 7" in consent.text, f"the consent page should name the client: {consent.describe()}"
    done = browser.decide(consent, approve=False)
    assert done.status == 200 and "Request denied" in done.text, done.describe()
    time.sleep(grant["interval"])
    expect_error(sess, am_discovery, grant["device_code"], "access_denied")
    am.assert_live("a denied device code")


def test_user_code_typed_by_hand(am, am_discovery, device_client, person):
    """The person types the code (lower case, no dash) into an empty form."""
    sess = authlib_session(am_discovery, device_client)
    grant = device_authorize(sess, am_discovery)
    typed = grant["user_code"].replace("-", "").lower()
    consent = VerificationBrowser(am).sign_in(typed, *person, prefill=False)
    assert consent.status == 200 and consent.form().inputs.get("step") == "decide", consent.describe()


def test_approve_gives_tokens_then_the_code_is_spent(am, am_discovery, verifier, device_client, person):
    sess = authlib_session(am_discovery, device_client)
    token = device_flow_tokens(am, sess, am_discovery, *person)
    username = person[0]
    assert token["token_type"] == "Bearer" and isinstance(token["expires_in"], int), token
    assert token.get("refresh_token"), f"the client has the refresh_token grant: {token}"
    at = verifier.access_token(token["access_token"], device_client["client_id"])
    assert at["sub"] == username, f"the access token should be the user's: {at}"
    assert set(at["scope"].split()) == {"openid", "profile"}, at
    idt = verifier.id_token(token["id_token"], device_client["client_id"])
    assert idt["sub"] == username and idt["auth_time"] <= time.time() + 1, idt


def test_device_code_is_single_use(am, am_discovery, device_client, person):
    sess = authlib_session(am_discovery, device_client)
    grant = device_authorize(sess, am_discovery)
    VerificationBrowser(am).approve(grant["user_code"], *person)
    time.sleep(grant["interval"])
    token = poll_device(sess, am_discovery, grant["device_code"])
    assert token["access_token"]
    # Spent, no longer pending: invalid_grant (not slow_down), however soon it is presented.
    expect_error(sess, am_discovery, grant["device_code"], "invalid_grant")


def test_device_code_of_another_client_is_refused(am, am_discovery, device_client):
    other = am.create_client(grants=[GRANT_DEVICE_CODE])
    grant = device_authorize(authlib_session(am_discovery, device_client), am_discovery)
    expect_error(authlib_session(am_discovery, other), am_discovery, grant["device_code"], "invalid_grant")


def test_expired_device_code_gives_expired_token(am_factory):
    """A realm whose device codes live 5 s (set through the admin API): a code
    polled after that answers expired_token."""
    server = am_factory()
    response = server.admin("PUT", "/json/realms/root/realms/edge/oauth2/settings", json={"device_code_lifetime": 5})
    assert response.status_code == 200, response.text
    assert response.json()["device_code_lifetime"] == 5
    discovery = server.discovery()
    client = server.create_client(method="client_secret_basic", grants=[GRANT_DEVICE_CODE], name="Short-lived codes")
    sess = authlib_session(discovery, client)
    grant = device_authorize(sess, discovery)
    assert grant["expires_in"] == 5
    time.sleep(grant["expires_in"] + 1)
    expect_error(sess, discovery, grant["device_code"], "expired_token")


def test_oauth2_settings_are_checked(am):
    bad = am.admin("PUT", "/json/realms/root/realms/edge/oauth2/settings", json={"access_token_lifetime": 10**9})
    assert bad.status_code == 400 and "access_token_lifetime" in bad.json()["message"], bad.text
    unknown = am.admin("PUT", "/json/realms/root/realms/edge/oauth2/settings", json={"colour": "blue"})
    assert unknown.status_code == 400 and "unknown setting" in unknown.json()["message"], unknown.text


# --- refresh ----------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(am, am_discovery, verifier, device_client, person):
    sess = authlib_session(am_discovery, device_client)
    first = device_flow_tokens(am, sess, am_discovery, *person)
    r1 = first["refresh_token"]

    second = dict(sess.refresh_token(am_discovery["token_endpoint"], refresh_token=r1))
    r2 = second.get("refresh_token")
    assert r2 and r2 != r1, f"refresh must rotate the refresh token: {second}"
    at = verifier.access_token(second["access_token"], device_client["client_id"])
    assert at["sub"] == person[0], at
    if "id_token" in second:
        verifier.id_token(second["id_token"], device_client["client_id"])

    third = dict(sess.refresh_token(am_discovery["token_endpoint"], refresh_token=r2))
    r3 = third["refresh_token"]
    assert r3 not in (r1, r2)

    # r1 was rotated: presenting it again is reuse → invalid_grant, and the family dies.
    with pytest.raises(OAuthError) as info:
        sess.refresh_token(am_discovery["token_endpoint"], refresh_token=r1)
    assert info.value.error == "invalid_grant", (info.value.error, info.value.description)
    with pytest.raises(OAuthError) as info:
        sess.refresh_token(am_discovery["token_endpoint"], refresh_token=r3)
    assert info.value.error == "invalid_grant", \
        f"after reuse of a rotated token, the newest one of the family must be dead too: {info.value.description}"


def test_refresh_narrower_scope_and_only_by_its_own_client(am, am_discovery, verifier, device_client, person):
    sess = authlib_session(am_discovery, device_client)
    first = device_flow_tokens(am, sess, am_discovery, *person)
    thief = am.create_client(grants=[GRANT_DEVICE_CODE, GRANT_REFRESH])
    with pytest.raises(OAuthError) as info:
        authlib_session(am_discovery, thief).refresh_token(am_discovery["token_endpoint"],
                                                           refresh_token=first["refresh_token"])
    assert info.value.error == "invalid_grant", (info.value.error, info.value.description)

    narrowed = dict(sess.refresh_token(am_discovery["token_endpoint"], refresh_token=first["refresh_token"],
                                       scope="profile"))
    assert narrowed["scope"] == "profile", narrowed
    assert verifier.access_token(narrowed["access_token"], device_client["client_id"])["scope"] == "profile"
    assert "id_token" not in narrowed, "no ID token without the openid scope"
    with pytest.raises(OAuthError) as info:  # wider than the original grant
        sess.refresh_token(am_discovery["token_endpoint"], refresh_token=narrowed["refresh_token"],
                           scope="openid profile iec:admin")
    assert info.value.error == "invalid_scope", (info.value.error, info.value.description)


def test_device_authorization_with_empty_body(am, am_discovery, device_client):
    """RFC 8628 §3.1 with Basic client authentication and no scope: no parameters at all, so a
    client may send no body and hence no Content-Type (RFC 9110 §8.3), e.g. `curl -X POST -u id:secret`
    or `requests.post(url, auth=...)`. That is an empty form, not a wrong content type."""
    r = requests.post(am_discovery["device_authorization_endpoint"],
                      auth=(device_client["client_id"], device_client["client_secret"]), timeout=30)
    assert r.status_code == 200, (
        f"POST device/code with Basic auth and an empty body (no Content-Type) should start a device "
        f"authorization; iec-am answered {r.status_code} {r.text[:200]}")
    assert "device_code" in r.json()


def test_consent_page_escapes_the_client_name(am, am_discovery, person):
    evil = am.create_client(grants=[GRANT_DEVICE_CODE], name='<script>alert("x")</script><b onmouseover=1>Evil')
    grant = device_authorize(authlib_session(am_discovery, evil), am_discovery)
    consent = VerificationBrowser(am).sign_in(grant["user_code"], *person)
    assert consent.status == 200, consent.describe()
    html = consent.response.text
    assert "<script>" not in html and "<b onmouseover" not in html, "the client name must be HTML-escaped"
    assert '<script>alert("x")</script>' in consent.text, "the escaped name should still be shown"
    csp = consent.response.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp or "script-src 'none'" in csp, f"no script-blocking CSP: {csp!r}"


def test_consent_form_is_bound_to_its_browser_and_used_once(am, am_discovery, device_client, person):
    sess = authlib_session(am_discovery, device_client)
    grant = device_authorize(sess, am_discovery)
    victim = VerificationBrowser(am)
    consent = victim.sign_in(grant["user_code"], *person)
    assert consent.status == 200, consent.describe()
    # Another browser (its own csrf cookie) submits the victim's consent form, with its own csrf.
    attacker = VerificationBrowser(am)
    attacker_page = attacker.open()
    form = dict(consent.form().inputs, decision="approve", csrf=attacker_page.form().inputs["csrf"])
    r = attacker.session.post(attacker.page_url, data=form, timeout=30)
    assert r.status_code in (400, 403) and "Device approved" not in r.text, \
        f"a consent form replayed from another browser must not approve: {r.status_code}"
    done = victim.decide(consent, approve=True)
    assert done.status == 200 and "Device approved" in done.text, done.describe()
    twice = victim.decide(consent, approve=False)
    assert twice.status >= 400 and "Request denied" not in twice.text, \
        f"a decided code cannot be decided again: {twice.describe()}"
    time.sleep(grant["interval"])
    assert poll_device(sess, am_discovery, grant["device_code"])["access_token"]
