"""A third-party SDK client (pyzmq, DEALER + CURVE, following only docs/protocol.md)
against the real iecservice, with iec-am behind it.

It initialises (REGISTER_CLIENT), registers a device, gets the device's tokens and
checks them with PyJWT against the realm's JWKS found through discovery, reads the
device configuration an admin set, runs a custom command (unmapped → am_error, mapped →
the script's response), gets a user code and, once a user approved on the verification
page, the user tokens; introspects. Plus the transport rules: one-frame requests, REQ
sockets, pipelined requests answered by request_id.
"""

from __future__ import annotations

import json
import secrets
import time

import pytest
import zmq

from am_server import TokenVerifier, VerificationBrowser
from gateway import IECAdmin, unverified_claims
from gateway_service import (  # noqa: F401
    check_answer_shape, client_keys, gateway, gw_am, iecservice_binary, server_keys)


@pytest.fixture(scope="module")
def verifier(gw_am) -> TokenVerifier:
    server, _ = gw_am
    return TokenVerifier(server.discovery())


@pytest.fixture(scope="module")
def admin(gw_am) -> IECAdmin:
    return IECAdmin(gw_am[0])


@pytest.fixture
def app(gateway):
    client = gateway.client()
    yield client
    gateway.forget(client)


def new_ids():
    return "app-" + secrets.token_hex(4), "dev-" + secrets.token_hex(4)


def test_ping(app, gateway):
    assert app.ok("ping") == {"version": 1, "gateway": gateway.name, "registered": True}


def test_client_registers_a_device_and_gets_verified_tokens(app, gateway, admin, verifier):
    client_id, device_id = new_ids()
    assert app.ok("initialise", client_id=client_id) == {"client_id": client_id}
    assert app.ok("initialise", client_id=client_id) == {"client_id": client_id}, "initialise twice"
    node = admin.identity(client_id)
    assert node["type"] == "client" and node["parent"] == gateway.name, node

    result = app.ok("register_device", client_id=client_id, device_id=device_id,
                    registration_data=json.dumps({"serial": "S-1", "model": "narwhal"}))
    assert result == {"device_id": device_id}
    node = admin.identity(device_id)
    assert node["type"] == "device" and node["parent"] == client_id, node
    assert "S-1" not in json.dumps(node), f"registration data must not be stored: {node}"

    tokens = app.ok("device_tokens", client_id=client_id, device_id=device_id)
    for name in ("access_token", "id_token", "token_type", "expires_in"):
        assert name in tokens, f"device_tokens lacks {name}: {tokens}"
    assert tokens["token_type"] == "Bearer", tokens
    assert isinstance(tokens["expires_in"], str) and tokens["expires_in"].isdigit(), \
        f"expires_in must be a string of digits, as the original SDK returned it: {tokens['expires_in']!r}"
    assert int(tokens["expires_in"]) > 60, tokens
    claims = verifier.access_token(tokens["access_token"], client_id=device_id)
    assert claims["sub"] == device_id, claims
    assert abs(claims["exp"] - time.time() - int(tokens["expires_in"])) < 30, (claims, tokens["expires_in"])
    id_claims = verifier.id_token(tokens["id_token"], client_id=device_id)
    assert id_claims["sub"] == device_id, id_claims

    again = app.ok("device_tokens", client_id=client_id, device_id=device_id)
    assert again["access_token"] == tokens["access_token"], "tokens should be cached until shortly before expiry"

    # Introspection through the gateway.
    info = app.ok("introspect", client_id=client_id, token=tokens["access_token"])
    assert info.get("active") is True and info.get("client_id") == device_id, info
    assert app.ok("introspect", client_id=client_id, token="not-a-token") == {"active": False}


def test_device_configuration_custom_command_user_code(app, gateway, admin, gw_am):
    server, _ = gw_am
    client_id, device_id = new_ids()
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device_id)
    assert app.ok("device_configuration", client_id=client_id, device_id=device_id) == {}
    admin.set_configuration(device_id, {"sampling": 5, "mode": "eco"})
    assert app.ok("device_configuration", client_id=client_id, device_id=device_id) == {"sampling": 5, "mode": "eco"}

    err = app.error("custom_command", "am_error", client_id=client_id, device_id=device_id, command="HELLO_WORLD")
    assert err["description"] == "no script found for command", err
    err = app.error("custom_command", "am_error", client_id=client_id, device_id=device_id,
                    command="HELLO_WORLD", params=json.dumps({"a": 1}))
    assert err["description"] == "no script found for command", err

    script = "greet-" + secrets.token_hex(3)
    r = admin.put_script(script, 'response = {"hello": params.name, "command": command};')
    assert r.status_code in (200, 201), f"put script: {r.status_code} {r.text[:300]}"
    command = "GREET_" + secrets.token_hex(3).upper()
    admin.map_commands({command: script})
    result = app.ok("custom_command", client_id=client_id, device_id=device_id, command=command,
                    params=json.dumps({"name": "Narwhal"}))
    assert result == {"response": {"hello": "Narwhal", "command": command}}, result

    code = app.ok("user_code", client_id=client_id, device_id=device_id)
    for name in ("user_code", "verification_url", "verification_uri", "verification_uri_complete",
                 "device_code", "expires_in", "interval"):
        assert name in code, f"user_code lacks {name}: {code}"
    assert code["verification_uri"].startswith(server.base_url), code
    err = app.error("user_tokens", "authorization_pending", client_id=client_id, device_id=device_id,
                    device_code=code["device_code"])
    assert err["description"], err


def test_user_tokens_after_approval(app, gw_am, verifier, admin):
    server, _ = gw_am
    client_id, device_id = new_ids()
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device_id)
    username, password = server.create_user()
    code = app.ok("user_code", client_id=client_id, device_id=device_id)
    VerificationBrowser(server).approve(code["user_code"], username, password)
    tokens = app.ok("user_tokens", client_id=client_id, device_id=device_id, device_code=code["device_code"])
    assert isinstance(tokens.get("expires_in"), str), tokens
    claims = verifier.access_token(tokens["access_token"], client_id=device_id)
    assert claims["sub"] == username, f"the user's tokens should name the user: {claims}"
    assert admin.identity(device_id).get("pairedUser") == username


def test_one_frame_request_gets_a_one_frame_answer(app):
    answer = app.call("ping", one_frame=True)
    assert answer["ok"] is True, answer


def test_req_socket_works(gateway):
    ctx = gateway.context
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    keys = gateway.client_keys[1]
    sock.curve_secretkey, sock.curve_publickey = keys.secret_key.encode(), keys.public_key.encode()
    sock.curve_serverkey = gateway.server_keys.public_key.encode()
    sock.connect(gateway.endpoint)
    try:
        sock.send(json.dumps({"v": 1, "request_id": "req-1", "op": "ping"}).encode())
        assert sock.poll(10000), "a REQ socket got no answer"
        answer = json.loads(sock.recv())
        check_answer_shape(answer)
        assert answer["request_id"] == "req-1" and answer["ok"] is True, answer
    finally:
        sock.close(linger=0)


def test_pipelined_requests_are_matched_by_request_id(app):
    client_id, device_id = new_ids()
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device_id)
    bodies = [app.request("device_configuration", client_id=client_id, device_id=device_id) for _ in range(5)]
    bodies += [app.request("ping") for _ in range(5)]
    for body in bodies:
        app.send(body)
    seen = {}
    for _ in bodies:
        _, answer = app.receive(timeout=15)
        seen[answer["request_id"]] = answer
    assert set(seen) == {b["request_id"] for b in bodies}, "every pipelined request should be answered once"
    failed = [a for a in seen.values() if not a["ok"]]
    assert not failed, (f"{len(failed)} of {len(bodies)} pipelined requests failed (docs/protocol.md: a client "
                        f"may send several requests before reading answers): {failed}")


def test_tokens_are_jwts_of_the_realm(app, gw_am):
    client_id, device_id = new_ids()
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device_id)
    tokens = app.ok("device_tokens", client_id=client_id, device_id=device_id)
    server, _ = gw_am
    assert unverified_claims(tokens["access_token"])["iss"] == server.issuer
