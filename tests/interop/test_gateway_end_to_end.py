"""End to end over real sockets: iec-am and iecservice, each its own process.

One gateway's life: it starts before iec-am is up and keeps retrying; it registers on its
own once iec-am serves, and shows up as an IEC identity; iec-am stops (SIGTERM) and the
gateway answers am_unavailable; iec-am comes back on the same port and database and the
gateway's requests succeed again without a restart; iecservice restarts and comes back
with its identity and keys, without registering a second time.
"""

from __future__ import annotations

import re
import secrets
import time

from am_server import AMServer
from gateway import IECAdmin, IECConfig
from gateway_service import ClientTimeout, curve_keygen, gateway_factory, iecservice_binary  # noqa: F401


def audit_events(admin: IECAdmin) -> list[dict]:
    r = admin.call("GET", "/audit", params={"_pageSize": 100})
    assert r.status_code == 200, f"GET /iec/audit: {r.status_code} {r.text[:300]}"
    return r.json()["result"]


def registrations_of(admin: IECAdmin, node_id: str) -> list[dict]:
    return [e for e in audit_events(admin) if e.get("action") == "node.register" and e.get("target") == node_id]


def poll(call, until, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = call()
        except ClientTimeout as error:
            last = error
        if not isinstance(last, ClientTimeout) and until(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; last answer: {last}")


def test_gateway_registers_survives_iec_am_outage_and_restarts_with_its_identity(
        iec_am_binary, iecutil, gateway_factory):
    timings: dict[str, float] = {}
    server = AMServer(iec_am_binary)
    try:
        out = server.root / "iec-config.json"
        server.setup("--iec-config-out", out)
        config = IECConfig.load(out)
        server_keys, keys = curve_keygen(iecutil), [curve_keygen(iecutil)]
        svc = gateway_factory(config, server_keys, keys)
        svc.initialise()

        # 1. iec-am is not serving yet: the gateway serves SDK clients and keeps retrying.
        svc.start()
        svc.wait_for_log(lambda t: len(re.findall(r"registration attempt failed.*attempt=2", t)) >= 1,
                         timeout=10, what="a second 'registration attempt failed'")
        attempts = [int(n) for n in re.findall(r"registration attempt failed.*?attempt=(\d+)", svc.log_text())]
        assert attempts[:2] == [1, 2], f"attempts should be logged one by one: {attempts}\n{svc.log_tail()}"
        assert "retry_in_s=" in svc.log_text(), f"each failed attempt should say when it retries\n{svc.log_tail()}"
        client = svc.client(timeout=10)
        ping = client.ok("ping")
        assert ping["registered"] is False and ping["gateway"] == svc.name, f"ping before registration: {ping}"
        err = client.error("initialise", "not_registered", client_id="app-early")
        assert err["description"], err

        # 2. iec-am starts: the gateway registers by itself.
        started = time.monotonic()
        server.start()
        svc.wait_registered(timeout=30)
        timings["registration after iec-am started"] = time.monotonic() - started
        assert "registered with iec-am" in svc.log_text(), svc.log_tail()
        admin = IECAdmin(server)
        listed = admin.identities(type="iec")["result"]
        mine = [node for node in listed if node["id"] == svc.name]
        assert len(mine) == 1, f"the gateway should be listed as an IEC identity: {listed}"
        assert mine[0]["type"] == "iec" and mine[0]["status"] == "registered", mine[0]
        identity = admin.identity(svc.name)
        registered_at = identity["registrationTime"]
        public_keys = identity["publicKeys"]

        client_id, device_id = "app-" + secrets.token_hex(3), "dev-" + secrets.token_hex(3)
        assert client.ok("initialise", client_id=client_id) == {"client_id": client_id}
        assert client.ok("register_device", client_id=client_id, device_id=device_id) == {"device_id": device_id}
        tokens = client.ok("device_tokens", client_id=client_id, device_id=device_id)
        assert tokens["access_token"].startswith("eyJ"), tokens
        assert client.ok("device_configuration", client_id=client_id, device_id=device_id) == {}

        # 3. iec-am stops: the gateway answers am_unavailable and stays up.
        server.stop()
        err = client.error("device_configuration", "am_unavailable", client_id=client_id, device_id=device_id)
        assert err["description"], err
        client.error("user_code", "am_unavailable", client_id=client_id, device_id=device_id)
        assert client.ok("ping")["gateway"] == svc.name
        svc.assert_alive("iec-am stopped")
        pid = svc.proc.pid

        # 4. iec-am returns on the same port and database: requests succeed again by themselves.
        server.start()
        started = time.monotonic()
        poll(lambda: client.call("device_configuration", client_id=client_id, device_id=device_id, timeout=5),
             lambda a: a["ok"] is True, 20, "the gateway did not recover after iec-am returned")
        timings["recovery after iec-am returned"] = time.monotonic() - started
        assert svc.proc.pid == pid and svc.running, "iecservice was restarted"
        device2 = "dev-" + secrets.token_hex(3)
        assert client.ok("register_device", client_id=client_id, device_id=device2) == {"device_id": device2}

        # 5. iecservice restarts: the same identity and keys, no second registration.
        admin = IECAdmin(server)
        count = admin.identities()["totalCount"]
        assert len(registrations_of(admin, svc.name)) == 1, audit_events(admin)
        svc.forget(client)
        timings["SIGTERM to exit"] = svc.stop()
        log_before = len(svc.log_text())
        started = time.monotonic()
        svc.start_registered(timeout=30)
        timings["restart to registered"] = time.monotonic() - started
        new_log = svc.log_text()[log_before:]
        assert "authenticated with iec-am" in new_log, f"the restarted gateway should authenticate:\n{new_log}"
        assert "registered with iec-am" not in new_log, f"the restarted gateway registered again:\n{new_log}"
        regs = registrations_of(admin, svc.name)
        assert len(regs) == 1, f"one node.register for {svc.name} expected, audit shows {len(regs)}: {regs}"
        identity = admin.identity(svc.name)
        assert identity["registrationTime"] == registered_at, f"registrationTime changed: {identity}"
        assert identity["publicKeys"] == public_keys, "the gateway's key changed across the restart"
        assert admin.identities()["totalCount"] == count, "the restart added identities"
        client = svc.client(timeout=10)
        # The token cache went with the old process: these come from the device key in the database.
        tokens = client.ok("device_tokens", client_id=client_id, device_id=device_id)
        assert tokens["access_token"].startswith("eyJ") and isinstance(tokens["expires_in"], str), tokens
        assert client.ok("device_configuration", client_id=client_id, device_id=device2) == {}
        assert client.ok("initialise", client_id=client_id) == {"client_id": client_id}
        assert len([e for e in audit_events(admin) if e.get("action") == "node.register"
                    and e.get("target") == client_id]) == 1, "the client was registered again"
        timings["SIGTERM to exit (2)"] = svc.stop()
        for name, seconds in timings.items():
            print(f"timing: {name}: {seconds:.2f} s")
        assert timings["SIGTERM to exit"] < 5 and timings["SIGTERM to exit (2)"] < 5, timings
    finally:
        server.close()
