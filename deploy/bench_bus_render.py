"""The bus benchmark's human report (deploy/bench_bus.py), from its result document
(deploy/bench_bus_report.py): every round, every (side, prefetch) median, each side's best,
the like-for-like comparisons and the goals."""

from __future__ import annotations

from typing import Any

from bench_bus_report import GOAL, LABELS, PEER_GOAL, per_message_ms


def cell(value: float | None, pattern: str = "{:.2f}") -> str:
    """A table cell; "-" when the value is unknown."""
    return "-" if value is None else pattern.format(value)


def round_lines(document: dict[str, Any]) -> list[str]:
    """One line a round: its rate and the CPU a message of each process."""
    lines = [
        "CPU milliseconds per message of each process (producer, consumer, store server,",
        'broker; "-": not on this machine or not used), and the messages one inbox round trip',
        "carried on average (batch).",
        f"{'side':<12}{'prefetch':>9}{'counted':>8}{'msg/s':>8}{'seconds':>9}"
        f"{'producer':>10}{'consumer':>10}{'store':>8}{'broker':>8}{'batch':>7}",
    ]
    for item in document["round_results"]:
        cpu = {k: per_message_ms(v, document["messages"]) for k, v in item["cpu_seconds"].items()}
        lines.append(
            f"{item['side']:<12}{item['prefetch']:>9}{'yes' if item['counted'] else 'warm-up':>8}"
            f"{item['msgs_per_s']:>8.0f}{item['seconds']:>9.2f}{cell(cpu['producer']):>10}"
            f"{cell(cpu['consumer']):>10}{cell(cpu['store']):>8}{cell(cpu['broker']):>8}"
            f"{cell(item['inbox_mean_batch'], '{:.1f}'):>7}"
        )
    return lines


def median_lines(document: dict[str, Any]) -> list[str]:
    """The median msg/s of every (side, prefetch); "*" marks each side's best."""
    prefetches = [str(prefetch) for prefetch in document["prefetch"]]
    lines = [
        "Median msg/s by prefetch (* each side's best: its figure)",
        f"{'side':<36}" + "".join(f"{p:>10}" for p in prefetches),
    ]
    for side, cells in document["medians_msgs_per_s"].items():
        best = str(document["best_prefetch"][side])
        row = "".join(
            f"{cell(cells.get(p), '{:.0f}') + ('*' if p == best else ' '):>10}" for p in prefetches
        )
        lines.append(f"{LABELS[side]:<36}{row}")
    return lines


def comparison_lines(document: dict[str, Any]) -> list[str]:
    """Each comparison at its sides' best prefetches, with its goal and basis."""
    lines = ["Ratios, each side at its best prefetch (CPU: the side's own processes, inverse)"]
    for item in document["comparisons"]:
        what = (
            f"{item['numerator']} (@{cell(item['numerator_prefetch'], '{}')}) /"
            f" {item['denominator']} (@{cell(item['denominator_prefetch'], '{}')})"
        )
        goal = "no goal" if item["goal"] is None else f"goal {item['goal']}"
        lines.append(
            f"  {what:<44}{cell(item['ratio']):>6}  CPU {cell(item['cpu_ratio']):>5}  ({goal};"
            f" {item['basis']})"
        )
    return lines


def verdict(name: str, met: bool | None, how: str) -> str:
    """One goal's line: met, not met, or not measured."""
    if met is None:
        return f"goal {name}: not measured ({how})"
    return f"goal {name} {'met' if met else 'NOT met'}: {how}"


def render(document: dict[str, Any]) -> str:
    """The human report: the rounds, the medians, the ratios and the goals."""
    header = (
        f"store: {document['store']}; {document['messages']} messages a round, prefetch"
        f" {', '.join(str(p) for p in document['prefetch'])}, {document['cpu_count']} cores,"
        f" load average {document['load_average']['before']} before,"
        f" {document['load_average']['after']} after"
    )
    return "\n".join(
        [
            header,
            "",
            *round_lines(document),
            "",
            *median_lines(document),
            "",
            *comparison_lines(document),
            verdict(
                f"{GOAL} (like for like)",
                document["goal_met"],
                f"idempotent / raw {cell(document['idempotent_ratio'])} and inbox / raw + dedupe"
                f" {cell(document['inbox_ratio'])}, both needed",
            ),
            verdict(
                f"{PEER_GOAL} against FastStream",
                document["peer_goal_met"],
                f"idempotent / FastStream {cell(document['peer_ratio'])}",
            ),
            "exactly-once on this machine (no goal): inbox / raw"
            f" {cell(document['inbox_raw_ratio'])}",
        ]
    )
