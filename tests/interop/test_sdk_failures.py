"""The failures a developer meets with the SDK, and what the C examples print for them:
the gateway not running, wrong keys, no iec-sdk.db, iec-am down, an unknown device, bad
attributes, and re-initialising by deleting iec-sdk.db. Each message must say what to do.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap

import pytest

from am_server import AMServer
from gateway import IECAdmin, IECConfig
from gateway_service import GatewayService, curve_keygen, find_iecservice, zmq_keys
from sdk_support import SDKBundle, dynamic_env, find_library, free_port, sdk_world  # noqa: F401

INIT_FAILED = "Initialising sdk (settings from iec-sdk.db)... Initialisation failed: "


def test_gateway_not_running_fails_within_the_timeout_with_a_readable_error(sdk_world):
    port = free_port()
    app = sdk_world.app(endpoint=f"tcp://127.0.0.1:{port}", timeout=2)
    r = app.run(sdk_world.bundle.build("init_sdk_static"), check=False)
    assert r.returncode == 1
    last = r.stdout.splitlines()[-1]
    assert last == (INIT_FAILED + "Error: gateway_timeout, Description: no answer from the gateway within 2 s "
                    f"(msg_timeout_sec): nothing accepts connections at 127.0.0.1:{port}; is iecservice running, "
                    f"and is zmq_client.endpoint tcp://127.0.0.1:{port} its address?, URL: tcp://127.0.0.1:{port}"), last
    assert 1.9 <= r.elapsed < 3.5, f"iec_initialise should fail within msg_timeout_sec (2 s), took {r.elapsed:.2f} s"


@pytest.mark.parametrize("wrong", ["server key", "client key not allowed"])
def test_wrong_keys_fail_within_the_timeout_and_point_at_the_keys(sdk_world, wrong):
    if wrong == "server key":
        app = sdk_world.app(server_public_key=zmq_keys().public_key, timeout=2)
    else:
        app = sdk_world.app(keys=zmq_keys(), timeout=2)
    r = app.run(sdk_world.bundle.build("init_sdk_static"), check=False)
    assert r.returncode == 1
    last = r.stdout.splitlines()[-1]
    assert last.startswith(INIT_FAILED + "Error: gateway_timeout, Description: no answer from the gateway within 2 s"), last
    assert f"though {sdk_world.gateway.endpoint} accepts connections: check the CURVE keys" in last, last
    assert app.config["zmq_client"]["public_key"] in last, "the message names the app's public key to allow"
    assert r.elapsed < 3.5, r.elapsed
    sdk_world.gateway.assert_unharmed(f"a client with a wrong {wrong}")


def test_a_public_key_that_is_not_the_secret_keys_is_named(sdk_world):
    app = sdk_world.app(initialise=False)
    app.root.mkdir(parents=True, exist_ok=True)
    env = dynamic_env(sdk_world, app)
    env["IEC_PUBLICKEY"] = zmq_keys().public_key
    r = app.run(sdk_world.bundle.build("init_sdk_dynamic"), env=env, check=False)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1].startswith(
        "Initialising sdk (settings from attributes)... Initialisation failed: Error: configuration_error, "
        "Description: IEC_PUBLICKEY (zmq_client.public_key): does not belong to the secret key"), r.stdout
    assert r.elapsed < 1.5, "a configuration error needs no network"


def test_no_sdk_database_says_how_to_make_one(sdk_world, tmp_path):
    app = sdk_world.app(initialise=False)
    app.root.mkdir(parents=True, exist_ok=True)
    r = app.run(sdk_world.bundle.build("init_sdk_static"), check=False)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == (
        INIT_FAILED + "Error: configuration_error, Description: not configured: IEC_ENDPOINT, IEC_SECRETKEY, "
        "IEC_PUBLICKEY, IEC_SERVERPUBLICKEY, IEC_CLIENT_ID not set, and there is no iec-sdk.db in the working "
        "directory (run iecutil -file sdk-config.json -initialise sdk there), URL: "), r.stdout


def test_deleting_the_database_and_initialising_again_takes_the_new_settings(sdk_world):
    app = sdk_world.app()
    program = sdk_world.bundle.build("init_sdk_static")
    app.run(program)
    first = app.client_id
    new_id = "renamed-" + secrets.token_hex(3)
    app.config["client_configuration"]["id"] = new_id
    # iecutil leaves an existing database alone ...
    (app.root / "sdk-config.json").write_text(json.dumps(app.config))
    r = app.iecutil.ok("-file", app.root / "sdk-config.json", "-initialise", "sdk", "-output", app.root / "iec-sdk.db")
    assert "exists; left unchanged" in r.stdout, r.stdout
    # ... so, as the guide says: remove iec-sdk.db, then initialise again.
    (app.root / "iec-sdk.db").unlink()
    app.initialise()
    app.run(program)
    assert sdk_world.admin.identity(new_id)["type"] == "client"
    assert sdk_world.admin.identity(first)["type"] == "client"


def test_an_unknown_device_is_an_am_error(sdk_world):
    """Through the C API directly (ctypes in a child process): tokens for a device never registered."""
    app = sdk_world.app()
    r = run_ctypes(app, """
        assert lib.iec_initialise() == 0, last_error()
        out = ctypes.c_char_p()
        assert lib.iec_device_tokens(b"Never-Registered", ctypes.byref(out)) == -1
        assert out.value is None, "the out pointer is NULL after a failure"
        print(last_error())
    """)
    assert r.stdout.rstrip("\n") == ("Error: am_error, Description: unknown device Never-Registered: register it first, "
                                "URL: "), r.stdout


def test_a_device_of_another_app_is_refused(sdk_world):
    owner, other = sdk_world.app(), sdk_world.app()
    device = "dev-" + secrets.token_hex(4)
    owner.run(sdk_world.bundle.build("register_device"), device)
    r = other.run(sdk_world.bundle.build("get_device_tokens"), device, check=False)
    assert r.returncode == 1
    assert "Registration failed: Error: am_error, Description: " in r.stdout, r.stdout


def test_iec_am_down_is_an_error_with_a_description(iec_am_binary, iecutil, tmp_path):
    """A gateway of its own, registered; then iec-am stops: calls fail at once with the gateway's
    am_unavailable (docs/protocol.md), which the SDK reports as the original did, am_error, with a
    description saying iec-am cannot be reached."""
    server = AMServer(iec_am_binary)
    gateway = None
    try:
        out = server.root / "iec-config.json"
        server.setup("--iec-config-out", out)
        server.start()
        config = IECConfig.load(out)
        keys = curve_keygen(iecutil)
        gateway = GatewayService(find_iecservice(), iecutil, tmp_path / "gw", config, curve_keygen(iecutil), [keys])
        gateway.initialise()
        gateway.start_registered()
        bundle = SDKBundle(tmp_path / "iec-sdk", find_library(), iecutil.path)
        from sdk_support import App
        app = App(tmp_path / "app", bundle, iecutil, {
            "zmq_client": {"endpoint": gateway.endpoint, "secret_key": keys.secret_key, "public_key": keys.public_key,
                           "server_public_key": gateway.server_keys.public_key, "msg_timeout_sec": 5},
            "client_configuration": {"id": "app-" + secrets.token_hex(3)}})
        app.initialise()
        program = bundle.build("get_device_tokens")
        app.run(program, "before-outage")
        server.stop()
        r = app.run(program, "during-outage", check=False)
        assert r.returncode == 1
        last = r.stdout.splitlines()[-1]
        assert last.startswith("Registering device (id: during-outage)... Registration failed: Error: am_error, "
                               "Description: iec-am cannot be reached"), last
        assert f"URL: {server.base_url}/" in last, last
        assert r.elapsed < 5, r.elapsed
        gateway.assert_unharmed("iec-am going away")
    finally:
        if gateway:
            gateway.close()
        server.close()


CTYPES_PRELUDE = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.iec_last_error.restype = ctypes.c_void_p
libc = ctypes.CDLL(None)
libc.free.argtypes = [ctypes.c_void_p]
def last_error():
    p = lib.iec_last_error()
    if not p:
        return None
    text = ctypes.string_at(p).decode()
    libc.free(p)
    return text
"""


def run_ctypes(app, body: str) -> subprocess.CompletedProcess:
    script = CTYPES_PRELUDE + textwrap.dedent(body)
    r = app.run([sys.executable, "-c", script], str(app.bundle.lib / "libiecclient.so"), check=False)
    assert r.returncode == 0, f"ctypes script failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def test_the_c_conventions(sdk_world):
    """-1 and a last error on failure, NULL last error after a success, NULL out pointers,
    attribute parsing as the original, and the JSON helpers."""
    app = sdk_world.app()
    run_ctypes(app, """
        assert last_error() is None
        # Attributes: unknown enum value, bad bool, bad int, out of range, NULL value.
        assert lib.iec_set_attribute(13, b"x") == -1 and "unknown attribute 13" in last_error()
        assert lib.iec_set_attribute(6, b"yes") == -1 and "IEC_LOGGING_ENABLED takes a bool" in last_error()
        for good in (b"1", b"t", b"T", b"TRUE", b"true", b"True", b"0", b"f", b"F", b"FALSE", b"false", b"False"):
            assert lib.iec_set_attribute(6, good) == 0, good
            assert last_error() is None, "a success clears the last error"
        assert lib.iec_set_attribute(4, b"5s") == -1 and "IEC_MSGTIMEOUTSEC takes a decimal integer" in last_error()
        assert lib.iec_set_attribute(4, b"0") == -1 and "between 1 and 3600" in last_error()
        assert lib.iec_set_attribute(4, b"+3") == 0
        assert lib.iec_set_attribute(0, None) == -1 and "NULL" in last_error()
        # Before iec_initialise.
        out = ctypes.c_char_p(b"untouched")
        assert lib.iec_device_tokens(b"x", ctypes.byref(out)) == -1
        assert out.value is None
        assert last_error().startswith("Error: not_initialised, Description: the SDK is not initialised")
        assert lib.iec_initialise() == 0, last_error()
        assert last_error() is None
        assert lib.iec_device_register(None, None) == -1 and "the device id is NULL" in last_error()
        assert lib.iec_device_tokens(b"x", None) == -1 and "the output pointer is NULL" in last_error()
        # JSON helpers: process-wide parsed value, dotted paths, ints from numbers and digit strings.
        assert lib.iec_json_parse(b"not json") == -1 and "not JSON" in last_error()
        doc = b'{"a": {"b": {"c": 42}}, "s": "text", "n": "3599", "t": true, "f": 1.0, "big": 9999999999, "a.b": "whole"}'
        assert lib.iec_json_parse(doc) == 0
        value = ctypes.c_int()
        assert lib.iec_json_get_int(b"a.b.c", ctypes.byref(value)) == 0 and value.value == 42
        assert lib.iec_json_get_int(b"n", ctypes.byref(value)) == 0 and value.value == 3599
        assert lib.iec_json_get_int(b"f", ctypes.byref(value)) == 0 and value.value == 1
        assert lib.iec_json_get_int(b"big", ctypes.byref(value)) == -1 and "does not fit" in last_error()
        assert lib.iec_json_get_int(b"s", ctypes.byref(value)) == -1 and "is not an integer" in last_error()
        assert lib.iec_json_get_int(b"missing", ctypes.byref(value)) == -1 and "no member" in last_error()
        flag = ctypes.c_bool()
        assert lib.iec_json_get_bool(b"t", ctypes.byref(flag)) == 0 and flag.value is True
        assert lib.iec_json_get_bool(b"s", ctypes.byref(flag)) == -1
        text = ctypes.c_void_p()
        assert lib.iec_json_get_string(b"s", ctypes.byref(text)) == 0
        assert ctypes.string_at(text.value) == b"text"; libc.free(text.value)
        assert lib.iec_json_get_string(b"a.b", ctypes.byref(text)) == 0, "a top-level member named a.b wins"
        assert ctypes.string_at(text.value) == b"whole"; libc.free(text.value)
        assert lib.iec_json_get_string(b"a", ctypes.byref(text)) == 0
        assert ctypes.string_at(text.value) == b'{"b":{"c":42}}', "other values come back as compact JSON"
        libc.free(text.value)
    """)
