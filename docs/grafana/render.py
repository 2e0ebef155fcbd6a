#!/usr/bin/env python3
"""Draws a Grafana dashboard from its own queries, where Grafana is missing.

Each panel sits where its gridPos puts it (24 columns, 30 px rows) and is
drawn from its targets' PromQL, evaluated by Prometheus (query_range over
the run), with its title, unit, overrides and legend formats; $instance is
every server, $__rate_interval four scrape intervals at least, as Grafana
has them. Stat panels show each series' last value over a sparkline, as
Grafana's default stat does. A target that returns nothing is drawn "No
data" and fails the run: on a lab that exercises it, the dashboard is wrong.
"""
import argparse
import io
import json
import re
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib's own dependency)

# Grafana's dark theme and its classic palette.
BG, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
PALETTE = ["#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#FADE2A", "#37872D", "#C4162A"]
CELL_PX, MARGIN_PX, HEADER_PX, WIDTH_PX, DPI = 30, 8, 46, 1500, 100


def fmt(unit, v):
    """A value in the Grafana units this dashboard uses ('short' by default)."""
    scales = {"s": ((1, "s"), (1e-3, "ms"), (1e-6, "µs")), "bytes": ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B")),
              "percentunit": ((0.01, "%"),)}.get(unit, ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")))
    if v != v or v == 0:
        return "-" if v != v else "0"
    div, u = next(((d, u) for d, u in scales if abs(v) >= d), scales[-1])
    return (f"{v / div:.3g} {u}".strip() + (" req/s" if unit == "reqps" else "")).replace(" %", "%")


def query_range(base, expr, start, end, step):
    """The series of expr over [start, end]: [(labels, times, values)]."""
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{q}", timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    out = []
    for s in body["data"]["result"]:
        ts = [datetime.fromtimestamp(float(t), timezone.utc) for t, _ in s["values"]]
        out.append((s["metric"], ts, [float(v) for _, v in s["values"]]))
    return out


def legend(fmt_, labels):
    """A target's legendFormat with {{label}} filled in, as Grafana does."""
    if not fmt_:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt_).strip()


def overrides(panel):
    """Per target (refId): the unit and axis placement its overrides set."""
    out = {}
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        if o["matcher"]["id"] == "byFrameRefID":
            out[o["matcher"]["options"]] = {p["id"]: p["value"] for p in o["properties"]}
    return out


def panel_series(panel, args, step, empty):
    """Every series of a panel's targets: (legend, times, values, refId).
    Targets without data are added to empty."""
    rate = max(step + args.scrape_interval, 4 * args.scrape_interval)
    series = []
    for t in panel.get("targets", []):
        expr = re.sub(r"\$\{?instance\}?", ".*", t["expr"].replace("$__rate_interval", f"{rate}s"))
        got = query_range(args.prometheus, expr, args.start, args.end, step)
        if not got:
            empty.append(f"panel {panel['title']!r} target {t['refId']}: {t['expr']}")
        series += [(legend(t.get("legendFormat"), m), ts, vs, t["refId"]) for m, ts, vs in got]
    return series


def draw_stat(fig, box, series, unit):
    """Last value of each series, big, over its sparkline."""
    x, y, w, h = box
    n = max(len(series), 1)
    for i, (name, ts, vs, _) in enumerate(series):
        sx = x + w * i / n
        ax = fig.add_axes([sx, y, w / n, h * 0.45])
        ax.axis("off")
        ax.fill_between(ts, vs, color=PALETTE[0], alpha=0.18, lw=0)
        ax.plot(ts, vs, color=PALETTE[0], lw=1)
        ax.set_ylim(bottom=min(0, min(vs)), top=max(vs) * 1.05 or 1)
        color = PALETTE[0] if vs[-1] < 80 else PALETTE[4]  # Grafana's default thresholds
        fig.text(sx + w / n / 2, y + h * 0.62, fmt(unit, vs[-1]), color=color, fontsize=22, ha="center", va="center", weight="bold")
        fig.text(sx + w / n / 2, y + h * 0.92, name, color=TEXT, fontsize=7, ha="center", va="center")


def draw_timeseries(fig, box, series, unit, over, span):
    """Lines over the run, the legend below as Grafana's list legend; a
    target whose override places it on the right gets its own axis."""
    x, y, w, h = box
    rows = (len(series) + 2) // 3
    leg_h = min(0.45 * h, rows * 13 / fig.get_figheight() / DPI)
    right = any(over.get(ref, {}).get("custom.axisPlacement") == "right" for *_, ref in series)
    ax = fig.add_axes([x + 0.035 * w + 0.02, y + leg_h + 0.022 * h + 0.006, w * (0.86 if right else 0.93) - 0.02, h - leg_h - 0.022 * h - 0.006])
    ax.set_facecolor(PANEL)
    axes = {"left": (ax, unit)}
    for i, (name, ts, vs, ref) in enumerate(series):
        o = over.get(ref, {})
        place = o.get("custom.axisPlacement", "left")
        if place not in axes:
            axes[place] = (ax.twinx(), o.get("unit", unit))
        axes[place][0].plot(ts, vs, color=PALETTE[i % len(PALETTE)], lw=1.2, label=name)
    ax.grid(color=GRID, lw=0.6)
    for a, u in axes.values():
        a.tick_params(colors=TEXT, labelsize=7, length=0)
        for s in a.spines.values():
            s.set_visible(False)
        a.yaxis.set_major_formatter(FuncFormatter(lambda v, _, u=u: fmt(u, v)))
        a.set_ylim(bottom=0)
    ax.set_xlim(*span)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=timezone.utc))
    handles = [hl for a, _ in axes.values() for hl in zip(*a.get_legend_handles_labels())]
    fig.legend(*zip(*handles), loc="lower left", bbox_to_anchor=(x, y), ncol=3,
               fontsize=7, frameon=False, labelcolor=TEXT, handlelength=1.2, columnspacing=1.2, borderaxespad=0.2)


def header(fig, dash, args, height_px):
    """The dashboard's title, the run's time span and how it was drawn."""
    span = "–".join(datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") for t in (args.start, args.end))
    fig.text(0.006, 1 - 16 / height_px, dash["title"], color=TEXT, fontsize=14, weight="bold", va="center")
    fig.text(0.006, 1 - 36 / height_px, f"{span} UTC · Prometheus, scrape {args.scrape_interval} s · drawn by "
             "docs/grafana/render.py from this dashboard's own queries (Grafana is not installable here)",
             color="#8e8e9e", fontsize=8, va="center")


def render(args):
    """Draws every panel; returns the targets that had no data."""
    with open(args.dashboard) as f:
        dash = json.load(f)
    panels = dash["panels"]
    height_px = HEADER_PX + max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * (CELL_PX + MARGIN_PX)
    fig = plt.figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor=BG)
    header(fig, dash, args, height_px)
    step = max(args.scrape_interval, (args.end - args.start) // 250)
    span = [datetime.fromtimestamp(t, timezone.utc) for t in (args.start, args.end)]
    empty = []
    for p in panels:
        g = p["gridPos"]
        x, w = g["x"] / 24 + 0.002, g["w"] / 24 - 0.004
        top, hpx = HEADER_PX + g["y"] * (CELL_PX + MARGIN_PX), g["h"] * (CELL_PX + MARGIN_PX) - MARGIN_PX
        y, h = 1 - (top + hpx) / height_px, hpx / height_px
        if p["type"] == "row":
            fig.text(x, y + h / 2, p["title"], color=TEXT, fontsize=11, weight="bold", va="center")
            continue
        fig.add_artist(Rectangle((x, y), w, h, transform=fig.transFigure, facecolor=PANEL, edgecolor=GRID, lw=0.8, zorder=-1))
        title_h = 24 / height_px
        fig.text(x + 0.005, y + h - title_h / 2, p["title"], color=TEXT, fontsize=9, weight="bold", va="center")
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        series = panel_series(p, args, step, empty)
        body = (x + 0.004, y + 0.004, w - 0.008, h - title_h - 0.004)
        if not series:
            fig.text(x + w / 2, y + h / 2, "No data", color="#8e8e9e", fontsize=12, ha="center", va="center")
        elif p["type"] == "stat":
            draw_stat(fig, body, series, unit)
        else:
            draw_timeseries(fig, body, series, unit, overrides(p), span)
    save(fig, args.out)
    return empty


def save(fig, out):
    """A PNG of 256 colours: the picture is documentation, kept small."""
    buf = io.BytesIO()
    fig.savefig(buf, facecolor=BG, dpi=DPI)
    Image.open(buf).convert("RGB").quantize(colors=256).save(out, optimize=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--prometheus", "--dashboard", "--out"):
        ap.add_argument(flag, required=True)
    for flag in ("--start", "--end"):  # the run, Unix seconds
        ap.add_argument(flag, type=int, required=True)
    ap.add_argument("--scrape-interval", type=int, default=2)
    empty = render(ap.parse_args())
    if empty:
        sys.exit("no data for:\n  " + "\n  ".join(empty))


if __name__ == "__main__":
    main()
