"""Turns one run's figures into rows (metric, OpenIEC, peer or limit, ratio, target,
verdict), a Markdown table (results.md) and a chart (chart.png). See bench/README.md."""

from __future__ import annotations

from pathlib import Path


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


class Row:
    """One line of the table. `kind` says how the target reads:
    "ratio_min": ratio ≥ target; "max": OpenIEC value ≤ target; "min": OpenIEC value ≥ target;
    "ratio_max": ratio ≤ target; None: no target, for information."""

    def __init__(self, metric: str, ours, peer=None, *, unit: str = "", peer_label: str = "", kind=None,
                 target=None, note: str = "", load: str = "", ratio=None, group: str = ""):
        self.metric, self.ours, self.peer, self.unit = metric, ours, peer, unit
        self.peer_label, self.kind, self.target, self.note, self.load = peer_label, kind, target, note, load
        self.group = group
        if ratio is not None:
            self.ratio = ratio
        elif isinstance(ours, (int, float)) and isinstance(peer, (int, float)) and peer:
            self.ratio = ours / peer
        else:
            self.ratio = None

    @property
    def target_text(self) -> str:
        if self.kind == "ratio_min":
            return f"≥ {self.target:g}×" if self.target >= 1 else f"≥ {self.target:.0%} of it"
        if self.kind == "ratio_max":
            return f"≤ {self.target:g}×"
        if self.kind == "max":
            return f"≤ {_fmt(self.target, self.unit)}"
        if self.kind == "min":
            return f"≥ {_fmt(self.target, self.unit)}"
        return "–"

    @property
    def achieved(self):
        """achieved / required as a fraction where ≥ 1 means met (for the chart); None without a target."""
        if self.kind is None:
            return None
        if self.kind in ("ratio_min", "ratio_max") and self.ratio is None:
            return None
        if not isinstance(self.ours, (int, float)):
            return None
        if self.kind == "ratio_min":
            return self.ratio / self.target
        if self.kind == "ratio_max":
            return self.target / self.ratio if self.ratio else None
        if self.kind == "min":
            return self.ours / self.target
        if self.kind == "max":
            return self.target / self.ours if self.ours else None
        return None

    @property
    def verdict(self) -> str:
        a = self.achieved
        if self.kind is None:
            return "info"
        if a is None:
            return "not measured"
        if a >= 1:
            return "**met**"
        if self.kind in ("ratio_min", "min"):
            return f"**missed**: {a:.0%} of the target ({1 / a:.1f}× short)" if a > 0 else "**missed**"
        return f"**missed**: {1 / a:.2f}× over"

    def markdown(self) -> str:
        peer = _fmt(self.peer, self.unit)
        if self.peer_label and self.peer is not None:
            peer = f"{peer} ({self.peer_label})"
        elif self.peer_label:
            peer = self.peer_label
        ratio = "–" if self.ratio is None else (f"{self.ratio:.2f}×" if self.ratio < 10 else f"{self.ratio:.1f}×")
        metric = self.metric + (f" <br><sub>{self.note}</sub>" if self.note else "")
        return f"| {metric} | {_fmt(self.ours, self.unit)} | {peer} | {ratio} | {self.target_text} | {self.verdict} | {self.load or '–'} |"


def _wrk(results: dict, name: str):
    return results.get("wrk", {}).get(name)


def _rps(r):
    return None if r is None else r["requests_per_s"]


def _load(*runs) -> str:
    """The load generator's CPU in each run: wrk's share of one core, or iec-bench's cores and share of the machine."""
    parts = []
    for r in runs:
        if r is None:
            continue
        who = "peer " if r.get("scenario", "").startswith(("glewlwyd", "nginx")) else ""
        if "wrk_cpu_share_of_one_core" in r:
            parts.append(f"{who}wrk {r['wrk_cpu_share_of_one_core']:.0%} of a core")
        elif "driver_cpu_cores" in r:
            parts.append(f"iec-bench {r['driver_cpu_cores']:.2f} cores ({r['driver_cpu_share_of_machine']:.0%} of the machine)")
    return "; ".join(parts)


def rows(report: dict) -> list[Row]:
    out: list[Row] = []
    g = report.get("glewlwyd", {})
    gw_reason = g.get("unavailable")
    peer_label = "Glewlwyd" if not gw_reason else f"peer unavailable: {gw_reason}"

    def gl(name):
        return None if gw_reason else _wrk(report, "glewlwyd_" + name)

    cc, ncc, jb = _wrk(report, "client_credentials"), _wrk(report, "nginx_static"), _wrk(report, "jwt_bearer")
    intro, jwks = _wrk(report, "introspection"), _wrk(report, "jwks")
    g_cc, g_pk, g_in, g_jw = gl("client_credentials"), gl("private_key_jwt"), gl("introspection"), gl("jwks")
    http = "HTTP (wrk)"
    out.append(Row("token endpoint, client_credentials (req/s)", _rps(cc), _rps(g_cc), peer_label=peer_label,
                   kind="ratio_min", target=20, load=_load(cc, g_cc), group=http))
    out.append(Row("client_credentials vs nginx static 200 (req/s)", _rps(cc), _rps(ncc), peer_label="nginx",
                   kind="ratio_min", target=0.25, load=_load(cc, ncc), group=http))
    out.append(Row("JWT-bearer grant vs Glewlwyd client_credentials + private_key_jwt (req/s)", _rps(jb), _rps(g_pk),
                   peer_label=peer_label, kind="ratio_min", target=15, load=_load(jb, g_pk), group=http,
                   note="one ES256 verify + one sign per request on both sides"))
    out.append(Row("introspection (req/s)", _rps(intro), _rps(g_in), peer_label=peer_label, kind="ratio_min",
                   target=10, load=_load(intro, g_in), group=http))
    out.append(Row("JWKS (req/s)", _rps(jwks), _rps(g_jw), peer_label=peer_label, load=_load(jwks, g_jw), group=http))
    for name, r in (("client_credentials", cc), ("JWT-bearer", jb)):
        if r is not None:
            out.append(Row(f"{name} p99 latency (ms)", r["latency_ms"]["p99"],
                           None if name == "JWT-bearer" and g_pk is None else
                           (g_cc if name == "client_credentials" else g_pk)["latency_ms"]["p99"]
                           if (g_cc if name == "client_credentials" else g_pk) else None,
                           peer_label="Glewlwyd", unit="ms", group=http))
    ssl = report.get("openssl_speed")
    if ssl:
        cores = ssl["all_cores"]
        out.append(Row("ES256 signatures/s: JWT-bearer grant vs openssl speed ecdsap256 sign (all cores)", _rps(jb),
                       cores["sign_per_s"], peer_label="openssl", group="limits",
                       note=f"openssl one core: {ssl['one_core']['sign_per_s']:,.0f} sign/s, "
                            f"{ssl['one_core']['verify_per_s']:,.0f} verify/s; all cores verify "
                            f"{cores['verify_per_s']:,.0f}/s"))

    gwr = report.get("gateway")
    if gwr:
        grp = "gateway + SDK (iec-bench)"
        cached = {r["clients"]: r for r in gwr["tokens_cached"]}
        uncached = {r["clients"]: r for r in gwr["tokens_uncached"]}
        c1 = cached.get(1)
        out.append(Row("SDK token through the gateway, cached, 1 client: p50 (µs)", c1["latency_us"]["p50"],
                       unit="µs", kind="max", target=300, load=_load(c1), group=grp))
        best = max(cached.values(), key=lambda r: r["per_s"])
        out.append(Row(f"SDK tokens/s through one gateway, cached (best: {best['clients']} clients)", best["per_s"],
                       unit="/s", kind="min", target=10000, load=_load(best), group=grp))
        for kind, table in (("cached", cached), ("uncached", uncached)):
            for clients in sorted(table):
                r = table[clients]
                lat = r["latency_us"]
                out.append(Row(f"SDK token, {kind}, {clients} client{'s' if clients > 1 else ''}: p50 / p99 (µs), tokens/s",
                               f"{_fmt(lat.get('p50'))} / {_fmt(lat.get('p99'))} µs, {r['per_s']:,.0f}/s",
                               load=_load(r), group=grp,
                               note="" if r["errors"] == 0 else f"{r['errors']} errors"))
        reg = gwr["register"]
        out.append(Row("device registrations/s through one gateway (SQLite, 32 clients)", reg["per_s"], unit="/s",
                       kind="min", target=1000, load=_load(reg), group=grp,
                       note=f"p50 {_fmt(reg['latency_us'].get('p50'))} µs, p99 {_fmt(reg['latency_us'].get('p99'))} µs"))
        def parts(m: dict | None) -> str:
            if not m:
                return ""
            return (f"of which shared-library and other file pages (RssFile) {m.get('RssFile')} MiB, private (RssAnon) "
                    f"{m.get('RssAnon')} MiB; Pss {m.get('Pss')} MiB")
        out.append(Row("iecservice VmRSS, idle (MiB)", gwr["iecservice_rss_idle_mb"], 6.4, unit="MiB",
                       peer_label="original daemon", kind="max", target=6.4, group="memory",
                       note=parts(gwr.get("iecservice_memory_idle"))))
        out.append(Row(f"iecservice VmRSS, {gwr['nodes_registered']:,} nodes cached (MiB)",
                       gwr["iecservice_rss_cached_mb"], unit="MiB", kind="max", target=32, group="memory",
                       note=parts(gwr.get("iecservice_memory_cached")) +
                       f"; after the cached-token runs: {gwr['iecservice_rss_after_mb']} MiB"))
        out.append(Row("iec-am VmRSS after the gateway load (MiB)", gwr["iec_am_rss_after_mb"], unit="MiB",
                       group="memory", note=f"before: {gwr['iec_am_rss_before_mb']} MiB"))
    if report.get("iec_am_rss_after_http_mb"):
        out.append(Row("iec-am VmRSS after the HTTP runs (MiB)", report["iec_am_rss_after_http_mb"], unit="MiB",
                       group="memory"))

    st = report.get("store")
    if st and len(st["results"]) >= 2:
        small, big = st["results"][0], st["results"][-1]
        grp = "store (SQLite)"
        out.append(Row(f"identity lookup p99 (µs), {big['identities']:,} vs {small['identities']:,} identities",
                       big["lookup_us"]["p99"], small["lookup_us"]["p99"], unit="µs",
                       peer_label=f"{small['identities']:,}", kind="ratio_max", target=2, group=grp,
                       note=f"p50 {big['lookup_us']['p50']} vs {small['lookup_us']['p50']} µs"))
        out.append(Row(f"identity registration p99 (µs), {big['identities']:,} vs {small['identities']:,} identities",
                       big["registration_us"]["p99"], small["registration_us"]["p99"], unit="µs",
                       peer_label=f"{small['identities']:,}", group=grp,
                       note=f"one durable (fsync) write each; p50 {big['registration_us']['p50']} vs "
                            f"{small['registration_us']['p50']} µs"))
    return out


def markdown(report: dict, table: list[Row]) -> str:
    lines = [f"# OpenIEC benchmark, {report['time']}", "",
             f"Commit `{report['commit']}`, {report['machine']['cpus']} CPUs ({report['machine']['cpu_model']}), "
             f"{'quick run' if report['settings'].get('quick') else 'full run'}; wrk -t{report['settings']['threads']} "
             f"-c{report['settings']['connections']} -d{report['settings']['duration']}s for every HTTP server; "
             f"load average before: {report.get('loadavg_start')}.", "",
             "| metric | OpenIEC | peer / limit | ratio | target | verdict | load generator CPU |",
             "|---|---|---|---|---|---|---|"]
    lines += [r.markdown() for r in table]
    missed = [r for r in table if r.verdict.startswith("**missed")]
    lines += ["", f"{sum(1 for r in table if r.verdict == '**met**')} targets met, {len(missed)} missed."]
    if report.get("notes"):
        lines += ["", "Notes:"] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def chart(report: dict, table: list[Row], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [1.1, 1]})
    # Left: HTTP throughput side by side (log scale).
    names = [("client_credentials", "client_credentials", "glewlwyd_client_credentials"),
             ("JWT bearer /\nprivate_key_jwt", "jwt_bearer", "glewlwyd_private_key_jwt"),
             ("introspection", "introspection", "glewlwyd_introspection"),
             ("JWKS", "jwks", "glewlwyd_jwks")]
    wrk = report.get("wrk", {})
    ys = range(len(names))
    ours = [(wrk.get(a) or {}).get("requests_per_s", 0) for _, a, _ in names]
    peer = [(wrk.get(b) or {}).get("requests_per_s", 0) for _, _, b in names]
    h = 0.38
    left.barh([y - h / 2 for y in ys], ours, height=h, label="OpenIEC iec-am", color="#1f77b4")
    left.barh([y + h / 2 for y in ys], peer, height=h, label="Glewlwyd 2.7 (SQLite WAL)", color="#ff7f0e")
    nginx = (wrk.get("nginx_static") or {}).get("requests_per_s")
    if nginx:
        left.axvline(nginx, color="gray", linestyle="--", label=f"nginx static 200: {nginx:,.0f}/s")
    ssl = report.get("openssl_speed")
    if ssl:
        left.axvline(ssl["all_cores"]["sign_per_s"], color="green", linestyle=":",
                     label=f"openssl ES256 sign, all cores: {ssl['all_cores']['sign_per_s']:,.0f}/s")
    for y, v in zip(ys, ours):
        if v:
            left.text(v, y - h / 2, f" {v:,.0f}", va="center", fontsize=8)
    for y, v in zip(ys, peer):
        if v:
            left.text(v, y + h / 2, f" {v:,.0f}", va="center", fontsize=8)
    left.set_yticks(list(ys), [n for n, _, _ in names])
    left.invert_yaxis()
    left.set_xscale("log")
    highest = max([v for v in ours + peer if v] + [nginx or 0, (ssl or {}).get("all_cores", {}).get("sign_per_s", 0)])
    left.set_xlim(left=100, right=highest * 20)  # room on the right for the legend
    left.set_xlabel("requests/s (log scale), same wrk settings, same run")
    left.set_title("HTTP endpoints")
    left.legend(fontsize=7, loc="center right", framealpha=0.9)

    # Right: each target, as achieved / required (1.0 = just met).
    targets = [r for r in table if r.achieved is not None]
    labels = [r.metric.split(" (")[0][:48] for r in targets]
    values = [r.achieved for r in targets]
    colors = ["#2ca02c" if v >= 1 else "#d62728" for v in values]
    right.barh(range(len(targets)), values, color=colors)
    right.axvline(1.0, color="black", linewidth=1)
    for y, (v, r) in enumerate(zip(values, targets)):
        right.text(v, y, f" {v:.2f} ({r.target_text})", va="center", fontsize=8)
    right.set_yticks(range(len(targets)), labels, fontsize=8)
    right.invert_yaxis()
    right.set_xscale("log")
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.set_xlabel("achieved ÷ target (≥ 1 met, green; < 1 missed, red), log scale")
    right.set_title("Targets of issue 9")
    fig.suptitle(f"OpenIEC benchmark {report['time']} (commit {report['commit']}, "
                 f"{'quick' if report['settings'].get('quick') else 'full'} run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
