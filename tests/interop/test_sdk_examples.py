"""The C examples (built with plain gcc) and the Swift examples against a real iec-am and a
real iecservice, each a separate process; outputs compared with the seed's installation
guide and with each other, tokens verified with PyJWT, identities checked in iec-am.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time

import pytest

from am_server import TokenVerifier, VerificationBrowser
from sdk_support import (dynamic_env, find_swift_examples, normalise, sdk_world,  # noqa: F401
                         seed_simpleclient_lines, tokens_from_output)


@pytest.fixture(scope="module")
def verifier(sdk_world):
    return TokenVerifier(sdk_world.server.discovery())


@pytest.fixture(scope="module")
def simple_app(sdk_world):
    """The guide's app: one client id, and the device Narwhal (registered once per realm)."""
    return sdk_world.app("simpleclient-" + secrets.token_hex(3))


@pytest.fixture(scope="module")
def swift_examples():
    return find_swift_examples()


def expected_simpleclient() -> list[str]:
    """The seed's lines, normalised, with the closing brace of the tokens the guide cuts off."""
    seed = normalise(seed_simpleclient_lines())
    at = next(i for i, line in enumerate(seed) if line.startswith(' "expires_in"'))
    return seed[:at + 1] + ["}"] + seed[at + 1:]


def test_simpleclient_prints_the_seeds_lines(sdk_world, simple_app, verifier):
    program = sdk_world.bundle.build("simpleclient")
    r = simple_app.run(program)
    lines = r.stdout.splitlines()
    assert normalise(lines) == expected_simpleclient(), "simpleclient's output differs from the guide's:\n" + r.stdout
    assert lines[-1] == ("Executing 'Hello World' custom command... Custom command request failed: "
                         "Error: am_error, Description: no script found for command, URL: ")
    assert r.stderr == "", r.stderr
    tokens = tokens_from_output(r.stdout)
    assert list(tokens) == ["access_token", "id_token", "token_type", "expires_in"], tokens
    assert tokens["token_type"] == "Bearer" and isinstance(tokens["expires_in"], str), tokens
    assert 0 < int(tokens["expires_in"]) <= 3600, tokens
    claims = verifier.access_token(tokens["access_token"], "Narwhal")
    assert claims["sub"] == "Narwhal", claims
    assert verifier.id_token(tokens["id_token"], "Narwhal")["sub"] == "Narwhal"
    # "Confirm that the registration has been successful by checking that the simpleclient
    # identities were created": the app's client identity under the gateway, Narwhal under it.
    client = sdk_world.admin.identity(simple_app.client_id)
    assert client["type"] == "client" and client["parent"] == sdk_world.gateway.name, client
    device = sdk_world.admin.identity("Narwhal")
    assert device["type"] == "device" and device["parent"] == simple_app.client_id, device
    # It wrote its log where the attribute said, without secrets.
    log = (simple_app.root / "simpleclient.log").read_text()
    assert "request done op=device_tokens" in log, log
    assert tokens["access_token"] not in log


def test_simpleclient_runs_again_with_the_same_lines(sdk_world, simple_app):
    r = simple_app.run(sdk_world.bundle.build("simpleclient"))
    assert normalise(r.stdout.splitlines()) == expected_simpleclient(), r.stdout


def test_the_swift_simpleclient_prints_the_same_lines(simple_app, swift_examples):
    r = simple_app.run(swift_examples, "simpleclient")
    assert normalise(r.stdout.splitlines()) == expected_simpleclient(), r.stdout
    assert r.stderr == "", r.stderr


def test_static_and_dynamic_initialisation(sdk_world, swift_examples):
    app = sdk_world.app()
    r = app.run(sdk_world.bundle.build("init_sdk_static"))
    assert r.stdout.splitlines() == ["*** Running init_sdk_static", "Initialising sdk (settings from iec-sdk.db)... Done"]
    assert app.run(swift_examples, "init-static").stdout.splitlines()[1] == \
        "Initialising sdk (settings from iec-sdk.db)... Done"

    dynamic = sdk_world.app(initialise=False)      # no iec-sdk.db at all
    dynamic.root.mkdir(parents=True, exist_ok=True)
    env = dynamic_env(sdk_world, dynamic)
    r = dynamic.run(sdk_world.bundle.build("init_sdk_dynamic"), env=env)
    assert r.stdout.splitlines() == ["*** Running init_sdk_dynamic", "Setting attributes ... Done",
                                     "Initialising sdk (settings from attributes)... Done"], r.stdout
    assert not (dynamic.root / "iec-sdk.db").exists()
    r = dynamic.run(swift_examples, "init-dynamic", env=env)
    assert r.stdout.splitlines()[1:] == ["Setting attributes ... Done", "Initialising sdk (settings from attributes)... Done"]
    assert sdk_world.admin.identity(dynamic.client_id)["type"] == "client"


def test_register_device_with_registration_data(sdk_world, swift_examples):
    app = sdk_world.app()
    device = "dev-" + secrets.token_hex(4)
    r = app.run(sdk_world.bundle.build("register_device"), device)
    assert r.stdout.splitlines() == [
        "*** Running register_device", "Initialising sdk... Done",
        f'Registering device (id: {device}) with registration data {{"custom_data":"here"}}... Done'], r.stdout
    node = sdk_world.admin.identity(device)
    assert node["type"] == "device" and node["parent"] == app.client_id, node
    assert "custom_data" not in json.dumps(node), "registration data must be discarded after registration"
    other = "dev-" + secrets.token_hex(4)
    r = app.run(swift_examples, "register-device", other)
    assert r.stdout.splitlines()[2] == f'Registering device (id: {other}) with registration data {{"custom_data":"here"}}... Done'
    assert sdk_world.admin.identity(other)["parent"] == app.client_id


def test_register_device_data_reaches_the_attestation_script(sdk_world):
    """With the example attestation script, data other than {"custom_data":"here"} is refused."""
    admin = sdk_world.admin
    before = admin.settings()
    script = before.get("attestation_script")
    r = admin.put_script("CustomDeviceAttestationTest",
                         'var d = verifiedClaims.registration_data || {};\n'
                         'authState = (d.custom_data === "here") ? "SUCCESS" : "FAILURE";\n', kind="attestation")
    if r.status_code not in (200, 201):
        pytest.skip(f"this iec-am has no attestation scripts by that admin API: {r.status_code} {r.text[:200]}")
    try:
        admin.put_settings({"attestation_script": "CustomDeviceAttestationTest"})
    except AssertionError as error:
        pytest.skip(f"attestation_script is not a setting of this iec-am: {error}")
    try:
        app = sdk_world.app()
        device = "dev-" + secrets.token_hex(4)
        ok = app.run(sdk_world.bundle.build("register_device"), device)
        assert ok.stdout.endswith("... Done\n"), ok.stdout
        refused = app.run(sdk_world.bundle.build("get_device_tokens"), "dev-" + secrets.token_hex(4), check=False)
        assert refused.returncode == 1, refused.stdout
        assert "Registration failed: Error: am_error" in refused.stdout, refused.stdout
    finally:
        admin.put_settings({"attestation_script": script})


def test_get_device_configuration_reads_minimum(sdk_world, swift_examples):
    app = sdk_world.app()
    device = "dev-" + secrets.token_hex(4)
    program = sdk_world.bundle.build("get_device_configuration")
    first = app.run(program, device).stdout.splitlines()
    assert first[-2:] == ["Received configuration: {  }", "The configuration has no integer 'minimum'"], first
    sdk_world.admin.set_configuration(device, {"minimum": 7, "name": "kitchen sensor"})
    lines = app.run(program, device).stdout.splitlines()
    assert lines == [
        "*** Running get_device_configuration", "Initialising sdk... Done", f"Registering device (id: {device})... Done",
        f"Requesting configuration for device (id: {device})... Done",
        "Received configuration: {", ' "minimum": 7,', ' "name": "kitchen sensor"', "}",
        "Configuration value minimum: 7"], lines
    swift = app.run(swift_examples, "device-configuration", device).stdout.splitlines()
    assert swift[1:] == lines[1:], swift


def test_get_device_tokens(sdk_world, verifier, swift_examples):
    app = sdk_world.app()
    device = "dev-" + secrets.token_hex(4)
    r = app.run(sdk_world.bundle.build("get_device_tokens"), device)
    tokens = tokens_from_output(r.stdout)
    assert verifier.access_token(tokens["access_token"], device)["sub"] == device
    assert r.stdout.splitlines()[-1] == f"Token type: Bearer, expires in: {int(tokens['expires_in'])} seconds"
    swift = app.run(swift_examples, "device-tokens", device)
    assert normalise(swift.stdout.splitlines())[1:] == normalise(r.stdout.splitlines())[1:], swift.stdout


def test_run_device_custom_command(sdk_world, swift_examples):
    app = sdk_world.app()
    device = "dev-" + secrets.token_hex(4)
    program = sdk_world.bundle.build("run_device_custom_command")
    unmapped = app.run(program, device, check=False)
    assert unmapped.returncode == 1
    assert unmapped.stdout.splitlines()[-1] == (
        "Executing custom command HELLO_WORLD with params {}... Custom command request failed: "
        "Error: am_error, Description: no script found for command, URL: "), unmapped.stdout
    # Map another command name to the shipped HelloWorld script (HELLO_WORLD stays unmapped for simpleclient).
    sdk_world.admin.map_commands({"SAY_HELLO": "HelloWorld"})
    r = app.run(program, device, "SAY_HELLO", '{"greeting":"hi"}')
    lines = r.stdout.splitlines()
    assert lines[-1 - lines[::-1].index("Received response: {"):][:1] == ["Received response: {"], r.stdout
    response = json.loads(r.stdout[r.stdout.index("Received response: ") + len("Received response: "):])
    assert response["response"]["message"] == f"Hello World from {device}", response
    assert response["response"]["params"] == {"greeting": "hi"}, response
    swift = app.run(swift_examples, "custom-command", device, "SAY_HELLO", '{"greeting":"hi"}')
    swift_response = json.loads(swift.stdout[swift.stdout.index("Received response: ") + len("Received response: "):])
    assert swift_response["response"]["calls"] == response["response"]["calls"] + 1, (response, swift_response)


def test_introspect_access_token(sdk_world, swift_examples):
    app = sdk_world.app()
    device = "dev-" + secrets.token_hex(4)
    r = app.run(sdk_world.bundle.build("introspect_access_token"), device)
    lines = r.stdout.splitlines()
    assert lines[-1] == "Token active: true", r.stdout
    introspection = json.loads(r.stdout[r.stdout.index("Received introspection: ") + 24:r.stdout.rindex("\nToken active")])
    assert introspection["active"] is True and introspection.get("sub") == device, introspection
    assert list(introspection)[0] == "active", "active comes first"
    swift = app.run(swift_examples, "introspect", device).stdout.splitlines()
    assert swift[-1] == "Token active: true", swift


def pair(sdk_world, program: list, device: str, approve: bool = True) -> subprocess.CompletedProcess:
    """Runs a pairing example, approves (or denies) its code in the verification page as a user."""
    app = sdk_world.app()
    username, password = sdk_world.server.create_user()
    proc = app.popen(program + [device])
    lines = []
    try:
        deadline = time.monotonic() + 60
        code = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("To pair the device, open "):
                url, code = line.strip()[len("To pair the device, open "):].split(" and enter the code ")
                assert url == sdk_world.server.oauth2_url("/device/user"), url
                break
        assert code, f"no user code printed: {''.join(lines)}"
        time.sleep(1)  # let it poll at least once while pending
        VerificationBrowser(sdk_world.server).approve(code, username, password, approve=approve)
        watchdog = threading.Timer(60, proc.kill)  # the rest is read from the same buffered stream
        watchdog.start()
        try:
            out = proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(timeout=10)
        finally:
            watchdog.cancel()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines) + out, err)
    r.username = username  # type: ignore[attr-defined]
    return r


def test_get_user_tokens_pairs_the_device_with_a_user(sdk_world, verifier, swift_examples):
    device = "dev-" + secrets.token_hex(4)
    r = pair(sdk_world, [str(sdk_world.bundle.build("get_user_tokens"))], device)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == ["*** Running get_user_tokens", "Initialising sdk... Done",
                         f"Registering device (id: {device})... Done",
                         f"Requesting user code for device (id: {device})... Done"], lines
    assert lines[5] == "Waiting for the user to approve... Done", lines
    tokens = tokens_from_output(r.stdout, "Received user tokens: ")
    claims = verifier.access_token(tokens["access_token"], device)
    assert claims["sub"] == r.username, f"the user's token should name the user: {claims}"
    node = sdk_world.admin.identity(device)
    assert r.username in json.dumps(node), f"the device should be paired with {r.username}: {node}"

    swift = pair(sdk_world, [str(swift_examples), "user-tokens"], "dev-" + secrets.token_hex(4))
    assert swift.returncode == 0, swift.stdout + swift.stderr
    assert "Waiting for the user to approve... Done" in swift.stdout


def test_a_denied_pairing_ends_with_access_denied(sdk_world):
    device = "dev-" + secrets.token_hex(4)
    r = pair(sdk_world, [str(sdk_world.bundle.build("get_user_tokens"))], device, approve=False)
    assert r.returncode == 1, r.stdout
    assert r.stdout.splitlines()[-1].startswith(
        "Waiting for the user to approve... User token request failed: Error: access_denied, Description: "), r.stdout


THREADS_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libiecclient.h>

#define THREADS 8
#define ROUNDS 5
static char ids[THREADS][64];
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, int n) {
    char *e = iec_last_error();
    pthread_mutex_lock(&lock);
    failures++;
    printf("thread %d: %s: %s\n", n, what, e ? e : "(none)");
    pthread_mutex_unlock(&lock);
    free(e);
}

static void *run(void *arg) {
    int n = (int)(long)arg;
    for (int round = 0; round < ROUNDS; round++) {
        char *tokens = NULL, *config = NULL;
        if (iec_device_tokens(ids[n], &tokens) != 0) { fail("tokens", n); continue; }
        if (strstr(tokens, "\"access_token\"") == NULL) fail("no access_token", n);
        free(tokens);
        if (iec_device_configuration(ids[n], &config) != 0) { fail("configuration", n); continue; }
        free(config);
        /* An error on this thread is this thread's, whatever the others do. */
        if (iec_device_tokens("no-such-device-anywhere", &tokens) == 0) { fail("unknown device succeeded", n); continue; }
        char *e = iec_last_error();
        if (e == NULL || strstr(e, "no-such-device-anywhere") == NULL) fail("wrong last error", n);
        free(e);
        if (tokens != NULL) fail("out pointer not NULL after a failure", n);
    }
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t threads[THREADS];
    if (iec_initialise() != 0) { fail("initialise", -1); return 1; }
    for (int i = 0; i < THREADS; i++) {
        snprintf(ids[i], sizeof ids[i], "%s-%d", argc > 1 ? argv[1] : "dev", i);
        if (iec_device_register(ids[i], NULL) != 0) { fail("register", i); return 1; }
    }
    for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, run, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    printf("failures: %d\n", failures);
    return failures != 0;
}
"""


def test_calls_from_many_threads_at_once(sdk_world):
    app = sdk_world.app()
    program = sdk_world.bundle.compile_c(THREADS_C, "threads", extra=("-std=c99", "-Wall", "-Wextra", "-Werror"),
                                         libs=("-lpthread",))
    r = app.run(program, "thr-" + secrets.token_hex(3), timeout=120)
    assert r.stdout.strip().endswith("failures: 0"), r.stdout
