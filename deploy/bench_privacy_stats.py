"""The privacy benchmark's figures: percentiles, per-phase summaries, goals, the report."""

from __future__ import annotations

import math
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean, median
from typing import Any

from bench_privacy_load import Erasure

from contracts.privacy import PrivacyRequestView

SINGLE_P50_GOAL_S = 0.1
BURST_GOAL_S = {100: 3.3}
"""Wall time goals of bursts, by size; every other burst must only complete."""
FLAT_RATIO_GOAL = 2.0
REFERENCE = {
    "name": "Fides 2.78 (single PostgreSQL store, same kind of machine)",
    "single_s": 0.49,
    "burst_100_s": 33.0,
    "burst_100_failing": "21-31 %",
}
ERROR_SAMPLES = 5


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency(erasures: list[Erasure]) -> dict[str, float]:
    """p50, p99, mean and max of the erasures' seconds (0s when there are none)."""
    seconds = [erasure.seconds for erasure in erasures]
    if not seconds:
        return {"p50": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "p50": round(percentile(seconds, 0.5), 4),
        "p99": round(percentile(seconds, 0.99), 4),
        "mean": round(mean(seconds), 4),
        "max": round(max(seconds), 4),
    }


def outcomes(erasures: list[Erasure]) -> dict[str, Any]:
    """How many completed, how many did not (with the kinds of failure and a few samples)."""
    failed = [erasure for erasure in erasures if not erasure.completed]
    kinds = Counter(erasure.error or f"closed {erasure.status}" for erasure in failed)
    return {
        "requests": len(erasures),
        "completed": len(erasures) - len(failed),
        "errors": len(failed),
        "error_kinds": dict(kinds.most_common()),
        "error_samples": [
            {"request_id": e.request_id, "status": e.status, "error": e.error}
            for e in failed[:ERROR_SAMPLES]
        ],
    }


def single_summary(erasures: list[Erasure], views: list[PrivacyRequestView]) -> dict[str, Any]:
    """The one-at-a-time phase: latencies, errors, the goal, and where the time went."""
    figures = latency(erasures)
    return {
        **outcomes(erasures),
        "latency_s": figures,
        "goal_p50_s": SINGLE_P50_GOAL_S,
        "goal_met": figures["p50"] <= SINGLE_P50_GOAL_S and all(e.completed for e in erasures),
        "stages_ms": stages(erasures, views),
        "work_per_erasure": work_of(views[-1]) if views else {},
    }


def burst_summary(size: int, erasures: list[Erasure], wall: float) -> dict[str, Any]:
    """One burst: wall time until the last closed, errors, latencies, the goal."""
    done = outcomes(erasures)
    goal = BURST_GOAL_S.get(size)
    return {
        "size": size,
        "wall_s": round(wall, 3),
        **done,
        "latency_s": latency(erasures),
        "goal_wall_s": goal,
        "goal_met": done["errors"] == 0 and (goal is None or wall <= goal),
    }


def flat_summary(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """Erasing one subject beside few and many other records: each level, and the ratio of
    the largest level's median to the smallest's."""
    ratio = None
    if len(levels) > 1 and levels[0]["median_s"] > 0:
        ratio = round(levels[-1]["median_s"] / levels[0]["median_s"], 2)
    errors = sum(level["errors"] for level in levels)
    return {
        "levels": levels,
        "ratio": ratio,
        "goal_ratio": FLAT_RATIO_GOAL,
        "goal_met": errors == 0 and ratio is not None and ratio <= FLAT_RATIO_GOAL,
    }


def flat_level(
    target: int, held: int, erasures: list[Erasure], views: list[PrivacyRequestView]
) -> dict[str, Any]:
    """One level of the flatness phase."""
    logs_task = [seconds for view in views if (seconds := task_seconds(view, "logs")) is not None]
    return {
        "log_records_target": target,
        "log_records_held": held,
        **outcomes(erasures),
        "seconds": [round(erasure.seconds, 4) for erasure in erasures],
        "median_s": round(median(e.seconds for e in erasures), 4) if erasures else 0.0,
        "logs_task_median_s": round(median(logs_task), 4) if logs_task else None,
    }


def task_seconds(view: PrivacyRequestView, service: str) -> float | None:
    """From the request's creation until the service's task completed (privacy's and the
    service's clocks: one machine)."""
    for task in view.tasks:
        if task.service == service and task.completed_at is not None:
            return (_aware(task.completed_at) - _aware(view.created_at)).total_seconds()
    return None


def _aware(moment: datetime) -> datetime:
    """Stored times come back naive: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stages(erasures: list[Erasure], views: list[PrivacyRequestView]) -> dict[str, Any]:
    """Median milliseconds of each stage of the one-at-a-time erasures: the submit's round
    trip, and from the request's creation until each service's task completed and until it
    closed (the closing event's `closed_at`)."""
    answered = [e.answered_s for e in erasures if e.answered_s is not None]
    by_id = {view.id: view for view in views}
    closing = [
        (_aware(e.closed_at) - _aware(by_id[e.request_id].created_at)).total_seconds()
        for e in erasures
        if e.closed_at is not None and e.request_id in by_id
    ]
    figures: dict[str, Any] = {
        "submit_round_trip": _median_ms(answered),
        "created_to_closed": _median_ms(closing),
    }
    services = sorted({task.service for view in views for task in view.tasks})
    for service in services:
        figures[f"created_to_{service}_done"] = _median_ms(
            [s for view in views if (s := task_seconds(view, service)) is not None]
        )
    return figures


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds each process has used so far (Linux `/proc`); a process
    that cannot be read is left out. Robust to other work on the machine, unlike wall time."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in pids.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def cpu_ms_per_erasure(
    before: dict[str, float], after: dict[str, float], erasures: int
) -> dict[str, float]:
    """Each process's CPU milliseconds per erasure between two `cpu_seconds` readings, and
    their total."""
    spent = {name: after[name] - before[name] for name in after if name in before}
    per = {name: round(1000 * s / max(erasures, 1), 2) for name, s in sorted(spent.items())}
    return {**per, "total": round(sum(per.values()), 2)}


def _median_ms(seconds: list[float]) -> float | None:
    return round(median(seconds) * 1000, 1) if seconds else None


def work_of(view: PrivacyRequestView) -> dict[str, list[str]]:
    """What one erasure did in each service: `<category>: <records> <disposition>`."""
    return {
        task.service: [
            f"{o.category}: {o.records} {o.disposition.value}" for o in task.outcomes if o.records
        ]
        for task in view.tasks
    }


def render(result: dict[str, Any]) -> str:
    """The human-readable report."""
    single, flat, ceiling = result["single"], result["flatness"], result["bus_ceiling"]
    lines = [
        f"privacy erasures, end to end across {', '.join(result['services'])} ({result['store']})",
        f"  subjects seeded: {result['seeded']['subjects']} (a contact, an order and"
        f" {result['seeded']['log_records_each']} log records each) in"
        f" {result['seeded']['seconds']} s",
        f"  one at a time: {single['requests']} erasures, p50 {single['latency_s']['p50']} s,"
        f" p99 {single['latency_s']['p99']} s, errors {single['errors']};"
        f" goal p50 <= {single['goal_p50_s']} s: {_met(single)}",
        f"    stages (median ms): {single['stages_ms']}",
        f"    CPU ms per erasure: {single.get('cpu_ms_per_erasure')}",
        _commands_line(single),
        f"    one erasure's work: {single['work_per_erasure']}",
    ]
    for burst in result["bursts"]:
        goal = f"<= {burst['goal_wall_s']} s, no errors" if burst["goal_wall_s"] else "all complete"
        lines.append(
            f"  {burst['size']} at once: {burst['wall_s']} s until the last closed,"
            f" {burst['completed']} completed, errors {burst['errors']}"
            f" {burst['error_kinds'] or ''}, p50 {burst['latency_s']['p50']} s,"
            f" p99 {burst['latency_s']['p99']} s; goal {goal}: {_met(burst)}"
        )
        lines.append(f"    CPU ms per erasure: {burst.get('cpu_ms_per_erasure')}")
        lines.append(_commands_line(burst))
    for level in flat["levels"]:
        lines.append(
            f"  erasing one subject beside {level['log_records_held']} log records:"
            f" median {level['median_s']} s (logs task {level['logs_task_median_s']} s),"
            f" of {level['seconds']}"
        )
    if "failure" in flat:
        lines.append(f"    the phase stopped: {flat['failure']}")
    lines += [
        f"    ratio {flat['ratio']}; goal <= {flat['goal_ratio']}x: {_met(flat)}",
        _ceiling_line(ceiling),
        f"  reference: {REFERENCE['name']}: {REFERENCE['single_s']} s one at a time,"
        f" {REFERENCE['burst_100_s']} s for 100 at once, {REFERENCE['burst_100_failing']}"
        " failing at 100 at once (default mode)",
        f"  {result['cores']} cores, load average {result['load_before']} before,"
        f" {result['load_after']} after (other work on the machine skews the numbers)",
    ]
    if "profile" in result:
        lines += [f"profile of {result['profiled']} (own time):", result["profile"]]
    return "\n".join(lines)


def _commands_line(phase: dict[str, Any]) -> str:
    counted = phase.get("commands_per_erasure") or {}
    totals = {k: v for k, v in counted.items() if k not in ("by_kind", "ms_by_kind")}
    return f"    store commands per erasure: {totals}"


def _ceiling_line(ceiling: dict[str, Any] | None) -> str:
    if ceiling is None:
        return "  bus ceiling: not measured (--skip-ceiling)"
    return (
        f"  bus ceiling (same run, idle platform): raw {ceiling['raw_messages_per_second']}"
        f" msg/s, servicekit {ceiling['servicekit_messages_per_second']} msg/s"
    )


def _met(part: dict[str, Any]) -> str:
    return "met" if part["goal_met"] else "NOT met"
