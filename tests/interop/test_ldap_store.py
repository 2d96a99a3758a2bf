"""iec-am on the directory store: the gateway flows of the earlier issues, run
again with iec-am keeping everything in a slapd of its own (deploy/ldap/), and
what iec-am does when that directory goes away and comes back.

The gateway life (test_iec_gateway_life.py: registration, authentication,
REGISTER_CLIENT/DEVICE, GET_CONFIG, GET_TOKENS, scripts, pairing through the
verification page, INTROSPECT) and the end-to-end gateway test
(test_gateway_end_to_end.py: a real iecservice through an iec-am outage and
restarts) are imported unchanged; only the store under iec-am differs.
The whole suite runs on LDAP with IEC_TEST_STORE=ldap.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from am_server import AMServer
from gateway import start_iec_am

# The gateway life, unchanged, on a directory-backed iec-am (the `iec` fixture below).
from test_iec_gateway_life import (  # noqa: F401
    admin, discovery, life, registered, server, tree, verifier,
    test_registration_checks_the_challenge_and_creates_the_gateway,
    test_registering_again_with_the_same_key_gives_a_session,
    test_authentication_with_the_stored_key,
    test_command_nonce_is_an_integer_as_documented,
    test_register_client_and_device_make_the_tree,
    test_admin_configuration_is_read_back_with_get_config,
    test_get_tokens_for_the_device_verify_with_pyjwt,
    test_mapped_custom_command_runs_the_shipped_hello_world,
    test_unmapped_command_answers_no_script_found,
    test_pairing_through_the_verification_page,
    test_introspect_of_the_device_access_token,
    test_session_logout_ends_the_gateway_session,
)
from test_gateway_end_to_end import test_gateway_registers_survives_iec_am_outage_and_restarts_with_its_identity  # noqa: F401
from gateway_service import gateway_factory, iecservice_binary  # noqa: F401


@pytest.fixture(scope="module")
def iec(iec_am_binary):
    server, config = start_iec_am(iec_am_binary, store="ldap")
    assert server.directory is not None and server.directory.running
    try:
        yield server, config
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _directory_store(monkeypatch):
    """Servers a test makes itself (the end-to-end test) use the directory too."""
    monkeypatch.setenv("IEC_TEST_STORE", "ldap")


def ready(server: AMServer) -> int:
    try:
        return requests.get(server.url("/health/ready"), timeout=5).status_code
    except requests.RequestException:
        return -1


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


def test_iec_am_survives_a_directory_restart_without_restarting_itself(iec_am_binary):
    server = AMServer(iec_am_binary, store="ldap")
    try:
        server.setup()
        server.start()
        assert server.sign_in().status_code == 200
        directory = server.directory

        directory.stop()
        wait_for(lambda: ready(server) == 503, 10, "/health/ready answering 503 while the directory is down")
        r = server.sign_in()
        assert r.status_code >= 500, f"a sign-in with the directory down: {r.status_code} {r.text[:200]}"
        assert "directory unreachable at ldap://127.0.0.1:" in server.log_path.read_text(), server.log_tail()
        server.assert_live("the directory went down")

        directory.start()
        wait_for(lambda: ready(server) == 200, 10, "/health/ready answering 200 once the directory is back")
        r = server.sign_in()
        assert r.status_code == 200, f"sign-in after the directory came back: {r.status_code} {r.text[:200]}"
        server.stop()
    finally:
        server.close()


def test_iec_am_with_the_directory_down_says_where_it_looked(iec_am_binary):
    server = AMServer(iec_am_binary, store="ldap")
    try:
        server.directory.stop()
        proc = server.run_cli("setup", "--config", server.config_path, "--generate-admin-password", timeout=60)
        assert proc.returncode == 1, proc
        assert f"directory unreachable at {server.directory.url}" in proc.stderr, proc.stderr
        assert server.directory.password not in proc.stderr + proc.stdout, "the bind password must never be shown"
        serve = subprocess.run([str(iec_am_binary), "serve", "--config", str(server.config_path)],
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert serve.returncode != 0
        assert f"directory unreachable at {server.directory.url}" in serve.stderr, serve.stderr
    finally:
        server.close()
