"""A whole gateway life against a real iec-am, over HTTP, by a gateway written in Python.

register (challenge verified with am_public_key) → authenticate again →
REGISTER_CLIENT → REGISTER_DEVICE (registration_data) → the admin sets the
device's configuration, GET_CONFIG returns it → GET_TOKENS (PyJWT verifies
against the JWKS from discovery) → HELLO_WORLD mapped to the shipped
HelloWorld script, and an unmapped command → pairing through the verification
page (GET_USER_CODE, a user approves, GET_USER_TOKENS, pairedUser) →
INTROSPECT. The admin API shows the tree gateway → client → device.

The tests of this module run in order on one server and build on each other
(the `life` fixture holds the gateway and its nodes).
"""

from __future__ import annotations

import json
import secrets
import time

import pytest

from am_server import TokenVerifier, VerificationBrowser
from gateway import (AUTHENTICATION, REGISTRATION, CommandFailed, Gateway, IECAdmin, am_error,
                     start_iec_am, unverified_claims)


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
def admin(server):
    return IECAdmin(server)


@pytest.fixture(scope="module")
def discovery(server):
    return server.discovery()


@pytest.fixture(scope="module")
def verifier(discovery):
    return TokenVerifier(discovery)


class Life:
    """What the gateway has made so far."""

    def __init__(self, gateway: Gateway):
        self.gw = gateway
        self.client_id = "app-" + secrets.token_hex(4)
        self.device_id = "dev-" + secrets.token_hex(4)
        self.access_token: str | None = None


@pytest.fixture(scope="module")
def life(iec):
    _, config = iec
    return Life(Gateway(config, name="gw-life-" + secrets.token_hex(4)))


@pytest.fixture(scope="module")
def registered(life):
    life.gw.register()
    return life


@pytest.fixture(scope="module")
def tree(registered):
    gw = registered.gw
    client = gw.register_client(registered.client_id)
    assert client == {"id": registered.client_id, "type": "client", "parent": gw.name}, client
    device = gw.register_device(registered.device_id, registered.client_id,
                                registration_data={"custom_data": "here"})
    assert device == {"id": registered.device_id, "type": "device", "parent": registered.client_id}, device
    return registered


def test_registration_checks_the_challenge_and_creates_the_gateway(server, admin, life):
    gw = life.gw
    step = gw.begin(REGISTRATION)          # verified against am_public_key inside begin()
    assert step.claims["iss"] == gw.config.realm_issuer, step.claims
    assert step.claims["exp"] - step.claims["iat"] == 60, f"the challenge should live 60 s: {step.claims}"
    # A gateway must refuse a challenge that am_public_key does not verify.
    head, payload, sig = step.challenge.split(".")
    forged = ".".join([head, payload, ("A" if sig[0] != "A" else "B") + sig[1:]])
    with pytest.raises(Exception) as info:
        gw.verify_challenge(forged)
    assert "signature" in str(info.value).lower(), f"a tampered challenge was not refused: {info.value!r}"

    r = gw.answer(step, gw.pop(step.nonce, registration=True), gw.registration_id_token())
    token = gw._take_session(r, "registration")
    body = r.json()
    assert body.get("successUrl"), body
    session = gw.validate_session(token)
    assert session.get("valid") is True and session.get("uid") == gw.name, f"session validate: {session}"

    node = admin.identity(gw.name)
    assert node["type"] == "iec" and node["status"] == "registered", node
    assert node["parent"] is None, node
    keys = node["publicKeys"]["keys"]
    assert [(k["x"], k["y"]) for k in keys] == [(gw.key.public_jwk["x"], gw.key.public_jwk["y"])], \
        f"the gateway's stored key should be the one from cnf.jwk: {node['publicKeys']}"
    assert node["registrationTime"] and abs(node["registrationTime"] - time.time()) < 120, node
    listed = [n["id"] for n in admin.all_identities(type="iec")]
    assert gw.name in listed, f"{gw.name} not in the type=iec listing: {listed}"
    server.assert_live("registration")


def test_registering_again_with_the_same_key_gives_a_session(life):
    gw = life.gw
    first = gw.session_token
    again = gw.register()
    assert again and again != first, "registering again with the same key should give a new session"


def test_authentication_with_the_stored_key(server, registered):
    gw = registered.gw
    before = gw.session_token
    step = gw.begin(AUTHENTICATION)
    assert step.claims.get("chain", AUTHENTICATION) == AUTHENTICATION, step.claims
    assert len(step.body["callbacks"]) == 1, f"device_authentication has one callback: {step.body}"
    token = gw._take_session(gw.answer(step, gw.pop(step.nonce, registration=False)), "authentication")
    assert token != before
    assert gw.validate_session(token)["valid"] is True
    # The command endpoint takes the new session.
    config = gw.ok("GET_IEC_CONFIG")
    assert isinstance(config, dict), config


def test_command_nonce_is_an_integer_as_documented(server, registered):
    """docs/protocol-am.md, Commands: `nonce` (integer, strictly greater than the gateway's
    previous one). A gateway that sends what the contract says must be served."""
    gw = registered.gw
    r = gw.command("GET_IEC_CONFIG", nonce=gw.next_nonce())
    assert isinstance(unverified_claims(gw.command_jws("GET_IEC_CONFIG", nonce=1))["nonce"], int)
    assert r.status_code == 200, (
        "iec-am refuses a command whose nonce is an integer, as docs/protocol-am.md specifies: "
        f"HTTP {r.status_code} {r.text[:300]}")
    server.assert_live("an integer command nonce")


def test_register_client_and_device_make_the_tree(admin, tree):
    gw = tree.gw
    gateway = admin.identity(gw.name)
    assert {"id": tree.client_id, "type": "client", "status": "registered"} in [
        {k: c.get(k) for k in ("id", "type", "status")} for c in gateway["children"]], gateway["children"]
    client = admin.identity(tree.client_id)
    assert client["type"] == "client" and client["parent"] == gw.name, client
    device = admin.identity(tree.device_id)
    assert device["type"] == "device" and device["parent"] == tree.client_id, device
    assert "custom_data" not in json.dumps(device), \
        f"registration_data must be discarded after registration, the identity holds it: {device}"
    under_gw = [n["id"] for n in admin.all_identities(parent=gw.name)]
    under_client = [n["id"] for n in admin.all_identities(parent=tree.client_id)]
    assert under_gw == [tree.client_id], f"parent={gw.name}: {under_gw}"
    assert under_client == [tree.device_id], f"parent={tree.client_id}: {under_client}"
    devices = admin.identities(type="device", q=tree.device_id)
    assert [n["id"] for n in devices["result"]] == [tree.device_id], devices
    assert devices["totalCount"] == 1, devices


def test_admin_configuration_is_read_back_with_get_config(admin, tree):
    gw = tree.gw
    assert gw.ok("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id) == {}, \
        "GET_CONFIG should answer {} until an admin sets a configuration"
    configuration = {"minimum": 7, "name": "kitchen sensor", "thresholds": [1.5, 2.5], "nested": {"on": True}}
    updated = admin.set_configuration(tree.device_id, configuration)
    assert updated["configuration"] == configuration, updated
    assert gw.ok("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id) == configuration
    client_config = {"app": "telemetry"}
    admin.set_configuration(tree.client_id, client_config)
    assert gw.ok("GET_CLIENT_CONFIG", {"id": tree.client_id}, id=tree.client_id) == client_config
    gateway_config = {"site": "lab-1"}
    admin.set_configuration(gw.name, gateway_config)
    assert gw.ok("GET_IEC_CONFIG") == gateway_config


def test_get_tokens_for_the_device_verify_with_pyjwt(discovery, verifier, tree):
    gw = tree.gw
    r = gw.get_tokens(tree.device_id, discovery["token_endpoint"], scope="openid")
    if r.status_code != 200:
        raise CommandFailed("GET_TOKENS", r)
    tokens = r.json()
    assert tokens.get("token_type") == "Bearer", tokens
    at = verifier.access_token(tokens["access_token"], tree.device_id)   # kid in the JWKS, ES256, aud
    assert at["sub"] == tree.device_id and at["aud"] in (tree.device_id, [tree.device_id]), at
    idt = verifier.id_token(tokens["id_token"], tree.device_id)
    assert idt["sub"] == tree.device_id, idt
    tree.access_token = tokens["access_token"]


def test_mapped_custom_command_runs_the_shipped_hello_world(admin, tree):
    gw = tree.gw
    scripts = admin.call("GET", "/scripts").json()["result"]
    assert "HelloWorld" in [s["name"] for s in scripts], f"HelloWorld is not shipped: {[s['name'] for s in scripts]}"
    hello = admin.call("GET", "/scripts/HelloWorld").json()
    assert "HELLO_WORLD" not in hello.get("commands", []), f"HelloWorld should not be mapped by default: {hello}"

    r = gw.command("HELLO_WORLD", {"greeting": "hi"}, id=tree.device_id)
    assert am_error(r, 400) == "no script found for command", "before it is mapped"

    settings = admin.map_commands({"HELLO_WORLD": "HelloWorld"})
    assert settings["command_scripts"]["HELLO_WORLD"] == "HelloWorld", settings
    assert settings["command_scripts"].get("GET_CONFIG"), f"the existing mapping was lost: {settings}"
    assert "vendor_secret" not in settings and settings.get("vendor_secret_set") is True, settings

    answer = gw.ok("HELLO_WORLD", {"id": tree.device_id, "greeting": "hi"}, id=tree.device_id)
    assert set(answer) == {"response"}, f"a custom command answers {{'response': ...}}: {answer}"
    assert answer["response"], answer
    text = json.dumps(answer)
    assert "hello" in text.lower() and tree.device_id in text, \
        f"HelloWorld should greet the node it runs for ({tree.device_id}): {answer}"
    # The built-ins still work after the mapping changed.
    assert gw.ok("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id)["minimum"] == 7


def test_unmapped_command_answers_no_script_found(server, tree):
    r = tree.gw.command("NOT_A_COMMAND_" + secrets.token_hex(3).upper(), {"x": 1})
    assert am_error(r, 400) == "no script found for command"
    server.assert_live("an unmapped command")


def test_pairing_through_the_verification_page(server, admin, tree):
    gw = tree.gw
    username, password = server.create_user(attributes={"name": "Pat Pairing"})
    code = gw.ok("GET_USER_CODE", {"id": tree.device_id}, id=tree.device_id)
    for name in ("device_code", "user_code", "verification_uri", "expires_in", "interval"):
        assert name in code, f"GET_USER_CODE lacks {name}: {code}"
    assert code["verification_uri"].startswith(server.base_url), code

    early = gw.command("GET_USER_TOKENS", {"id": tree.device_id, "device_code": code["device_code"]},
                       id=tree.device_id)
    assert am_error(early, 400) == "authorization_pending", "before the user approved"

    VerificationBrowser(server).approve(code["user_code"], username, password)

    interval = int(code["interval"])
    deadline = time.monotonic() + 40
    while True:
        time.sleep(interval + 0.2)
        r = gw.command("GET_USER_TOKENS", {"id": tree.device_id, "device_code": code["device_code"]},
                       id=tree.device_id)
        if r.status_code == 200:
            break
        message = am_error(r, 400)
        assert message in ("authorization_pending", "slow_down") and time.monotonic() < deadline, \
            f"GET_USER_TOKENS after approval: {r.status_code} {r.text[:300]}"
        if message == "slow_down":
            interval += 5
    tokens = r.json()
    assert tokens.get("access_token") and tokens.get("token_type") == "Bearer", tokens
    claims = unverified_claims(tokens["access_token"])
    assert claims.get("sub") == username, f"the user's token should name the user: {claims}"
    device = admin.identity(tree.device_id)
    assert device.get("pairedUser") == username, f"pairedUser should be {username}: {device}"


def test_introspect_of_the_device_access_token(discovery, tree):
    gw = tree.gw
    if tree.access_token is None:
        r = gw.get_tokens(tree.device_id, discovery["token_endpoint"])
        assert r.status_code == 200, r.text
        tree.access_token = r.json()["access_token"]
    answer = gw.ok("INTROSPECT", {"token": tree.access_token})
    assert answer.get("active") is True, answer
    assert answer.get("sub") == tree.device_id and answer.get("client_id") == tree.device_id, answer
    assert gw.ok("INTROSPECT", {"token": "not-a-token"}) == {"active": False}


def test_a_gateway_naming_its_key_with_kid(iec, discovery, verifier):
    """A gateway that registers its JWKs with kid (RFC 7638 thumbprint) and names that kid in
    every JWS header, as AM gateways usually do (iot-edge signs with a kid), is served the same."""
    _, config = iec
    gw = Gateway(config, name="gw-kid-" + secrets.token_hex(4), kid_in_headers=True)
    gw.register()
    gw.authenticate()
    assert isinstance(gw.ok("GET_IEC_CONFIG"), dict)
    client_id, device_id = "app-kid-" + secrets.token_hex(3), "dev-kid-" + secrets.token_hex(3)
    gw.register_client(client_id)
    gw.register_device(device_id, client_id)
    r = gw.get_tokens(device_id, discovery["token_endpoint"])
    if r.status_code != 200:
        raise CommandFailed("GET_TOKENS (kid in the assertion header)", r)
    verifier.access_token(r.json()["access_token"], device_id)


def test_session_logout_ends_the_gateway_session(iec):
    _, config = iec
    gw = Gateway(config, name="gw-out-" + secrets.token_hex(4))
    gw.register()
    r = gw.logout()
    assert r.status_code == 200, f"logout: {r.status_code} {r.text[:300]}"
    assert gw.validate_session()["valid"] is False
    r = gw.command("GET_IEC_CONFIG")
    assert am_error(r, 401), "a command with a logged-out session"
