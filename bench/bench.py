"""The first iec-am benchmark: token endpoint throughput with wrk (see bench/README.md).

Sets iec-am up in a temporary folder on a free port (the interop suite's
tests/interop/am_server.py does the set-up, serve and stop), creates a
client_credentials client (client_secret_basic) and a JWT-bearer client (EC
P-256 key), checks one request of each by hand, then runs wrk with the Lua
scripts in this folder and writes bench/results/<time>.json.

Run it through bench/run.sh (which builds the release binary), or directly:
    .venv/bin/python bench/bench.py --iec-am PATH [--duration 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import platform
import re
import resource
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "tests" / "interop"))

import requests  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, utils  # noqa: E402

from am_server import (GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, AMServer, ClientKey,  # noqa: E402
                       TokenVerifier)

JWT_BEARER_BODY_PREFIX = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign_batch(args) -> list[str]:
    """Worker: `count` JWT-bearer form bodies, each with a fresh jti (cryptography, ES256)."""
    pem, kid, client_id, audience, count, iat, exp = args
    key = serialization.load_pem_private_key(pem, password=None)
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
    out = []
    for _ in range(count):
        payload = b64url(json.dumps({"iss": client_id, "sub": client_id, "aud": audience, "iat": iat, "exp": exp,
                                     "jti": secrets.token_urlsafe(18)}, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}"
        r, s = utils.decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
        out.append(JWT_BEARER_BODY_PREFIX + signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")))
    return out


def generate_assertions(path: Path, key: ClientKey, client_id: str, audience: str, count: int) -> float:
    """Writes `count` bodies, one a line; returns the seconds it took. Valid for ~9.8 minutes."""
    start = time.monotonic()
    iat = int(time.time())
    exp = iat + 590  # iec-am accepts at most 600 s of assertion lifetime
    workers = max(1, os.cpu_count() or 1)
    per = -(-count // workers)
    jobs = [(key.pem, key.kid, client_id, audience, min(per, count - i * per), iat, exp)
            for i in range(workers) if count - i * per > 0]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool, open(path, "w") as f:
        for batch in pool.imap_unordered(_sign_batch, jobs):
            f.write("\n".join(batch))
            f.write("\n")
    return time.monotonic() - start


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def children_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_wrk(name: str, url: str, script: Path, env: dict, args, server: AMServer) -> dict:
    load = loadavg()
    if load > 0.5:
        print(f"   note: load average {load:.2f} before this run: other work on the machine skews the figures")
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
           "--timeout", "10s", "-s", str(script), url]
    print(f"\n== {name}: {' '.join(cmd)}", flush=True)
    full_env = dict(os.environ, BENCH_DIR=str(BENCH), BENCH_THREADS=str(args.threads), **env)
    server_cpu0 = proc_cpu_seconds(server.proc.pid)
    wrk_cpu0 = children_cpu_seconds()  # wrk is the only child waited for in between
    wall0 = time.monotonic()
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=args.duration + 120)
    wall = time.monotonic() - wall0
    wrk_cpu = children_cpu_seconds() - wrk_cpu0
    server_cpu = proc_cpu_seconds(server.proc.pid) - server_cpu0
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    shown = "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("BENCH_JSON "))
    print(shown)
    if proc.stderr.strip():
        print(proc.stderr.strip())
    m = re.search(r"^BENCH_JSON (.*)$", proc.stdout, re.M)
    if not m:
        raise SystemExit("the wrk script printed no BENCH_JSON line")
    raw = json.loads(m.group(1))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["errors"]["status"]
    result = {
        "scenario": name,
        "requests": raw["requests"],
        "duration_s": round(seconds, 3),
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "ok_requests_per_s": round(ok / seconds, 1),
        "non_2xx": raw["errors"]["status"],
        "socket_errors": {k: v for k, v in raw["errors"].items() if k != "status"},
        "latency_ms": {k: round(v / 1000, 3) for k, v in raw["latency_us"].items()},
        "wrk_cpu_s": round(wrk_cpu, 2),
        "wrk_cpu_share_of_one_core": round(wrk_cpu / wall, 3),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_cores": round(server_cpu / wall, 2),
        "wall_s": round(wall, 2),
        "loadavg_1min_before": load,
        "wrk_stdout": proc.stdout,
    }
    for k in ("assertions_used", "assertions_available", "threads_exhausted"):
        if k in raw:
            result[k] = raw[k]
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iec-am", required=True, help="the iec-am binary (a release build)")
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", 10)), help="seconds per run")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", 1)), help="wrk -t")
    ap.add_argument("--connections", type=int, default=int(os.environ.get("CONNECTIONS", 32)), help="wrk -c")
    ap.add_argument("--server-threads", type=int, default=int(os.environ.get("SERVER_THREADS", 4)),
                    help="iec-am server.threads")
    ap.add_argument("--assertions", type=int, default=int(os.environ.get("ASSERTIONS", 0)),
                    help="JWT-bearer bodies to pre-generate (default: 1.5 × what client_credentials did, "
                         "at least 50000)")
    ap.add_argument("--scope", default=os.environ.get("SCOPE", "iec:read"),
                    help="scope asked for; include openid to have an ID token signed too")
    ap.add_argument("--access-log", action="store_true", help="keep iec-am's access log on (default off)")
    ap.add_argument("--only", choices=["client_credentials", "jwt_bearer"], help="run one scenario")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    server = AMServer(Path(args.iec_am), server={"threads": args.server_threads},
                      logging={"level": "warning", "access_log": bool(args.access_log)})
    results = []
    try:
        server.setup()
        server.start()
        discovery = server.discovery()
        token_endpoint = discovery["token_endpoint"]
        verifier = TokenVerifier(discovery)
        scopes = args.scope.split()
        print(f"iec-am {args.iec_am}\n  serving {server.base_url} (server.threads={args.server_threads}), "
              f"folder {server.root}")

        # client_credentials, client_secret_basic
        cc = server.create_client("bench-cc", grants=[GRANT_CLIENT_CREDENTIALS], scopes=scopes)
        basic = "Basic " + base64.b64encode(f"{cc['client_id']}:{cc['client_secret']}".encode()).decode()
        check = requests.post(token_endpoint, data={"grant_type": "client_credentials", "scope": args.scope},
                              headers={"Authorization": basic}, timeout=10)
        assert check.status_code == 200, f"client_credentials check: {check.status_code} {check.text[:200]}"
        verifier.access_token(check.json()["access_token"], cc["client_id"])

        # JWT bearer
        key = ClientKey()
        jb = server.create_client("bench-jwt", method="private_key_jwt", grants=[GRANT_JWT_BEARER],
                                  scopes=scopes, jwks=key.jwks)
        one = server.root / "one-assertion.txt"
        generate_assertions(one, key, jb["client_id"], token_endpoint, 1)
        body = one.read_text().strip()
        check = requests.post(token_endpoint, data=body + "&scope=" + args.scope.replace(" ", "+"), timeout=10,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert check.status_code == 200, f"JWT-bearer check: {check.status_code} {check.text[:200]}"
        verifier.access_token(check.json()["access_token"], jb["client_id"])

        url = token_endpoint
        if args.only in (None, "client_credentials"):
            results.append(run_wrk("client_credentials", url, BENCH / "client_credentials.lua",
                                   {"BENCH_BASIC_AUTH": basic, "BENCH_SCOPE": args.scope}, args, server))
            server.assert_live("the client_credentials run")

        if args.only in (None, "jwt_bearer"):
            count = args.assertions
            if not count:
                cc_rps = results[0]["requests_per_s"] if results else 20000
                count = max(50000, int(cc_rps * args.duration * 1.5))
            path = server.root / "jwt-bearer-bodies.txt"
            for attempt in (1, 2):
                print(f"\n== generating {count} JWT-bearer assertions (fresh jti each) ...", flush=True)
                took = generate_assertions(path, key, jb["client_id"], token_endpoint, count)
                print(f"   {took:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
                r = run_wrk("jwt_bearer", url, BENCH / "jwt_bearer.lua", {"BENCH_ASSERTIONS": str(path)}, args,
                            server)
                r["assertions_generated"] = count
                server.assert_live("the JWT-bearer run")
                if not r.get("threads_exhausted") or attempt == 2:
                    break
                print(f"   ran out of assertions ({r['assertions_used']} sent): wrk's figure is too low; "
                      f"again with {count * 3}")
                count *= 3
            path.unlink()
            results.append(r)
        server.stop()
    finally:
        server.close()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    report = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit + ("-dirty" if dirty else ""),
        "iec_am": str(args.iec_am),
        "machine": {"cpus": os.cpu_count(), "cpu_model": cpu_model, "kernel": platform.release()},
        "wrk": {"threads": args.threads, "connections": args.connections, "duration_s": args.duration,
                "version": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]},
        "iec_am_config": {"server.threads": args.server_threads, "access_log": bool(args.access_log),
                          "scope": args.scope},
        "results": results,
    }
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print("\n== summary (wrk -t%d -c%d, %d s each; %d CPUs) ==" % (args.threads, args.connections, args.duration,
                                                                  os.cpu_count() or 0))
    print(f"{'scenario':20} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'wrk CPU':>8} {'iec-am CPU':>11}")
    for r in results:
        print(f"{r['scenario']:20} {r['requests_per_s']:>10.0f} {r['latency_ms']['p50']:>8.2f} "
              f"{r['latency_ms']['p99']:>8.2f} {r['non_2xx']:>8} {r['wrk_cpu_share_of_one_core']:>7.0%} "
              f"{r['server_cpu_cores']:>9.2f} c")
        if r["loadavg_1min_before"] > 0.5:
            print(f"  note: load average {r['loadavg_1min_before']:.2f} before the run: not an idle machine")
        if r.get("threads_exhausted"):
            print(f"  INVALID: {r['scenario']} ran out of pre-generated assertions ({r['assertions_used']} sent) "
                  f"and wrk divided by the full duration; raise ASSERTIONS")
        if r["non_2xx"]:
            print(f"  WARNING: {r['non_2xx']} responses were not 2xx: the figure includes errors")
    print(f"results: {out.relative_to(ROOT)}")
    bad = [r for r in results if r["non_2xx"] or any(r["socket_errors"].values()) or r.get("threads_exhausted")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
