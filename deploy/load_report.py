"""The figures of a `load.py` run, its checks and verdict, and the printed report.

Everything here is pure: it turns what the run recorded into a JSON-ready dict, and that dict
into text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from bench_orders_stats import distribution_ms
from load_hooks import Receiver
from load_mix import Recorder
from load_watch import Backlog


def by_kind(recorder: Recorder, seconds: float) -> dict[str, dict[str, Any]]:
    """Calls, rate, p50/p99/max and errors of each kind of call."""
    grouped: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for call in recorder.calls:
        grouped[call.kind].append(call.seconds)
        errors[call.kind] += 0 if call.ok else 1
    return {kind: _figures(grouped[kind], seconds, errors[kind]) for kind in sorted(grouped)}


def _figures(durations: list[float], seconds: float, errors: int) -> dict[str, Any]:
    latency = distribution_ms(durations)
    return {
        "calls": len(durations),
        "per_second": round(len(durations) / seconds, 2) if seconds else 0.0,
        "p50_ms": latency["p50"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "errors": errors,
    }


def closings(recorder: Recorder, seconds: float) -> dict[str, dict[str, Any]]:
    """Each kind of data-subject request from sending it until its closing was heard."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for closing in recorder.closed.values():
        grouped[f"{closing.kind} closed"].append(closing.seconds)
    return {kind: _figures(grouped[kind], seconds, 0) for kind in sorted(grouped)}


def outcomes(recorder: Recorder, receiver: Receiver) -> dict[str, Any]:
    """Orders accepted and how they ended; requests opened and how they closed."""
    delivered = [receiver.deliveries.get(order_id) for order_id in recorder.orders]
    statuses = [closing.status for closing in recorder.closed.values()]
    return {
        "orders": {
            "accepted": len(recorder.orders),
            "completed": sum(1 for d in delivered if d and d.event_type == "order.completed"),
            "failed": sum(1 for d in delivered if d and d.event_type == "order.failed"),
            "not_final": sum(1 for d in delivered if d is None),
        },
        "requests": {
            "opened": len(recorder.requests),
            "completed": statuses.count("completed"),
            "closed_otherwise": len(statuses) - statuses.count("completed"),
            "not_final": len(recorder.requests) - len(statuses),
        },
    }


def webhooks(receiver: Receiver, seconds: float) -> dict[str, Any]:
    """The deliveries received: their count, latency, duplicates, refusals."""
    return {
        **_figures([d.seconds for d in receiver.deliveries.values()], seconds, 0),
        "duplicates": receiver.duplicates,
        "rejected": len(receiver.rejected),
    }


def checks(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each check of the run: passed or not, and why."""
    orders, requests, drain = result["orders"], result["requests"], result["drain"]
    unbounded = [name for name, m in result["memory"].items() if not m["bounded"]]
    return {
        "no_errors": _check(
            result["errors"] == 0, f"{result['errors']} errors: {result['error_examples']}"
        ),
        "orders_final": _check(
            orders["not_final"] == 0 and orders["accepted"] > 0,
            f"{orders['not_final']} of {orders['accepted']} orders not final",
        ),
        "requests_final": _check(
            requests["not_final"] == 0 and requests["closed_otherwise"] == 0,
            f"{requests['not_final']} of {requests['opened']} requests not final,"
            f" {requests['closed_otherwise']} closed other than completed",
        ),
        "queues_drained": _check(
            drain["drained"] and not drain["dead_letters"],
            f"after {drain['seconds']} s (bound {drain['bound_s']} s): left {drain['left']},"
            f" dead letters {drain['dead_letters']}",
        ),
        "memory_bounded": _check(not unbounded, f"grew in the last third: {unbounded}"),
    }


def _check(passed: bool, why: str) -> dict[str, Any]:
    return {"passed": passed, "why": "" if passed else why}


def drain_figures(seconds: float, bound: float, last: Backlog, drained: bool) -> dict[str, Any]:
    """How long the backlog took to empty after the load stopped, and what was left."""
    left = {"queues": last.queued, "outbox": last.outbox} if not drained else {}
    return {
        "seconds": round(seconds, 1),
        "bound_s": bound,
        "drained": drained,
        "left": left,
        "dead_letters": last.dead,
    }


def render(result: Mapping[str, Any]) -> str:
    """The report as text, from the dict `--json` prints."""
    lines = [
        f"load: {result['seconds']:.0f} s at a target of {result['target_rate']}/s"
        f" (achieved {result['achieved_rate']}/s), at most {result['concurrency']} in flight,"
        f" mix {result['mix']}; {result['substituted']} requests sent as reads (no subject yet)",
        f"  {'kind':<22}{'calls':>7}{'/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}",
    ]
    rows = {**result["kinds"], **result["closings"], "webhook delivered": result["webhooks"]}
    for kind, row in rows.items():
        lines.append(
            f"  {kind:<22}{row['calls']:>7}{row['per_second']:>8}{row['p50_ms']:>9}"
            f"{row['p99_ms']:>9}{row['max_ms']:>9}{row['errors']:>8}"
        )
    drain, hooks = result["drain"], result["webhooks"]
    lines += [
        f"  webhooks: {hooks['duplicates']} duplicates, {hooks['rejected']} refused",
        f"orders: {result['orders']}",
        f"requests: {result['requests']}",
        f"errors: {result['errors']} {result['error_examples'] or ''}",
        f"drain after the load stopped: {drain['seconds']} s (bound {drain['bound_s']} s),"
        f" drained {drain['drained']}, left {drain['left']}, dead letters {drain['dead_letters']}",
        f"memory (RSS MiB; rule: last-third peak <= first-two-thirds peak"
        f" + {result['memory_allowance_percent']} %, at least 4 MiB):",
        f"  {'process':<14}{'start':>8}{'peak':>8}{'end':>8}{'peak<2/3':>10}{'peak>2/3':>10}"
        f"{'MiB/min':>9}  bounded",
    ]
    for name, m in result["memory"].items():
        lines.append(
            f"  {name:<14}{m['start_mib']:>8}{m['peak_mib']:>8}{m['end_mib']:>8}"
            f"{m['peak_first_two_thirds_mib']:>10}{m['peak_last_third_mib']:>10}"
            f"{m['slope_mib_per_min']:>9}  {m['bounded']}"
        )
    lines.append("checks:")
    for name, check in result["checks"].items():
        lines.append(f"  {name}: {'passed' if check['passed'] else 'FAILED: ' + check['why']}")
    lines += [
        f"verdict: {result['verdict']}",
        f"machine: {result['cores']} cores; load average before {result['load_before']},"
        f" after {result['load_after']}; store {result['store']}",
    ]
    return "\n".join(lines)
