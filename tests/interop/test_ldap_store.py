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


# --- deploy/ldap: the schema files and the replication options of start-slapd.sh ---------

from ldap_directory import ADMIN_DN, REPO, SUFFIX, LDAPDirectory  # noqa: E402


def _names(text: str) -> set[str]:
    import re
    return set(re.findall(r"NAME '([A-Za-z0-9]+)'", re.sub(r"\n ", "", text)))


def test_schema_ldif_and_schema_file_define_the_same_names():
    schema = (REPO / "deploy/ldap/iec.schema").read_text()
    ldif = (REPO / "deploy/ldap/iec.ldif").read_text()
    names = _names(schema)
    assert {"iecRecord", "iecEdgeNode", "edgeNodeType", "edgeNodeConfig", "edgeNodeRegistrationJwk",
            "edgeNodeUserConfig", "edgeNodePairedUser"} <= names
    assert _names(ldif) == names


def test_schema_ldif_loads_into_a_cn_config_directory(tmp_path):
    conf = tmp_path / "slapd.conf"
    (tmp_path / "data").mkdir()
    (tmp_path / "slapd.d").mkdir()
    conf.write_text(f"include /etc/ldap/schema/core.schema\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n"
                    f"database mdb\nsuffix \"{SUFFIX}\"\ndirectory {tmp_path / 'data'}\n")
    # Converts slapd.conf to cn=config (its database check fails on the empty mdb folder: irrelevant here).
    subprocess.run(["slaptest", "-f", str(conf), "-F", str(tmp_path / "slapd.d")], capture_output=True, timeout=60)
    assert (tmp_path / "slapd.d" / "cn=config" / "cn=schema").is_dir()
    added = subprocess.run(["slapadd", "-n", "0", "-F", str(tmp_path / "slapd.d"), "-l",
                            str(REPO / "deploy/ldap/iec.ldif")], capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "slapd.d" / "cn=config" / "cn=schema" / "cn={1}iec.ldif").is_file()
    checked = subprocess.run(["slaptest", "-u", "-F", str(tmp_path / "slapd.d")], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def _search(directory: LDAPDirectory, base: str, *attrs: str) -> str:
    return subprocess.run(["ldapsearch", "-x", "-LLL", "-H", directory.url, "-D", ADMIN_DN, "-w", directory.password,
                           "-b", base, *attrs], capture_output=True, text=True, timeout=30).stdout


def test_two_providers_replicate_what_iec_am_setup_writes(tmp_path, iec_am_binary):
    """start-slapd.sh --server-id/--provider: iec-am writes to one, the other has it too."""
    first, second = LDAPDirectory(tmp_path / "ds1"), LDAPDirectory(tmp_path / "ds2")
    second.password = first.password
    second.password_file.write_text(first.password + "\n")
    first_port, second_port = first.port, second.port

    def start(directory: LDAPDirectory, server_id: int, other: int) -> None:
        proc = subprocess.run(
            [str(REPO / "deploy/ldap/start-slapd.sh"), "--dir", str(directory.folder), "--port", str(directory.port),
             "--admin-password-file", str(directory.password_file), "--server-id", str(server_id),
             "--provider", f"ldap://127.0.0.1:{other}/"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        directory.pid = int(proc.stdout.strip())

    server = None
    try:
        start(first, 1, second_port)
        start(second, 2, first_port)
        server = AMServer(iec_am_binary, root=tmp_path / "am", store="sqlite")
        server.config_path.write_text(__import__("json").dumps(
            {"server": {"port": server.port}, "store": first.store_config()}))
        proc = server.run_cli("setup", "--config", server.config_path, "--generate-admin-password")
        assert proc.returncode == 0, proc.stderr
        base = f"ou=users,ou=am,{SUFFIX}"
        wait_for(lambda: "dn: iecKey=" in _search(second, base, "1.1"), 15,
                 "the administrator replicated to the second provider")
    finally:
        if server is not None:
            server.close()
        first.stop()
        second.stop()


def test_start_slapd_help_and_bad_options():
    script = str(REPO / "deploy/ldap/start-slapd.sh")
    shown = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0 and "--server-id" in shown.stdout and "--port" in shown.stdout, shown
    for args, message in [(["--port", "1"], "--dir is required"), (["--dir", "/tmp/x", "--port", "0"], "--port"),
                          (["--dir", "/tmp/x", "--bogus"], "unknown option"),
                          (["--dir", "/tmp/x", "--provider", "ldap://x/"], "--provider needs --server-id")]:
        bad = subprocess.run([script, *args], capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and message in bad.stderr, (args, bad.stderr)
