"""Nothing lost: iec-am stopped (SIGTERM) and served again on the same database keeps
clients, keys, users and refresh tokens; `kill -9` during a burst of client
creations loses no creation that was answered 201.
"""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from am_server import (ADMIN_REALM_PATH, COOKIE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_REFRESH,
                       ClientKey, TokenVerifier, VerificationBrowser, authlib_session, device_authorize,
                       device_flow_tokens)


def test_restart_keeps_clients_keys_users_and_refresh_tokens(am_factory):
    server = am_factory()
    discovery = server.discovery()
    jwks_before = requests.get(discovery["jwks_uri"], timeout=10).json()

    basic = server.create_client(method="client_secret_basic", grants=[GRANT_CLIENT_CREDENTIALS])
    key = ClientKey()
    pkjwt = server.create_client(method="private_key_jwt", grants=[GRANT_CLIENT_CREDENTIALS], jwks=key.jwks)
    device = server.create_client(grants=[GRANT_DEVICE_CODE, GRANT_REFRESH], name="Persistent Gateway")
    user, password = server.create_user(attributes={"name": "Paula Persistent"})

    basic_token = authlib_session(discovery, basic).fetch_token(grant_type="client_credentials")
    device_sess = authlib_session(discovery, device)
    device_token = device_flow_tokens(server, device_sess, discovery, user, password)
    pending = device_authorize(authlib_session(discovery, device), discovery)

    server.restart()  # SIGTERM, exit code 0 required, serve again on the same DB and port

    assert server.discovery() == discovery, "discovery changed across a restart"
    jwks_after = requests.get(discovery["jwks_uri"], timeout=10).json()
    assert jwks_after == jwks_before, f"JWKS changed across a restart:\nbefore {jwks_before}\nafter {jwks_after}"

    verifier = TokenVerifier(discovery)
    verifier.access_token(basic_token["access_token"], basic["client_id"])  # old token, keys after restart
    verifier.id_token(basic_token["id_token"], basic["client_id"])
    info = authlib_session(discovery, basic).introspect_token(discovery["introspection_endpoint"],
                                                              token=basic_token["access_token"]).json()
    assert info.get("active") is True, f"a token from before the restart should still be active: {info}"

    listed = {c["client_id"] for c in server.list_all_clients()}
    for c in (basic, pkjwt, device):
        assert c["client_id"] in listed, f"client {c['client_id']} missing after restart"
        r = server.admin("GET", ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client/" + c["client_id"])
        assert r.status_code == 200, (r.status_code, r.text[:200])
        assert r.json()["token_endpoint_auth_method"] == c["token_endpoint_auth_method"], r.json()
    # The secret and the registered key still authenticate.
    verifier.access_token(authlib_session(discovery, basic).fetch_token(grant_type="client_credentials")
                          ["access_token"], basic["client_id"])
    verifier.access_token(authlib_session(discovery, pkjwt, key=key).fetch_token(grant_type="client_credentials")
                          ["access_token"], pkjwt["client_id"])

    r = server.admin("GET", ADMIN_REALM_PATH + "/users/" + user)
    assert r.status_code == 200 and r.json()["username"] == user, (r.status_code, r.text[:200])
    assert r.json()["attributes"].get("name") == "Paula Persistent", r.json()
    # The user's password (its hash) survived: signing in on the verification page works,
    # for a device code made before the restart.
    consent = VerificationBrowser(server).sign_in(pending["user_code"], user, password)
    assert consent.status == 200 and "Persistent Gateway" in consent.text, consent.describe()

    refreshed = dict(device_sess.refresh_token(discovery["token_endpoint"], refresh_token=device_token["refresh_token"]))
    assert refreshed["refresh_token"] != device_token["refresh_token"]
    assert verifier.access_token(refreshed["access_token"], device["client_id"])["sub"] == user


def test_kill_9_during_a_burst_of_client_creations_loses_no_answered_one(am_factory):
    server = am_factory(server={"threads": 8})
    token = server.admin_token
    url = server.url(ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client")
    answered: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    prefix = "burst-" + secrets.token_hex(3)

    def create(i: int):
        cid = f"{prefix}-{i:05d}"
        try:
            r = requests.post(url, params={"_action": "create"}, timeout=10,
                              headers={COOKIE: token, "Connection": "close"},
                              json={"client_id": cid, "client_name": cid, "grant_types": [GRANT_CLIENT_CREDENTIALS],
                                    "token_endpoint_auth_method": "client_secret_basic"})
        except requests.RequestException:
            with lock:
                failed.append(cid)
            return
        with lock:
            if r.status_code == 201:
                assert r.json()["client_id"] == cid
                answered.append(cid)
                if len(answered) >= 150:
                    enough.set()
            else:
                failed.append(cid)

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(create, i) for i in range(3000)]
        assert enough.wait(60), f"only {len(answered)} creations answered in 60 s\n{server.log_tail()}"
        server.kill()  # kill -9, mid-burst
        killed_at = len(answered)
        for f in futures:
            f.result()

    assert failed, "every request was answered before the kill: the burst was too short to test anything"
    server.start()  # same database
    server._admin_token = None  # sign in afresh: this test is about clients, not sessions
    present = {c["client_id"] for c in server.list_all_clients(page_size=500)}
    lost = [cid for cid in answered if cid not in present]
    assert not lost, (f"{len(lost)} of {len(answered)} clients answered 201 are gone after kill -9 "
                      f"(answered before the kill: {killed_at}); first lost: {lost[:5]}")
    # Spot-check single reads as well as the listing.
    for cid in answered[-5:]:
        r = server.admin("GET", ADMIN_REALM_PATH + "/realm-config/agents/OAuth2Client/" + cid)
        assert r.status_code == 200, (cid, r.status_code, r.text[:200])
    server.assert_live("restart after kill -9")
