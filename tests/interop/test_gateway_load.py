"""200 concurrent SDK clients, each getting its tokens.

200 pyzmq DEALER sockets (one poller, one thread) share the gateway's ten allowed CURVE
key pairs; each has its own client_id and device and runs initialise → register_device
→ device_tokens with all 200 in flight at once. Every one must succeed; the tokens are
checked with PyJWT against the realm's JWKS. The wall time is printed and recorded as
the JUnit property `wall_time_s`.
"""

from __future__ import annotations

import json
import secrets
import time

import jwt
import zmq

from gateway_service import check_answer_shape, client_keys, gateway, gw_am, iecservice_binary, server_keys  # noqa: F401

CLIENTS = 200
STEPS = ("initialise", "register_device", "device_tokens")
DEADLINE_S = 90


def test_200_concurrent_clients_get_their_tokens(gateway, gw_am, record_property):
    run = secrets.token_hex(3)
    ctx = gateway.context
    poller = zmq.Poller()
    sockets: list[zmq.Socket] = []
    state: dict[zmq.Socket, dict] = {}
    for i in range(CLIENTS):
        keys = gateway.client_keys[i % len(gateway.client_keys)]
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_secretkey, sock.curve_publickey = keys.secret_key.encode(), keys.public_key.encode()
        sock.curve_serverkey = gateway.server_keys.public_key.encode()
        sock.connect(gateway.endpoint)
        sockets.append(sock)
        poller.register(sock, zmq.POLLIN)
        state[sock] = {"client_id": f"load-{run}-{i}", "device_id": f"loaddev-{run}-{i}", "step": 0,
                       "request_id": None, "tokens": None, "failure": None}

    def send_step(sock):
        s = state[sock]
        op = STEPS[s["step"]]
        s["request_id"] = f"{s['client_id']}-{op}"
        body = {"v": 1, "request_id": s["request_id"], "op": op, "client_id": s["client_id"]}
        if op != "initialise":
            body["device_id"] = s["device_id"]
        sock.send_multipart([b"", json.dumps(body).encode()])

    try:
        started = time.monotonic()
        for sock in sockets:
            send_step(sock)
        pending = set(sockets)
        deadline = started + DEADLINE_S
        while pending and time.monotonic() < deadline:
            for sock, _ in poller.poll(500):
                frames = sock.recv_multipart()
                answer = json.loads(frames[-1])
                check_answer_shape(answer)
                s = state[sock]
                if answer["request_id"] != s["request_id"]:
                    continue
                if not answer["ok"]:
                    s["failure"] = (STEPS[s["step"]], answer["error"])
                    pending.discard(sock)
                    continue
                if s["step"] == len(STEPS) - 1:
                    s["tokens"] = answer["result"]
                    pending.discard(sock)
                else:
                    s["step"] += 1
                    send_step(sock)
        wall = time.monotonic() - started
    finally:
        for sock in sockets:
            poller.unregister(sock)
            sock.close(linger=0)

    record_property("wall_time_s", f"{wall:.2f}")
    print(f"\n200 concurrent clients: {wall:.2f} s wall time")
    failures = [(s["client_id"], s["failure"]) for s in state.values() if s["failure"]]
    unanswered = [(s["client_id"], STEPS[s["step"]]) for s in state.values()
                  if not s["failure"] and s["tokens"] is None]
    done = CLIENTS - len(failures) - len(unanswered)
    by_reason: dict[str, int] = {}
    for _, (step, error) in failures:
        key = f"{step}: {error['code']}: {error['description']}"
        by_reason[key] = by_reason.get(key, 0) + 1
    assert not failures and not unanswered, (
        f"{done} of {CLIENTS} concurrent clients got their tokens in {wall:.1f} s; "
        f"{len(failures)} failed, {len(unanswered)} unanswered after {DEADLINE_S} s.\n"
        f"failures by reason: {json.dumps(by_reason, indent=1)}\nunanswered (first 5): {unanswered[:5]}")

    # Every client's tokens are its device's, signed by the realm.
    server, _ = gw_am
    discovery = server.discovery()
    jwks = jwt.PyJWKClient(discovery["jwks_uri"])
    for s in state.values():
        tokens = s["tokens"]
        assert isinstance(tokens["expires_in"], str), tokens
        key = jwks.get_signing_key_from_jwt(tokens["access_token"])
        claims = jwt.decode(tokens["access_token"], key.key, algorithms=["ES256"], audience=s["device_id"],
                            issuer=discovery["issuer"])
        assert claims["sub"] == s["device_id"], claims
    gateway.assert_unharmed("200 concurrent clients")
