"""iecutil's command line as a user meets it: help everywhere, exit codes 0 / 1 / 2."""

from __future__ import annotations

import pytest

COMMANDS = [
    [],
    ["keygen"],
    ["keygen", "curve"],
    ["keygen", "p256"],
    ["jwks"],
    ["token"],
    ["token", "sign"],
    ["token", "decode"],
    ["token", "verify"],
]


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "iecutil")
def test_help(iecutil, command, flag):
    r = iecutil.run(*command, flag)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "usage" in r.stdout.lower(), r.stdout
    if command:
        assert command[-1] in r.stdout, f"the usage of {' '.join(command)} should name it"


def test_top_level_help_lists_the_commands(iecutil):
    out = iecutil.ok("--help").stdout
    for name in ("keygen", "jwks", "token"):
        assert name in out


@pytest.mark.parametrize("argv", [
    ["frobnicate"],
    ["keygen", "rsa"],
    ["token", "frobnicate"],
    ["keygen", "curve", "--no-such-option"],
    ["token", "verify", "x.y.z"],               # no --jwks / --hmac-secret-file
    ["token", "sign", "--claims", "{}"],         # no --key / --hmac-secret-file
    ["token", "verify", "x.y.z", "--jwks"],      # option without its value
    ["token", "verify", "x.y.z", "--jwks", "{jwks}", "--leeway", "soon"],
], ids=lambda a: " ".join(a))
def test_usage_errors_exit_2_with_a_message(iecutil, tmp_path, argv):
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys":[]}')
    r = iecutil.run(*[str(jwks) if a == "{jwks}" else a for a in argv])
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip(), "a usage error must say what is wrong on stderr"


def test_sign_rejects_claims_that_are_not_a_json_object(iecutil, p256_key):
    pem, _ = p256_key
    for claims in ("[1,2]", "{", "not json", '"str"'):
        r = iecutil.run("token", "sign", "--key", pem, "--claims", claims)
        assert r.returncode in (1, 2), (claims, r.returncode, r.stderr)
        assert r.stderr.strip()
        assert r.stdout.strip() == ""
