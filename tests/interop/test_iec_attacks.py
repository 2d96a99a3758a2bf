"""Attacks on the IEC realm service: each is refused with a clear error and the server keeps serving.

A replayed challenge, a PoP signed by another key than its cnf.jwk, a wrong
vendor secret, an expired challenge (a real 61 s wait, see the last test), a
replayed or out-of-order command nonce, a body signed by another gateway, a
disabled node, a gateway acting for a node that is not its own, scripts in an
endless loop or allocating without bound (stopped, reported, the next request
fine), and a script that does not compile.

After every attack `GET /health/live` must answer 200.
"""

from __future__ import annotations

import secrets
import time

import pytest
import requests

from gateway import (AUTHENTICATION, REGISTRATION, CHALLENGE_LIFETIME, CommandFailed, Gateway, IECAdmin,
                     NodeKey, am_error, start_iec_am)


@pytest.fixture(scope="module")
def iec(iec_am_binary):
    server, config = start_iec_am(iec_am_binary)
    try:
        yield server, config
    finally:
        server.close()


@pytest.fixture(scope="module")
def server(iec):
    return iec[0]


@pytest.fixture(scope="module")
def config(iec):
    return iec[1]


@pytest.fixture(scope="module")
def admin(server):
    return IECAdmin(server)


@pytest.fixture(scope="module")
def token_endpoint(server):
    return server.discovery()["token_endpoint"]


@pytest.fixture(scope="module", autouse=True)
def stale_challenge(config):
    """A registration challenge fetched when the module starts, answered by the last test
    once it is older than its 60 s lifetime (so the wait overlaps the other tests)."""
    gw = Gateway(config, name="gw-late-" + secrets.token_hex(4))
    step = gw.begin(REGISTRATION)
    return gw, step, time.monotonic()


def new_gateway(config, prefix="gw") -> Gateway:
    gw = Gateway(config, name=f"{prefix}-{secrets.token_hex(4)}")
    gw.register()
    return gw


@pytest.fixture(scope="module")
def first(config):
    """Gateway 1 with a client and a device."""
    gw = new_gateway(config, "gw-one")
    gw.client_id, gw.device_id = "app-" + secrets.token_hex(4), "dev-" + secrets.token_hex(4)
    gw.register_client(gw.client_id)
    gw.register_device(gw.device_id, gw.client_id)
    return gw


@pytest.fixture(scope="module")
def second(config):
    return new_gateway(config, "gw-two")


def absent(admin: IECAdmin, node_id: str) -> None:
    r = admin.call("GET", f"/identities/{node_id}")
    assert r.status_code == 404, f"{node_id} should not exist after a refused registration: {r.status_code} {r.text[:300]}"


# --- the chains ---------------------------------------------------------------------------


def test_replayed_challenge_is_refused(server, config, admin):
    gw = Gateway(config, name="gw-replay-" + secrets.token_hex(4))
    step = gw.begin(REGISTRATION)
    pop, id_token = gw.pop(step.nonce, registration=True), gw.registration_id_token()
    gw._take_session(gw.answer(step, pop, id_token), "registration")
    replay = gw.answer(step, pop, id_token)                  # same authId, same PoP
    assert am_error(replay, 401) == "the challenge was already used; start again"
    assert "tokenId" not in replay.json()
    server.assert_live("a replayed challenge")

    # The same for device_authentication.
    step = gw.begin(AUTHENTICATION)
    pop = gw.pop(step.nonce, registration=False)
    gw._take_session(gw.answer(step, pop), "authentication")
    assert "already used" in am_error(gw.answer(step, pop), 401)
    server.assert_live("a replayed authentication challenge")


def test_pop_signed_by_another_key_than_cnf_jwk(server, config, admin):
    gw = Gateway(config, name="gw-pop-" + secrets.token_hex(4))
    step = gw.begin(REGISTRATION)
    forged = gw.pop(step.nonce, registration=True, key=NodeKey(), cnf_key=gw.key)
    r = gw.answer(step, forged, gw.registration_id_token())
    assert am_error(r, 401) == "the proof of possession was refused: the signature does not verify"
    absent(admin, gw.name)
    server.assert_live("a PoP signed by another key")


def test_authentication_pop_by_another_key_than_the_stored_one(server, config):
    gw = new_gateway(config, "gw-auth")
    step = gw.begin(AUTHENTICATION)
    r = gw.answer(step, gw.pop(step.nonce, registration=False, key=NodeKey()))
    message = am_error(r, 401)
    assert "proof of possession was refused" in message or message == "authentication failed", message
    server.assert_live("an authentication PoP by another key")


def test_registering_a_taken_name_with_another_key(server, config, admin):
    owner = new_gateway(config, "gw-taken")
    thief = Gateway(config, name=owner.name)               # same name, its own key
    step = thief.begin(REGISTRATION)
    r = thief.answer(step, thief.pop(step.nonce, registration=True), thief.registration_id_token())
    am_error(r, 409)
    keys = admin.identity(owner.name)["publicKeys"]["keys"]
    assert [k["x"] for k in keys] == [owner.key.public_jwk["x"]], "the owner's key was replaced"
    owner.authenticate()
    server.assert_live("a taken name")


def test_wrong_vendor_secret(server, config, admin):
    gw = Gateway(config, name="gw-vendor-" + secrets.token_hex(4))
    step = gw.begin(REGISTRATION)
    r = gw.answer(step, gw.pop(step.nonce, registration=True),
                  gw.registration_id_token(secret="not-the-" + config.vendor_secret))
    assert am_error(r, 401) == "the registration ID token was refused: the signature does not verify"
    absent(admin, gw.name)
    server.assert_live("a wrong vendor secret")


# --- commands -------------------------------------------------------------------------------


def test_replayed_and_out_of_order_command_nonces(server, config):
    gw = new_gateway(config, "gw-nonce")
    gw.last_nonce = 100
    body = gw.command_jws("GET_IEC_CONFIG")                  # nonce 101
    assert gw.post_command(body).status_code == 200
    replay = gw.post_command(body)
    message = am_error(replay, 401)
    assert "nonce" in message, f"the refusal should name the nonce: {message}"
    lower = gw.command("GET_IEC_CONFIG", nonce=50)
    assert "nonce" in am_error(lower, 401)
    same = gw.command("GET_IEC_CONFIG", nonce=101)
    assert "nonce" in am_error(same, 401)
    # The refused ones did not move the counter backwards or forwards: 102 works.
    assert gw.command("GET_IEC_CONFIG", nonce=102).status_code == 200
    server.assert_live("replayed nonces")


def test_body_signed_by_another_gateway(server, first, second):
    # Gateway 2's key, gateway 1's session and csrf, a fresh nonce of gateway 1.
    forged = first.command_jws("GET_CONFIG", {"id": first.device_id}, id=first.device_id, key=second.key)
    assert am_error(first.post_command(forged), 401)
    # Gateway 1's own body presented with gateway 2's session.
    body = first.command_jws("GET_IEC_CONFIG")
    assert am_error(first.post_command(body, session=second.session_token), 401)
    # Gateway 2 signs its own body but binds it (csrf) to gateway 1's session.
    cross = second.command_jws("GET_IEC_CONFIG", csrf=first.session_token)
    assert am_error(second.post_command(cross), 401)
    # No session at all.
    r = requests.post(first.config.command_url, data=first.command_jws("GET_IEC_CONFIG"),
                      headers={"Content-Type": "application/jose"}, timeout=30)
    assert am_error(r, 401)
    # Both gateways still work.
    assert first.ok("GET_CONFIG", {"id": first.device_id}, id=first.device_id) == {}
    assert isinstance(second.ok("GET_IEC_CONFIG"), dict)
    server.assert_live("bodies signed by another gateway")


def test_gateway_acting_for_a_node_that_is_not_its_own(server, token_endpoint, first, second):
    r = second.command("GET_CONFIG", {"id": first.device_id}, id=first.device_id)
    assert first.device_id in am_error(r, 403), r.text
    r = second.command("GET_CLIENT_CONFIG", {"id": first.client_id}, id=first.client_id)
    am_error(r, 403)
    # Even with a valid assertion made by the device's own key.
    r = second.get_tokens(first.device_id, token_endpoint, key=first.node_keys[first.device_id])
    am_error(r, 403)
    r = second.command("GET_USER_CODE", {"id": first.device_id}, id=first.device_id)
    am_error(r, 403)
    r = second.command("REGISTER_DEVICE", {"id": "dev-" + secrets.token_hex(4), "client": first.client_id,
                                           "jwk": NodeKey().jwk()})
    am_error(r, 403)
    r = second.command("GET_CONFIG", {"id": first.name}, id=first.name)
    am_error(r, 403)
    server.assert_live("a gateway acting for another's nodes")


def test_disabled_node(server, config, admin, token_endpoint, first):
    device_id = "dev-off-" + secrets.token_hex(4)
    first.register_device(device_id, first.client_id)
    r = first.get_tokens(device_id, token_endpoint)
    if r.status_code != 200:
        raise CommandFailed("GET_TOKENS", r)
    earlier = r.json()["access_token"]
    assert first.ok("INTROSPECT", {"token": earlier}).get("active") is True

    node = admin.action(device_id, "disable")
    assert node["status"] == "disabled", node
    r = first.get_tokens(device_id, token_endpoint)
    assert device_id in am_error(r, 403), r.text
    assert first.ok("INTROSPECT", {"token": earlier}) == {"active": False}, \
        "a disabled node's earlier access token must introspect inactive at once"
    # The OAuth2 introspection endpoint says the same to a resource server.
    rs = server.create_client(method="client_secret_basic")
    r = requests.post(server.oauth2_url("/introspect"), data={"token": earlier}, timeout=30,
                      auth=(rs["client_id"], rs["client_secret"]))
    assert r.status_code == 200 and r.json() == {"active": False}, f"/introspect: {r.status_code} {r.text[:300]}"
    server.assert_live("a disabled device")

    admin.action(device_id, "enable")
    r = first.get_tokens(device_id, token_endpoint)
    assert r.status_code == 200, f"GET_TOKENS after enable: {r.status_code} {r.text[:300]}"


def test_disabled_gateway_loses_its_session_and_cannot_authenticate(server, config, admin):
    gw = new_gateway(config, "gw-off")
    assert gw.command("GET_IEC_CONFIG").status_code == 200
    admin.action(gw.name, "disable")
    am_error(gw.command("GET_IEC_CONFIG"), 401)
    assert gw.validate_session()["valid"] is False
    step = gw.begin(AUTHENTICATION)
    assert am_error(gw.answer(step, gw.pop(step.nonce, registration=False)), 401) == \
        f"the identity {gw.name} is disabled"
    server.assert_live("a disabled gateway")


# --- scripts ----------------------------------------------------------------------------------


def install(admin: IECAdmin, source: str, prefix: str) -> tuple[str, str]:
    """Installs a script under a fresh name and maps a fresh command to it."""
    name = f"{prefix}{secrets.token_hex(3)}"
    command = name.upper()
    r = admin.put_script(name, source)
    assert r.status_code == 201, f"PUT script {name}: {r.status_code} {r.text[:300]}"
    admin.map_commands({command: name})
    return name, command


@pytest.fixture(scope="module")
def echo(admin):
    return install(admin, "response = {echo: params, node: identity.getName()};", "Echo")[1]


@pytest.mark.parametrize("kind,source", [
    ("endless loop", "while (true) {}"),
    ("unbounded allocation", "var keep = []; var s = 'x';\nwhile (true) { s = s + s; keep.push(s); keep.push({n: keep.length}); }"),
    ("unbounded allocation of objects", "var a = []; for (;;) { a.push({i: a.length, s: 'abcdefgh' + a.length}); }"),
], ids=["endless-loop", "doubling-strings", "growing-array"])
def test_runaway_script_is_stopped_and_the_next_request_works(server, admin, first, echo, kind, source):
    name, command = install(admin, source, "Runaway")
    started = time.monotonic()
    r = first.command(command, {"n": 1})
    elapsed = time.monotonic() - started
    message = am_error(r, 500)
    assert name in message, f"the error should name the script {name}: {message}"
    assert message.startswith(f"the script {name} failed"), message
    assert elapsed < 10, f"the {kind} took {elapsed:.1f} s to be stopped"
    server.assert_live(f"a script with an {kind}")
    # The next request, another command, is served.
    answer = first.ok(echo, {"after": kind})
    assert answer == {"response": {"echo": {"after": kind}, "node": first.name}}, answer
    assert first.ok("GET_CONFIG", {"id": first.device_id}, id=first.device_id) == {}


def test_script_with_a_syntax_error_is_refused(server, admin):
    name = "Broken" + secrets.token_hex(3)
    r = admin.put_script(name, "function ( { response = ;")
    message = am_error(r, 400)
    assert "compile" in message or "syntax" in message.lower(), message
    assert admin.call("GET", f"/scripts/{name}").status_code == 404, "a refused script must not be stored"
    server.assert_live("a script that does not compile")


# --- last: the expired challenge ---------------------------------------------------------------


@pytest.mark.slow
def test_expired_challenge(server, admin, stale_challenge):
    """Waits until the challenge fetched at module start is past its 60 s (the wait overlaps
    the tests above; at most 61 s when this test runs alone)."""
    gw, step, fetched = stale_challenge
    remaining = CHALLENGE_LIFETIME + 1.5 - (time.monotonic() - fetched)
    if remaining > 0:
        time.sleep(remaining)
    # A real gateway would notice itself; this one sends it anyway (verify_exp off).
    gw.verify_challenge(step.challenge, verify_exp=False)
    r = gw.answer(step, gw.pop(step.nonce, registration=True), gw.registration_id_token())
    assert am_error(r, 401) == "the challenge has expired; start again"
    absent(admin, gw.name)
    server.assert_live("an expired challenge")
    # A fresh challenge works.
    gw.register()
