"""Gateway and SDK figures: iec-bench (a Swift executable of this package, N concurrent
IECClient SDK clients, one ZeroMQ connection and one thread each) against one
iecservice, itself registered with its own iec-am. See bench/README.md.

Phases, in this order, on one gateway:
1. idle: iecservice's VmRSS once it has registered, before any SDK client;
2. registrations: `register_device` for NODES devices (32 clients), devices/s and latency;
3. uncached tokens: `device_tokens` for devices never asked before (each one a
   GET_TOKENS command to iec-am: JWT-bearer assertion, verify, sign), with 1, 10 and
   100 clients, each on its own slice of the devices;
4. fill: tokens for every device not asked yet, so that all NODES are cached;
   then VmRSS "with NODES nodes cached";
5. cached tokens: `device_tokens` for random cached devices, 1, 10 and 100 clients;
6. iec-am's VmRSS after all of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from common import children_cpu_seconds, memory_mb, proc_cpu_seconds, rss_mb

CONCURRENCY = (1, 10, 100)


def run_iec_bench(iec_bench: Path, base: list[str], args: list[str], pids: dict[str, int], timeout: float) -> dict:
    cpu0 = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    child0 = children_cpu_seconds()
    wall0 = time.monotonic()
    proc = subprocess.run([str(iec_bench), "gateway", *base, *args], capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - wall0
    if proc.returncode != 0:
        raise RuntimeError(f"iec-bench {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    driver = children_cpu_seconds() - child0
    cpus = os.cpu_count() or 1
    result["driver_cpu_cores"] = round(driver / wall, 2)
    result["driver_cpu_share_of_machine"] = round(driver / wall / cpus, 3)
    for name, pid in pids.items():
        result[f"{name}_cpu_cores"] = round((proc_cpu_seconds(pid) - cpu0[name]) / wall, 2)
    result["wall_s"] = round(wall, 2)
    lat = result.get("latency_us", {})
    print(f"   {result['op']:>14} c={result['clients']:<3} {result['completed']:>7} ok {result['errors']:>4} err "
          f"{result['per_s']:>8.0f}/s  p50 {lat.get('p50', 0):>8.0f} µs  p99 {lat.get('p99', 0):>8.0f} µs  "
          f"driver {result['driver_cpu_cores']:.2f} cores", flush=True)
    if result["errors"]:
        print(f"     errors: {json.dumps(result['error_reasons'])[:400]}")
    return result


def run(args, binaries: dict[str, Path], work: Path) -> dict:
    """Everything of the gateway part; returns the figures (raises on a broken set-up)."""
    from gateway import start_iec_am
    from gateway_service import GatewayService, curve_keygen
    from helpers import IECUtil

    iecutil = IECUtil(binaries["iecutil"])
    server, config = start_iec_am(binaries["iec_am"], server={"threads": args.server_threads},
                                  logging={"level": "warning", "access_log": bool(args.access_log)})
    out: dict = {"nodes": args.nodes}
    gw = None
    try:
        server_keys = curve_keygen(iecutil)
        client_keys = [curve_keygen(iecutil)]
        gw = GatewayService(binaries["iecservice"], iecutil, work / "iecservice", config, server_keys, client_keys,
                            logging_extra={"debug": False})
        gw.initialise()
        gw.start_registered(timeout=60)
        time.sleep(1.0)
        pid = gw.proc.pid
        pids = {"iecservice": pid, "iec_am": server.proc.pid}
        out["iecservice_rss_idle_mb"] = rss_mb(pid)
        out["iecservice_memory_idle"] = memory_mb(pid)
        out["iec_am_rss_before_mb"] = rss_mb(server.proc.pid)
        print(f"   iecservice registered; idle {out['iecservice_memory_idle']} MiB", flush=True)
        keys = client_keys[0]
        base = ["--endpoint", gw.endpoint, "--server-key", server_keys.public_key, "--secret-key", keys.secret_key,
                "--public-key", keys.public_key, "--client-id", "bench-app", "--prefix", "bench-dev"]
        n = args.nodes
        d = str(args.gw_duration)
        long = str(max(600, args.gw_duration))

        out["register"] = run_iec_bench(binaries["iec_bench"], base,
                                        ["--op", "register", "--clients", "32", "--first", "0", "--count", str(n),
                                         "--duration", str(args.register_duration)], pids, timeout=args.register_duration + 300)
        registered = out["register"]["completed"]
        if out["register"]["errors"] or registered < n:
            # Later phases use devices 0..registered-1 (the driver hands out indexes in order).
            print(f"   note: {registered} of {n} devices registered within the time; the phases below use those")
            n = registered
        out["nodes_registered"] = n

        slices = [(0, n // 10), (n // 10, n * 4 // 10), (n * 4 // 10, n)]
        out["tokens_uncached"] = []
        for clients, (first, end) in zip(CONCURRENCY, slices):
            out["tokens_uncached"].append(run_iec_bench(
                binaries["iec_bench"], base, ["--op", "tokens", "--clients", str(clients), "--first", str(first),
                                              "--count", str(end - first), "--duration", d], pids,
                timeout=args.gw_duration + 300))
        out["fill"] = run_iec_bench(binaries["iec_bench"], base,
                                    ["--op", "tokens", "--clients", "32", "--first", "0", "--count", str(n),
                                     "--duration", long], pids, timeout=int(long) + 300)
        time.sleep(0.5)
        out["iecservice_rss_cached_mb"] = rss_mb(pid)
        out["iecservice_memory_cached"] = memory_mb(pid)
        print(f"   with {n} nodes cached: {out['iecservice_memory_cached']} MiB", flush=True)
        out["tokens_cached"] = []
        for clients in CONCURRENCY:
            out["tokens_cached"].append(run_iec_bench(
                binaries["iec_bench"], base, ["--op", "tokens", "--random", "--clients", str(clients), "--first", "0",
                                              "--count", str(n), "--duration", d], pids,
                timeout=args.gw_duration + 300))
        out["iecservice_rss_after_mb"] = rss_mb(pid)
        out["iec_am_rss_after_mb"] = rss_mb(server.proc.pid)
        out["iec_am_memory_after"] = memory_mb(server.proc.pid)
        gw.assert_unharmed("the gateway load")
        gw.stop()
        server.assert_live("the gateway load")
    finally:
        if gw is not None:
            gw.close()
        server.close()
    return out
