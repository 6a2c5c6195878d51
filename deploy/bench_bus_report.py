"""The bus benchmark's result (deploy/bench_bus.py): medians, ratios, goals, the report.

Each (side, prefetch) has the median of its counted rounds; a side's figure is its best
median over the prefetches, reported with the prefetch it was reached at. The goals compare
like with like, each side at its best prefetch:
- 0.85 (`goal_met`): servicekit idempotent (no inbox) / raw aio-pika (`idempotent_ratio`:
  neither does store work) AND servicekit with the inbox / raw + dedupe (`inbox_ratio`: both
  do one lookup and one record a message). Met only when both are; `ratio` is the smaller;
- 1.2 (`peer_goal_met`): servicekit idempotent / FastStream (`peer_ratio`: neither has an
  inbox);
- no goal, for information: servicekit with the inbox / raw (`inbox_raw_ratio`, what
  exactly-once costs on this machine) and / FastStream (`inbox_peer_ratio`).

Throughput ratios hold only on a quiet machine; the CPU milliseconds a message costs each
process do not depend on the load, so the document gives them too (at each side's best
prefetch), and `cpu_ratio`, per comparison: the denominator's CPU a message over the
numerator's, counting each side's own processes (producer, consumer, store server) and leaving
out the broker, which other work on the machine shares.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench_bus_rounds import Round, Side

from servicekit.bus import PUBLISH_WINDOW

GOAL = 0.85
"""servicekit's end-to-end throughput as a share of raw aio-pika doing the same work."""

PEER_GOAL = 1.2
"""servicekit's end-to-end throughput as a multiple of FastStream's (the issue's goal)."""

SIDES: tuple[Side, ...] = ("raw", "raw_dedupe", "servicekit", "idempotent", "faststream")
LABELS: dict[Side, str] = {
    "raw": "raw aio-pika",
    "raw_dedupe": "raw aio-pika + dedupe by hand",
    "servicekit": "servicekit (inbox)",
    "idempotent": "servicekit (idempotent, no inbox)",
    "faststream": "FastStream",
}

RATE_KEYS: dict[Side, str] = {
    "raw": "raw_msgs_per_s",
    "raw_dedupe": "raw_dedupe_msgs_per_s",
    "servicekit": "servicekit_msgs_per_s",
    "idempotent": "servicekit_idempotent_msgs_per_s",
    "faststream": "faststream_msgs_per_s",
}
"""Each side's best median rate in the result document."""


@dataclass(frozen=True)
class Comparison:
    """One ratio of two sides' best medians, with its goal (None: information only)."""

    key: str
    numerator: Side
    denominator: Side
    goal: float | None
    basis: str


COMPARISONS = (
    Comparison("idempotent_ratio", "idempotent", "raw", GOAL, "same work: no store"),
    Comparison(
        "inbox_ratio",
        "servicekit",
        "raw_dedupe",
        GOAL,
        "same work: one inbox lookup and one record a message",
    ),
    Comparison("peer_ratio", "idempotent", "faststream", PEER_GOAL, "same work: no inbox"),
    Comparison(
        "inbox_raw_ratio", "servicekit", "raw", None, "information: what exactly-once costs"
    ),
    Comparison("inbox_peer_ratio", "servicekit", "faststream", None, "information"),
)


def per_message_ms(value: float | None, messages: int) -> float | None:
    """CPU seconds of a round as milliseconds per message."""
    return None if value is None else round(1000 * value / messages, 3)


def median_or_none(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def cell_medians(rounds: list[Round]) -> dict[Side, dict[int, float]]:
    """The median rate of each (side, prefetch) over its counted rounds."""
    rates: dict[Side, dict[int, list[float]]] = {}
    for item in rounds:
        if item.counted:
            rates.setdefault(item.side, {}).setdefault(item.prefetch, []).append(item.rate)
    return {
        side: {prefetch: statistics.median(values) for prefetch, values in cells.items()}
        for side, cells in rates.items()
    }


def best_cells(medians: dict[Side, dict[int, float]]) -> dict[Side, tuple[int, float]]:
    """Each side's best median and the prefetch it was reached at (the first one on a tie)."""
    return {side: max(cells.items(), key=lambda cell: cell[1]) for side, cells in medians.items()}


def cpu_medians(rounds: list[Round], side: Side, prefetch: int) -> dict[str, float | None]:
    """Per process, the median CPU milliseconds per message of a cell's counted rounds."""
    mine = [r for r in rounds if r.counted and r.side == side and r.prefetch == prefetch]

    def column(read: Callable[[Round], float | None]) -> float | None:
        return median_or_none(
            [ms for r in mine if (ms := per_message_ms(read(r), r.messages)) is not None]
        )

    return {
        "producer": column(lambda r: r.producer_cpu),
        "consumer": column(lambda r: r.consumer_cpu),
        "store": column(lambda r: r.store_cpu),
        "broker": column(lambda r: r.broker_cpu),
    }


def own_cpu(medians: dict[str, float | None]) -> float | None:
    """The CPU milliseconds a message costs a side's own processes (producer, consumer, store
    server), leaving out the broker, which other work on the machine shares."""
    parts = [medians["producer"], medians["consumer"]]
    if any(part is None for part in parts):
        return None
    return sum(part or 0.0 for part in [*parts, medians["store"]])


def mean_batch(item: Round) -> float | None:
    """How many messages one inbox round trip carried on average (lookups and records)."""
    if not item.inbox_round_trips:
        return None
    return round(2 * item.messages / item.inbox_round_trips, 2)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, rounded; None when either is missing."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def compared(
    comparison: Comparison,
    best: dict[Side, tuple[int, float]],
    cpu: dict[Side, dict[str, float | None]],
) -> dict[str, Any]:
    """One comparison at each side's best prefetch: the ratio, the goal, whether it is met."""
    top, bottom = best.get(comparison.numerator), best.get(comparison.denominator)
    value = ratio(top[1] if top else None, bottom[1] if bottom else None)
    return {
        "key": comparison.key,
        "numerator": comparison.numerator,
        "numerator_prefetch": top[0] if top else None,
        "denominator": comparison.denominator,
        "denominator_prefetch": bottom[0] if bottom else None,
        "basis": comparison.basis,
        "ratio": value,
        "goal": comparison.goal,
        "met": None if comparison.goal is None or value is None else value >= comparison.goal,
        "cpu_ratio": ratio(
            own_cpu(cpu[comparison.denominator]) if comparison.denominator in cpu else None,
            own_cpu(cpu[comparison.numerator]) if comparison.numerator in cpu else None,
        ),
    }


def all_met(results: list[dict[str, Any]]) -> bool | None:
    """True when every result met its goal; None when any was not measured."""
    if any(result["met"] is None for result in results):
        return None
    return all(result["met"] for result in results)


def goal_fields(comparisons: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The goals' flat keys: `ratio`/`goal_met` (0.85, both like-for-like ratios), the peer's."""
    pair = [comparisons["idempotent_ratio"], comparisons["inbox_ratio"]]
    ratios = [result["ratio"] for result in pair]
    peer = comparisons["peer_ratio"]
    return {
        "ratio": None if None in ratios else min(ratios),
        "goal": GOAL,
        "goal_met": all_met(pair),
        "peer_goal": PEER_GOAL,
        "peer_goal_met": peer["met"],
    }


def result_document(
    args: argparse.Namespace, rounds: list[Round], context: dict[str, Any]
) -> dict[str, Any]:
    """Everything measured, with the medians, ratios and goals (the `--json` document)."""
    medians = cell_medians(rounds)
    best = best_cells(medians)
    cpu = {side: cpu_medians(rounds, side, prefetch) for side, (prefetch, _) in best.items()}
    comparisons = {c.key: compared(c, best, cpu) for c in COMPARISONS}
    return {
        "benchmark": "bus",
        **context,
        "messages": args.messages,
        "rounds": args.rounds,
        "warmups": args.warmups,
        "prefetch": args.prefetch,
        "publish_window": PUBLISH_WINDOW,
        "cpu_count": os.cpu_count(),
        **{key: best[side][1] if side in best else None for side, key in RATE_KEYS.items()},
        "best_prefetch": {side: prefetch for side, (prefetch, _) in best.items()},
        "medians_msgs_per_s": {
            side: {str(prefetch): rate for prefetch, rate in cells.items()}
            for side, cells in medians.items()
        },
        **{key: result["ratio"] for key, result in comparisons.items()},
        **goal_fields(comparisons),
        "comparisons": list(comparisons.values()),
        "cpu_ms_per_message": cpu,
        "servicekit_inbox_mean_batch": median_or_none(
            [
                b
                for r in rounds
                if r.counted and r.side == "servicekit" and (b := mean_batch(r)) is not None
            ]
        ),
        "round_results": [round_result(r) for r in rounds],
    }


def round_result(item: Round) -> dict[str, Any]:
    """One round as the result document gives it."""
    return {
        "side": item.side,
        "prefetch": item.prefetch,
        "counted": item.counted,
        "msgs_per_s": round(item.rate, 1),
        "seconds": round(item.seconds, 3),
        "publish_seconds": round(item.publish_seconds, 3),
        "inbox_mean_batch": mean_batch(item),
        "cpu_seconds": {
            "producer": item.producer_cpu,
            "consumer": item.consumer_cpu,
            "store": item.store_cpu,
            "broker": item.broker_cpu,
        },
    }
