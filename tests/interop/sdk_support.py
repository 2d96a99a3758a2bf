"""The SDK end to end: libiecclient.so, its C examples built with plain gcc, the Swift
examples, run as separate processes against a real iec-am and a real iecservice.

    world = SDKWorld(...)            # iec-am (set up, serving) + iecservice (registered)
    bundle = world.bundle            # a folder laid out like the SDK tarball:
                                     #   lib/libiecclient.so include/ examples/ iecutil
    app = world.app("app-1")         # an app folder: sdk-config.json, then
                                     #   iecutil -file sdk-config.json -initialise sdk
    r = app.run(bundle.build("simpleclient"))

Outputs are compared line by line with what the seed's installation guide shows
(section 1.4) and with each other; tokens are verified with PyJWT. Only processes
started here are ever signalled.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from gateway import IECAdmin, start_iec_am
from gateway_service import CurveKeys, GatewayService, curve_keygen, find_iecservice, free_port
from helpers import IECUtil

REPO = Path(__file__).resolve().parents[2]
SEED_GUIDE = REPO.parent / "shared" / "seed" / "iec-installation-guide.txt"
C_EXAMPLES = ["simpleclient", "init_sdk_static", "init_sdk_dynamic", "register_device",
              "get_device_configuration", "get_device_tokens", "get_user_tokens",
              "run_device_custom_command", "introspect_access_token"]
#: The functions of the original libiecclient.h (forgerock-iec-facts.md), all of them.
ORIGINAL_FUNCTIONS = {"iec_initialise", "iec_last_error", "iec_device_register", "iec_device_configuration",
                      "iec_device_tokens", "iec_user_code", "iec_user_tokens", "iec_device_custom_command",
                      "iec_json_parse", "iec_json_get_string", "iec_json_get_int", "iec_json_get_bool",
                      "iec_set_attribute", "iec_token_introspect"}
ATTRIBUTES = ["IEC_ENDPOINT", "IEC_SECRETKEY", "IEC_PUBLICKEY", "IEC_SERVERPUBLICKEY", "IEC_MSGTIMEOUTSEC",
              "IEC_CLIENT_ID", "IEC_LOGGING_ENABLED", "IEC_LOGGING_DEBUG", "IEC_LOGGING_LOGFILE",
              "IEC_LOGGING_MAXSIZE", "IEC_LOGGING_MAXBACKUPS", "IEC_LOGGING_MAXAGE",
              "IEC_LOGGING_COMPRESSBACKUPS"]


def bin_dir() -> Path:
    return find_iecservice().parent


def find_library() -> Path:
    """$IEC_SDK_LIB (the folder holding libiecclient.so), else the swift build folder."""
    folder = Path(os.environ["IEC_SDK_LIB"]) if os.environ.get("IEC_SDK_LIB") else bin_dir()
    path = folder / "libiecclient.so"
    if not path.is_file():
        pytest.fail(f"libiecclient.so not found at {path}: swift build --product iecclient "
                    "(make test builds it), or set IEC_SDK_LIB", pytrace=False)
    return path


def find_swift_examples() -> Path:
    path = Path(os.environ["IEC_SDK_EXAMPLES"]) if os.environ.get("IEC_SDK_EXAMPLES") else \
        bin_dir() / "iec-sdk-examples"
    if not path.is_file():
        pytest.fail(f"iec-sdk-examples not found at {path}: swift build --product iec-sdk-examples, "
                    "or set IEC_SDK_EXAMPLES", pytrace=False)
    return path


def gcc() -> str:
    path = shutil.which("gcc")
    if not path:
        pytest.fail("gcc is needed to build the C examples (apt-get install gcc)", pytrace=False)
    return path


# --- the seed's simpleclient output ----------------------------------------------------


def seed_simpleclient_lines() -> list[str]:
    """The output block of section 1.4 "Run the example application", without its indent."""
    if not SEED_GUIDE.is_file():
        pytest.skip(f"the seed guide is not available at {SEED_GUIDE}")
    lines = SEED_GUIDE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "*** Running simpleclient")
    end = next(i for i in range(start, len(lines)) if "Custom command request failed" in lines[i])
    return [line[4:] if line.startswith("    ") else line for line in lines[start:end + 1]]


TOKEN_LINE = re.compile(r'^( "(?:access_token|id_token)": )"[^"]*"(,?)$')
EXPIRES_LINE = re.compile(r'^( "expires_in": )"\d+"(,?)$')
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def normalise(lines: list[str]) -> list[str]:
    """Token values and lifetimes replaced by placeholders; trailing blanks dropped."""
    out = []
    for line in lines:
        line = TOKEN_LINE.sub(r'\1"<token>"\2', line)
        line = EXPIRES_LINE.sub(r'\1"<seconds>"\2', line)
        out.append(JWT.sub("<jwt>", line).rstrip())
    return out


def tokens_from_output(text: str, marker: str = "Received tokens: ") -> dict:
    """The JSON printed after `marker` (it spans lines up to the closing brace)."""
    start = text.index(marker) + len(marker)
    end = text.index("\n}", start) + 2
    return json.loads(text[start:end])


# --- the SDK bundle ----------------------------------------------------------------------


class SDKBundle:
    """A folder laid out like the SDK tarball, from the repository's files and the built library."""

    def __init__(self, root: Path, library: Path, iecutil: Path):
        self.root = root
        (root / "lib").mkdir(parents=True)
        shutil.copy2(library, root / "lib" / "libiecclient.so")
        shutil.copytree(REPO / "include", root / "include")
        shutil.copytree(REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("swift"))
        (root / "iecutil").symlink_to(iecutil)
        self.built: dict[str, Path] = {}

    @property
    def lib(self) -> Path:
        return self.root / "lib"

    def build(self, example: str, extra_flags: tuple[str, ...] = ()) -> Path:
        """`gcc examples/X/X.c -I include -L lib -liecclient -o examples/X/X`, from the bundle's root."""
        if example in self.built and not extra_flags:
            return self.built[example]
        source = f"examples/{example}/{example}.c"
        output = f"examples/{example}/{example}"
        cmd = [gcc(), *extra_flags, source, "-I", "include", "-L", "lib", "-liecclient", "-o", output]
        r = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and not r.stderr.strip(), \
            f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
        self.built[example] = self.root / output
        return self.root / output

    def compile_c(self, source: str, name: str, extra: tuple[str, ...] = ("-Wall", "-Wextra", "-Werror"),
                  compiler: str | None = None, libs: tuple[str, ...] = ()) -> Path:
        """A test program against the bundle's header and library."""
        folder = self.root / "tests"
        folder.mkdir(exist_ok=True)
        suffix = ".cpp" if compiler and compiler.endswith("++") else ".c"
        (folder / (name + suffix)).write_text(source)
        cmd = [compiler or gcc(), *extra, f"tests/{name}{suffix}", "-I", "include", "-L", "lib", "-liecclient",
               *libs, "-o", f"tests/{name}"]
        r = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
        return folder / name


# --- an app folder -----------------------------------------------------------------------


class App:
    """One app's folder: sdk-config.json and the iec-sdk.db iecutil made from it."""

    def __init__(self, root: Path, bundle: SDKBundle, iecutil: IECUtil, config: dict):
        self.root = root
        self.bundle = bundle
        self.iecutil = iecutil
        self.config = config
        root.mkdir(parents=True, exist_ok=True)

    @property
    def client_id(self) -> str:
        return self.config["client_configuration"]["id"]

    def initialise(self) -> None:
        (self.root / "sdk-config.json").write_text(json.dumps(self.config, indent=2) + "\n")
        r = self.iecutil.ok("-file", self.root / "sdk-config.json", "-initialise", "sdk",
                            "-output", self.root / "iec-sdk.db")
        assert "iec util: Finished sdk initialisation" in r.stdout, r.stdout

    def env(self, extra: dict | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IEC_")}
        env["LD_LIBRARY_PATH"] = str(self.bundle.lib)
        env.update(extra or {})
        return env

    def run(self, program: Path | list, *args, env: dict | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(a) for a in (program if isinstance(program, list) else [program])] + [str(a) for a in args]
        started = time.monotonic()
        r = subprocess.run(argv, cwd=self.root, env=self.env(env), capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        r.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
        assert r.returncode >= 0, f"{argv[0]} died from signal {-r.returncode}\n{r.stdout}\n{r.stderr}"
        if check:
            assert r.returncode == 0, f"{' '.join(argv)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        return r

    def popen(self, program: Path | list, *args, env: dict | None = None) -> subprocess.Popen:
        argv = [str(a) for a in (program if isinstance(program, list) else [program])] + [str(a) for a in args]
        return subprocess.Popen(argv, cwd=self.root, env=self.env(env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


# --- the world ---------------------------------------------------------------------------


class SDKWorld:
    """iec-am and a registered iecservice, an SDK bundle, and app folders."""

    def __init__(self, iec_am_binary: Path, iecutil: IECUtil, root: Path, clients: int = 6):
        self.root = root
        self.iecutil = iecutil
        self.server, self.am_config = start_iec_am(iec_am_binary)
        try:
            self.admin = IECAdmin(self.server)
            self.server_keys = curve_keygen(iecutil)
            self.client_keys = [curve_keygen(iecutil) for _ in range(clients)]
            self.gateway = GatewayService(find_iecservice(), iecutil, root / "gateway", self.am_config,
                                          self.server_keys, self.client_keys)
            self.gateway.initialise()
            self.gateway.start_registered()
            self.bundle = SDKBundle(root / "iec-sdk", find_library(), iecutil.path)
        except BaseException:
            self.close()
            raise
        self._next_key = 0

    def sdk_config(self, client_id: str, keys: CurveKeys, *, endpoint: str | None = None,
                   server_public_key: str | None = None, timeout: int = 5) -> dict:
        return {"zmq_client": {"endpoint": endpoint or self.gateway.endpoint, "secret_key": keys.secret_key,
                               "public_key": keys.public_key,
                               "server_public_key": server_public_key or self.server_keys.public_key,
                               "msg_timeout_sec": timeout},
                "logging": {"logfile": "sdk.log", "enabled": True, "debug": True, "max_file_size_mb": 1,
                            "max_backup_files": 2, "max_file_age_days": 0, "compress_file_backups": True},
                "client_configuration": {"id": client_id}}

    def keys(self) -> CurveKeys:
        """The next allowed client key pair (each app its own)."""
        keys = self.client_keys[self._next_key % len(self.client_keys)]
        self._next_key += 1
        return keys

    def app(self, client_id: str | None = None, *, keys: CurveKeys | None = None, initialise: bool = True,
            **config) -> App:
        client_id = client_id or "app-" + secrets.token_hex(4)
        app = App(self.root / "apps" / client_id, self.bundle, self.iecutil,
                  self.sdk_config(client_id, keys or self.keys(), **config))
        if initialise:
            app.initialise()
        return app

    def close(self) -> None:
        try:
            if getattr(self, "gateway", None):
                self.gateway.close()
        finally:
            self.server.close()


def dynamic_env(world: SDKWorld, app: App) -> dict:
    """The attributes of `app` as the environment init_sdk_dynamic reads."""
    z = app.config["zmq_client"]
    return {"IEC_ENDPOINT": z["endpoint"], "IEC_SECRETKEY": z["secret_key"], "IEC_PUBLICKEY": z["public_key"],
            "IEC_SERVERPUBLICKEY": z["server_public_key"], "IEC_CLIENT_ID": app.client_id,
            "IEC_MSGTIMEOUTSEC": str(z["msg_timeout_sec"])}


@pytest.fixture(scope="module")
def sdk_world(iec_am_binary, iecutil, tmp_path_factory):
    world = SDKWorld(iec_am_binary, iecutil, tmp_path_factory.mktemp("sdk"))
    try:
        yield world
    finally:
        world.close()


__all__ = ["SDKWorld", "SDKBundle", "App", "sdk_world", "seed_simpleclient_lines", "normalise",
           "tokens_from_output", "dynamic_env", "find_library", "find_swift_examples", "free_port",
           "C_EXAMPLES", "ORIGINAL_FUNCTIONS", "ATTRIBUTES", "REPO", "gcc"]
