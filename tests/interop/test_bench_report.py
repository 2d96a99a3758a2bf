"""bench/report.py, the benchmark's table, from made-up figures (no server runs):
each verdict says met or by how much a target is missed, and a peer that could not
be set up is reported as unavailable with its reason, never as a ratio."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import report  # noqa: E402


def wrk(rps: float, name: str = "x") -> dict:
    return {"scenario": name, "requests_per_s": rps, "latency_ms": {"p50": 1.0, "p99": 9.0},
            "wrk_cpu_share_of_one_core": 0.2, "non_2xx": 0, "socket_errors": {}}


def gateway_run(clients: int, per_s: float, p50: float) -> dict:
    return {"clients": clients, "per_s": per_s, "errors": 0, "latency_us": {"p50": p50, "p99": 4 * p50},
            "driver_cpu_cores": 0.5, "driver_cpu_share_of_machine": 0.25}


def figures(glewlwyd: bool = True) -> dict:
    w = {"client_credentials": wrk(10000), "nginx_static": wrk(50000, "nginx_static"),
         "jwt_bearer": wrk(3000), "introspection": wrk(12000), "jwks": wrk(30000)}
    if glewlwyd:
        w.update({"glewlwyd_client_credentials": wrk(250, "glewlwyd_cc"), "glewlwyd_private_key_jwt": wrk(200, "glewlwyd_pk"),
                  "glewlwyd_introspection": wrk(2400, "glewlwyd_in"), "glewlwyd_jwks": wrk(26000, "glewlwyd_jwks")})
    return {
        "time": "t", "commit": "c", "machine": {"cpus": 2, "cpu_model": "cpu"}, "loadavg_start": 0.1,
        "settings": {"quick": True, "threads": 1, "connections": 32, "duration": 3},
        "wrk": w, "glewlwyd": {} if glewlwyd else {"unavailable": "glewlwyd is not installed"},
        "openssl_speed": {"one_core": {"sign_per_s": 46000, "verify_per_s": 15000},
                          "all_cores": {"sign_per_s": 90000, "verify_per_s": 30000}},
        "gateway": {"nodes_registered": 10000, "tokens_cached": [gateway_run(1, 4000, 200), gateway_run(10, 12000, 800)],
                    "tokens_uncached": [gateway_run(1, 200, 4000)], "register": gateway_run(32, 500, 60000),
                    "iecservice_rss_idle_mb": 24.0, "iecservice_rss_cached_mb": 40.0, "iecservice_rss_after_mb": 41.0,
                    "iec_am_rss_after_mb": 30.0, "iec_am_rss_before_mb": 20.0},
        "store": {"results": [{"identities": 1000, "lookup_us": {"p50": 10, "p99": 20}, "registration_us": {"p50": 4000, "p99": 9000}},
                              {"identities": 1000000, "lookup_us": {"p50": 15, "p99": 30}, "registration_us": {"p50": 4000, "p99": 9500}}]},
        "notes": [],
    }


def by_metric(rows) -> dict:
    return {r.metric.split(" (")[0]: r for r in rows}


def test_verdicts_say_met_or_by_how_much():
    rows = by_metric(report.rows(figures()))
    assert rows["token endpoint, client_credentials"].verdict == "**met**"  # 40× ≥ 20×
    nginx = rows["client_credentials vs nginx static 200"]
    assert nginx.verdict.startswith("**missed**: 80% of the target"), nginx.verdict  # 0.2 of nginx vs ≥ 0.25
    assert rows["introspection"].verdict == "**missed**: 50% of the target (2.0× short)"
    assert rows["SDK token through the gateway, cached, 1 client: p50"].verdict == "**met**"
    assert rows["iecservice VmRSS, idle"].verdict == "**missed**: 3.75× over"
    assert rows["identity lookup p99"].verdict == "**met**"  # 1.5× ≤ 2×
    assert rows["JWKS"].verdict == "info"


def test_an_unavailable_peer_is_named_not_divided_by():
    rows = by_metric(report.rows(figures(glewlwyd=False)))
    cc = rows["token endpoint, client_credentials"]
    assert cc.ratio is None and cc.verdict == "not measured"
    assert "peer unavailable: glewlwyd is not installed" in cc.markdown()
    assert rows["client_credentials vs nginx static 200"].ratio == 0.2


def test_the_markdown_table_has_a_line_per_row():
    data = figures()
    rows = report.rows(data)
    text = report.markdown(data, rows)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| metric | OpenIEC | peer / limit | ratio | target | verdict |")
    assert len(table) == len(rows) + 1
    assert "targets met" in text
