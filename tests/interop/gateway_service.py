"""Runs the real `iecservice` (the gateway daemon) for the interop suite, and talks to it
the way a third-party app would: pyzmq, following only docs/protocol.md.

    svc = GatewayService(binary, iecutil, root, am_config, server_keys, [client_keys...])
    svc.initialise()          # iecutil -file iec-config.json -initialise service -output DB
    svc.start()               # iecservice --database DB, on a free TCP port
    svc.wait_registered()     # until a ping answers registered: true
    client = svc.client()     # an SDKClient (DEALER + CURVE) with the first allowed key
    client.call("initialise", client_id="app-1")
    svc.stop()                # SIGTERM: exit code 0 required, within a few seconds
    svc.close()               # stops (SIGKILL as a last resort) what this object started

Nothing here imports or mirrors OpenIEC's Swift code: the gateway is configured with
iec-config.json (keys of the original, plus `max_message_bytes` of ours), CURVE keys
come from `iecutil keygen curve`, and answers are checked against docs/protocol.md.
Only PIDs started here are ever signalled.

`RecordingProxy` sits between a gateway and iec-am and remembers every session id
(`tokenId`) and token that went through, so that a test can prove none reached the log.
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import zmq

from gateway import IECConfig, start_iec_am
from helpers import IECUtil

REPO = Path(__file__).resolve().parents[2]
SHARED_CONFIGS = REPO.parent / "shared" / "reference" / "original-configs"
PROTOCOL_VERSION = 1
ERROR_CODES = {"am_error", "am_unavailable", "not_registered", "bad_request", "unsupported_version",
               "unknown_operation", "timeout", "authorization_pending", "slow_down", "access_denied",
               "expired_token", "shutting_down", "internal_error"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_iecservice() -> Path:
    """$IECSERVICE, else `$(swift build --show-bin-path)/iecservice`."""
    env = os.environ.get("IECSERVICE")
    if env:
        return Path(env)
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    out = subprocess.run([swift, "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0:
        pytest.fail(f"swift build --show-bin-path failed: {out.stderr.strip()}", pytrace=False)
    return Path(out.stdout.strip()) / "iecservice"


def shared_config(name: str) -> Path:
    """The original's sample config in /work/shared (never copied into the repository)."""
    path = SHARED_CONFIGS / name
    if not path.is_file():
        pytest.skip(f"the original's sample {name} is not available ({path} is absent; "
                    "it lives in the shared reference folder, outside the repository)")
    return path


# --- CURVE keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class CurveKeys:
    public_key: str
    secret_key: str


def curve_keygen(iecutil: IECUtil) -> CurveKeys:
    """`iecutil keygen curve`: a Z85 key pair, checked with libzmq's own derivation."""
    out = iecutil.ok("keygen", "curve").json()
    keys = CurveKeys(out["public_key"], out["secret_key"])
    assert len(keys.public_key) == 40 and len(keys.secret_key) == 40, f"keygen curve: {out}"
    derived = zmq.curve_public(keys.secret_key.encode()).decode()
    assert derived == keys.public_key, f"keygen curve: public key {keys.public_key} is not the secret key's ({derived})"
    return keys


def zmq_keys() -> CurveKeys:
    """A key pair made by libzmq (pyzmq), for clients the gateway has never heard of."""
    public, secret = zmq.curve_keypair()
    return CurveKeys(public.decode(), secret.decode())


# --- the SDK side: a pyzmq client from docs/protocol.md --------------------------------


class ClientTimeout(AssertionError):
    """No answer within the client's timeout (what a refused CURVE client sees)."""


class SDKClient:
    """A DEALER socket with CURVE; one request is [b"", JSON] and the answer comes back the same way.

    Answers are matched by request_id; answers to other (timed-out) requests are skipped,
    as docs/protocol.md says a client should."""

    def __init__(self, endpoint: str, server_public_key: str, keys: CurveKeys, *, timeout: float = 15,
                 context: zmq.Context | None = None, source: str | None = None):
        self.context = context or zmq.Context.instance()
        self.timeout = timeout
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.curve_secretkey = keys.secret_key.encode()
        self.socket.curve_publickey = keys.public_key.encode()
        self.socket.curve_serverkey = server_public_key.encode()
        self.keys = keys
        # libzmq's "tcp://SOURCE:0;HOST:PORT" picks the client's source address.
        target = endpoint
        if source:
            target = endpoint.replace("tcp://", f"tcp://{source}:0;", 1)
        self.socket.connect(target)
        self._counter = 0
        self.skipped: list[dict] = []

    def next_id(self) -> str:
        self._counter += 1
        return f"r{self._counter}-{secrets.token_hex(3)}"

    def request(self, op: str, **members) -> dict:
        body = {"v": PROTOCOL_VERSION, "request_id": self.next_id(), "op": op}
        body.update(members)
        return body

    def send(self, body: dict | bytes, one_frame: bool = False) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.socket.send_multipart([data] if one_frame else [b"", data])

    def send_frames(self, frames: list[bytes]) -> None:
        self.socket.send_multipart(frames)

    def receive(self, timeout: float | None = None) -> tuple[list[bytes], dict]:
        """One answer: its frames and its JSON (which must follow docs/protocol.md)."""
        wait = self.timeout if timeout is None else timeout
        if not self.socket.poll(int(wait * 1000)):
            raise ClientTimeout(f"no answer within {wait} s")
        frames = self.socket.recv_multipart()
        try:
            answer = json.loads(frames[-1])
        except ValueError as error:
            raise AssertionError(f"the answer is not JSON ({error}): {frames!r}")
        check_answer_shape(answer)
        return frames, answer

    def call(self, op: str, timeout: float | None = None, one_frame: bool = False, **members) -> dict:
        """Sends one request and returns its answer (skipping answers to other requests)."""
        body = self.request(op, **members)
        return self.call_body(body, timeout=timeout, one_frame=one_frame)

    def call_body(self, body: dict | bytes, request_id: str | None = None, timeout: float | None = None,
                  one_frame: bool = False, any_answer: bool = False) -> dict:
        """Sends `body`; returns the answer with its request_id (or the next answer, when
        `any_answer` or when the body is raw bytes)."""
        if request_id is None and isinstance(body, dict) and not any_answer:
            request_id = body.get("request_id")
        self.send(body, one_frame=one_frame)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ClientTimeout(f"no answer to {str(body)[:200]} within {timeout or self.timeout} s")
            frames, answer = self.receive(left)
            if one_frame:
                assert len(frames) == 1, f"a one-frame request should get a one-frame answer: {frames!r}"
            else:
                assert len(frames) == 2 and frames[0] == b"", \
                    f"a request with the empty delimiter should get [b'', JSON] back: {frames!r}"
            if request_id is None or answer.get("request_id") == request_id:
                return answer
            self.skipped.append(answer)

    def ok(self, op: str, **members) -> Any:
        """The result of a request that must succeed."""
        answer = self.call(op, **members)
        assert answer.get("ok") is True, f"{op} {members} should succeed: {answer}"
        return answer["result"]

    def error(self, op: str, code: str, **members) -> dict:
        """The error of a request that must fail with `code`."""
        answer = self.call(op, **members)
        assert answer.get("ok") is False and answer["error"]["code"] == code, \
            f"{op} {members} should fail with {code}: {answer}"
        return answer["error"]

    def expect_silence(self, timeout: float = 2.0, op: str = "ping", **members) -> None:
        """The request gets no answer at all (a refused client)."""
        try:
            answer = self.call(op, timeout=timeout, **members)
        except ClientTimeout:
            return
        raise AssertionError(f"a refused client got an answer: {answer}")

    def close(self) -> None:
        self.socket.close(linger=0)


def check_answer_shape(answer: Any) -> None:
    """docs/protocol.md: v, request_id, ok, and result or error {code, description, url}."""
    assert isinstance(answer, dict), f"an answer must be a JSON object: {answer!r}"
    assert answer.get("v") == PROTOCOL_VERSION, f"answer v should be {PROTOCOL_VERSION}: {answer}"
    assert isinstance(answer.get("request_id"), str), f"answer request_id should be a string: {answer}"
    assert isinstance(answer.get("ok"), bool), f"answer ok should be a boolean: {answer}"
    if answer["ok"]:
        assert "result" in answer, f"a success carries result: {answer}"
    else:
        error = answer.get("error")
        assert isinstance(error, dict), f"a failure carries error: {answer}"
        assert error.get("code") in ERROR_CODES, f"error code not in docs/protocol.md: {answer}"
        assert isinstance(error.get("description"), str), f"error description should be a string: {answer}"
        assert isinstance(error.get("url"), str), f"error url should be a string: {answer}"


# --- the daemon -----------------------------------------------------------------------


class GatewayServiceError(AssertionError):
    """iecservice did something a deployment would not accept."""


class GatewayService:
    """One gateway installation in its own folder: iec-config.json, database, key file, log."""

    def __init__(self, binary: Path, iecutil: IECUtil, root: Path, am_config: IECConfig | dict,
                 server_keys: CurveKeys, client_keys: list[CurveKeys], *, name: str | None = None,
                 whitelist: list[str] | None = None, zmq_extra: dict | None = None,
                 logging_extra: dict | None = None, am_url: str | None = None,
                 client_source: str | None = None):
        self.binary = Path(binary)
        self.iecutil = iecutil
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name or "gw-" + secrets.token_hex(4)
        self.server_keys = server_keys
        self.client_keys = list(client_keys)
        self.port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.config_path = self.root / "iec-config.json"
        self.db_path = self.root / "iec-service.db"
        self.key_path = self.root / "iec-service.key"
        self.log_path = self.root / "iecservice.log"
        self.out_path = self.root / "iecservice.out"
        raw = am_config.raw if isinstance(am_config, IECConfig) else am_config
        self.config: dict[str, Any] = {
            "iec_configuration": {**raw["iec_configuration"], "id_token_config.subject": self.name},
            "am_configuration": dict(raw["am_configuration"]),
            "zmq_server": {"whitelist": list(whitelist if whitelist is not None else ["127.0.0.1"]),
                           "endpoint": self.endpoint, "secret_key": server_keys.secret_key,
                           "public_key": server_keys.public_key,
                           "client_public_keys": [k.public_key for k in self.client_keys],
                           **(zmq_extra or {})},
            "logging": {"logfile": str(self.log_path), "enabled": True, "debug": True,
                        "max_file_size_mb": 10, "max_backup_files": 10, "max_file_age_days": 0,
                        "compress_file_backups": True, **(logging_extra or {})},
        }
        if am_url:
            self.config["am_configuration"]["url"] = am_url
        self.proc: subprocess.Popen | None = None
        self._out = None
        self._clients: list[SDKClient] = []
        self.context = zmq.Context()
        #: The source address of this object's own clients (wait_registered, assert_unharmed).
        self.client_source = client_source

    # --- set-up and life cycle ---

    def initialise(self):
        self.config_path.write_text(json.dumps(self.config, indent=2) + "\n")
        self.config_path.chmod(0o600)
        r = self.iecutil.ok("-file", self.config_path, "-initialise", "service", "-output", self.db_path)
        assert "iec util: Finished service initialisation" in r.stdout, r.stdout
        return r

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.running, "iecservice is already running"
        self._out = open(self.out_path, "ab")
        self._out.write(f"\n===== iecservice on {self.endpoint} at {time.ctime()} =====\n".encode())
        self._out.flush()
        self.proc = subprocess.Popen([str(self.binary), "--database", str(self.db_path)], cwd=self.root,
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT)

    def wait_registered(self, timeout: float = 30) -> dict:
        """Pings until the answer says registered: true; the daemon must stay up meanwhile."""
        client = self.client()
        deadline = time.monotonic() + timeout
        last: Any = None
        try:
            while time.monotonic() < deadline:
                self.assert_alive("waiting for registration")
                try:
                    last = client.call("ping", timeout=1)
                except ClientTimeout as error:
                    last = error
                    continue
                if last.get("ok") and last["result"].get("registered") is True:
                    return last["result"]
                time.sleep(0.1)
        finally:
            self.forget(client)
        raise GatewayServiceError(f"iecservice {self.name} did not register within {timeout} s "
                                  f"(last ping: {last})\n{self.log_tail()}")

    def start_registered(self, timeout: float = 30) -> dict:
        self.start()
        return self.wait_registered(timeout)

    def stop(self, timeout: float = 10) -> float:
        """SIGTERM; exit code 0 within `timeout` required. Returns the seconds it took."""
        if not self.running:
            raise GatewayServiceError(f"iecservice was not running (exit code "
                                      f"{self.proc.returncode if self.proc else '?'})\n{self.log_tail()}")
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise GatewayServiceError(f"iecservice did not exit within {timeout} s of SIGTERM\n{self.log_tail()}")
        finally:
            self._close_out()
        took = time.monotonic() - started
        if rc != 0:
            raise GatewayServiceError(f"iecservice exited {rc} after SIGTERM (expected 0)\n{self.log_tail()}")
        return took

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        try:
            if self.running:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            self._close_out()
            self.context.term()

    def _close_out(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def assert_alive(self, context: str = "") -> None:
        if not self.running:
            where = f" ({context})" if context else ""
            raise GatewayServiceError(f"iecservice is no longer running{where}: exit code "
                                      f"{self.proc.returncode if self.proc else '?'}\n{self.log_tail()}")

    # --- clients ---

    def client(self, keys: CurveKeys | None = None, server_public_key: str | None = None,
               timeout: float = 15, source: str | None = None) -> SDKClient:
        c = SDKClient(self.endpoint, server_public_key or self.server_keys.public_key,
                      keys or self.client_keys[0], timeout=timeout, context=self.context,
                      source=source or self.client_source)
        self._clients.append(c)
        return c

    def forget(self, client: SDKClient) -> None:
        client.close()
        if client in self._clients:
            self._clients.remove(client)

    def assert_unharmed(self, context: str) -> None:
        """The daemon is up and a good client's ping is answered."""
        self.assert_alive(context)
        client = self.client(timeout=10)
        try:
            answer = client.call("ping")
        except ClientTimeout:
            raise GatewayServiceError(f"after {context}, a good client's ping got no answer\n{self.log_tail()}")
        finally:
            self.forget(client)
        assert answer.get("ok") is True and answer["result"].get("registered") is True, \
            f"after {context}, ping answered {answer}"

    # --- logs ---

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def output_text(self) -> str:
        try:
            return self.out_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        log = "\n".join(self.log_text().splitlines()[-lines:]) or "(empty)"
        out = "\n".join(self.output_text().splitlines()[-10:]) or "(empty)"
        return f"--- iecservice.log (tail) ---\n{log}\n--- iecservice stdout/stderr (tail) ---\n{out}"

    def wait_for_log(self, predicate, timeout: float = 10, what: str = "a log line") -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"the gateway log never showed {what} within {timeout} s\n{self.log_tail()}")


# --- a recording proxy between the gateway and iec-am ----------------------------------


class RecordingProxy:
    """An HTTP reverse proxy that forwards to iec-am and records every secret it sees:
    session ids (`tokenId`, the cookie header), tokens, device codes, assertions."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.secrets: set[str] = set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection", "accept-encoding")}
                proxy._record_request(headers, body)
                try:
                    r = requests.request(self.command, proxy.target + self.path, headers=headers, data=body,
                                         timeout=30, allow_redirects=False)
                except requests.RequestException:
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                proxy._record_response(r.content)
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _add(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= 12:
            with self._lock:
                self.secrets.add(value)

    def _record_request(self, headers: dict, body: bytes) -> None:
        for k, v in headers.items():
            if k.lower() == "iplanetdirectorypro":
                self._add(v)
            if k.lower() == "cookie":
                for part in v.split(";"):
                    if "=" in part:
                        self._add(part.split("=", 1)[1].strip())
        text = body.decode("utf-8", "replace")
        if text.startswith("eyJ"):
            self._add(text)  # a command JWS

    def _record_response(self, content: bytes) -> None:
        try:
            body = json.loads(content)
        except ValueError:
            return

        def walk(value):
            if isinstance(value, dict):
                for k, v in value.items():
                    if k in ("tokenId", "access_token", "id_token", "refresh_token", "device_code", "authId"):
                        self._add(v)
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- fixtures (imported by the test_gateway_* modules) ---------------------------------


@pytest.fixture(scope="session")
def iecservice_binary() -> Path:
    path = find_iecservice()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"iecservice binary not found at {path}: build it first (make test does), "
                    "or set IECSERVICE", pytrace=False)
    return path


@pytest.fixture(scope="module")
def gw_am(iec_am_binary):
    """An iec-am of the module's own, set up with --iec-config-out: (AMServer, IECConfig)."""
    server, config = start_iec_am(iec_am_binary)
    try:
        yield server, config
    finally:
        server.close()


@pytest.fixture(scope="module")
def server_keys(iecutil) -> CurveKeys:
    return curve_keygen(iecutil)


@pytest.fixture(scope="module")
def client_keys(iecutil) -> list[CurveKeys]:
    """Ten allowed client key pairs (the 200-client test shares them among its sockets)."""
    return [curve_keygen(iecutil) for _ in range(10)]


@pytest.fixture
def gateway_factory(iecservice_binary, iecutil, tmp_path_factory):
    """Makes gateways of a test's own: `gateway_factory(am_config, server_keys, client_keys, **kw)`."""
    made: list[GatewayService] = []

    def make(am_config, server_keys: CurveKeys, client_keys: list[CurveKeys], **kwargs) -> GatewayService:
        root = tmp_path_factory.mktemp("iecservice")
        svc = GatewayService(iecservice_binary, iecutil, root, am_config, server_keys, client_keys, **kwargs)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()


@pytest.fixture(scope="module")
def gateway(iecservice_binary, iecutil, tmp_path_factory, gw_am, server_keys, client_keys):
    """One registered gateway for the module (whitelist 127.0.0.1, ten client keys)."""
    server, config = gw_am
    svc = GatewayService(iecservice_binary, iecutil, tmp_path_factory.mktemp("iecservice"), config,
                         server_keys, client_keys)
    try:
        svc.initialise()
        svc.start_registered()
        yield svc
    finally:
        svc.close()
