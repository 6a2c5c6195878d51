"""`make bench`: every benchmark in turn, one result document, the report and the chart.

Each benchmark (`deploy/bench_<name>.py`) runs as a subprocess with `--json`: its progress
(stderr) is passed through with its name and the elapsed time, its result (stdout) collected.
For each, the harness prints and records its figures, their ceilings, the ratios and the goals
(met or not: `bench_report`). A benchmark that errors, or whose answers were wrong (orders not
completed, erasures not `completed`, log records lost, requests failed), is reported as failed
with the end of its stderr, the others still run, and the exit code is 1; a goal missed is
reported, never an exit code (benchmarks never fail on a slow machine). Queues or exchanges a
benchmark left on the broker, and with `--quick` databases left in the shared store server,
count as failures too.

Without `--out` the results go to `docs/`: `performance.md` (only the part between its
`bench:begin` and `bench:end` markers is generated; the rest is hand-written and kept),
`performance.json` (the whole document) and `performance.png` (`bench_chart.py`, run with
`.venv/bench-tools/bin/python`). `--quick` (`make bench-quick`, in CI) runs every benchmark
with small sizes, against one store server started here, in about two minutes on an idle
two-core machine; its figures are noise, its answers are checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_goals import cell, figures_of, wrong_answers
from bench_report import render_markdown, with_generated
from bench_runs import (
    BENCHMARKS,
    Outcome,
    children_cpu_s,
    left_in_store,
    left_on_broker,
    rabbitmq_version,
    run_benchmark,
)
from devstack.net import free_port, redact_url
from devstack.rabbitmq import amqp_url_from_env, ensure_rabbitmq
from devstack.store_server import REPO_ROOT, kind_from_env, start_store_server
from platform_procs import interrupts_as_errors

DOCS = REPO_ROOT / "docs"
CHART_PYTHON = REPO_ROOT / ".venv" / "bench-tools" / "bin" / "python"
CHART_SCRIPT = REPO_ROOT / "deploy" / "bench_chart.py"
SKELETON = """# Performance

What `make bench` measures on the development machine, each figure beside a ceiling measured
in the same run (see issue 10 and decision 0003: shared machines are noisy, ratios are not).
The tables below are generated; everything outside the markers is written by hand.

"""


def say(message: str) -> None:
    """Progress, on stderr."""
    print(message, file=sys.stderr, flush=True)


def load_average() -> str:
    """The three load averages, as a hint of other work on the machine."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@contextmanager
def shared_store(quick: bool, data_dir: Path) -> Iterator[tuple[str | None, str]]:
    """With `--quick`, one store server for every benchmark (unless $MONGO_URL is set), so
    that what they leave behind can be checked; else None: each starts its own. The URL and
    a description."""
    external = os.environ.get("MONGO_URL")
    if external or not quick:
        yield external, f"MONGO_URL={redact_url(external)}" if external else ""
        return
    server = start_store_server(kind_from_env() or "nx", data_dir, free_port(), say=say)
    try:
        say(f"bench: shared store server {server.describe()}")
        yield server.url, server.describe()
    finally:
        server.stop()


def judge(name: str, outcome: Outcome) -> dict[str, Any]:
    """The run's entry in the document: status, why, figures (and the result itself)."""
    entry: dict[str, Any] = {**outcome.as_dict(), "figures": []}
    if outcome.result is None:
        return entry
    try:
        problems = wrong_answers(name, outcome.result)
        entry["figures"] = [f.as_dict() for f in figures_of(name, outcome.result)]
    except (KeyError, TypeError, ValueError) as failure:  # a result of another shape
        entry.update(status="failed", why=f"{entry['why']} unreadable result: {failure!r}")
        return entry
    if problems:
        status = "wrong answers" if outcome.status == "ok" else outcome.status
        entry.update(status=status, why="; ".join([entry["why"], *problems]).strip("; "))
    return entry


def print_entry(name: str, entry: dict[str, Any]) -> None:
    """One benchmark's figures (or failure) on stdout."""
    print(
        f"{name}: {entry['status']} in {entry['seconds']:.0f} s ({entry['cpu_s']:.0f} s of CPU)",
        flush=True,
    )
    if entry["status"] not in ("ok",):
        print(f"  {entry.get('why', '')}", flush=True)
        if entry.get("stderr_tail"):
            print("  stderr, last lines:\n    " + "\n    ".join(entry["stderr_tail"]), flush=True)
    for figure in entry["figures"]:
        met = {True: "met", False: "NOT met", None: ""}[figure["met"]]
        goal = f"goal {figure['goal_op']} {figure['goal']:g}" if figure["goal_op"] else ""
        ratio = f"ratio {cell(figure['ratio'])}" if figure["ratio"] is not None else ""
        print(
            f"  {figure['name']}: {cell(figure['value'])} {figure['unit']}"
            f"{'; ceiling ' + figure['ceiling'] if figure['ceiling'] else ''}"
            f"{'; ' + ratio if ratio else ''}{'; ' + goal + ': ' + met if goal else ''}",
            flush=True,
        )


def run_all(args: argparse.Namespace, mongo_url: str | None) -> dict[str, dict[str, Any]]:
    """Every chosen benchmark in turn; its judged entry by name."""
    entries: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    for name in args.only:
        say(f"bench: {name} starting ({time.monotonic() - started:.0f} s in)")
        extra = args.args.get(name, [])
        outcome = run_benchmark(BENCHMARKS[name], args.quick, args.amqp_url, mongo_url, extra)
        entries[name] = judge(name, outcome)
        print_entry(name, entries[name])
    return entries


def check_leftovers(
    entries: dict[str, dict[str, Any]], amqp_url: str, mongo_url: str | None
) -> list[str]:
    """What the benchmarks left on the broker (and in the shared store): empty if nothing."""
    namespaces = [
        str(e["result"]["namespace"])
        for e in entries.values()
        if (e["result"] or {}).get("namespace")
    ]
    left = left_on_broker(amqp_url, namespaces)
    if mongo_url is not None:
        left += asyncio.run(left_in_store(mongo_url, namespaces))
    return left


def machine(load_before: str, store: str, amqp_url: str) -> dict[str, Any]:
    """The machine the figures were measured on."""
    return {
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
        "store": store,
        "rabbitmq": rabbitmq_version(amqp_url),
        "python": platform.python_version(),
    }


def store_described(entries: dict[str, dict[str, Any]], shared: str) -> str:
    """The store server the benchmarks used: the shared one, else the kinds they started."""
    if shared:
        return shared
    results = [entry["result"] or {} for entry in entries.values()]
    kinds = {re.sub(r" at \S+", "", str(r["store"])) for r in results if r.get("store")}
    return "; ".join(sorted(kinds)) or "none"


def write_outputs(document: dict[str, Any], out: Path | None) -> list[str]:
    """performance.json, .md and .png in `out` (else docs/); problems drawing the chart."""
    directory = out or DOCS
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "performance.json"
    data.write_text(json.dumps(document, indent=2) + "\n")
    page_path = directory / "performance.md"
    page = page_path.read_text() if page_path.exists() else SKELETON
    page_path.write_text(with_generated(page, render_markdown(document)))
    say(f"bench: wrote {page_path} and {data}")
    return draw_chart(data, directory / "performance.png")


def draw_chart(data: Path, chart: Path) -> list[str]:
    """Run bench_chart.py with the bench tools' Python; the problem, if any."""
    if not CHART_PYTHON.exists():
        return [f"no chart: {CHART_PYTHON} is missing (make bench-tools)"]
    drawn = subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
        [str(CHART_PYTHON), str(CHART_SCRIPT), str(data), str(chart)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if drawn.returncode != 0:
        return [f"no chart: bench_chart.py failed: {drawn.stderr[-1500:]}"]
    say(f"bench: wrote {chart}")
    return []


def bench(args: argparse.Namespace, data_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """Run, check, write; the document and the harness's own problems."""
    say(ensure_rabbitmq(args.amqp_url, say=say))
    load_before, started, cpu_before = load_average(), time.monotonic(), children_cpu_s()
    with shared_store(args.quick, data_dir) as (mongo_url, shared):
        entries = run_all(args, mongo_url)
        problems = check_leftovers(entries, args.amqp_url, mongo_url)
    figures = [figure for entry in entries.values() for figure in entry["figures"]]
    document = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "wall_s": round(time.monotonic() - started, 1),
        "cpu_s": round(children_cpu_s() - cpu_before, 1),
        "machine": machine(load_before, store_described(entries, shared), args.amqp_url),
        "benchmarks": entries,
        "figures": figures,
        "left_behind": problems,
    }
    return document, problems + write_outputs(document, args.out)


def names(text: str) -> list[str]:
    """An argparse type: benchmark names separated by commas, each known."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(BENCHMARKS)}; not {unknown}")
    return chosen


def benchmark_options(text: str) -> tuple[str, list[str]]:
    """An argparse type: `NAME=OPTIONS`, options passed on to one benchmark."""
    name, _, options = text.partition("=")
    if name.strip() not in BENCHMARKS or not options.strip():
        raise argparse.ArgumentTypeError(f"NAME=OPTIONS with NAME among {', '.join(BENCHMARKS)}")
    return name.strip(), shlex.split(options)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--only", type=names, default=list(BENCHMARKS), help=",".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="small sizes: checks, not figures")
    parser.add_argument("--out", type=Path, help="directory for the results (default docs/)")
    parser.add_argument(
        "--args",
        type=benchmark_options,
        action="append",
        default=[],
        metavar="NAME=OPTIONS",
        help="options for one benchmark, after its sizes, e.g. 'orders=--orders 5000'",
    )
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    args = parser.parse_args(argv)
    args.args = {name: options for name, options in args.args}
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; 1 if one failed, answered wrongly or left something behind."""
    args = parse_args(argv)
    try:
        with interrupts_as_errors(), tempfile.TemporaryDirectory(prefix="bench-") as data_dir:
            document, problems = bench(args, Path(data_dir))
    except KeyboardInterrupt:
        say("bench: interrupted; the running benchmark was stopped and cleaned up after itself")
        return 130
    failed = {
        n: e["status"]
        for n, e in document["benchmarks"].items()
        if e["status"] not in ("ok", "not measured")
    }
    for problem in problems:
        say(f"bench: {problem}")
    verdict = f"FAILED: {failed}" if failed else "every benchmark answered right"
    after = document["machine"]["load_after"]
    say(f"bench: {verdict}; {len(problems)} other problems")
    say(
        f"bench: {document['wall_s']:.0f} s in all, {document['cpu_s']:.0f} s of CPU"
        " (the broker's not counted)"
    )
    say(f"bench: load average {document['machine']['load_before']} before, {after} after")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
