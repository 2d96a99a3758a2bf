"""iec-am restarted on the same database: a gateway comes back with the key it has.

SIGTERM (a clean exit required), `iec-am serve` again on the same folder and
port; the gateway authenticates with device_authentication and its existing
key, without registering again, finds its nodes and configuration, and the
number of identities is unchanged.
"""

from __future__ import annotations

import secrets

import pytest

from gateway import Gateway, IECAdmin, am_error, start_iec_am


@pytest.fixture
def iec(iec_am_binary):
    server, config = start_iec_am(iec_am_binary)
    try:
        yield server, config
    finally:
        server.close()


def test_gateway_authenticates_with_its_key_after_a_restart(iec):
    server, config = iec
    admin = IECAdmin(server)
    gw = Gateway(config, name="gw-restart-" + secrets.token_hex(4))
    gw.register()
    client_id, device_id = "app-" + secrets.token_hex(4), "dev-" + secrets.token_hex(4)
    gw.register_client(client_id)
    gw.register_device(device_id, client_id)
    admin.set_configuration(device_id, {"minimum": 3})
    old_session = gw.session_token
    before = admin.identities()["totalCount"]
    registered_at = admin.identity(gw.name)["registrationTime"]
    assert before == 3, f"one gateway, one client, one device: totalCount {before}"

    server.restart()                        # SIGTERM, exit 0 required, serve again
    server.assert_live("the restart")
    admin = IECAdmin(server)                # a fresh admin sign-in

    # Sessions are kept in the store (docs/configuration-am.md), so the old one is still valid.
    validated = gw.validate_session(old_session)
    assert validated.get("valid") is True, f"the gateway's session did not survive the restart: {validated}"
    assert isinstance(gw.ok("GET_IEC_CONFIG"), dict), "a command with the old session after the restart"

    gw.authenticate()                       # device_authentication with the existing key
    assert gw.session_token != old_session
    assert gw.ok("GET_CONFIG", {"id": device_id}, id=device_id) == {"minimum": 3}
    after = admin.identities()["totalCount"]
    assert after == before, f"identity count changed across the restart: {before} -> {after}"
    node = admin.identity(gw.name)
    assert node["type"] == "iec" and node["registrationTime"] == registered_at, \
        f"the gateway was registered anew instead of authenticated: {node}"
    # The command nonce counter survived too: an old nonce stays refused.
    replay = gw.command("GET_IEC_CONFIG", nonce=1)
    assert "nonce" in am_error(replay, 401)
