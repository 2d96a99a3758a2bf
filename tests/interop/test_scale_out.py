"""Two iec-am instances behind nginx, sharing one store (docs/scale-out.md).

Nothing a gateway or a client does may depend on which instance answers:
a chain begun on one instance finishes on the other, a challenge used on one is
refused on the other, rate limits count across both, and killing one instance
under load loses no request it answered. Each runs on both stores: the
embedded SQLite (two processes on one database file) and the directory (one
private slapd). On the directory also: slapd restarted under load, and two
slapd servers in multi-provider replication with an iec-am on each.
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
from cluster import Cluster, ClusterMember, ReplicatedDirectory
from gateway import REGISTRATION, Gateway, IECAdmin, IECConfig, am_error


@pytest.fixture(params=["sqlite", "ldap"])
def cluster(request, iec_am_binary, tmp_path):
    c = Cluster(iec_am_binary, store=request.param, root=tmp_path / "cluster")
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


class Load:
    """Gateway registrations and client_credentials token requests through `url`,
    from a few threads, each outcome recorded with the time it started."""

    def __init__(self, config: IECConfig, token_url: str, client: dict, threads: int = 3):
        self.config, self.token_url, self.client = config, token_url, client
        self.results: list[tuple[str, float, bool, str]] = []   # (kind, started, ok, detail)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._registrations) for _ in range(threads)] + \
                        [threading.Thread(target=self._tokens) for _ in range(threads)]

    def _record(self, kind: str, started: float, ok: bool, detail: str) -> None:
        with self._lock:
            self.results.append((kind, started, ok, detail))

    def _registrations(self) -> None:
        while not self._stop.is_set():
            gw = Gateway(self.config, name="gw-load-" + secrets.token_hex(5), timeout=15)
            started = time.monotonic()
            try:
                gw.register()
                self._record("registration", started, True, gw.name)
            except (AssertionError, requests.RequestException) as error:
                self._record("registration", started, False, f"{gw.name}: {str(error)[:200]}")
                time.sleep(0.05)

    def _tokens(self) -> None:
        http = requests.Session()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                r = http.post(self.token_url, timeout=15, data={"grant_type": GRANT_CLIENT_CREDENTIALS},
                              auth=(self.client["client_id"], self.client["client_secret"]))
                ok = r.status_code == 200 and "access_token" in r.json()
                detail = "" if ok else f"HTTP {r.status_code} {r.text[:200]}"
            except (ValueError, requests.RequestException) as error:
                ok, detail = False, str(error)[:200]
            self._record("token", started, ok, detail)
            if not ok:
                time.sleep(0.05)

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def between(self, start: float, end: float = float("inf")) -> list[tuple[str, float, bool, str]]:
        return [r for r in self.results if start <= r[1] < end]

    def created(self) -> list[str]:
        return [r[3] for r in self.results if r[0] == "registration" and r[2]]


def assert_all_succeeded(results, what: str) -> None:
    failed = [r for r in results if not r[2]]
    assert results and not failed, f"{len(failed)} of {len(results)} requests failed {what}: {failed[:5]}"
    assert {r[0] for r in results} == {"registration", "token"}, f"both kinds of request ran {what}"


def assert_stored(member: ClusterMember, names: list[str]) -> None:
    stored = {node["id"] for node in IECAdmin(member).all_identities()}
    missing = [name for name in names if name not in stored]
    assert not missing, f"{len(missing)} of {len(names)} answered registrations are missing: {missing[:5]}"


def test_killing_one_instance_under_load_loses_nothing_it_answered(cluster):
    survivor, victim = cluster.members
    client = survivor.create_client(grants=[GRANT_CLIENT_CREDENTIALS])
    with Load(cluster.iec_config, cluster.url + OAUTH2_PATH + "/access_token", client) as load:
        time.sleep(3)
        killed_at = time.monotonic()
        victim.kill()                               # kill -9 under load
        time.sleep(4)
    before = load.between(0, killed_at)
    assert sum(r[2] for r in before if r[0] == "registration") >= 5, f"too little load before the kill: {len(before)}"
    assert_all_succeeded(load.between(killed_at + 1.0), "more than 1 s after the failover")
    assert_stored(survivor, load.created())
    print(f"kill under load: {len(load.results)} requests, {len(load.created())} registrations answered and stored, "
          f"{sum(not r[2] for r in load.results)} failed (all within 1 s of the kill)")


def test_iec_am_recovers_from_a_directory_restart_under_load(iec_am_binary, tmp_path):
    cluster = Cluster(iec_am_binary, store="ldap", root=tmp_path / "cluster")
    try:
        cluster.start()
        member = cluster.members[0]
        pids = [m.proc.pid for m in cluster.members]
        client = member.create_client(grants=[GRANT_CLIENT_CREDENTIALS])
        with Load(cluster.iec_config, cluster.url + OAUTH2_PATH + "/access_token", client) as load:
            time.sleep(2)
            cluster.directory.stop()                # slapd goes away under load ...
            time.sleep(1.5)
            cluster.directory.start()               # ... and comes back on the same port and data
            back_at = time.monotonic()
            time.sleep(5)
        assert [m.proc.pid for m in cluster.members] == pids and all(m.running for m in cluster.members), \
            "iec-am must recover without a restart of its own"
        assert_all_succeeded(load.between(back_at + 2.0), "more than 2 s after slapd was back")
        assert_stored(member, load.created())
        print(f"slapd restart under load: {len(load.results)} requests, {len(load.created())} registrations stored, "
              f"{sum(not r[2] for r in load.results)} failed while the directory was away")
        away = [r for r in load.results if not r[2] and r[0] == "token"]
        assert all("HTTP 503" in r[3] for r in away), f"token requests while slapd was away should get 503: {away[:3]}"
        failed = [r[1] for r in load.results if not r[2]]
        print(f"  failures from {min(failed) - back_at:+.2f} s to {max(failed) - back_at:+.2f} s of slapd's return; "
              f"a token failure: {away[0][3][:160] if away else '-'}")
    finally:
        cluster.close()


def test_a_registration_through_one_replicated_directory_is_visible_through_the_other(iec_am_binary, tmp_path):
    """Two slapd in multi-provider replication, one iec-am on each (no load balancer)."""
    first, second = ReplicatedDirectory.pair(tmp_path)
    site_a = site_b = None
    try:
        site_a = ClusterMember(iec_am_binary, tmp_path / "am-a", public_url=None, store_config=first.store_config())
        site_b = ClusterMember(iec_am_binary, tmp_path / "am-b", public_url=None, store_config=second.store_config(),
                               admin_password=site_a.admin_password)
        out = tmp_path / "iec-config.json"
        site_a.setup("--iec-config-out", out)
        config = IECConfig.load(out)
        site_a.start()
        # Site B's iec-am runs on what replication brought: no setup of its own.
        deadline = time.monotonic() + 15
        while True:
            try:
                site_b.start(timeout=5)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        deadline = time.monotonic() + 15
        while site_b.sign_in().status_code != 200:  # the administrator has replicated
            assert time.monotonic() < deadline, "setup's administrator never reached site B"
            time.sleep(0.1)
        admin_b = IECAdmin(site_b)
        delays = []
        for _ in range(5):
            gw = Gateway(config, name="gw-repl-" + secrets.token_hex(4))
            gw.register()                           # through site A's iec-am and directory
            written = time.monotonic()
            while True:
                r = admin_b.call("GET", f"/identities/{gw.name}")
                if r.status_code == 200:
                    delays.append(time.monotonic() - written)
                    break
                assert r.status_code == 404, f"site B: {r.status_code} {r.text[:200]}"
                assert time.monotonic() - written < 1.0, \
                    f"{gw.name} not visible through the other directory within a second"
                time.sleep(0.01)
            assert admin_b.identity(gw.name)["type"] == "iec"
        print(f"replication delays (s): {[round(d, 3) for d in delays]}")
    finally:
        for member in (site_a, site_b):
            if member is not None:
                member.close()
        first.stop()
        second.stop()
