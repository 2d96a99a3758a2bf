"""`iecutil -initialise service|sdk` with the original's sample config files, unchanged.

The samples are read from the shared reference folder at test time (never copied into
the repository); without it these tests are skipped, saying why. A bad file must name
the exact key path and the expected type, and write nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import stat
from pathlib import Path

import pytest
import zmq

from gateway_service import shared_config

START_SERVICE = "iec util: Initialising service"
DONE_SERVICE = "iec util: Finished service initialisation"
START_SDK = "iec util: Initialising sdk"
DONE_SDK = "iec util: Finished sdk initialisation"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sample_copy(name: str, tmp_path: Path) -> Path:
    original = shared_config(name)
    copy_path = tmp_path / name
    shutil.copyfile(original, copy_path)
    assert copy_path.read_bytes() == original.read_bytes()
    return copy_path


# --- iec-config.json ------------------------------------------------------------------


def test_sample_iec_config_initialises_unchanged(iecutil, tmp_path):
    config = sample_copy("iec-config.json", tmp_path)
    before = config.read_bytes()
    db, key = tmp_path / "db", tmp_path / "db.key"
    r = iecutil.run("-file", config, "-initialise", "service", "-output", db)
    assert r.returncode == 0, f"the original's sample must initialise as it is:\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert START_SERVICE in r.stdout and DONE_SERVICE in r.stdout, f"stdout: {r.stdout}"
    assert r.stdout.index(START_SERVICE) < r.stdout.index(DONE_SERVICE)
    assert db.is_file() and key.is_file(), f"expected {db} and {key}: {sorted(p.name for p in tmp_path.iterdir())}"
    assert mode(db) == 0o600, f"database mode {mode(db):o}, expected 600"
    assert mode(key) == 0o600, f"key file mode {mode(key):o}, expected 600"
    assert config.read_bytes() == before, "iecutil changed the config file"
    # The sample's public_key is not its secret key's; what counts is the derived one,
    # which is the sample SDK config's server_public_key (the original's demo keys).
    sample = json.loads(before)
    derived = zmq.curve_public(sample["zmq_server"]["secret_key"].encode()).decode()
    assert derived != sample["zmq_server"]["public_key"]
    sdk = json.loads(shared_config("sdk-config.json").read_text())
    assert derived == sdk["zmq_client"]["server_public_key"]
    secret = sample["zmq_server"]["secret_key"]
    vendor = sample["iec_configuration"]["id_token_config.vendor_secret"]
    assert secret not in r.stdout + r.stderr, "iecutil printed the CURVE secret key"
    assert vendor not in r.stdout + r.stderr, "iecutil printed the vendor secret"

    # Again: it says the database exists and changes nothing.
    db_sum, key_sum = digest(db), digest(key)
    again = iecutil.run("-file", config, "-initialise", "service", "-output", db)
    assert again.returncode == 0, f"re-running: exit {again.returncode}\n{again.stdout}{again.stderr}"
    assert "exists" in again.stdout + again.stderr, f"re-running should say the database exists: {again.stdout}{again.stderr}"
    assert DONE_SERVICE not in again.stdout, f"re-running should not initialise again: {again.stdout}"
    assert digest(db) == db_sum and digest(key) == key_sum, "re-running changed the database or the key file"
    assert mode(db) == 0o600 and mode(key) == 0o600


def test_double_dash_spellings(iecutil, tmp_path):
    config = sample_copy("iec-config.json", tmp_path)
    db = tmp_path / "dd.db"
    r = iecutil.ok("--file", config, "--initialise", "service", "--output", db)
    assert DONE_SERVICE in r.stdout and db.is_file() and mode(db) == 0o600


def _mutations():
    def set_(section, key, value):
        return lambda d: d[section].__setitem__(key, value)

    def drop(section, key):
        return lambda d: d[section].pop(key)

    sample_secret = "O=QAu0}6S{y}D-bVgNB!(qJG*fIwPj=Y6<sQfaC}"
    return [
        ("secret_key too short", set_("zmq_server", "secret_key", sample_secret[:-1]),
         ["zmq_server.secret_key", "Z85"]),
        ("secret_key not Z85", set_("zmq_server", "secret_key", sample_secret[:-1] + "~"),
         ["zmq_server.secret_key", "Z85"]),
        ("url missing", drop("am_configuration", "url"), ["am_configuration.url", "required", "string"]),
        ("url a number", set_("am_configuration", "url", 42), ["am_configuration.url", "string", "integer"]),
        ("unknown key", set_("am_configuration", "cookie_nme", "x"),
         ["am_configuration.cookie_nme", "unknown key", 'did you mean "cookie_name"']),
        ("unknown dotted key", set_("iec_configuration", "id_token_config.subjct", "x"),
         ["iec_configuration.id_token_config.subjct", 'did you mean "id_token_config.subject"']),
        ("unknown section", lambda d: d.__setitem__("zmq_servr", {}), ["zmq_servr", 'did you mean "zmq_server"']),
        ("lifetime a string", set_("iec_configuration", "id_token_config.lifetime_seconds", "120"),
         ["iec_configuration.id_token_config.lifetime_seconds", "integer", "string"]),
        ("vendor secret missing", drop("iec_configuration", "id_token_config.vendor_secret"),
         ["iec_configuration.id_token_config.vendor_secret", "required"]),
        ("am_public_key not a key", set_("am_configuration", "am_public_key", "bm90IGEga2V5"),
         ["am_configuration.am_public_key", "P-256"]),
        ("whitelist a string", set_("zmq_server", "whitelist", "127.0.0.1"),
         ["zmq_server.whitelist", "array"]),
        ("client key bad", set_("zmq_server", "client_public_keys", ["short"]),
         ["zmq_server.client_public_keys[0]", "Z85"]),
        ("section an array", lambda d: d.__setitem__("zmq_server", [1]), ["zmq_server", "object", "array"]),
        ("log size a string", set_("logging", "max_file_size_mb", "10"),
         ["logging.max_file_size_mb", "integer", "string"]),
        ("log enabled a string", set_("logging", "enabled", "yes"), ["logging.enabled", "true or false"]),
    ]


@pytest.mark.parametrize("label,mutate,expected", _mutations(), ids=[m[0] for m in _mutations()])
def test_bad_iec_config_names_the_key(iecutil, tmp_path, label, mutate, expected):
    data = json.loads(shared_config("iec-config.json").read_text())
    bad = copy.deepcopy(data)
    mutate(bad)
    path = tmp_path / "iec-config.json"
    path.write_text(json.dumps(bad, indent=2))
    db = tmp_path / "bad.db"
    r = iecutil.run("-file", path, "-initialise", "service", "-output", db)
    text = r.stdout + r.stderr
    assert r.returncode != 0, f"{label}: a bad config must fail, got exit 0: {text}"
    for piece in expected:
        assert piece in text, f"{label}: the message should contain {piece!r}: {text!r}"
    assert not db.exists() and not (tmp_path / "bad.key").exists(), f"{label}: a bad config wrote files"
    assert DONE_SERVICE not in r.stdout
    assert data["zmq_server"]["secret_key"] not in text, f"{label}: the secret key was printed"


def test_invalid_json_is_refused(iecutil, tmp_path):
    path = tmp_path / "iec-config.json"
    path.write_text('{"iec_configuration": {,}')
    r = iecutil.run("-file", path, "-initialise", "service", "-output", tmp_path / "x.db")
    assert r.returncode != 0 and "JSON" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not (tmp_path / "x.db").exists()


# --- sdk-config.json ------------------------------------------------------------------


def test_sample_sdk_config_initialises_unchanged(iecutil, tmp_path):
    config = sample_copy("sdk-config.json", tmp_path)
    sample = json.loads(config.read_text())
    derived = zmq.curve_public(sample["zmq_client"]["secret_key"].encode()).decode()
    assert derived == sample["zmq_client"]["public_key"], "the sample's client key pair should match (libzmq says)"
    db = tmp_path / "sdk.db"
    r = iecutil.run("-file", config, "-initialise", "sdk", "-output", db)
    assert r.returncode == 0, f"the sample sdk-config.json must initialise:\n{r.stdout}\n{r.stderr}"
    assert START_SDK in r.stdout and DONE_SDK in r.stdout, r.stdout
    assert mode(db) == 0o600, f"sdk database mode {mode(db):o}"
    assert sample["zmq_client"]["secret_key"] not in r.stdout + r.stderr
    before = digest(db)
    again = iecutil.run("-file", config, "-initialise", "sdk", "-output", db)
    assert again.returncode == 0 and "exists" in again.stdout + again.stderr, again.stdout + again.stderr
    assert digest(db) == before, "re-running changed the sdk database"


def _sdk_mutations():
    return [
        ("public key of another pair", lambda d: d["zmq_client"].__setitem__(
            "public_key", d["zmq_client"]["server_public_key"]), ["zmq_client.public_key", "zmq_client.secret_key"]),
        ("server key missing", lambda d: d["zmq_client"].pop("server_public_key"),
         ["zmq_client.server_public_key", "required"]),
        ("client id missing", lambda d: d["client_configuration"].pop("id"), ["client_configuration.id", "required"]),
        ("timeout a string", lambda d: d["zmq_client"].__setitem__("msg_timeout_sec", "5"),
         ["zmq_client.msg_timeout_sec", "integer", "string"]),
        ("unknown key", lambda d: d["zmq_client"].__setitem__("endpont", "x"),
         ["zmq_client.endpont", 'did you mean "endpoint"']),
        ("backups negative", lambda d: d["logging"].__setitem__("max_backup_files", -1),
         ["logging.max_backup_files", "integer"]),
    ]


@pytest.mark.parametrize("label,mutate,expected", _sdk_mutations(), ids=[m[0] for m in _sdk_mutations()])
def test_bad_sdk_config_names_the_key(iecutil, tmp_path, label, mutate, expected):
    data = json.loads(shared_config("sdk-config.json").read_text())
    mutate(data)
    path = tmp_path / "sdk-config.json"
    path.write_text(json.dumps(data))
    db = tmp_path / "sdk.db"
    r = iecutil.run("--file", path, "--initialise", "sdk", "--output", db)
    text = r.stdout + r.stderr
    assert r.returncode != 0, f"{label}: should fail: {text}"
    for piece in expected:
        assert piece in text, f"{label}: the message should contain {piece!r}: {text!r}"
    assert not db.exists(), f"{label}: a bad sdk config wrote {db}"
