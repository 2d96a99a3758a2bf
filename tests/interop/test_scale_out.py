"""Two iec-am instances behind nginx, sharing one store (docs/scale-out.md).

Nothing a gateway or a client does may depend on which instance answers:
a chain begun on one instance finishes on the other, a challenge used on one is
refused on the other, rate limits count across both, and killing one instance
under load loses no request it answered. The store is the embedded SQLite
(two processes on one database file) here, and the directory in
test_scale_out_ldap.py.
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
import threading
import time

import pytest
import requests

from am_server import GRANT_CLIENT_CREDENTIALS, OAUTH2_PATH
from cluster import Cluster
from gateway import REGISTRATION, Gateway, IECAdmin, IECConfig, am_error


@pytest.fixture
def cluster(iec_am_binary, tmp_path):
    c = Cluster(iec_am_binary, store={"sqlite": {"path": str(tmp_path / "shared.db")}},
                root=tmp_path / "cluster")
    try:
        c.start()
        yield c
    finally:
        c.close()


def direct(config: IECConfig, base_url: str) -> IECConfig:
    """The same gateway configuration, but talking to one instance directly."""
    return dataclasses.replace(config, url=base_url, raw=copy.deepcopy(config.raw))


def test_a_chain_begun_on_one_instance_finishes_on_the_other(cluster):
    config = cluster.iec_config
    one, two = cluster.members
    name = "gw-split-" + secrets.token_hex(4)
    on_one = Gateway(direct(config, one.base_url), name=name)
    on_two = Gateway(direct(config, two.base_url), name=name, key=on_one.key)

    step = on_one.begin(REGISTRATION, verify=False)
    Gateway(config, name=name).verify_challenge(step.challenge, REGISTRATION)  # issued for the shared URL
    pop = on_one.pop(step.nonce, registration=True, aud=config.realm_url)
    id_token = on_one.registration_id_token()
    answered = on_two.answer(step, pop, id_token)
    assert answered.status_code == 200, f"step 2 on the other instance: {answered.status_code} {answered.text[:300]}"
    assert answered.json().get("tokenId")

    # The challenge was used up on instance two: instance one refuses it too.
    replay = on_one.answer(step, pop, id_token)
    assert replay.status_code == 401, f"a used challenge replayed on the first instance: {replay.status_code}"

    # The session made by instance two is valid on instance one, and commands
    # with increasing nonces may alternate between them.
    on_one.session_token = on_two.session_token = answered.json()["tokenId"]
    assert on_one.validate_session().get("valid") is True
    shared = config.command_url                     # the audience is the shared URL
    on_one.ok("GET_IEC_CONFIG", aud=shared)
    on_two.last_nonce = on_one.last_nonce
    on_two.ok("GET_IEC_CONFIG", aud=shared)
    stale = on_one.command("GET_IEC_CONFIG", nonce=on_two.last_nonce, aud=shared)
    assert "nonce" in am_error(stale, 401), "a nonce accepted by instance two replayed on instance one"


def test_rate_limits_count_across_instances_and_ignore_spoofed_forwarding(cluster):
    for member in cluster.members:
        member.security = {"failed_login_limit": 2}
    # Restart both with the lower limit (the per-address limit is 4 x 2 = 8).
    for member in cluster.members:
        member.stop()
        member.write_config()
        member.start()
    url = cluster.url + "/json/realms/root/authenticate"

    def wrong(index: int) -> int:
        # A new username every time (the per-account limit never trips) and a
        # different forged X-Forwarded-For: only the address nginx saw counts.
        return requests.post(url, timeout=30, data=b"{}", headers={
            "X-OpenAM-Username": f"nobody-{index}", "X-OpenAM-Password": "wrong",
            "X-Forwarded-For": f"198.51.100.{index}", "Content-Type": "application/json"}).status_code

    codes = [wrong(i) for i in range(8)]
    assert codes == [401] * 8, f"eight wrong sign-ins through nginx: {codes}"
    assert wrong(100) == 429 and wrong(101) == 429, "the ninth from the same client should be limited"
    # Both instances see the same count (round-robin sent the attempts to both).
    for member in cluster.members:
        r = requests.post(member.url("/json/realms/root/authenticate"), timeout=30, data=b"{}", headers={
            "X-OpenAM-Username": "someone", "X-OpenAM-Password": "wrong",
            "X-Forwarded-For": "127.0.0.1", "Content-Type": "application/json"})
        # Directly, the peer is 127.0.0.1 and no trusted proxy: the forged header is ignored,
        # and 127.0.0.1 is the address that has been counted through nginx.
        assert r.status_code == 429, f"instance on port {member.port} did not see the shared count: {r.status_code}"


def test_killing_one_instance_under_load_loses_nothing_it_answered(cluster):
    config = cluster.iec_config
    survivor, victim = cluster.members
    client = survivor.create_client(grants=[GRANT_CLIENT_CREDENTIALS])
    token_url = cluster.url + OAUTH2_PATH + "/access_token"

    results: list[tuple[str, float, bool, str]] = []   # (kind, started, ok, detail)
    lock = threading.Lock()
    stop = threading.Event()

    def registrations():
        while not stop.is_set():
            gw = Gateway(config, name="gw-load-" + secrets.token_hex(5), timeout=15)
            started = time.monotonic()
            try:
                gw.register()
                ok, detail = True, gw.name
            except (AssertionError, requests.RequestException) as error:
                ok, detail = False, f"{gw.name}: {str(error)[:200]}"
            with lock:
                results.append(("registration", started, ok, detail))

    def tokens():
        http = requests.Session()
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = http.post(token_url, timeout=15, data={"grant_type": GRANT_CLIENT_CREDENTIALS},
                              auth=(client["client_id"], client["client_secret"]))
                ok = r.status_code == 200 and "access_token" in r.json()
                detail = "" if ok else f"HTTP {r.status_code} {r.text[:200]}"
            except (ValueError, requests.RequestException) as error:
                ok, detail = False, str(error)[:200]
            with lock:
                results.append(("token", started, ok, detail))

    threads = [threading.Thread(target=registrations) for _ in range(3)] + \
              [threading.Thread(target=tokens) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(3)
    killed_at = time.monotonic()
    victim.kill()                                   # kill -9 under load
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(timeout=60)

    before = [r for r in results if r[1] < killed_at]
    after = [r for r in results if r[1] >= killed_at + 1.0]
    assert sum(r[2] for r in before if r[0] == "registration") >= 5, f"too little load before the kill: {len(before)}"
    failures_after = [r for r in after if not r[2]]
    assert after and not failures_after, \
        f"{len(failures_after)} of {len(after)} requests failed more than 1 s after the failover: {failures_after[:5]}"
    assert any(r[0] == "registration" for r in after) and any(r[0] == "token" for r in after)

    # Every registration answered with a session is in the store.
    admin = IECAdmin(survivor)
    stored = {node["id"] for node in admin.all_identities()}
    created = [r[3] for r in results if r[0] == "registration" and r[2]]
    missing = [name for name in created if name not in stored]
    assert not missing, f"{len(missing)} of {len(created)} answered registrations are missing: {missing[:5]}"
