"""Memory of every service: idle, under a mixed load, and after it; all together against 0.5 GiB.

`make bench` runs it (`deploy/bench.py`). It starts every service (accounts, provisioning,
logs, privacy, the gateway) and the provider simulator as real processes in a bus namespace
of their own (`LocalPlatform`), against RabbitMQ (started if it is local and down) and an
embedded store server (nx-27017 unless $STORE_SERVER says ferretdb; $MONGO_URL if set).
Once every service is ready and privacy holds every inventory, it waits `--settle` seconds and
reads each process's memory idle: the resident set (VmRSS of /proc/<pid>/status), and from
/proc/<pid>/smaps_rollup, where the kernel has it, the proportional set (PSS: shared pages
divided among their users) and the unique set (USS: private pages, what stopping the process
would free). Then `load.py`'s mixed load (orders, reads, data-subject requests, webhooks) runs
for `--seconds` at `--rate` calls a second with RSS sampled every second, the backlog drains,
and after `--settle` seconds more the memory is read again.

Bounded under load: a leak grows with the work done, so under a steady load it keeps growing
to the end, while a bounded process reaches its working set early and then stays near it. The
judgement: a process's peak in the second half of the load may exceed its peak in the first
half by at most `--allowance` percent of that peak (and at least `load_watch.SLACK_MIB`, one
allocator arena); its least-squares slope over the second half is reported beside it. The
simulator is not one of our services: it is reported apart and not counted in the total.

Any failed call, order not final, request not closed `completed` or backlog not drained makes
the exit code 1 (the load's checks); the memory goals are reported, never an exit code.
Progress goes to stderr, the report (or `--json`) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_bus import load_average
from bench_orders_load import say
from bench_privacy import owners_registered, remove_client_queues
from devstack.rabbitmq import amqp_url_from_env
from load import Run, loaded_platform
from load import parse_args as load_args
from load_report import checks
from load_watch import SLACK_MIB, rss_mib, slope
from platform_procs import SIMULATOR, LocalPlatform, interrupts_as_errors

from servicekit.logging import configure_logging

BUDGET_MIB = 512.0
"""All services together, idle."""
KIB_PER_MIB = 1024


def smaps_mib(pid: int) -> dict[str, float]:
    """PSS and USS of a process in MiB from /proc/<pid>/smaps_rollup (empty if unreadable)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    kib: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        field, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            kib[field] = int(rest.split()[0])
    uss = kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)
    return {
        "pss_mib": round(kib.get("Pss", 0) / KIB_PER_MIB, 1),
        "uss_mib": round(uss / KIB_PER_MIB, 1),
    }


def reading(pids: dict[str, int]) -> dict[str, dict[str, float]]:
    """RSS, PSS and USS of each process now (processes gone are left out)."""
    read: dict[str, dict[str, float]] = {}
    for name, pid in pids.items():
        rss = rss_mib(pid)
        if rss is not None:
            read[name] = {"rss_mib": round(rss, 1), **smaps_mib(pid)}
    return read


def growth(series: list[tuple[float, float]], seconds: float, allowance: float) -> dict[str, Any]:
    """Peak, the second half's growth over the first half's peak, its slope, and the verdict."""
    during = [(t, mib) for t, mib in series if 0 <= t <= seconds] or series
    middle = seconds / 2
    first = [mib for t, mib in during if t < middle] or [during[0][1]]
    second = [(t, mib) for t, mib in during if t >= middle] or [during[-1]]
    second_peak = max(mib for _, mib in second)
    allowed = max(max(first) * allowance / 100, SLACK_MIB)
    return {
        "peak_mib": max(mib for _, mib in during),
        "second_half_growth_mib": round(second_peak - max(first), 1),
        "allowed_growth_mib": round(allowed, 1),
        "second_half_slope_mib_per_min": round(slope(second) * 60, 2),
        "samples": len(during),
        "bounded": second_peak - max(first) <= allowed,
    }


def per_process(
    idle: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    load: dict[str, Any],
    allowance: float,
) -> dict[str, dict[str, Any]]:
    """Each process's idle reading, its growth under load and its reading after the load."""
    series = load["memory_series"]
    return {
        name: {
            "idle": idle[name],
            **growth(series.get(name, []), load["seconds"], allowance),
            "after_rss_mib": after.get(name, {}).get("rss_mib"),
        }
        for name in idle
    }


def summary(processes: dict[str, dict[str, Any]], load: dict[str, Any]) -> dict[str, Any]:
    """The services' totals against the budget; the simulator apart; what the load got wrong."""
    services = {name: p for name, p in processes.items() if name != SIMULATOR}
    total_idle = round(sum(p["idle"]["rss_mib"] for p in services.values()), 1)
    failed = {name: c["why"] for name, c in checks(load).items() if not c["passed"]}
    failed.pop("memory_bounded", None)  # judged here, by the second half, as a goal
    return {
        "services": services,
        "simulator": processes.get(SIMULATOR),
        "total_idle_mib": total_idle,
        "total_idle_pss_mib": round(sum(p["idle"].get("pss_mib", 0) for p in services.values()), 1),
        "total_idle_uss_mib": round(sum(p["idle"].get("uss_mib", 0) for p in services.values()), 1),
        "total_peak_mib": round(sum(p["peak_mib"] for p in services.values()), 1),
        "budget_mib": BUDGET_MIB,
        "idle_goal_met": total_idle < BUDGET_MIB,
        "bounded": all(p["bounded"] for p in services.values()),
        "load": {
            "seconds": load["seconds"],
            "achieved_rate": load["achieved_rate"],
            "calls": sum(kind["calls"] for kind in load["kinds"].values()),
            "errors": load["errors"],
            "error_examples": load["error_examples"],
            "failed_checks": failed,
        },
    }


def settle(seconds: float) -> None:
    """Let start-up work (inventories, first sweeps, connection pools) finish."""
    say(f"settling {seconds:g} s")
    time.sleep(seconds)


def measure(platform: LocalPlatform, args: argparse.Namespace) -> dict[str, Any]:
    """Idle reading, the load with its samples, the reading after; the summary."""
    asyncio.run(owners_registered(platform))
    settle(args.settle)
    pids = platform.pids()
    idle = reading(pids)
    say("idle RSS (MiB): " + ", ".join(f"{n} {r['rss_mib']}" for n, r in idle.items()))
    try:
        load = asyncio.run(Run(platform, args).run())
    finally:
        asyncio.run(remove_client_queues(platform))
    settle(args.settle)
    processes = per_process(idle, reading(pids), load, args.allowance)
    return summary(processes, load)


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Start everything, measure, stop everything; the result as a dict."""
    configure_logging("bench", "warning", "json", stream=sys.stderr)
    with loaded_platform(args, data_dir) as (platform, described, load_before):
        result = measure(platform, args)
        namespace = platform.namespace
    return {
        **result,
        "namespace": namespace,
        "store": described,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; the load's own options (`load.py --help`) after `--`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="of load")
    parser.add_argument("--rate", type=float, default=20.0, help="calls a second")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before reading")
    parser.add_argument("--allowance", type=float, default=10.0, help="%% second-half growth")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args, rest = parser.parse_known_args(argv)
    minutes = ["--minutes", str(args.seconds / 60), "--rate", str(args.rate), "--sample", "1"]
    load = load_args([*minutes, "--amqp-url", args.amqp_url, *rest])
    return argparse.Namespace(**{**vars(load), **vars(args)})


def render(result: dict[str, Any]) -> str:
    """The human-readable report."""
    lines = [
        f"memory of every service ({result['store']}), MiB: idle RSS (PSS, USS), peak under"
        f" {result['load']['seconds']} s of load at {result['load']['achieved_rate']} calls/s,"
        " RSS after, growth in the second half (allowed), bounded",
    ]
    rows = {**result["services"], f"({SIMULATOR}, not counted)": result["simulator"] or {}}
    for name, p in rows.items():
        if not p:
            continue
        idle = p["idle"]
        lines.append(
            f"  {name:<28}{idle['rss_mib']:>7} ({idle.get('pss_mib', '-')},"
            f" {idle.get('uss_mib', '-')}){p['peak_mib']:>8}{p['after_rss_mib'] or '-':>8}"
            f"{p['second_half_growth_mib']:>7} ({p['allowed_growth_mib']})"
            f"  {'bounded' if p['bounded'] else 'NOT bounded'}"
        )
    verdict = "met" if result["idle_goal_met"] else "NOT met"
    lines += [
        f"  total idle {result['total_idle_mib']} MiB RSS (PSS {result['total_idle_pss_mib']},"
        f" USS {result['total_idle_uss_mib']}); goal < {result['budget_mib']:g} MiB: {verdict}",
        f"  total peak under load {result['total_peak_mib']} MiB; every service bounded:"
        f" {result['bounded']}",
        f"  load: {result['load']['calls']} calls, errors {result['load']['errors']},"
        f" failed checks {result['load']['failed_checks'] or 'none'}",
        f"  {result['cores']} cores, load average {result['load_before']} before,"
        f" {result['load_after']} after",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 if the load got a wrong answer."""
    args = parse_args(argv)
    try:
        with interrupts_as_errors(), tempfile.TemporaryDirectory(prefix="bench-mem-") as data_dir:
            result = bench(args, Path(data_dir))
    except KeyboardInterrupt:
        say("interrupted: everything started was stopped and its namespace removed")
        return 130
    print(json.dumps(result, indent=2) if args.json else render(result), flush=True)
    return 1 if result["load"]["failed_checks"] else 0


if __name__ == "__main__":
    sys.exit(main())
