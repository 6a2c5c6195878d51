"""The chart of `make bench`: the ratios against their goals, and the latencies.

Run by `deploy/bench.py` with `.venv/bench-tools/bin/python` (matplotlib lives there, apart
from the platform's dependencies), so it imports nothing of the project: it reads the
harness's result document (`performance.json`) and writes one PNG with two panels:

- left: each figure that has a ratio and a goal, as a horizontal bar (green when the goal is
  met, red when not), with its goal drawn as a black line across the bar;
- right: p50 and p99 latency in milliseconds (log scale) of the gateway's GET /v1/packages,
  an order end to end and an erasure across every service.

Usage: bench_chart.py RESULT.json CHART.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: draw into files only
import matplotlib.pyplot as plt

MET, MISSED, UNJUDGED = "#3a9d5d", "#d1495b", "#9aa5b1"
P50, P99 = "#4c78a8", "#f58518"
ERASURE_P50_GOAL_MS = 100.0
LATENCIES = (
    ("gateway", "p50 latency", "p99 latency", 1.0, "gateway GET /v1/packages"),
    ("orders", "p50 latency", "p99 latency", 1.0, "order end to end"),
    ("privacy", "erasure p50", "erasure p99", 1000.0, "erasure, every service"),
)
"""(benchmark, p50 figure, p99 figure, to milliseconds, label)."""


def ratio_rows(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figures that have both a ratio and a goal on it."""
    return [
        f
        for f in figures
        if f["ratio"] is not None and f["goal"] is not None and f["goal_on"] == "ratio"
    ]


def latency_rows(figures: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(label, p50 ms, p99 ms) of each benchmark that reported both."""
    by_name = {(f["benchmark"], f["name"]): f["value"] for f in figures}
    rows = []
    for benchmark, p50, p99, scale, label in LATENCIES:
        low, high = by_name.get((benchmark, p50)), by_name.get((benchmark, p99))
        if low is not None and high is not None:
            rows.append((label, low * scale, high * scale))
    return rows


def colour(met: bool | None) -> str:
    """Green met, red missed, grey when not judged."""
    return {True: MET, False: MISSED, None: UNJUDGED}[met]


def draw_ratios(axes: Any, rows: list[dict[str, Any]]) -> None:
    """Horizontal bars of the ratios with their goals."""
    labels = [f"{r['benchmark']}: {r['name']}" for r in rows]
    positions = range(len(rows))
    axes.barh(positions, [r["ratio"] for r in rows], color=[colour(r["met"]) for r in rows])
    for y, row in zip(positions, rows, strict=True):
        axes.vlines(row["goal"], y - 0.4, y + 0.4, colors="black", linewidth=2)
        axes.text(row["goal"], y - 0.42, f" {row['goal_op']} {row['goal']:g}", fontsize=7, va="top")
    axes.set_yticks(list(positions), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("ratio (bar) and goal (black line)")
    axes.set_title("figures against their ceilings")
    if not rows:
        axes.text(0.5, 0.5, "no ratio measured", ha="center", transform=axes.transAxes)


def draw_latencies(axes: Any, rows: list[tuple[str, float, float]]) -> None:
    """p50 and p99 side by side for each kind of request, log scale."""
    positions = range(len(rows))
    axes.barh([y - 0.2 for y in positions], [r[1] for r in rows], 0.4, label="p50", color=P50)
    axes.barh([y + 0.2 for y in positions], [r[2] for r in rows], 0.4, label="p99", color=P99)
    for y, row in zip(positions, rows, strict=True):
        if row[0] == LATENCIES[2][4]:  # the erasure's p50 goal
            axes.vlines(ERASURE_P50_GOAL_MS, y - 0.45, y + 0.05, colors="black", linewidth=2)
            axes.text(ERASURE_P50_GOAL_MS, y - 0.45, " p50 goal", fontsize=7, va="top")
    axes.set_yticks(list(positions), [r[0] for r in rows], fontsize=8)
    axes.invert_yaxis()
    if rows:
        axes.set_xscale("log")
        axes.set_xlim(left=min(row[1] for row in rows) / 3)  # bars start well left of p50
        axes.legend(fontsize=8)
    else:
        axes.text(0.5, 0.5, "no latency measured", ha="center", transform=axes.transAxes)
    axes.set_xlabel("milliseconds (log scale)")
    axes.set_title("latency")


def draw(document: dict[str, Any], target: Path) -> None:
    """Both panels into one PNG."""
    figures = document["figures"]
    ratios = ratio_rows(figures)
    height = max(3.5, 0.45 * len(ratios) + 1.5)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(13, height), gridspec_kw={"width_ratios": [3, 2]}
    )
    draw_ratios(left, ratios)
    draw_latencies(right, latency_rows(figures))
    machine = document["machine"]
    figure.suptitle(
        f"make bench{' --quick' if document['quick'] else ''}, {document['date']}:"
        f" {machine['cores']} cores, load {machine['load_before']} → {machine['load_after']},"
        f" {machine['store']}",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def main(argv: list[str]) -> int:
    """Read the result document, write the chart."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    document = json.loads(Path(argv[0]).read_text())
    draw(document, Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
