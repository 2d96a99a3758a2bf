"""Refusals at the gateway, each followed by a good client's ping (the daemon unharmed).

CURVE/ZAP refusals (a client key not on the list, a wrong server key, an address not on
the whitelist) leave the client with nothing but a timeout and the gateway with a log
line; garbage frames and oversized messages are dropped; invalid JSON, unknown
operations, other protocol versions and other clients' devices are answered with the
error codes of docs/protocol.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets

import pytest

from gateway_service import (  # noqa: F401
    ClientTimeout, GatewayService, client_keys, curve_keygen, gateway_factory, gw_am, iecservice_binary,
    server_keys, zmq_keys)

MAX_MESSAGE_BYTES = 4096


@pytest.fixture(scope="module")
def gateway(iecservice_binary, iecutil, tmp_path_factory, gw_am, server_keys, client_keys):
    """A registered gateway with a small zmq_server.max_message_bytes."""
    svc = GatewayService(iecservice_binary, iecutil, tmp_path_factory.mktemp("iecservice"), gw_am[1],
                         server_keys, client_keys, zmq_extra={"max_message_bytes": MAX_MESSAGE_BYTES})
    try:
        svc.initialise()
        svc.start_registered()
        yield svc
    finally:
        svc.close()


@pytest.fixture
def app(gateway):
    client = gateway.client(timeout=10)
    yield client
    gateway.forget(client)


# --- CURVE and ZAP ----------------------------------------------------------------------


def test_client_key_not_on_the_list(gateway):
    stranger = zmq_keys()
    client = gateway.client(keys=stranger)
    client.expect_silence(timeout=2.5)
    gateway.forget(client)
    text = gateway.wait_for_log(lambda t: "client key not on the list" in t and stranger.public_key[:8] in t,
                                timeout=5, what="the ZAP refusal of the unknown client key")
    line = next(line for line in text.splitlines() if stranger.public_key[:8] in line and "refused" in line)
    assert "ZAP" in line, line
    assert stranger.public_key not in text, "the log should name a key by its first characters only"
    gateway.assert_unharmed("a client key not on the list")


def test_wrong_server_key(gateway):
    before = gateway.log_text().count("handshake failed")
    client = gateway.client(server_public_key=zmq_keys().public_key)
    client.expect_silence(timeout=2.5)
    gateway.forget(client)
    gateway.wait_for_log(lambda t: t.count("handshake failed") > before and re.search(
        r"warning .*handshake failed.*(CURVE|cryptographic)", t) is not None,
        timeout=5, what="a handshake failure for the wrong server key")
    gateway.assert_unharmed("a wrong server key")


def test_address_not_on_the_whitelist(iecutil, gateway_factory, gw_am):
    server_keys, keys = curve_keygen(iecutil), [curve_keygen(iecutil)]
    svc = gateway_factory(gw_am[1], server_keys, keys, whitelist=["127.0.0.2"], client_source="127.0.0.2")
    svc.initialise()
    svc.start_registered()          # its own pings come from 127.0.0.2: allowed
    refused = svc.client(source="127.0.0.1")
    refused.expect_silence(timeout=2.5)
    svc.forget(refused)
    text = svc.wait_for_log(lambda t: "address not on the whitelist" in t, timeout=5,
                            what="the whitelist refusal")
    line = next(line for line in text.splitlines() if "address not on the whitelist" in line)
    assert "peer=127.0.0.1" in line, line
    svc.assert_unharmed("an address not on the whitelist")
    assert svc.stop() < 5


# --- frames -----------------------------------------------------------------------------


def test_garbage_frames(app, gateway):
    app.send_frames([os.urandom(64) for _ in range(3)])
    try:
        _, answer = app.receive(timeout=2)
        assert answer["ok"] is False, f"garbage got a success: {answer}"
    except ClientTimeout:
        pass  # dropped, as docs/protocol.md allows
    gateway.assert_unharmed("three frames of random bytes")
    # Random bytes in the payload frame: not JSON.
    app.send_frames([b"", os.urandom(64)])
    _, answer = app.receive(timeout=5)
    assert answer["ok"] is False and answer["error"]["code"] == "bad_request", answer
    app.send_frames([os.urandom(64)])
    frames, answer = app.receive(timeout=5)
    assert len(frames) == 1 and answer["error"]["code"] == "bad_request", answer
    app.send_frames([b"", b"", b"", b""])
    try:
        app.receive(timeout=1)
    except ClientTimeout:
        pass
    gateway.assert_unharmed("random payloads")
    assert app.ok("ping")["registered"] is True, "the same connection should still be served"


def test_oversized_message_drops_the_connection(app, gateway):
    near = app.request("ping", padding="x" * (MAX_MESSAGE_BYTES - 200))
    assert len(json.dumps(near)) < MAX_MESSAGE_BYTES
    assert app.call_body(near)["ok"] is True, "a message under max_message_bytes is served"
    big = app.request("ping", padding="x" * (MAX_MESSAGE_BYTES * 4))
    with pytest.raises(ClientTimeout):
        app.call_body(big, timeout=2)
    huge = app.request("ping", padding="y" * (2 * 1024 * 1024))
    with pytest.raises(ClientTimeout):
        app.call_body(huge, timeout=2)
    gateway.assert_unharmed("oversized messages")


# --- answers with errors ----------------------------------------------------------------


def test_invalid_json_is_a_bad_request(app, gateway):
    for payload in (b"{not json", b'{"v": 1, "request_id": "x", ', b"[1, 2, 3]", b'"ping"',
                    b"\xff\xfe\x00garbage", b"[" * 1000 + b"]" * 1000, b'{"v": 1, "request_id": "\xff\xfe"}'):
        try:
            answer = app.call_body(payload, timeout=5)
        except ClientTimeout:
            raise AssertionError(f"invalid JSON {payload[:40]!r} got no answer (expected bad_request)\n"
                                 f"{gateway.log_tail(5)}")
        assert answer["ok"] is False and answer["error"]["code"] == "bad_request", (payload[:40], answer)
    # An empty payload may be dropped or answered; either way, nothing breaks.
    app.send_frames([b"", b""])
    try:
        _, answer = app.receive(timeout=1)
        assert answer["ok"] is False, answer
    except ClientTimeout:
        pass
    gateway.assert_unharmed("invalid JSON")


def test_missing_and_wrong_members_are_bad_requests(app):
    client_id = "app-" + secrets.token_hex(3)
    cases = [
        ({"request_id": "a", "op": "ping"}, "bad_request"),                           # no v
        ({"v": 1, "op": "ping"}, "bad_request"),                                      # no request_id
        ({"v": 1, "request_id": "r" * 65, "op": "ping"}, "bad_request"),              # request_id too long
        ({"v": 1, "request_id": "b"}, "bad_request"),                                 # no op
        ({"v": 1, "request_id": "c", "op": "initialise"}, "bad_request"),             # no client_id
        ({"v": 1, "request_id": "d", "op": "device_tokens", "client_id": client_id}, "bad_request"),
        ({"v": 1, "request_id": "e", "op": "device_tokens", "client_id": client_id, "device_id": 7}, "bad_request"),
        ({"v": 1, "request_id": "f", "op": "initialise", "client_id": ""}, "bad_request"),
        ({"v": 1, "request_id": "g", "op": "custom_command", "client_id": client_id, "device_id": "d",
          "command": "X", "params": {"not": "a string"}}, "bad_request"),
    ]
    for body, code in cases:
        answer = app.call_body(body, any_answer=True, timeout=5)
        assert answer["ok"] is False and answer["error"]["code"] == code, (body, answer)
        if isinstance(body.get("request_id"), str) and len(body["request_id"]) <= 64:
            assert answer["request_id"] == body["request_id"], (body, answer)


def test_unknown_operation(app, gateway):
    answer = app.call("launch_missiles", client_id="app-x")
    assert answer["ok"] is False and answer["error"]["code"] == "unknown_operation", answer
    assert "launch_missiles" in answer["error"]["description"], answer
    gateway.assert_unharmed("an unknown operation")


def test_wrong_protocol_version(app, gateway):
    for version in (2, 0, 999):
        body = app.request("ping")
        body["v"] = version
        answer = app.call_body(body)
        assert answer["ok"] is False and answer["error"]["code"] == "unsupported_version", answer
        assert answer["request_id"] == body["request_id"]
        assert "1" in answer["error"]["description"], f"the description should say which versions it speaks: {answer}"
    gateway.assert_unharmed("wrong protocol versions")


def test_device_of_another_client(app, gateway):
    owner, intruder, device = ("app-" + secrets.token_hex(3), "app-" + secrets.token_hex(3),
                               "dev-" + secrets.token_hex(3))
    app.ok("initialise", client_id=owner)
    app.ok("initialise", client_id=intruder)
    app.ok("register_device", client_id=owner, device_id=device)
    for op, extra in (("device_tokens", {}), ("device_configuration", {}), ("user_code", {}),
                      ("custom_command", {"command": "HELLO"}), ("user_tokens", {"device_code": "x" * 20}),
                      ("register_device", {})):
        err = app.error(op, "am_error", client_id=intruder, device_id=device, **extra)
        assert err["description"], err
    assert app.ok("device_tokens", client_id=owner, device_id=device)["access_token"].startswith("eyJ")
    err = app.error("device_tokens", "am_error", client_id=owner, device_id="dev-never-" + secrets.token_hex(3))
    assert err["description"], err
    gateway.assert_unharmed("requests about another client's device")


def test_custom_command_may_not_name_a_built_in(app):
    client_id, device = "app-" + secrets.token_hex(3), "dev-" + secrets.token_hex(3)
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device)
    for command in ("GET_TOKENS", "REGISTER_DEVICE", "INTROSPECT"):
        answer = app.call("custom_command", client_id=client_id, device_id=device, command=command)
        assert answer["ok"] is False and answer["error"]["code"] in ("bad_request", "am_error"), answer
