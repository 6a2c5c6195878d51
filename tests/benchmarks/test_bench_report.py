"""The benchmark harness's own logic (deploy/bench.py and its modules), without running any
benchmark: goals judged, wrong answers found, the generated page written without touching the
hand-written text, results read from a benchmark's output, memory growth judged.
`make bench-quick` runs every benchmark end to end (CI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy"))

from bench import judge, names  # noqa: E402
from bench_goals import Figure, figures_of, judged, wrong_answers  # noqa: E402
from bench_memory import growth  # noqa: E402
from bench_report import BEGIN, END, render_markdown, with_generated  # noqa: E402
from bench_runs import Outcome, result_of  # noqa: E402


def gateway_result(ratio: float = 0.6, errors: int = 0) -> dict[str, Any]:
    """A gateway benchmark's result, reduced to what the harness reads."""
    side = {"requests_per_second": 1000.0, "latency_ms": {"p50": 4.0, "p99": 20.0}}
    bare = {"requests_per_second": round(1000.0 / ratio, 1), "latency_ms": {}}
    return {"gateway": side, "bare": bare, "ratio": ratio, "errors": errors, "namespace": "b1"}


def orders_result(not_completed: int = 0, debits: float = 1.0) -> dict[str, Any]:
    """An orders benchmark's result of 20 orders."""
    orders = {"orders": 20, "completed_201": 20 - not_completed, "not_completed": not_completed}
    by_type = {
        "provisioning.create_order.v1": {"queries_per_order": 1.0},
        "accounts.debit_balance.v1": {"consumed_per_order": debits},
    }
    return {"orders": orders, "bus": {"delivered_per_order": 9.0, "by_type": by_type}}


def privacy_result(burst_wall: float, burst_errors: int = 0, errors: int = 0) -> dict[str, Any]:
    """A privacy benchmark's result with one burst of 100 and two flatness levels."""
    work = {owner: [f"{owner}_data: 1 deleted"] for owner in ("accounts", "provisioning", "logs")}
    return {
        "single": {"latency_s": {"p50": 0.08, "p99": 0.2}, "work_per_erasure": work},
        "bursts": [
            {"size": 100, "wall_s": burst_wall, "errors": burst_errors, "goal_wall_s": 3.3},
            {"size": 1000, "wall_s": 30.0, "errors": 0, "goal_wall_s": None},
        ],
        "flatness": {
            "levels": [
                {"log_records_target": 10_000, "log_records_held": 10_050, "median_s": 0.1},
                {"log_records_target": 10**6, "log_records_held": 1_000_050, "median_s": 0.25},
            ],
            "ratio": 2.5,
        },
        "errors": errors,
    }


def memory_result(idle: float, bounded: bool, failed_checks: dict[str, str]) -> dict[str, Any]:
    """A memory benchmark's result of two services."""
    services = {
        "accounts": {"bounded": True},
        "logs": {"bounded": bounded},
    }
    return {
        "services": services,
        "total_idle_mib": idle,
        "total_peak_mib": idle + 40,
        "load": {"failed_checks": failed_checks},
    }


def by_name(figures: list[Figure]) -> dict[str, Figure]:
    """Figures by their name."""
    return {figure.name: figure for figure in figures}


def test_a_lower_bound_on_the_ratio_is_met_at_the_goal_and_missed_below() -> None:
    """`ratio >= goal` is met when equal and missed just below."""
    at_goal = Figure("x", "f", 1.0, ratio=0.85, goal_op=">=", goal=0.85)
    below = Figure("x", "f", 1.0, ratio=0.849, goal_op=">=", goal=0.85)
    assert (judged(at_goal).met, judged(below).met) == (True, False)


def test_an_upper_bound_on_the_value_judges_the_value_not_the_ratio() -> None:
    """`value <= goal` looks at the figure's own value."""
    figure = Figure("x", "f", 0.2, ratio=0.01, goal_op="<=", goal=0.1, goal_on="value")
    assert judged(figure).met is False


def test_a_figure_without_goal_or_without_value_is_not_judged() -> None:
    """No goal, or nothing measured, leaves `met` None (neither met nor missed)."""
    assert judged(Figure("x", "f", 3.0, ratio=0.5)).met is None
    assert judged(Figure("x", "f", None, ratio=None, goal_op=">=", goal=1.2)).met is None


def test_the_bus_peer_not_measured_is_reported_as_such() -> None:
    """Without FastStream's figure the peer goal is neither met nor missed, and says why."""
    result = {
        "servicekit_idempotent_msgs_per_s": 1800.0,
        "idempotent_ratio": 0.9,
        "faststream_not_measured": "no venv",
    }
    figures = by_name(figures_of("bus", result))
    assert figures["servicekit idempotent vs raw (same work)"].met is True
    assert figures["servicekit idempotent vs FastStream (peer)"].met is None
    assert "not measured no venv" in figures["servicekit idempotent vs FastStream (peer)"].ceiling


def test_the_bus_goals_are_judged_like_for_like() -> None:
    """Idempotent against raw and the inbox against raw + dedupe are judged against 0.85 each,
    idempotent against FastStream against 1.2; the inbox against plain raw has no goal."""
    result = {
        "raw_msgs_per_s": 2000.0,
        "raw_dedupe_msgs_per_s": 600.0,
        "servicekit_msgs_per_s": 480.0,
        "servicekit_idempotent_msgs_per_s": 2100.0,
        "faststream_msgs_per_s": 1500.0,
        "best_prefetch": {"raw": 32, "raw_dedupe": 128},
        "idempotent_ratio": 1.05,
        "inbox_ratio": 0.8,
        "peer_ratio": 1.4,
        "inbox_raw_ratio": 0.24,
    }
    figures = by_name(figures_of("bus", result))
    assert figures["servicekit idempotent vs raw (same work)"].met is True
    assert figures["servicekit inbox vs raw + dedupe (same work)"].met is False
    assert figures["servicekit inbox vs raw + dedupe (same work)"].ceiling.endswith("@128")
    assert figures["servicekit idempotent vs FastStream (peer)"].met is True
    assert figures["servicekit inbox vs raw (exactly-once cost)"].met is None


@pytest.mark.parametrize(("ratio", "met"), [(0.5, True), (0.49, False)])
def test_the_gateway_goal_is_half_the_bare_rate(ratio: float, met: bool) -> None:
    """The gateway meets its goal at 0.5 of the bare handler's rate, with p50/p99 beside."""
    figures = by_name(figures_of("gateway", gateway_result(ratio)))
    assert figures["GET /v1/packages, authenticated"].met is met
    assert (figures["p50 latency"].value, figures["p99 latency"].value) == (4.0, 20.0)


def test_erasure_goals_are_judged_one_by_one() -> None:
    """p50 within 0.1 s met; 100 at once in 4 s missed; 1,000 at once only must not fail;
    2.5x the cost at a million records missed."""
    figures = by_name(figures_of("privacy", privacy_result(burst_wall=4.0)))
    assert figures["erasure p50"].met is True
    assert figures["100 at once: wall"].met is False
    assert figures["100 at once: failed"].met is True
    assert figures["1000 at once: wall"].met is None
    assert figures["1000 at once: failed"].met is True
    assert figures["erasure beside 1,000,050 log records"].met is False


def test_failing_erasures_in_a_burst_miss_its_goal() -> None:
    """A burst with failed requests misses its goal even when fast enough."""
    figures = by_name(figures_of("privacy", privacy_result(burst_wall=2.0, burst_errors=3)))
    assert figures["100 at once: failed"].met is False
    assert figures["100 at once: wall"].met is True


def test_memory_goals_are_the_idle_budget_and_every_service_bounded() -> None:
    """600 MiB idle misses the 512 MiB budget; a service not bounded is named and missed."""
    figures = by_name(figures_of("memory", memory_result(600.0, bounded=False, failed_checks={})))
    assert figures["all services idle (RSS)"].met is False
    assert figures["services not bounded under load"].met is False
    assert figures["services not bounded under load"].ceiling == "logs"
    fine = by_name(figures_of("memory", memory_result(400.0, bounded=True, failed_checks={})))
    assert fine["all services idle (RSS)"].met is True
    assert fine["services not bounded under load"].met is True


@pytest.mark.parametrize(
    ("benchmark", "result"),
    [
        ("orders", orders_result(not_completed=2)),
        ("orders", orders_result(debits=1.05)),
        ("logs", {"stored": {"api_requests": 9}, "stored_expected": {"api_requests": 10}}),
        ("gateway", gateway_result(errors=1)),
        ("privacy", privacy_result(burst_wall=1.0, errors=1)),
        ("memory", memory_result(300.0, True, {"queues_drained": "left 3"})),
    ],
)
def test_wrong_answers_are_found(benchmark: str, result: dict[str, Any]) -> None:
    """Orders not completed or debited twice, records lost, requests failed, erasures failed,
    the load's checks failed: each is a wrong answer."""
    assert wrong_answers(benchmark, result)


def test_right_answers_and_slow_figures_are_not_wrong() -> None:
    """Missed goals are no wrong answers."""
    assert wrong_answers("gateway", gateway_result(ratio=0.1)) == []
    assert wrong_answers("privacy", privacy_result(burst_wall=60.0)) == []
    assert wrong_answers("orders", orders_result()) == []


def test_an_erasure_that_erased_nothing_in_a_data_owner_is_wrong() -> None:
    """Every data owner must erase something of the subject, or the erasure did not reach it."""
    result = privacy_result(burst_wall=1.0)
    result["single"]["work_per_erasure"]["provisioning"] = []
    assert wrong_answers("privacy", result) == ["an erasure erased nothing in provisioning"]


def test_a_run_with_wrong_answers_is_not_ok_and_keeps_its_figures() -> None:
    """The harness marks a run whose answers were wrong, says why, and still shows figures."""
    entry = judge("gateway", Outcome("ok", 5.0, 0, result=gateway_result(errors=2)))
    assert entry["status"] == "wrong answers"
    assert "2 requests not answered 200" in entry["why"]
    assert entry["figures"]


def test_a_result_of_another_shape_fails_the_run() -> None:
    """A result missing what the harness reads is a failed run, not a crash of the harness."""
    entry = judge("orders", Outcome("ok", 5.0, 0, result={"unexpected": 1}))
    assert entry["status"] == "failed"
    assert "unreadable result" in entry["why"]


def test_the_generated_part_replaces_only_the_text_between_the_markers() -> None:
    """Hand-written text before and after the markers is kept byte for byte."""
    page = f"# Performance\nintro\n\n{BEGIN}\nold table\n{END}\n\n## Profiling\nbefore/after\n"
    written = with_generated(page, "new table")
    assert written == (
        f"# Performance\nintro\n\n{BEGIN}\nnew table\n{END}\n\n## Profiling\nbefore/after\n"
    )
    assert with_generated(written, "new table") == written


def test_a_page_without_markers_gets_them_appended() -> None:
    """The generated part is added at the end of a page that has no markers yet."""
    written = with_generated("# Notes\n", "table")
    assert written == f"# Notes\n\n{BEGIN}\ntable\n{END}\n"


def test_the_markdown_shows_figures_goals_and_failures() -> None:
    """The generated tables show the machine, each figure with its goal and verdict, and the
    benchmarks that failed with why."""
    figures = [f.as_dict() for f in figures_of("gateway", gateway_result(0.3))]
    document = {
        "date": "2026-11-27 10:00 UTC",
        "quick": False,
        "wall_s": 100.0,
        "machine": {
            "cores": 2,
            "load_before": "1.0",
            "load_after": "2.0",
            "store": "nx",
            "rabbitmq": "RabbitMQ 3.10.8",
            "python": "3.11",
        },
        "benchmarks": {
            "gateway": {
                "status": "ok",
                "seconds": 30.0,
                "cpu_s": 20.0,
                "options": ["--seconds", "1"],
            },
            "orders": {"status": "failed", "why": "exit code 1", "seconds": 9.0, "cpu_s": 4.0},
        },
        "figures": figures,
    }
    text = render_markdown(document)
    assert "| RabbitMQ | RabbitMQ 3.10.8 |" in text
    assert "| gateway | GET /v1/packages, authenticated | 1,000 req/s |" in text
    assert "| ratio >= 0.5 | **NOT met** |" in text
    assert "**orders: failed**: exit code 1" in text
    assert "| gateway | ok | 30 | 20 | `--seconds 1` |" in text


def test_the_result_is_read_after_progress_printed_on_stdout() -> None:
    """Lines a benchmark printed before its JSON document are skipped; no document is None."""
    assert result_of('store: nx\n{\n  "ratio": 0.9\n}\n') == {"ratio": 0.9}
    assert result_of("store: nx\nratio 0.9\n") is None


def test_unknown_benchmark_names_are_refused() -> None:
    """`--only` takes known names only."""
    assert names("bus, memory") == ["bus", "memory"]
    with pytest.raises(argparse.ArgumentTypeError):
        names("bus,disk")


def test_memory_that_keeps_growing_in_the_second_half_is_not_bounded() -> None:
    """A steady climb (a leak) is not bounded; a plateau reached early with noise is."""
    leak = [(float(t), 100.0 + t) for t in range(0, 61)]
    plateau = [(float(t), min(100.0 + t, 120.0) + (t % 2)) for t in range(0, 61)]
    assert growth(leak, 60.0, 10.0)["bounded"] is False
    assert growth(plateau, 60.0, 10.0)["bounded"] is True
    assert growth(leak, 60.0, 10.0)["second_half_slope_mib_per_min"] == pytest.approx(60.0)


def test_the_markdown_shows_each_process_memory_with_the_simulator_apart() -> None:
    """The memory table lists each service, the simulator as not counted, and the totals."""
    process = {
        "idle": {"rss_mib": 80.0, "pss_mib": 56.0, "uss_mib": 55.0},
        "peak_mib": 82.0,
        "after_rss_mib": 81.0,
        "second_half_growth_mib": 0.3,
        "allowed_growth_mib": 8.0,
        "bounded": True,
    }
    result = {
        "services": {"accounts": process},
        "simulator": {**process, "bounded": False},
        "total_idle_mib": 80.0,
        "total_idle_pss_mib": 56.0,
        "total_idle_uss_mib": 55.0,
        "total_peak_mib": 82.0,
        "load": {"calls": 100, "seconds": 20.0, "achieved_rate": 5.0, "errors": 0},
    }
    document = {
        "date": "2026-11-27 10:00 UTC",
        "quick": True,
        "wall_s": 60.0,
        "machine": dict.fromkeys(
            ("cores", "load_before", "load_after", "store", "rabbitmq", "python"), "?"
        ),
        "benchmarks": {"memory": {"status": "ok", "seconds": 60.0, "result": result}},
        "figures": [],
    }
    text = render_markdown(document)
    assert "| accounts | 80.0 | 56.0 | 55.0 | 82.0 | 81.0 | 0.3 (8.0) | yes |" in text
    assert "| providersim (not ours, not counted) |" in text
    assert "| **all services** | 80.0 | 56.0 | 55.0 | 82.0 |" in text
