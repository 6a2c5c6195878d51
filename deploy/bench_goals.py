"""The harness's judgement of each benchmark's result: its figures against their goals, and the
answers that must be right.

Pure functions of the benchmarks' `--json` documents, so the unit tests can check them with
hand-made documents. A goal missed is a finding, never an error. Wrong answers are errors:
orders not completed, log records lost, requests not answered 200, erasures not `completed`
or doing no work in a data owner, the load's checks failed, or a result without the figures
it should have (nothing measured is not a figure).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MEMORY_BUDGET_MIB = 512.0
"""All services together, idle: under 0.5 GiB."""
DATA_OWNERS = ("accounts", "provisioning", "logs")
"""Services holding a subject's data in the erasure benchmark: each must erase some."""
CREATE_ORDER, DEBIT = "provisioning.create_order.v1", "accounts.debit_balance.v1"
"""An order is one query to create it and one debit of the partner's balance, never two."""
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Figure:
    """One figure of a benchmark, with its ceiling, ratio and goal when it has them."""

    benchmark: str
    name: str
    value: float | None
    unit: str = ""
    ceiling: str = ""
    ratio: float | None = None
    goal_op: str = ""
    """`>=`, `<=` or `<`; empty when the figure has no goal."""
    goal: float | None = None
    goal_on: str = "ratio"
    """Which the goal judges: `ratio` or `value`."""
    met: bool | None = None
    """None: no goal, or not measured."""

    def as_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready data."""
        return asdict(self)


def judged(figure: Figure) -> Figure:
    """The figure with `met` decided from its goal (None when it has none or no value)."""
    judged_value = figure.ratio if figure.goal_on == "ratio" else figure.value
    if not figure.goal_op or figure.goal is None or judged_value is None:
        return figure
    met = COMPARE[figure.goal_op](judged_value, figure.goal)
    return Figure(**{**asdict(figure), "met": met})


def goal_text(figure: Figure) -> str:
    """The goal as the report shows it, e.g. `ratio >= 0.85`."""
    if not figure.goal_op or figure.goal is None:
        return ""
    what = "ratio" if figure.goal_on == "ratio" else figure.unit or "value"
    return f"{what} {figure.goal_op} {figure.goal:g}"


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if not numerator or not denominator:
        return None
    return round(float(numerator) / float(denominator), 3)


def bus_figures(result: Mapping[str, Any]) -> list[Figure]:
    """Like for like, each side at its best prefetch (deploy/bench_bus_report.py): servicekit
    idempotent against raw aio-pika (no store work on either) and servicekit with the inbox
    against raw aio-pika + dedupe by hand (one lookup and one record a message on both), each
    >= 0.85 (the goal needs both); servicekit idempotent against FastStream (no inbox on
    either) >= 1.2; the inbox against plain raw and FastStream beside, without goals."""
    best = result.get("best_prefetch", {})

    def side(label: str, name: str, key: str) -> str:
        value = result.get(key)
        if value is None:
            why = result.get("faststream_not_measured", "") if name == "faststream" else ""
            return f"{label} not measured {why}".strip()
        return f"{label} {cell(value)} msg/s @{best.get(name, '-')}"

    kit, idempotent = (
        result.get("servicekit_msgs_per_s"),
        result.get("servicekit_idempotent_msgs_per_s"),
    )
    raw = side("raw aio-pika", "raw", "raw_msgs_per_s")
    dedupe = side("raw aio-pika + dedupe", "raw_dedupe", "raw_dedupe_msgs_per_s")
    peer = side("FastStream", "faststream", "faststream_msgs_per_s")
    return [
        Figure(
            "bus",
            "servicekit idempotent vs raw (same work)",
            idempotent,
            "msg/s",
            raw,
            result.get("idempotent_ratio"),
            ">=",
            0.85,
        ),
        Figure(
            "bus",
            "servicekit inbox vs raw + dedupe (same work)",
            kit,
            "msg/s",
            dedupe,
            result.get("inbox_ratio"),
            ">=",
            0.85,
        ),
        Figure(
            "bus",
            "servicekit idempotent vs FastStream (peer)",
            idempotent,
            "msg/s",
            peer,
            result.get("peer_ratio"),
            ">=",
            1.2,
        ),
        Figure(
            "bus",
            "servicekit inbox vs raw (exactly-once cost)",
            kit,
            "msg/s",
            raw,
            result.get("inbox_raw_ratio"),
        ),
        Figure(
            "bus",
            "servicekit inbox vs FastStream",
            kit,
            "msg/s",
            peer,
            result.get("inbox_peer_ratio"),
        ),
    ]


def gateway_figures(result: Mapping[str, Any]) -> list[Figure]:
    """The gateway's rate against a bare aiohttp handler's (>= 0.5), and its latency."""
    gateway, bare = result["gateway"], result["bare"]
    latency = gateway["latency_ms"]
    return [
        Figure(
            "gateway",
            "GET /v1/packages, authenticated",
            gateway["requests_per_second"],
            "req/s",
            ceiling=f"bare aiohttp {cell(bare['requests_per_second'])} req/s",
            ratio=result["ratio"],
            goal_op=">=",
            goal=0.5,
        ),
        Figure("gateway", "p50 latency", latency["p50"], "ms"),
        Figure("gateway", "p99 latency", latency["p99"], "ms"),
    ]


def logs_figures(result: Mapping[str, Any]) -> list[Figure]:
    """Ingest through the bus against raw sealed `insert_many` (>= 0.6)."""
    raw = result["raw_sealed_records_per_second"]
    return [
        Figure(
            "logs",
            "ingest through the bus",
            result["through_bus_records_per_second"],
            "records/s",
            ceiling=f"raw insert_many {cell(raw)} records/s",
            ratio=result["ratio_to_raw_sealed"],
            goal_op=">=",
            goal=0.6,
        )
    ]


def orders_figures(result: Mapping[str, Any]) -> list[Figure]:
    """Orders end to end: throughput (ceiling: what the bus allows) and latency; no goal."""
    orders, at_most = result["orders"], result["bus_ceiling"].get("orders_per_second_at_most")
    return [
        Figure(
            "orders",
            "orders end to end",
            orders["orders_per_second"],
            "orders/s",
            ceiling=f"bus allows {cell(at_most)} orders/s",
            ratio=_ratio(orders["orders_per_second"], at_most),
        ),
        Figure("orders", "p50 latency", orders["latency_ms"]["p50"], "ms"),
        Figure("orders", "p99 latency", orders["latency_ms"]["p99"], "ms"),
    ]


def _at_most(benchmark: str, name: str, value: float, unit: str, goal: float | None) -> Figure:
    """A figure whose own value has an upper bound (none when `goal` is None)."""
    if goal is None:
        return Figure(benchmark, name, value, unit)
    return Figure(benchmark, name, value, unit, goal_op="<=", goal=goal, goal_on="value")


def privacy_figures(result: Mapping[str, Any]) -> list[Figure]:
    """Erasures: p50 <= 0.1 s, bursts (100 within 3.3 s; every burst none failing), and the
    cost at few against many log records (<= 2x)."""
    single, flat = result["single"], result["flatness"]
    figures = [
        _at_most("privacy", "erasure p50", single["latency_s"]["p50"], "s", 0.1),
        _at_most("privacy", "erasure p99", single["latency_s"]["p99"], "s", None),
    ]
    for burst in result["bursts"]:
        size = burst["size"]
        figures += [
            _at_most("privacy", f"{size} at once: failed", burst["errors"], "requests", 0),
            _at_most(
                "privacy", f"{size} at once: wall", burst["wall_s"], "s", burst["goal_wall_s"]
            ),
        ]
    levels = flat["levels"]
    if len(levels) > 1:
        few, many = levels[0], levels[-1]
        figures.append(
            Figure(
                "privacy",
                f"erasure beside {many['log_records_held']:,} log records",
                many["median_s"],
                "s",
                ceiling=f"{few['median_s']} s beside {few['log_records_held']:,}",
                ratio=flat["ratio"],
                goal_op="<=",
                goal=2.0,
            )
        )
    return figures


def memory_figures(result: Mapping[str, Any]) -> list[Figure]:
    """All services idle under 0.5 GiB; each bounded under load."""
    total = result["total_idle_mib"]
    unbounded = [name for name, s in result["services"].items() if not s["bounded"]]
    return [
        Figure(
            "memory",
            "all services idle (RSS)",
            total,
            "MiB",
            ceiling=f"budget {MEMORY_BUDGET_MIB:g} MiB",
            ratio=_ratio(total, MEMORY_BUDGET_MIB),
            goal_op="<",
            goal=1.0,
        ),
        Figure("memory", "all services peak under load", result["total_peak_mib"], "MiB"),
        Figure(
            "memory",
            "services not bounded under load",
            len(unbounded),
            "services",
            ceiling=", ".join(unbounded),
            goal_op="<=",
            goal=0,
            goal_on="value",
        ),
    ]


FIGURES: dict[str, Callable[[Mapping[str, Any]], list[Figure]]] = {
    "bus": bus_figures,
    "gateway": gateway_figures,
    "logs": logs_figures,
    "orders": orders_figures,
    "privacy": privacy_figures,
    "memory": memory_figures,
}


def figures_of(benchmark: str, result: Mapping[str, Any]) -> list[Figure]:
    """The benchmark's figures, each judged against its goal."""
    return [judged(figure) for figure in FIGURES[benchmark](result)]


def _orders_wrong(result: Mapping[str, Any]) -> list[str]:
    orders, bus = result["orders"], result["bus"]
    problems = []
    if orders["not_completed"] or orders["completed_201"] != orders["orders"]:
        problems.append(f"{orders['not_completed']} orders not completed with 201")
    if not orders["orders"] or bus["delivered_per_order"] <= 1:
        problems.append(f"no bus traffic counted for {orders['orders']} orders")
    by_type = bus["by_type"]
    queried = by_type.get(CREATE_ORDER, {}).get("queries_per_order")
    debited = by_type.get(DEBIT, {}).get("consumed_per_order")
    if (queried, debited) != (1.0, 1.0):
        problems.append(f"per order {queried} {CREATE_ORDER} queries, {debited} {DEBIT} (not 1)")
    return problems


def _logs_wrong(result: Mapping[str, Any]) -> list[str]:
    if result["stored"] != result["stored_expected"]:
        return [f"stored {result['stored']}, expected {result['stored_expected']}"]
    return []


def _gateway_wrong(result: Mapping[str, Any]) -> list[str]:
    problems = [f"{result['errors']} requests not answered 200"] if result["errors"] else []
    idle = [side for side in ("gateway", "bare") if not result[side]["requests_per_second"]]
    return problems + [f"no request answered on the {side} side" for side in idle]


def _privacy_wrong(result: Mapping[str, Any]) -> list[str]:
    problems = [f"{result['errors']} erasures did not end completed"] if result["errors"] else []
    work = result["single"].get("work_per_erasure", {})
    idle = [owner for owner in DATA_OWNERS if not work.get(owner)]
    if idle:
        problems.append(f"an erasure erased nothing in {', '.join(idle)}")
    short = [
        level["log_records_target"]
        for level in result["flatness"]["levels"]
        if level["log_records_held"] < level["log_records_target"]
    ]
    if short:
        problems.append(f"the logs store was not filled up to {short}")
    return problems


def _memory_wrong(result: Mapping[str, Any]) -> list[str]:
    failed = result["load"]["failed_checks"]
    return [f"the load's checks failed: {failed}"] if failed else []


WRONG: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "orders": _orders_wrong,
    "logs": _logs_wrong,
    "gateway": _gateway_wrong,
    "privacy": _privacy_wrong,
    "memory": _memory_wrong,
}


def wrong_answers(benchmark: str, result: Mapping[str, Any]) -> list[str]:
    """What the benchmark got wrong (not slow: wrong); empty when every answer was right."""
    check = WRONG.get(benchmark)
    return check(result) if check else []


def cell(value: Any) -> str:
    """A number as the report shows it: 3 significant digits below 10, else whole."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)
