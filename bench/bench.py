"""OpenIEC's benchmark (bench/README.md): OpenIEC against a real peer and the machine's limits.

In one run, on loopback, with the same wrk settings for every HTTP server:
- openssl speed ecdsap256 (the signing limit);
- nginx answering a static 200 (the HTTP ceiling);
- iec-am: client_credentials, the JWT-bearer grant, introspection, JWKS;
- Glewlwyd (Debian package, SQLite WAL + the indexes it lacks): client_credentials,
  client_credentials with private_key_jwt, introspection, JWKS;
- the gateway and SDK (gateway_load.py, with the Swift driver iec-bench): tokens cached
  and uncached with 1, 10, 100 SDK clients, registrations/s, iecservice's memory;
- the identity store at two sizes (iec-bench store).
Every server is started here in a temporary folder and stopped by PID. Results go to
bench/results/<time>/: results.json, results.md (the table) and chart.png.

Run it through bench/run.sh (make bench), which builds and installs what it needs, or:
    .venv/bin/python bench/bench.py --bin .build/release [--quick] [--only http|gateway|store]
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
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

sys.path.insert(0, str(BENCH))
import gateway_load  # noqa: E402
import report as report_mod  # noqa: E402
from common import children_cpu_seconds, loadavg, rss_mb, tree_cpu_seconds  # noqa: E402
from peers import Glewlwyd, Nginx, PeerUnavailable, openssl_speed, pem_of, sign_client_assertions  # noqa: E402

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


def run_wrk(name: str, url: str, script: Path, env: dict, args, pid: int) -> dict:
    """wrk against one server (its PID for CPU accounting; nginx's workers are counted too)."""
    load = loadavg()
    if load > 1.0:
        print(f"   note: load average {load:.2f} before this run: other work on the machine skews the figures")
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
           "--timeout", "10s", "-s", str(script), url]
    print(f"\n== {name}: {' '.join(cmd)}", flush=True)
    full_env = dict(os.environ, BENCH_DIR=str(BENCH), BENCH_THREADS=str(args.threads), **env)
    server_cpu0 = tree_cpu_seconds(pid)
    wrk_cpu0 = children_cpu_seconds()  # wrk is the only child waited for in between
    wall0 = time.monotonic()
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=args.duration + 120)
    wall = time.monotonic() - wall0
    wrk_cpu = children_cpu_seconds() - wrk_cpu0
    server_cpu = tree_cpu_seconds(pid) - server_cpu0
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
        "wrk_cpu_share_of_machine": round(wrk_cpu / wall / (os.cpu_count() or 1), 3),
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


def write_bodies(path: Path, bodies: list[str]) -> None:
    path.write_text("\n".join(bodies) + "\n")


def _glewlwyd_batch(args) -> list[str]:
    pem, kid, client_id, audience, count, scope = args
    key = serialization.load_pem_private_key(pem, password=None)
    return sign_client_assertions(key, kid, client_id, audience, count, scope)


def glewlwyd_assertions(path: Path, g: Glewlwyd, count: int) -> None:
    workers = max(1, os.cpu_count() or 1)
    per = -(-count // workers)
    jobs = [(pem_of(g.client_key), g.client_kid, "bench-jwt", g.token_endpoint, min(per, count - i * per), g.SCOPE)
            for i in range(workers) if count - i * per > 0]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool, open(path, "w") as f:
        for batch in pool.imap_unordered(_glewlwyd_batch, jobs):
            f.write("\n".join(batch) + "\n")


def jwt_bearer_run(name: str, url: str, make_bodies, path: Path, count: int, args, pid: int) -> dict:
    """wrk with single-use bodies; once more with 3 × as many when a thread ran out."""
    for attempt in (1, 2):
        print(f"\n== generating {count} single-use assertions (fresh jti each) for {name} ...", flush=True)
        t0 = time.monotonic()
        make_bodies(path, count)
        print(f"   {time.monotonic() - t0:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
        r = run_wrk(name, url, BENCH / "jwt_bearer.lua", {"BENCH_ASSERTIONS": str(path)}, args, pid)
        r["assertions_generated"] = count
        if not r.get("threads_exhausted") or attempt == 2:
            break
        print(f"   ran out of assertions ({r['assertions_used']} sent): again with {count * 3}")
        count *= 3
    path.unlink()
    return r


def http_part(args, work: Path, report: dict) -> None:
    """nginx, iec-am and Glewlwyd, one after the other, with the same wrk settings."""
    wrk = report.setdefault("wrk", {})
    scope = args.scope

    print("\n######## nginx (static 200: the machine's HTTP ceiling)", flush=True)
    nginx = Nginx(work)
    try:
        nginx.start()
        wrk["nginx_static"] = run_wrk("nginx_static", nginx.url, BENCH / "client_credentials.lua",
                                      {"BENCH_BASIC_AUTH": "Basic eDp5", "BENCH_SCOPE": scope}, args, nginx.pid)
    finally:
        nginx.stop()

    print("\n######## iec-am", flush=True)
    server = AMServer(Path(args.iec_am), root=work / "iec-am", server={"threads": args.server_threads},
                      logging={"level": "warning", "access_log": bool(args.access_log)})
    try:
        server.setup()
        server.start()
        discovery = server.discovery()
        token_endpoint = discovery["token_endpoint"]
        verifier = TokenVerifier(discovery)
        scopes = scope.split()
        cc = server.create_client("bench-cc", grants=[GRANT_CLIENT_CREDENTIALS], scopes=scopes)
        basic = "Basic " + base64.b64encode(f"{cc['client_id']}:{cc['client_secret']}".encode()).decode()
        check = requests.post(token_endpoint, data={"grant_type": "client_credentials", "scope": scope},
                              headers={"Authorization": basic}, timeout=10)
        assert check.status_code == 200, f"client_credentials check: {check.status_code} {check.text[:200]}"
        token = check.json()["access_token"]
        verifier.access_token(token, cc["client_id"])
        key = ClientKey()
        jb = server.create_client("bench-jwt", method="private_key_jwt", grants=[GRANT_JWT_BEARER],
                                  scopes=scopes, jwks=key.jwks)
        one = work / "one-assertion.txt"
        generate_assertions(one, key, jb["client_id"], token_endpoint, 1)
        check = requests.post(token_endpoint, data=one.read_text().strip() + "&scope=" + scope.replace(" ", "+"),
                              timeout=10, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert check.status_code == 200, f"JWT-bearer check: {check.status_code} {check.text[:200]}"
        verifier.access_token(check.json()["access_token"], jb["client_id"])
        intro = requests.post(discovery["introspection_endpoint"], data={"token": token},
                              headers={"Authorization": basic}, timeout=10)
        assert intro.status_code == 200 and intro.json().get("active") is True, f"introspection check: {intro.text[:200]}"

        pid = server.proc.pid
        wrk["client_credentials"] = run_wrk("client_credentials", token_endpoint, BENCH / "client_credentials.lua",
                                            {"BENCH_BASIC_AUTH": basic, "BENCH_SCOPE": scope}, args, pid)
        count = args.assertions or max(20000, int(wrk["client_credentials"]["requests_per_s"] * args.duration * 1.5))
        wrk["jwt_bearer"] = jwt_bearer_run(
            "jwt_bearer", token_endpoint,
            lambda path, n: generate_assertions(path, key, jb["client_id"], token_endpoint, n),
            work / "jwt-bearer-bodies.txt", count, args, pid)
        wrk["introspection"] = run_wrk("introspection", discovery["introspection_endpoint"], BENCH / "introspect.lua",
                                       {"BENCH_BASIC_AUTH": basic, "BENCH_TOKEN": token}, args, pid)
        wrk["jwks"] = run_wrk("jwks", discovery["jwks_uri"], BENCH / "get.lua", {}, args, pid)
        report["iec_am_rss_after_http_mb"] = rss_mb(pid)
        server.assert_live("the HTTP runs")
        server.stop()
    finally:
        server.close()

    print("\n######## Glewlwyd", flush=True)
    if args.skip_glewlwyd:
        report["glewlwyd"] = {"unavailable": "skipped (--skip-glewlwyd)"}
        return
    g = Glewlwyd(work)
    started = time.monotonic()
    try:
        g.setup()
        gtoken = g.check()
        report["glewlwyd"] = {"version": dpkg_version("glewlwyd"), "indexes_added": g.indexes,
                              "setup_s": round(time.monotonic() - started, 1),
                              "assertion_replay_refused": g.replay_refused}
        g.empty_token_tables()
        wrk["glewlwyd_client_credentials"] = run_wrk(
            "glewlwyd_client_credentials", g.token_endpoint, BENCH / "client_credentials.lua",
            {"BENCH_BASIC_AUTH": g.basic, "BENCH_SCOPE": g.SCOPE}, args, g.pid)
        g.empty_token_tables()
        count = max(5000, int(wrk["glewlwyd_client_credentials"]["requests_per_s"] * args.duration * 2))
        wrk["glewlwyd_private_key_jwt"] = jwt_bearer_run(
            "glewlwyd_private_key_jwt", g.token_endpoint, lambda path, n: glewlwyd_assertions(path, g, n),
            work / "glewlwyd-bodies.txt", count, args, g.pid)
        g.empty_token_tables()
        gtoken = g.check()
        wrk["glewlwyd_introspection"] = run_wrk(
            "glewlwyd_introspection", g.introspection_endpoint, BENCH / "introspect.lua",
            {"BENCH_BASIC_AUTH": g.basic, "BENCH_TOKEN": gtoken}, args, g.pid)
        wrk["glewlwyd_jwks"] = run_wrk("glewlwyd_jwks", g.jwks_uri, BENCH / "get.lua", {}, args, g.pid)
        report["glewlwyd"]["rss_after_mb"] = rss_mb(g.pid)
    except PeerUnavailable as error:
        print(f"   Glewlwyd unavailable: {error}")
        report["glewlwyd"] = {"unavailable": str(error)[:300]}
    finally:
        g.stop()


def dpkg_version(package: str) -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def store_part(args, work: Path, report: dict) -> None:
    print(f"\n######## store scale: {args.store_sizes} identities (iec-bench store)", flush=True)
    folder = work / "store"
    folder.mkdir()
    t0 = time.monotonic()
    proc = subprocess.run([args.iec_bench, "store", "--folder", str(folder), "--sizes", args.store_sizes,
                           "--lookups", str(args.store_lookups), "--registrations", str(args.store_registrations)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"iec-bench store failed: {proc.stderr[-2000:]}")
    report["store"] = json.loads(proc.stdout.strip().splitlines()[-1])
    report["store"]["wall_s"] = round(time.monotonic() - t0, 1)
    for r in report["store"]["results"]:
        print(f"   {r['identities']:>9,} identities: fill {r['fill_s']} s, lookup p50 {r['lookup_us']['p50']} µs "
              f"p99 {r['lookup_us']['p99']} µs; registration p50 {r['registration_us']['p50']} µs "
              f"p99 {r['registration_us']['p99']} µs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the folder of the release binaries (iec-am, iecservice, iecutil, iec-bench)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: short durations, 100,000 identities at most")
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", 0)), help="seconds per wrk run")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", 1)), help="wrk -t")
    ap.add_argument("--connections", type=int, default=int(os.environ.get("CONNECTIONS", 32)), help="wrk -c")
    ap.add_argument("--server-threads", type=int, default=int(os.environ.get("SERVER_THREADS", 4)),
                    help="iec-am server.threads")
    ap.add_argument("--assertions", type=int, default=int(os.environ.get("ASSERTIONS", 0)),
                    help="JWT-bearer bodies to pre-generate (default: 1.5 × what client_credentials did)")
    ap.add_argument("--scope", default=os.environ.get("SCOPE", "iec:read"), help="scope asked for by iec-am's clients")
    ap.add_argument("--access-log", action="store_true", help="keep iec-am's access log on (default off)")
    ap.add_argument("--nodes", type=int, default=int(os.environ.get("NODES", 10000)),
                    help="devices registered through the gateway, then cached")
    ap.add_argument("--store-sizes", default=os.environ.get("STORE_SIZES", ""), help="identities, e.g. 1000,1000000")
    ap.add_argument("--skip-glewlwyd", action="store_true")
    ap.add_argument("--only", choices=["http", "gateway", "store"], action="append", help="run some parts only")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    binaries = {"iec_am": Path(args.bin) / "iec-am", "iecservice": Path(args.bin) / "iecservice",
                "iecutil": Path(args.bin) / "iecutil", "iec_bench": Path(args.bin) / "iec-bench"}
    for name, path in binaries.items():
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: no {name} binary at {path}")
    args.iec_am, args.iec_bench = str(binaries["iec_am"]), str(binaries["iec_bench"])
    args.duration = args.duration or (3 if args.quick else 10)
    args.gw_duration = args.duration
    args.register_duration = 120 if args.quick else 300
    args.store_sizes = args.store_sizes or ("1000,100000" if args.quick else "1000,1000000")
    args.store_lookups = 5000 if args.quick else 20000
    args.store_registrations = 300 if args.quick else 1000
    parts = args.only or ["http", "gateway", "store"]

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = BENCH / "results" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="iec-bench-"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    report: dict = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit + ("-dirty" if dirty else ""),
        "machine": {"cpus": os.cpu_count(), "cpu_model": cpu_model, "kernel": platform.release()},
        "settings": {"quick": args.quick, "threads": args.threads, "connections": args.connections,
                     "duration": args.duration, "server_threads": args.server_threads,
                     "access_log": bool(args.access_log), "scope": args.scope, "nodes": args.nodes,
                     "store_sizes": args.store_sizes, "parts": parts,
                     "wrk_version": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]},
        "loadavg_start": loadavg(),
        "notes": [],
    }
    failed = None
    try:
        print("######## openssl speed ecdsap256", flush=True)
        report["openssl_speed"] = openssl_speed(2 if args.quick else 5)
        print(f"   {json.dumps(report['openssl_speed'])}")
        if "http" in parts:
            http_part(args, work, report)
        if "gateway" in parts:
            print(f"\n######## gateway + SDK: iecservice, {args.nodes} devices, iec-bench", flush=True)
            report["gateway"] = gateway_load.run(args, binaries, work)
        if "store" in parts:
            store_part(args, work, report)
    except BaseException as error:  # still write what was measured
        failed = error
        report["notes"].append(f"the run stopped early: {type(error).__name__}: {str(error)[:300]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for r in report.get("wrk", {}).values():
        if r.get("loadavg_1min_before", 0) > 1.0:
            report["notes"].append(f"{r['scenario']}: load average {r['loadavg_1min_before']} before the run "
                                   "(other work on the shared machine)")
        if r["non_2xx"] or any(r["socket_errors"].values()):
            report["notes"].append(f"{r['scenario']}: {r['non_2xx']} non-2xx answers, socket errors "
                                   f"{r['socket_errors']}: the figure includes errors")
        if r.get("threads_exhausted"):
            report["notes"].append(f"{r['scenario']}: INVALID, ran out of pre-generated assertions")
    report["notes"].append("load generator CPU: wrk's share is of one core (wrk -t1 runs on one); the machine has "
                           f"{os.cpu_count()} cores shared by the load generator and the server under test")
    table = report_mod.rows(report)
    (out_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    md = report_mod.markdown(report, table)
    (out_dir / "results.md").write_text(md)
    try:
        report_mod.chart(report, table, out_dir / "chart.png")
    except Exception as error:  # the table and JSON stand without the chart
        print(f"bench: the chart failed: {error}")
        failed = failed or error
    print("\n" + md)
    print(f"results: {out_dir.relative_to(ROOT)}/ (results.json, results.md, chart.png)")
    if failed:
        print(f"bench: FAILED: {failed}")
        return 1
    bad = [r for r in report.get("wrk", {}).values()
           if r["non_2xx"] or any(r["socket_errors"].values()) or r.get("threads_exhausted")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
