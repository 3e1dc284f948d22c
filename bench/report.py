#!/usr/bin/env python3
"""Turns bench/run.sh's raw measurements into bench/RESULTS.md (tables with
medians over the alternating rounds and ratios) and an SVG bar chart.
Standard library only; no network."""
import argparse
import html
import statistics
import sys

# Display order and colours of the targets (unknown targets go last, grey).
ORDER = ["direct", "bareproxy", "bareproxy-spin", "nginx", "nginx-modsec", "parapet", "parapet-rules",
         "parapet-detect", "parapet-detect-ratelimit-redis"]
COLOURS = {"direct": "#9e9e9e", "bareproxy": "#607d8b", "bareproxy-spin": "#90a4ae", "nginx": "#2e7d32", "nginx-modsec": "#81c784",
           "parapet": "#1565c0", "parapet-rules": "#42a5f5", "parapet-detect": "#ef6c00",
           "parapet-detect-ratelimit-redis": "#ffb74d"}
LABELS = {"direct": "direct to upstream", "bareproxy": "bare Go ReverseProxy",
          "bareproxy-spin": "bare Go ReverseProxy + busy work (SPIN, GARBAGE)", "nginx": "nginx proxy_pass",
          "nginx-modsec": "nginx + ModSecurity v3 + CRS PL1", "parapet": "Parapet pass-through",
          "parapet-rules": "Parapet, all list rules", "parapet-detect": "Parapet, detection PL1",
          "parapet-detect-ratelimit-redis": "Parapet, detection + rate limits + Redis"}
SCENARIOS = {"get": "benign GET (query, cookies)", "post2k": "2 KB urlencoded form POST",
             "json10k": "10 KB JSON POST", "multipart64k": "64 KB multipart upload",
             "attack": "attack GET (?id=1' OR '1'='1)",
             "getfresh": "benign GET, query values new in every request",
             "json10kfresh": "10 KB JSON POST, string values new in every request"}


def order(names):
    return sorted(names, key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), t))


def load(path):
    data = {}
    for line in open(path):
        f = line.split()
        if len(f) == 10:
            f += ["-", "-"]
        if len(f) != 12:
            continue
        s, t, _r, rps, p50, p99, cpu, bad, n, err, dp50, dp99 = f
        data.setdefault(s, {}).setdefault(t, []).append(
            dict(rps=float(rps), p50=float(p50), p99=float(p99), cpu=float(cpu), bad=int(bad), n=int(n), err=int(err),
                 dp50=None if dp50 == "-" else float(dp50), dp99=None if dp99 == "-" else float(dp99)))
    return data


def histogram(path, metric):
    """Cumulative bucket counts {upper bound: count} of a Prometheus histogram
    in a text exposition file."""
    buckets = {}
    for line in open(path):
        if line.startswith(metric + "_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return buckets


def quantile(before, after, q):
    """The q-quantile (seconds) of the observations between two scrapes of a
    histogram, interpolated linearly within its bucket (None: none)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank, lower, below = q * counts[-1], 0.0, 0.0
    for b, c in zip(bounds, counts):
        if c >= rank:
            if b == float("inf"):
                return lower
            return lower + (b - lower) * ((rank - below) / (c - below) if c > below else 1)
        lower, below = b, c
    return lower


def medians(rounds):
    m = {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50", "p99", "cpu")}
    for k in ("dp50", "dp99"):
        v = [r[k] for r in rounds if r[k] is not None]
        m[k] = statistics.median(v) if v else None
    m["bad"] = sum(r["bad"] for r in rounds)
    m["n"] = sum(r["n"] for r in rounds)
    m["err"] = sum(r["err"] for r in rounds)
    return m


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def markdown(data, rss, header, command, note, chart_link="results/chart.svg"):
    out = ["# Parapet benchmark", "", header, "", f"Command: `{command}`", ""]
    if note:
        out += [f"**{note}**", ""]
    out += [
           "Medians over the rounds. CPU is user+system time of the server process(es) (nginx: master and",
           "workers) per request, from /proc; the upstream's own CPU is not counted except for `direct`.",
           "Ratios are req/s against the bare Go proxy and against nginx + ModSecurity. `non-2xx` is the share",
           "of answers that were not 2xx/3xx (blocked attacks, or the app's own 4xx). `detection p50 / p99` is",
           "the time attack detection added to each request, from Parapet's own histogram",
           "(`parapet_detection_duration_seconds`, read before and after each run, interpolated in its buckets).", ""]
    for s in [s for s in SCENARIOS if s in data] + [s for s in data if s not in SCENARIOS]:
        med = {t: medians(v) for t, v in data[s].items()}
        base = med.get("bareproxy", {}).get("rps", 0)
        modsec = med.get("nginx-modsec", {}).get("rps", 0)
        out += [f"## {s}: {SCENARIOS.get(s, s)}", "",
                "| target | req/s | p50 ms | p99 ms | CPU µs/req | vs bare Go proxy | vs nginx+ModSecurity | non-2xx | socket errors | detection p50 / p99 ms |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for t in order(med):
            m = med[t]
            share = f"{100 * m['bad'] / m['n']:.0f}%" if m["n"] else "-"
            det = f"{m['dp50']:.2f} / {m['dp99']:.2f}" if m["dp99"] is not None else "-"
            out.append(f"| {t} | {m['rps']:,.0f} | {m['p50']:.2f} | {m['p99']:.2f} | {m['cpu']:.0f} | "
                       f"{ratio(m['rps'], base)} | {ratio(m['rps'], modsec)} | {share} | {m['err']} | {det} |")
        out.append("")
    if rss:
        out += ["## Peak RSS (VmHWM over the whole run)", "", "| target | MB |", "| --- | ---: |"]
        for t in order(rss):
            out.append(f"| {t} | {rss[t] / 1024:.1f} |")
        out.append("")
    out += [f"Chart: [{chart_link}]({chart_link}) (req/s per request type).", ""]
    return "\n".join(out)


def svg(data, title):
    scen = [s for s in SCENARIOS if s in data] + [s for s in data if s not in SCENARIOS]
    targets = order({t for s in scen for t in data[s]})
    meds = {s: {t: medians(v)["rps"] for t, v in data[s].items()} for s in scen}
    top = max([v for s in meds for v in meds[s].values()] + [1])
    bar_h, gap, left, width = 14, 16, 210, 560
    group_h = len(targets) * bar_h + gap
    legend_h = 18 * len(targets) + 10
    height = 50 + len(scen) * (group_h + 22) + legend_h
    total_w = left + width + 120
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="20" font-size="14" font-weight="bold">{e(title)}</text>',
             f'<text x="10" y="36" fill="#555">requests per second, median of the rounds (longer is better)</text>']
    y = 50
    for s in scen:
        parts.append(f'<text x="10" y="{y + 12}" font-weight="bold">{e(SCENARIOS.get(s, s))}</text>')
        y += 18
        for t in targets:
            v = meds[s].get(t)
            parts.append(f'<text x="{left - 6}" y="{y + bar_h - 4}" text-anchor="end">{e(t)}</text>')
            if v is not None:
                w = max(1, width * v / top)
                parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{COLOURS.get(t, "#bbb")}"/>')
                parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}">{v:,.0f}</text>')
            else:
                parts.append(f'<text x="{left + 4}" y="{y + bar_h - 4}" fill="#999">not measured</text>')
            y += bar_h
        y += gap
    for t in targets:
        parts.append(f'<rect x="10" y="{y}" width="12" height="12" fill="{COLOURS.get(t, "#bbb")}"/>')
        parts.append(f'<text x="28" y="{y + 10}">{e(t)}: {e(LABELS.get(t, t))}</text>')
        y += 18
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--quantiles":
        # bench/run.sh: p50 and p99 (ms) of detection between two scrapes.
        before = histogram(sys.argv[2], "parapet_detection_duration_seconds")
        after = histogram(sys.argv[3], "parapet_detection_duration_seconds")
        qs = [quantile(before, after, q) for q in (0.5, 0.99)]
        print(" ".join("-" if v is None else f"{v * 1000:.3f}" for v in qs))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--rss")
    ap.add_argument("--header", default="")
    ap.add_argument("--command", default="bash bench/run.sh")
    ap.add_argument("--note", default="")
    ap.add_argument("--markdown")
    ap.add_argument("--svg")
    ap.add_argument("--chart-link", default="results/chart.svg")
    a = ap.parse_args()
    data = load(a.results)
    if not data:
        sys.exit("report: no measurements")
    rss = {}
    if a.rss:
        for line in open(a.rss):
            f = line.split()
            if len(f) == 2:
                rss[f[0]] = int(f[1])
    md = markdown(data, rss, a.header, a.command, a.note, a.chart_link)
    print(md)
    if a.markdown:
        open(a.markdown, "w").write(md)
    if a.svg:
        open(a.svg, "w").write(svg(data, "Parapet benchmark: " + a.header.split(",")[0]))


if __name__ == "__main__":
    main()
