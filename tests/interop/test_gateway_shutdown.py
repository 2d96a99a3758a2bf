"""SIGTERM: iecservice exits 0 within a few seconds, answering in-flight requests.

A burst of requests from several clients is in flight when SIGTERM arrives; every answer
that comes back must be well-formed (docs/protocol.md) and either a success or the
error shutting_down, and the daemon must exit 0 within 5 s.

The burst that makes iec-am calls runs with `zmq_server.workers: 1`: with several workers,
concurrent commands currently fail with am_error "the command nonce was used before or is
out of order" (test_gateway_load.py shows that bug); one worker keeps this test about
shutdown alone. A second burst with the default workers sends only requests the gateway
answers without iec-am (pings and cached device tokens).
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import time


from gateway_service import (  # noqa: F401
    GatewayServiceError, check_answer_shape, client_keys, gateway_factory, gw_am, iecservice_binary, server_keys)


def burst_and_sigterm(svc, requests_per_client: int, make_body, clients: int = 5, term_after: int = 20):
    """Sends the burst, SIGTERMs after `term_after` answers, collects answers until exit + 1 s."""
    sockets = [svc.client(keys=svc.client_keys[i % len(svc.client_keys)], timeout=10) for i in range(clients)]
    sent: dict[str, dict] = {}
    for c in sockets:
        for i in range(requests_per_client):
            body = c.request(**make_body(i))
            sent[body["request_id"]] = body
            c.send(body)
    answers: dict[str, dict] = {}
    bad: list = []
    termed_at = exited_at = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = False
        for c in sockets:
            while c.socket.poll(0):
                frames = c.socket.recv_multipart()
                got = True
                try:
                    answer = json.loads(frames[-1])
                    check_answer_shape(answer)
                except (ValueError, AssertionError) as error:
                    bad.append((frames, str(error)))
                    continue
                answers[answer["request_id"]] = answer
        if termed_at is None and len(answers) >= term_after:
            svc.proc.send_signal(signal.SIGTERM)
            termed_at = time.monotonic()
        if termed_at is not None and exited_at is None and svc.proc.poll() is not None:
            exited_at = time.monotonic()
        if exited_at is not None and time.monotonic() - exited_at > 1:
            break
        if len(answers) == len(sent) and exited_at is not None:
            break
        if not got:
            time.sleep(0.005)
    for c in sockets:
        svc.forget(c)
    return sent, answers, bad, termed_at, exited_at


def check_outcome(svc, sent, answers, bad, termed_at, exited_at, label):
    assert termed_at is not None, f"{label}: the burst got fewer answers than needed before SIGTERM: {len(answers)}"
    if exited_at is None:
        svc.proc.kill()
        svc.proc.wait(10)
        raise GatewayServiceError(f"{label}: iecservice did not exit within 30 s of SIGTERM\n{svc.log_tail()}")
    rc = svc.proc.returncode
    took = exited_at - termed_at
    assert rc == 0, f"{label}: iecservice exited {rc} after SIGTERM\n{svc.log_tail()}"
    assert took < 5, f"{label}: exit took {took:.1f} s after SIGTERM"
    assert not bad, f"{label}: malformed answers: {bad[:3]}"
    unexpected = [a for a in answers.values()
                  if not (a["ok"] is True or a["error"]["code"] == "shutting_down")]
    assert not unexpected, f"{label}: answers other than success or shutting_down: {unexpected[:5]}"
    assert set(answers) <= set(sent), f"{label}: answers to requests never sent"
    ok = sum(1 for a in answers.values() if a["ok"])
    stopping = sum(1 for a in answers.values() if not a["ok"])
    print(f"\n{label}: {len(sent)} sent, {ok} ok, {stopping} shutting_down, "
          f"{len(sent) - len(answers)} unanswered; exit 0 {took:.2f} s after SIGTERM")
    log = svc.log_text()
    served = len(re.findall(r"request served op=(ping|device_tokens|device_configuration)", log.split("shutting down")[0]))
    print(f"{label}: log: {served} requests served before 'shutting down', "
          f"{log.split('shutting down')[-1].count('request served')} after")
    assert "shutting down" in log and "stopped" in log.split("shutting down")[-1], svc.log_tail()
    return ok, stopping


def test_sigterm_during_a_burst_of_iec_am_calls(gateway_factory, gw_am, server_keys, client_keys):
    svc = gateway_factory(gw_am[1], server_keys, client_keys, zmq_extra={"workers": 1})
    svc.initialise()
    svc.start_registered()
    app = svc.client()
    client_id, device_id = "app-" + secrets.token_hex(3), "dev-" + secrets.token_hex(3)
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device_id)
    svc.forget(app)

    def body(i):
        if i % 3 == 2:
            return {"op": "ping"}
        return {"op": "device_configuration", "client_id": client_id, "device_id": device_id}

    outcome = burst_and_sigterm(svc, 80, body)
    ok, _ = check_outcome(svc, *outcome, label="iec-am burst (1 worker)")
    assert ok >= 20


def test_sigterm_during_a_burst_default_workers(gateway_factory, gw_am, server_keys, client_keys):
    svc = gateway_factory(gw_am[1], server_keys, client_keys)
    svc.initialise()
    svc.start_registered()
    app = svc.client()
    client_id, device_id = "app-" + secrets.token_hex(3), "dev-" + secrets.token_hex(3)
    app.ok("initialise", client_id=client_id)
    app.ok("register_device", client_id=client_id, device_id=device_id)
    app.ok("device_tokens", client_id=client_id, device_id=device_id)      # now cached
    svc.forget(app)

    def body(i):
        if i % 2:
            return {"op": "ping"}
        return {"op": "device_tokens", "client_id": client_id, "device_id": device_id}

    outcome = burst_and_sigterm(svc, 400, body, clients=8, term_after=200)
    check_outcome(svc, *outcome, label="local burst (default workers)")


def test_sigterm_when_idle_and_sigint(gateway_factory, gw_am, server_keys, client_keys):
    svc = gateway_factory(gw_am[1], server_keys, client_keys[:1])
    svc.initialise()
    svc.start_registered()
    assert svc.stop() < 3
    svc.start_registered()
    svc.proc.send_signal(signal.SIGINT)
    assert svc.proc.wait(timeout=5) == 0, f"SIGINT: exit {svc.proc.returncode}\n{svc.log_tail()}"



def test_sigterm_leaves_no_received_request_unanswered(gateway_factory, gw_am, server_keys, client_keys):
    """Stricter than the two bursts above: every request the gateway had received before
    SIGTERM must be answered, with its result or with shutting_down, so that no SDK app is
    left waiting for its timeout. The race is timing-dependent, so up to three rounds run;
    the first round that leaves requests unanswered fails the test."""
    svc = gateway_factory(gw_am[1], server_keys, client_keys)
    svc.initialise()
    client_id, device_id = "app-" + secrets.token_hex(3), "dev-" + secrets.token_hex(3)
    for round_ in range(1, 4):
        svc.start_registered()
        app = svc.client()
        app.ok("initialise", client_id=client_id)
        if round_ == 1:
            app.ok("register_device", client_id=client_id, device_id=device_id)
        app.ok("device_tokens", client_id=client_id, device_id=device_id)
        svc.forget(app)

        def body(i):
            return {"op": "ping"} if i % 2 else {"op": "device_tokens", "client_id": client_id, "device_id": device_id}

        sent, answers, bad, termed_at, exited_at = burst_and_sigterm(svc, 400, body, clients=8, term_after=200)
        ok, stopping = check_outcome(svc, sent, answers, bad, termed_at, exited_at, label=f"strict round {round_}")
        unanswered = len(sent) - len(answers)
        assert unanswered == 0, (
            f"round {round_}: {unanswered} of {len(sent)} requests, all sent to the gateway before SIGTERM, "
            f"got no answer at all ({ok} ok, {stopping} shutting_down): iecservice stopped without finishing "
            f"or failing the requests it had received, so their clients wait for a timeout")
