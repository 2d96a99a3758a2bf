"""iecservice.log: the original's rotation settings, mode 0600, and no secrets.

- Rotation: with max_file_size_mb 1, max_backup_files 2 and compress_file_backups true,
  ~4.5 MB of log lines (refused requests, each logged) leave iecservice.log,
  iecservice.log.1.gz and iecservice.log.2.gz, each at most 1 MiB, gzip, mode 0600,
  and between them the newest lines without a gap.
- Age and count limits are applied at start: a backup older than max_file_age_days and
  one beyond max_backup_files are removed.
- Secrets: a gateway whose iec-am traffic goes through a recording proxy serves a full
  round of requests (and restarts); neither its log (backups included) nor its stdout
  holds the vendor secret, a CURVE secret key, the key file's material, any "eyJ"
  token, or any session id, token or device code that went over the wire.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path

import pytest

from am_server import AMServer, VerificationBrowser
from gateway import IECConfig
from gateway_service import (  # noqa: F401
    RecordingProxy, client_keys, curve_keygen, gateway_factory, gw_am, iecservice_binary,
    server_keys)

MIB = 1024 * 1024
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \w+ ")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def all_log_text(root: Path, base: str = "iecservice.log") -> str:
    parts = []
    for path in sorted(root.iterdir()):
        if not path.name.startswith(base):
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def flood(client, count: int, tag: str, batch: int = 500) -> None:
    """`count` requests the gateway refuses without calling iec-am, each one logged (~250 bytes)."""
    sent = 0
    while sent < count:
        n = min(batch, count - sent)
        for i in range(sent, sent + n):
            client.send({"v": 1, "request_id": f"f{i}", "op": "custom_command", "client_id": "c" * 100,
                         "device_id": f"{tag}-" + "d" * 100 + f"-{i:08d}", "command": "X"})
        for _ in range(n):
            _, answer = client.receive(timeout=15)
            assert answer["ok"] is False and answer["error"]["code"] == "am_error", answer
        sent += n


def test_log_rotation_by_size_with_compressed_backups(gateway_factory, gw_am, server_keys, client_keys):
    svc = gateway_factory(gw_am[1], server_keys, client_keys[:2],
                          logging_extra={"max_file_size_mb": 1, "max_backup_files": 2,
                                         "compress_file_backups": True, "debug": True})
    svc.initialise()
    svc.start_registered()
    client = svc.client(timeout=15)
    tag = "rot" + secrets.token_hex(2)
    started = time.monotonic()
    # Time the first megabyte: rotation is only tested when filling 1 MiB is quick.
    flood(client, 1000, tag)
    per_request = (time.monotonic() - started) / 1000
    size_1000 = svc.log_path.stat().st_size
    needed = int(4.5 * MIB / max(1, size_1000 / 1000))
    if per_request * (MIB / max(1, size_1000 / 1000)) > 10:
        pytest.skip(f"filling 1 MiB would take more than 10 s here ({per_request * 1000:.1f} ms a request)")
    flood(client, needed, tag)
    took = time.monotonic() - started
    print(f"\nlog rotation: {needed + 1000} requests, {took:.1f} s")
    svc.assert_unharmed("a log flood")
    svc.stop()

    names = sorted(p.name for p in svc.root.iterdir() if p.name.startswith("iecservice.log"))
    assert names == ["iecservice.log", "iecservice.log.1.gz", "iecservice.log.2.gz"], \
        f"max_backup_files 2 with compression should leave the log and two .gz backups: {names}"
    live = svc.log_path
    assert live.stat().st_size <= MIB, f"the live log is over max_file_size_mb: {live.stat().st_size}"
    numbers: list[int] = []
    oldest_first: list[int] = []      # the request numbers of .2.gz's first lines, in file order
    for name in ("iecservice.log.2.gz", "iecservice.log.1.gz", "iecservice.log"):
        path = svc.root / name
        assert mode(path) == 0o600, f"{name} has mode {mode(path):o}, expected 600"
        data = path.read_bytes()
        if name.endswith(".gz"):
            assert data[:2] == b"\x1f\x8b", f"{name} is not gzip"
            data = gzip.decompress(data)
            assert MIB // 2 < len(data) <= MIB, f"{name} holds {len(data)} bytes, expected at most 1 MiB (and most of it)"
        for line in data.decode().splitlines():
            assert LINE.match(line), f"{name}: not a whole log line: {line[:120]!r}"
            m = re.search(rf"{tag}-d+-(\d{{8}})", line)
            if m:
                numbers.append(int(m.group(1)))
                if name == "iecservice.log.2.gz" and len(oldest_first) < 200:
                    oldest_first.append(int(m.group(1)))
    assert numbers, "the flood's lines are missing"
    # Workers answer in parallel, so lines come roughly, not exactly, in request order (a
    # stalled worker may write one a few hundred lines late); none may be lost or doubled,
    # apart from the oldest ones, removed with the backup beyond max_backup_files. So every
    # request from a little after the start of .2.gz (the median of its first lines) on
    # must have its line somewhere.
    assert len(numbers) == len(set(numbers)), "some log lines are doubled across the rotated files"
    newest = max(numbers)
    assert newest == needed - 1, f"the newest flood line should be kept: {newest} != {needed - 1}"
    start = sorted(oldest_first)[len(oldest_first) // 2] + 200
    missing = sorted(set(range(start, newest + 1)) - set(numbers))
    assert not missing, f"{len(missing)} log lines are missing across the rotated files, e.g. {missing[:10]}"


def test_age_and_count_limits_at_start(gateway_factory, gw_am, server_keys, client_keys):
    svc = gateway_factory(gw_am[1], server_keys, client_keys[:1],
                          logging_extra={"max_file_size_mb": 1, "max_backup_files": 2, "max_file_age_days": 1})
    svc.initialise()
    old = svc.root / "iecservice.log.1.gz"
    old.write_bytes(gzip.compress(b"2020-01-01T00:00:00.000Z info old line\n"))
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    extra = svc.root / "iecservice.log.7"
    extra.write_text("2020-01-01T00:00:00.000Z info beyond the count\n")
    unrelated = svc.root / "iecservice.log.notes"
    unrelated.write_text("not a backup\n")
    svc.start_registered()
    assert not old.exists(), "a backup older than max_file_age_days should be removed at start"
    assert not extra.exists(), "a backup beyond max_backup_files should be removed at start"
    assert unrelated.exists(), "a file that is not a backup must be left alone"
    assert mode(svc.log_path) == 0o600


def test_no_secrets_in_the_log(iec_am_binary, iecutil, gateway_factory, client_keys):
    server = AMServer(iec_am_binary)
    proxy = RecordingProxy(server.base_url)
    try:
        server.server_overrides["public_url"] = proxy.url
        server.write_config()
        out = server.root / "iec-config.json"
        server.setup("--iec-config-out", out)
        config = IECConfig.load(out)
        assert config.url == proxy.url
        server.start()
        server_keys = curve_keygen(iecutil)
        svc = gateway_factory(config, server_keys, client_keys[:3], logging_extra={"debug": True})
        svc.initialise()
        svc.start_registered()
        app = svc.client(timeout=15)
        client_id, device_id = "app-" + secrets.token_hex(3), "dev-" + secrets.token_hex(3)
        app.ok("initialise", client_id=client_id)
        app.ok("register_device", client_id=client_id, device_id=device_id,
               registration_data=json.dumps({"serial": "SERIAL-SECRET-123"}))
        tokens = app.ok("device_tokens", client_id=client_id, device_id=device_id)
        app.ok("device_configuration", client_id=client_id, device_id=device_id)
        app.ok("introspect", client_id=client_id, token=tokens["access_token"])
        app.call("introspect", client_id=client_id, token="eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
        app.call("custom_command", client_id=client_id, device_id=device_id, command="HELLO",
                 params=json.dumps({"password": "hunter2-PARAM-SECRET"}))
        code = app.ok("user_code", client_id=client_id, device_id=device_id)
        username, password = server.create_user()
        VerificationBrowser(server).approve(code["user_code"], username, password)
        user_tokens = app.ok("user_tokens", client_id=client_id, device_id=device_id, device_code=code["device_code"])
        svc.forget(app)
        svc.stop()
        svc.start_registered()        # a second session (the authentication chain)
        app = svc.client(timeout=15)
        app.ok("device_configuration", client_id=client_id, device_id=device_id)
        app.call("device_tokens", client_id=client_id, device_id=device_id)
        svc.forget(app)
        svc.stop()

        assert mode(svc.log_path) == 0o600, f"iecservice.log has mode {mode(svc.log_path):o}"
        text = all_log_text(svc.root) + "\n" + svc.output_text()
        assert "request served" in text and "registered a device" in text, "the debug log is missing"
        key_material = svc.key_path.read_text().strip()
        forbidden = {
            "the vendor secret": config.vendor_secret,
            "the gateway's CURVE secret key": server_keys.secret_key,
            "the key file's material": key_material,
            "the device code": code["device_code"],
            "a custom command parameter": "hunter2-PARAM-SECRET",
            "the registration data": "SERIAL-SECRET-123",
        }
        for i, keys in enumerate(client_keys[:3]):
            forbidden[f"client {i}'s CURVE secret key"] = keys.secret_key
        for name in ("access_token", "id_token", "refresh_token"):
            if name in tokens:
                forbidden[f"the device {name}"] = tokens[name]
            if name in user_tokens:
                forbidden[f"the user {name}"] = user_tokens[name]
        seen = sorted(proxy.secrets)
        assert len(seen) >= 5, f"the proxy should have seen sessions and tokens: {len(seen)}"
        for i, value in enumerate(seen):
            forbidden[f"a session id or token seen on the wire (#{i}: {value[:6]}…)"] = value
        leaks = [what for what, value in forbidden.items() if value and value in text]
        for what, value in forbidden.items():
            # Long values also must not appear in part (a log truncating a token still leaks it).
            if value and len(value) >= 32 and value[:24] in text and what not in leaks:
                leaks.append(what + " (its first 24 characters)")
        assert "eyJ" not in text, "a JWT ('eyJ...') appears in the log:\n" + "\n".join(
            line[:200] for line in text.splitlines() if "eyJ" in line)
        assert not leaks, f"secrets in iecservice.log or its output: {leaks}"
    finally:
        server.close()
        proxy.close()
