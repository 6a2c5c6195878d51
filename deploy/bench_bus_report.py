"""The bus benchmark's result (deploy/bench_bus.py): medians, ratios, goals, the report.

Throughput ratios hold only on a quiet machine; the CPU milliseconds a message costs each
process do not depend on the load, so the document gives them too, and `cpu_ratio`: raw's CPU a
message over each side's, counting the side's own processes (producer, consumer, store server)
and leaving out the broker, which other work on the machine shares.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from typing import Any

from bench_bus_rounds import Round, Side

from servicekit.bus import PUBLISH_WINDOW

GOAL = 0.85
"""servicekit's end-to-end throughput as a share of raw aio-pika's (the issue's goal)."""

PEER_GOAL = 1.2
"""servicekit's end-to-end throughput as a multiple of FastStream's (the issue's goal)."""

SIDES: tuple[Side, ...] = ("raw", "servicekit", "idempotent", "faststream")
LABELS: dict[Side, str] = {
    "raw": "raw aio-pika",
    "servicekit": "servicekit (inbox)",
    "idempotent": "servicekit (idempotent, no inbox)",
    "faststream": "FastStream",
}

RATE_KEYS: dict[Side, str] = {
    "raw": "raw_msgs_per_s",
    "servicekit": "servicekit_msgs_per_s",
    "idempotent": "servicekit_idempotent_msgs_per_s",
    "faststream": "faststream_msgs_per_s",
}
"""Each side's median rate in the result document."""


def per_message_ms(value: float | None, messages: int) -> float | None:
    """CPU seconds of a round as milliseconds per message."""
    return None if value is None else round(1000 * value / messages, 3)


def median_or_none(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def cpu_medians(counted: list[Round], side: Side) -> dict[str, float | None]:
    """Per process, the median CPU milliseconds per message of a side's counted rounds."""
    mine = [r for r in counted if r.side == side]

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


def mean_batch(item: Round) -> float | None:
    """How many messages one inbox round trip carried on average (lookups and records)."""
    if not item.inbox_round_trips:
        return None
    return round(2 * item.messages / item.inbox_round_trips, 2)


def own_cpu(counted: list[Round], side: Side) -> float | None:
    """The median CPU milliseconds a message costs the side's own processes (producer, consumer,
    store server), leaving out the broker, which other work on the machine shares."""
    medians = cpu_medians(counted, side)
    parts = [medians["producer"], medians["consumer"]]
    if any(part is None for part in parts):
        return None
    return sum(part or 0.0 for part in [*parts, medians["store"]])


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, rounded; None when either is missing."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def result_document(
    args: argparse.Namespace, rounds: list[Round], sides: list[Side], context: dict[str, Any]
) -> dict[str, Any]:
    """Everything measured, with the medians, ratios and goals (the `--json` document)."""
    counted = rounds[len(sides) * args.warmups :]
    rates = {side: median_or_none([r.rate for r in counted if r.side == side]) for side in SIDES}
    raw, kit, idem, peer = (rates[s] for s in SIDES)
    return {
        "benchmark": "bus",
        **context,
        "messages": args.messages,
        "rounds": args.rounds,
        "warmups": args.warmups,
        "prefetch": args.prefetch,
        "publish_window": PUBLISH_WINDOW,
        "cpu_count": os.cpu_count(),
        "raw_msgs_per_s": raw,
        "servicekit_msgs_per_s": kit,
        "ratio": ratio(kit, raw),
        "goal": GOAL,
        "goal_met": None if kit is None or raw is None else kit / raw >= GOAL,
        "servicekit_idempotent_msgs_per_s": idem,
        "idempotent_ratio": ratio(idem, raw),
        "faststream_msgs_per_s": peer,
        "peer_ratio": ratio(kit, peer),
        "peer_goal": PEER_GOAL,
        "peer_goal_met": None if kit is None or peer is None else kit / peer >= PEER_GOAL,
        "idempotent_peer_ratio": ratio(idem, peer),
        "cpu_ratio": {
            side: ratio(own_cpu(counted, "raw"), own_cpu(counted, side)) for side in sides
        },
        "servicekit_inbox_mean_batch": median_or_none(
            [b for r in counted if r.side == "servicekit" and (b := mean_batch(r)) is not None]
        ),
        "cpu_ms_per_message": {side: cpu_medians(counted, side) for side in sides},
        "round_results": [
            {
                "side": r.side,
                "counted": index >= len(sides) * args.warmups,
                "msgs_per_s": round(r.rate, 1),
                "seconds": round(r.seconds, 3),
                "publish_seconds": round(r.publish_seconds, 3),
                "inbox_mean_batch": mean_batch(r),
                "cpu_seconds": {
                    "producer": r.producer_cpu,
                    "consumer": r.consumer_cpu,
                    "store": r.store_cpu,
                    "broker": r.broker_cpu,
                },
            }
            for index, r in enumerate(rounds)
        ],
    }


def cell(value: float | None, pattern: str = "{:.2f}") -> str:
    """A table cell; "-" when the value is unknown."""
    return "-" if value is None else pattern.format(value)


def render(document: dict[str, Any]) -> str:
    """The human report: each round, CPU per message, the medians, the ratios and the goals."""
    lines = [
        f"store: {document['store']}; {document['messages']} messages a round, prefetch"
        f" {document['prefetch']}, {document['cpu_count']} cores, load average"
        f" {document['load_average']['before']} before, {document['load_average']['after']} after",
        "",
        "CPU milliseconds per message of each process (producer, consumer, store server,",
        'broker; "-": not on this machine or not used), and the messages one inbox round trip',
        "carried on average (batch).",
        f"{'side':<12}{'counted':>8}{'msg/s':>8}{'seconds':>9}"
        f"{'producer':>10}{'consumer':>10}{'store':>8}{'broker':>8}{'batch':>7}",
    ]
    for item in document["round_results"]:
        cpu = {k: per_message_ms(v, document["messages"]) for k, v in item["cpu_seconds"].items()}
        lines.append(
            f"{item['side']:<12}{'yes' if item['counted'] else 'warm-up':>8}"
            f"{item['msgs_per_s']:>8.0f}{item['seconds']:>9.2f}{cell(cpu['producer']):>10}"
            f"{cell(cpu['consumer']):>10}{cell(cpu['store']):>8}{cell(cpu['broker']):>8}"
            f"{cell(item['inbox_mean_batch'], '{:.1f}'):>7}"
        )
    lines.append("")
    for key, name in RATE_KEYS.items():
        lines.append(f"{LABELS[key] + ', median:':<42}{cell(document[name], '{:7.0f}')} msg/s")
    lines += [
        f"servicekit (inbox) / raw:                 {cell(document['ratio'])}  (goal {GOAL})",
        f"servicekit (idempotent) / raw:            {cell(document['idempotent_ratio'])}",
        f"servicekit (inbox) / FastStream:          {cell(document['peer_ratio'])}"
        f"  (goal {PEER_GOAL})",
        f"servicekit (idempotent) / FastStream:     {cell(document['idempotent_peer_ratio'])}",
        "CPU a message in the side's own processes, raw / side (load-independent): "
        + ", ".join(f"{side} {cell(value)}" for side, value in document["cpu_ratio"].items()),
        verdict("raw aio-pika", document["goal_met"], document["ratio"], GOAL),
        verdict("FastStream", document["peer_goal_met"], document["peer_ratio"], PEER_GOAL),
    ]
    return "\n".join(lines)


def verdict(against: str, met: bool | None, value: float | None, goal: float) -> str:
    """One goal's line: met, not met, or not measured."""
    if met is None:
        return f"goal against {against}: not measured"
    state = "met" if met else "NOT met"
    return f"goal against {against} {state}: servicekit (inbox) {value} (goal {goal})"
