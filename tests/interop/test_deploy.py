"""deploy/install.sh and deploy/uninstall.sh, run into a temporary prefix.

Each test builds a fake unpacked service tarball in tmp_path (iecservice,
iecutil, iec-config.json, iec.service, lib/) and installs it with
`install.sh --prefix TMP --no-start`, as an operator would, but never into /.
No systemd is needed: under a prefix the install must not touch systemctl (a
fake one on PATH fails the test if called) and must print how to start the
daemon by hand.

Two kinds of iecutil go into the tarball:
- "real": our iecutil ($IECUTIL, else `$(swift build --show-bin-path)/iecutil`).
  Those tests skip, saying why, while it has no `-initialise service`, and run
  unchanged once it has. The configuration is the original's sample
  iec-config.json from the shared reference folder (copied into tmp_path; the
  tests skip when that folder is absent).
- "stub": a shell script with the same command line and output, so that the
  scripts' own logic (layout, modes, re-runs, uninstall, failures) is checked
  today. It says a database exists and exits 1 on a re-run.

iecservice is the real binary when it has been built (next to iecutil, or
$IECSERVICE), only ever copied, else a tiny shell script.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
INSTALL = DEPLOY / "install.sh"
UNINSTALL = DEPLOY / "uninstall.sh"
SAMPLE_CONFIG = REPO.parent / "shared" / "reference" / "original-configs" / "iec-config.json"

INIT_START = "iec util: Initialising service"
INIT_DONE = "iec util: Finished service initialisation"

STUB_IECUTIL = r"""#!/bin/sh
# A stand-in for `iecutil -file F -initialise service -output DB` (test_deploy.py).
file= what= output=
while [ $# -gt 0 ]; do
    case "$1" in
        -file|--file) file=$2; shift 2 ;;
        -initialise|--initialise) what=$2; shift 2 ;;
        -output|--output) output=$2; shift 2 ;;
        *) echo "iecutil: unknown option \"$1\"" >&2; exit 2 ;;
    esac
done
[ "$what" = service ] && [ -n "$file" ] && [ -n "$output" ] || { echo "iecutil: usage" >&2; exit 2; }
[ -r "$file" ] || { echo "iecutil: $file: cannot read" >&2; exit 1; }
if [ -n "${STUB_IECUTIL_FAIL:-}" ]; then
    echo "iecutil: $file: iec_configuration.id_token_config.subject: is required" >&2
    exit 1
fi
echo "iec util: Initialising service"
if [ -e "$output" ]; then
    echo "iecutil: $output already exists: nothing changed" >&2
    exit 1
fi
(umask 077 && printf 'stub database from %s\n' "$file" >"$output")
echo "iec util: Finished service initialisation"
"""

STUB_IECSERVICE = """#!/bin/sh
# A stand-in for iecservice (test_deploy.py), version {version}: only ever copied.
echo "stub iecservice {version}: $*"
"""

FAKE_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >>"{log}"
echo "Failed to connect to bus: No such file or directory" >&2
exit 1
"""


def _bin_dir(iecutil_path: Path) -> Path:
    return iecutil_path.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"{' '.join(self.argv)} -> exit {self.returncode}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


class Deploy:
    """One fake tarball folder, one prefix, and a PATH whose systemctl records calls."""

    def __init__(self, tmp_path: Path, iecutil_source: Path | None, iecservice_source: Path | None,
                 config_source: Path):
        self.tmp = tmp_path
        self.tarball = tmp_path / "iec-service"
        self.prefix = tmp_path / "root"
        self.tarball.mkdir()
        (self.tarball / "lib").mkdir()
        # Libraries as a tarball holds them: a file and a symlink to it.
        (self.tarball / "lib" / "libopeniec-deploy-test.so.1.0").write_bytes(b"\x7fELF not really\n")
        os.symlink("libopeniec-deploy-test.so.1.0", self.tarball / "lib" / "libopeniec-deploy-test.so.1")
        if iecutil_source is None:
            (self.tarball / "iecutil").write_text(STUB_IECUTIL)
        else:
            shutil.copy2(iecutil_source, self.tarball / "iecutil")
        os.chmod(self.tarball / "iecutil", 0o755)
        self.set_iecservice(iecservice_source, version="1")
        shutil.copy(config_source, self.tarball / "iec-config.json")
        shutil.copy(DEPLOY / "iec.service", self.tarball / "iec.service")

        fakebin = tmp_path / "fakebin"
        fakebin.mkdir()
        self.systemctl_log = tmp_path / "systemctl.log"
        (fakebin / "systemctl").write_text(FAKE_SYSTEMCTL.format(log=self.systemctl_log))
        os.chmod(fakebin / "systemctl", 0o755)
        self.env = {**os.environ, "PATH": f"{fakebin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        self.env.pop("STUB_IECUTIL_FAIL", None)
        self.real = iecutil_source is not None

    def set_iecservice(self, source: Path | None, version: str) -> None:
        target = self.tarball / "iecservice"
        if source is None:
            target.write_text(STUB_IECSERVICE.format(version=version))
        else:
            shutil.copy2(source, target)
        os.chmod(target, 0o755)

    # installed paths
    @property
    def bin(self) -> Path:
        return self.prefix / "opt" / "iec" / "bin"

    @property
    def lib(self) -> Path:
        return self.prefix / "opt" / "iec" / "lib"

    @property
    def state(self) -> Path:
        return self.prefix / "var" / "opt" / "iec"

    @property
    def db(self) -> Path:
        return self.state / "iec-service.db"

    @property
    def key(self) -> Path:
        return self.state / "iec-service.key"

    @property
    def unit(self) -> Path:
        return self.prefix / "lib" / "systemd" / "system" / "iec.service"

    @property
    def hint(self) -> str:
        return f"{self.bin}/iecservice --database {self.db} --key-file {self.key} &"

    def run(self, script: Path, *args: str, cwd: Path | None = None, env: dict | None = None) -> Run:
        argv = ["bash", str(script), *map(str, args)]
        proc = subprocess.run(argv, cwd=cwd or self.tarball, env=env or self.env,
                              capture_output=True, text=True, timeout=120)
        return Run(argv, proc.returncode, proc.stdout, proc.stderr)

    def install(self, *extra: str, ok: bool = True) -> Run:
        r = self.run(INSTALL, "--prefix", self.prefix, "--no-start", *extra)
        if ok:
            assert r.returncode == 0, str(r)
        return r

    def uninstall(self, *extra: str) -> Run:
        r = self.run(UNINSTALL, "--prefix", self.prefix, *extra)
        assert r.returncode == 0, str(r)
        return r

    def assert_systemd_untouched(self) -> None:
        calls = self.systemctl_log.read_text() if self.systemctl_log.exists() else ""
        assert calls == "", f"an install under a prefix must not call systemctl; it ran:\n{calls}"

    def installed_files(self) -> set[str]:
        if not self.prefix.exists():
            return set()
        return {str(p.relative_to(self.prefix)) for p in self.prefix.rglob("*")
                if p.is_file() or p.is_symlink()}


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_config_path() -> Path:
    if not SAMPLE_CONFIG.is_file():
        pytest.skip(f"the original's sample iec-config.json is not here ({SAMPLE_CONFIG}): "
                    "the shared reference folder is absent")
    return SAMPLE_CONFIG


@pytest.fixture(scope="session")
def real_iecutil(iecutil, sample_config_path: Path, tmp_path_factory) -> Path:
    """Our iecutil, once it supports `-initialise service`; otherwise the test skips."""
    probe = tmp_path_factory.mktemp("initialise-probe")
    config = probe / "iec-config.json"
    shutil.copy(sample_config_path, config)
    out = probe / "iec-service.db"
    proc = subprocess.run([str(iecutil.path), "-file", str(config), "-initialise", "service",
                           "-output", str(out)], capture_output=True, text=True, timeout=60)
    message = (proc.stderr or proc.stdout).strip()
    not_there = proc.returncode != 0 and "unknown" in message.lower() and (
        '"-file"' in message or '"-initialise"' in message or "initialise" in message.lower())
    if not_there:
        pytest.skip("iecutil has no `-initialise service` yet (issue 5): "
                    f"`iecutil -file iec-config.json -initialise service -output DB` exited "
                    f"{proc.returncode}: {message.splitlines()[0] if message else '(no message)'}")
    assert proc.returncode == 0 and out.is_file(), (
        "iecutil -initialise service must initialise the original's sample iec-config.json "
        f"unchanged; it exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return iecutil.path


@pytest.fixture(scope="session")
def real_iecservice(iecutil) -> Path | None:
    env = os.environ.get("IECSERVICE")
    path = Path(env) if env else _bin_dir(iecutil.path) / "iecservice"
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.fixture(params=["stub-iecutil", "real-iecutil"])
def deploy(request, tmp_path: Path) -> Deploy:
    """A fake unpacked tarball, with the stub or (once it can initialise) the real iecutil."""
    if request.param == "real-iecutil":
        iecutil_source = request.getfixturevalue("real_iecutil")
        config = request.getfixturevalue("sample_config_path")
        iecservice_source = request.getfixturevalue("real_iecservice")
    else:
        iecutil_source = None
        iecservice_source = None
        config = tmp_path / "minimal-iec-config.json"
        config.write_text('{"logging": {"logfile": "/var/opt/iec/iecservice.log"}}\n')
    return Deploy(tmp_path, iecutil_source, iecservice_source, config)


@pytest.fixture
def stub_deploy(tmp_path: Path) -> Deploy:
    config = tmp_path / "minimal-iec-config.json"
    config.write_text("{}\n")
    return Deploy(tmp_path, None, None, config)


# --- install ---------------------------------------------------------------------------


def test_install_lays_out_the_files_with_their_modes(deploy: Deploy):
    r = deploy.install()

    # iecutil's own lines, as in the seed's install output (on stdout or stderr)
    said = r.stdout + r.stderr
    assert INIT_START in said and INIT_DONE in said, str(r)

    files = deploy.installed_files()
    for rel in ("opt/iec/bin/iecservice", "opt/iec/bin/iecutil", "opt/iec/uninstall.sh",
                "opt/iec/lib/libopeniec-deploy-test.so.1.0", "opt/iec/lib/libopeniec-deploy-test.so.1",
                "lib/systemd/system/iec.service", "var/opt/iec/iec-service.db",
                "var/opt/iec/iec-service.key"):
        assert rel in files, f"{rel} not installed; installed: {sorted(files)}"
    stray = [f for f in files if not f.startswith(("opt/iec/", "lib/systemd/system/", "var/opt/iec/"))]
    assert not stray, f"files outside the layout: {stray}"
    assert not [f for f in files if "/." in f], f"temporary files left behind: {sorted(files)}"

    # binaries 0755 and the very files of the tarball; the library symlink kept as one
    for name in ("iecservice", "iecutil"):
        assert _mode(deploy.bin / name) == 0o755, name
        assert _sha(deploy.bin / name) == _sha(deploy.tarball / name), name
    assert (deploy.lib / "libopeniec-deploy-test.so.1").is_symlink()
    assert _mode(deploy.unit) == 0o644

    # the state folder and its secrets: owner only
    assert _mode(deploy.state) == 0o700
    assert _mode(deploy.db) == 0o600
    assert _mode(deploy.key) == 0o600
    assert deploy.key.stat().st_size >= 32
    if deploy.real:
        assert deploy.db.read_bytes()[:16] == b"SQLite format 3\x00", "the database should be SQLite"

    # under a prefix: systemd left alone, and the manual start printed as the seed does
    deploy.assert_systemd_untouched()
    assert deploy.hint in r.stdout, f"expected the manual-start line\n    {deploy.hint}\n{r}"


def test_installed_unit_names_the_prefixed_paths_and_hardening(deploy: Deploy):
    deploy.install()
    text = deploy.unit.read_text()
    assert not re.search(r"@[A-Z_]+@", text), f"placeholders left in the unit:\n{text}"
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    expected = [
        "Description=OpenIEC IEC Service",
        "Type=simple",
        f"ExecStart={deploy.bin}/iecservice --database {deploy.db} --key-file {deploy.key}",
        "Restart=on-failure",
        "RestartSec=5",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=15",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={deploy.state}",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "WantedBy=multi-user.target",
    ]
    missing = [line for line in expected if line not in lines]
    assert not missing, f"missing from the unit: {missing}\n{text}"
    analyze = shutil.which("systemd-analyze")
    if analyze:  # offline check of the syntax and directives; needs no running systemd
        proc = subprocess.run([analyze, "verify", str(deploy.unit)], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    sections = [line for line in lines if line.startswith("[")]
    assert sections == ["[Unit]", "[Service]", "[Install]"], sections
    assert lines.index(f"ExecStart={deploy.bin}/iecservice --database {deploy.db} --key-file {deploy.key}") > \
        lines.index("[Service]")


def test_rerun_upgrades_binaries_and_keeps_database_and_key(deploy: Deploy):
    deploy.install()
    db_before, key_before = _sha(deploy.db), _sha(deploy.key)
    (deploy.state / "iecservice.log").write_text("log of the running daemon\n")

    deploy.set_iecservice(None, version="2")
    r = deploy.install()

    assert "Keeping the existing database" in r.stdout, str(r)
    assert "Keeping the existing key file" in r.stdout, str(r)
    assert _sha(deploy.db) == db_before, "a re-run must not change the database"
    assert _sha(deploy.key) == key_before, "a re-run must not change the key file"
    assert (deploy.state / "iecservice.log").read_text() == "log of the running daemon\n"
    assert "version 2" in (deploy.bin / "iecservice").read_text(), "the binary was not upgraded"
    assert _mode(deploy.bin / "iecservice") == 0o755
    assert _mode(deploy.state) == 0o700 and _mode(deploy.db) == 0o600 and _mode(deploy.key) == 0o600
    assert deploy.hint in r.stdout
    deploy.assert_systemd_untouched()


def test_rerun_mirrors_the_tarball_libraries(deploy: Deploy):
    deploy.install()
    shutil.rmtree(deploy.tarball / "lib")
    (deploy.tarball / "lib").mkdir()
    (deploy.tarball / "lib" / "libnew.so").write_bytes(b"new\n")
    deploy.install()
    assert sorted(p.name for p in deploy.lib.iterdir()) == ["libnew.so"]


# --- uninstall -------------------------------------------------------------------------


def test_uninstall_keeps_the_state_and_purge_removes_it(deploy: Deploy):
    deploy.install()
    db_before = _sha(deploy.db)

    r = deploy.uninstall()
    assert not (deploy.prefix / "opt" / "iec").exists(), str(r)
    assert not deploy.unit.exists()
    assert deploy.db.is_file() and deploy.key.is_file(), "without --purge the state stays"
    assert "--purge" in r.stdout, "it should say how to remove the state too"
    deploy.assert_systemd_untouched()

    # Installing again picks the kept database up.
    r = deploy.install()
    assert "Keeping the existing database" in r.stdout, str(r)
    assert _sha(deploy.db) == db_before

    r = deploy.uninstall("--purge")
    assert not deploy.state.exists(), str(r)
    assert deploy.installed_files() == set(), deploy.installed_files()

    # Nothing left: still fine.
    r = deploy.uninstall("--purge")
    assert "Nothing to remove" in r.stdout, str(r)
    deploy.assert_systemd_untouched()


def test_uninstall_notices_a_daemon_started_by_hand(stub_deploy: Deploy):
    # A real executable, so that /proc/PID/exe names the installed file.
    stub_deploy.set_iecservice(Path(shutil.which("sleep")), version="sleep")
    stub_deploy.install()
    daemon = subprocess.Popen([str(stub_deploy.bin / "iecservice"), "60"])
    try:
        r = stub_deploy.run(UNINSTALL, "--prefix", stub_deploy.prefix, "--purge")
        assert r.returncode == 1, str(r)
        assert str(daemon.pid) in r.stderr and "nothing was removed" in r.stderr, str(r)
        assert stub_deploy.db.is_file() and (stub_deploy.bin / "iecservice").is_file()

        r = stub_deploy.uninstall()
        assert f"kill -TERM {daemon.pid}" in r.stderr, str(r)
        assert stub_deploy.db.is_file()
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    r = stub_deploy.uninstall("--purge")
    assert not stub_deploy.state.exists(), str(r)


# --- refusals and failures (stub iecutil only) -----------------------------------------


def test_a_failed_initialisation_installs_nothing(stub_deploy: Deploy):
    env = {**stub_deploy.env, "STUB_IECUTIL_FAIL": "1"}
    r = stub_deploy.run(INSTALL, "--prefix", stub_deploy.prefix, "--no-start", env=env)
    assert r.returncode == 1, str(r)
    assert "id_token_config.subject" in r.stderr, "iecutil's message should reach the user"
    assert "nothing was installed" in r.stderr, str(r)
    assert stub_deploy.installed_files() == set(), stub_deploy.installed_files()
    assert not stub_deploy.state.exists()


def test_a_database_without_its_key_file_is_refused(stub_deploy: Deploy):
    stub_deploy.install()
    stub_deploy.key.unlink()
    db_before = _sha(stub_deploy.db)
    r = stub_deploy.install(ok=False)
    assert r.returncode == 1, str(r)
    assert "key file" in r.stderr, str(r)
    assert _sha(stub_deploy.db) == db_before
    assert not stub_deploy.key.exists(), "it must not make a new key for an old database"


def test_a_folder_without_the_tarball_is_refused(stub_deploy: Deploy, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = stub_deploy.run(INSTALL, "--prefix", stub_deploy.prefix, "--from", empty, "--no-start")
    assert r.returncode == 1, str(r)
    assert "iecservice" in r.stderr, str(r)
    # and run from an unrelated folder without --from
    r = stub_deploy.run(INSTALL, "--prefix", stub_deploy.prefix, "--no-start", cwd=empty)
    assert r.returncode == 1 and "--from" in r.stderr, str(r)
    assert stub_deploy.installed_files() == set()


def test_from_and_config_options(stub_deploy: Deploy, tmp_path: Path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    config = tmp_path / "my-config.json"
    config.write_text("{}\n")
    r = stub_deploy.run(INSTALL, "--prefix", stub_deploy.prefix, "--from", stub_deploy.tarball,
                        "--config", config, "--no-start", cwd=other)
    assert r.returncode == 0, str(r)
    assert str(config) in stub_deploy.db.read_text(), "iecutil should have been given --config's file"
    r = stub_deploy.run(INSTALL, "--prefix", stub_deploy.prefix, "--config", tmp_path / "none.json",
                        "--no-start")
    assert r.returncode == 1 and "none.json" in r.stderr, str(r)


@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=["install", "uninstall"])
def test_help_and_usage_errors(stub_deploy: Deploy, script: Path):
    assert os.access(script, os.X_OK), f"{script} should be executable"
    r = stub_deploy.run(script, "--help")
    assert r.returncode == 0 and "usage" in r.stdout.lower() and "--prefix" in r.stdout, str(r)
    assert ("--no-start" if script == INSTALL else "--purge") in r.stdout
    for argv in (["--frobnicate"], ["--prefix"], ["--prefix", "/tmp/with space"]):
        r = stub_deploy.run(script, *argv)
        assert r.returncode == 2 and r.stderr.strip(), (argv, str(r))
    stub_deploy.assert_systemd_untouched()


@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=["install", "uninstall"])
def test_refuses_the_root_prefix_without_root(stub_deploy: Deploy, script: Path):
    argv = ["bash", str(script)]
    readable = None
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop to a user")
        # The clone may sit in a folder only root can enter (mktemp -d is 0700):
        # give the unprivileged user a readable copy of the script.
        readable = Path(tempfile.mkdtemp(prefix="iec-deploy-"))
        readable.chmod(0o755)
        copy = readable / script.name
        shutil.copy(script, copy)
        copy.chmod(0o644)
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", str(copy)]
    try:
        proc = subprocess.run(argv, cwd="/", env=stub_deploy.env, capture_output=True, text=True, timeout=60)
    finally:
        if readable is not None:
            shutil.rmtree(readable, ignore_errors=True)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "needs root" in proc.stderr and "--prefix" in proc.stderr, proc.stderr
    assert proc.stdout == ""
    stub_deploy.assert_systemd_untouched()
