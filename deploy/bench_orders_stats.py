"""What `bench_orders` measures, summed up: latencies, the steps of an order, the bus traffic.

Everything here is pure: it turns the samples of a run and two scrapes of the services'
Prometheus metrics into numbers (a JSON-ready dict), and that dict into the printed report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

STEPS = ("created", "funds_reserved", "provider_done", "completed")
"""The steps of an order that completes, in order."""

PHASES = (
    ("sent → created", "sent", "created"),
    ("created → funds_reserved", "created", "funds_reserved"),
    ("funds_reserved → provider_done", "funds_reserved", "provider_done"),
    ("provider_done → completed", "provider_done", "completed"),
    ("completed → answer received", "completed", "received"),
)
"""Stretches of an order's life, from its recorded steps and the client's own clock."""

QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
ERROR_EXAMPLES = 5


@dataclass(frozen=True)
class Sample:
    """One `POST /v1/orders` as the client saw it."""

    status: int = 0
    seconds: float = 0.0
    sent_at: float = 0.0
    received_at: float = 0.0
    order_status: str | None = None
    steps: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    order_id: str | None = None

    @property
    def completed(self) -> bool:
        """Answered 201 with a completed order."""
        return self.status == 201 and self.order_status == "completed"


def percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def distribution_ms(seconds: Iterable[float]) -> dict[str, float]:
    """p50, p95, p99, max and mean of durations, in milliseconds."""
    ordered = sorted(value * 1000 for value in seconds)
    summary = {name: round(percentile(ordered, share), 1) for name, share in QUANTILES}
    summary["max"] = round(ordered[-1], 1) if ordered else 0.0
    summary["mean"] = round(sum(ordered) / len(ordered), 1) if ordered else 0.0
    return summary


def summarize_orders(samples: Sequence[Sample], seconds: float) -> dict[str, Any]:
    """Throughput, latency and outcomes of the counted orders."""
    statuses = Counter(str(sample.status) for sample in samples)
    distinct = dict.fromkeys(f"{s.status}: {s.error}" for s in samples if s.error)
    errors = list(distinct)[:ERROR_EXAMPLES]
    return {
        "orders": len(samples),
        "seconds": round(seconds, 3),
        "orders_per_second": round(len(samples) / seconds, 1) if seconds else 0.0,
        "completed_201": sum(1 for sample in samples if sample.completed),
        "answers": dict(sorted(statuses.items())),
        "not_completed": sum(1 for sample in samples if not sample.completed),
        "error_examples": errors,
        "latency_ms": distribution_ms(sample.seconds for sample in samples),
        "phases_ms": phases_ms(samples),
    }


def phases_ms(samples: Sequence[Sample]) -> dict[str, dict[str, float]]:
    """How long each stretch of a completed order took (from its recorded steps); empty when
    no order completed."""
    phases: dict[str, dict[str, float]] = {}
    timed = [
        {**sample.steps, "sent": sample.sent_at, "received": sample.received_at}
        for sample in samples
        if sample.completed and all(step in sample.steps for step in STEPS)
    ]
    if not timed:
        return phases
    for label, start, end in PHASES:
        phases[label] = distribution_ms(
            max(0.0, moments[end] - moments[start]) for moments in timed
        )
    return phases


# The bus traffic, from the services' own metrics scraped before and after the counted orders.

Scrape = dict[tuple[str, str, str], float]
"""(metric sample name, message type, outcome or "") → value, summed over services."""


def parse_metrics(texts: Iterable[str]) -> Scrape:
    """The bus samples of some /metrics pages, summed over services."""
    wanted = {
        "bus_messages_published_total",
        "bus_messages_consumed_total",
        "bus_handler_seconds_count",
        "bus_handler_seconds_sum",
    }
    totals: Scrape = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in wanted:
                    key = (sample.name, sample.labels["type"], sample.labels.get("outcome", ""))
                    totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def difference(before: Scrape, after: Scrape) -> Scrape:
    """What was counted between two scrapes."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def _by_type(counted: Scrape, name: str, outcome: str | None = None) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (sample, kind, got), value in counted.items():
        if sample == name and (outcome is None or got == outcome) and value:
            totals[kind] = totals.get(kind, 0.0) + value
    return totals


def bus_traffic(counted: Scrape, orders: int) -> dict[str, Any]:
    """Messages per order by type, and the mean handler time of each type.

    A query answered is two messages (request and reply over direct reply-to); an event or a
    command is one publish, delivered to each queue bound to it (possibly none).
    """
    published = _by_type(counted, "bus_messages_published_total")
    consumed = _by_type(counted, "bus_messages_consumed_total")
    handled_count = _by_type(counted, "bus_handler_seconds_count")
    handled_sum = _by_type(counted, "bus_handler_seconds_sum")
    queries = {kind: n for kind, n in handled_count.items() if kind not in consumed}
    unusual = {
        outcome: sum(_by_type(counted, "bus_messages_consumed_total", outcome).values())
        for outcome in ("duplicate", "retried", "dead_lettered")
    }
    per = max(orders, 1)
    query_messages = 2 * sum(queries.values())
    types = sorted({*published, *consumed, *handled_count})
    return {
        "published_per_order": round((sum(published.values()) + query_messages) / per, 2),
        "delivered_per_order": round((sum(consumed.values()) + query_messages) / per, 2),
        "unusual_consumptions": unusual,
        "by_type": {
            kind: {
                "published_per_order": round(published.get(kind, 0.0) / per, 2),
                "consumed_per_order": round(consumed.get(kind, 0.0) / per, 2),
                "queries_per_order": round(queries.get(kind, 0.0) / per, 2),
                "handler_ms_mean": round(1000 * handled_sum.get(kind, 0.0) / handled_count[kind], 2)
                if handled_count.get(kind)
                else None,
            }
            for kind in types
        },
    }


# The printed report.


def _line(label: str, values: Mapping[str, float]) -> str:
    cells = "".join(f"{name} {value:>8.1f}  " for name, value in values.items())
    return f"  {label:<32}{cells}"


def render(result: Mapping[str, Any]) -> str:
    """The report as text, from the dict `--json` prints."""
    orders, bus, ceiling = result["orders"], result["bus"], result["bus_ceiling"]
    lines = [
        f"orders: {orders['orders']} with {result['concurrency']} concurrent clients in"
        f" {orders['seconds']:.1f} s: {orders['orders_per_second']:.1f} orders/s",
        f"  answers by status: {orders['answers']};"
        f" completed with 201: {orders['completed_201']}, NOT completed: {orders['not_completed']}",
        *(f"  e.g. {example}" for example in orders["error_examples"]),
        "latency, request sent → answer received (ms):",
        _line("", orders["latency_ms"]),
        "where an order's time goes (ms; from its recorded steps and the client's clock):",
        *(_line(label, values) for label, values in orders["phases_ms"].items()),
        *([] if orders["phases_ms"] else ["  (no order completed)"]),
        f"bus: {bus['published_per_order']} messages published and {bus['delivered_per_order']}"
        " delivered per order (a query counts 2: request and reply)",
        f"  {'type':<40}{'published':>10}{'consumed':>10}{'queries':>9}{'handler ms':>12}",
        *(
            f"  {kind:<40}{row['published_per_order']:>10}{row['consumed_per_order']:>10}"
            f"{row['queries_per_order']:>9}{_ms(row['handler_ms_mean']):>12}"
            for kind, row in bus["by_type"].items()
        ),
        f"  consumptions other than handled: {bus['unusual_consumptions']}",
        "bus ceiling, same run (one round each, platform idle):",
        f"  raw aio-pika  {ceiling['raw_messages_per_second']:>8.0f} msg/s",
        f"  servicekit    {ceiling['servicekit_messages_per_second']:>8.0f} msg/s"
        f"  → at {bus['delivered_per_order']} deliveries an order, at most"
        f" {ceiling['orders_per_second_at_most']:.0f} orders/s",
        "CPU seconds used during the counted orders (share of the wall time):",
        *(
            f"  {name:<14}{used:>8.2f}  ({used / orders['seconds']:.0%})"
            for name, used in result["cpu_seconds"].items()
        ),
        f"machine: {result['cores']} cores; load average before {result['load_before']},"
        f" after {result['load_after']}; store {result['store']}",
    ]
    if result.get("profile"):
        lines += [f"cProfile of {result['profiled']}, the whole run:", result["profile"]]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
