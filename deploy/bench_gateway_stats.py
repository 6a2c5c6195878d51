"""What `bench_gateway` measures, summed up: each side's rate, latency and errors, the ratio.

Everything here is pure: a load generator's `Tally` of one side becomes numbers (a JSON-ready
dict), and the whole result dict becomes the printed report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench_orders_stats import distribution_ms

GOAL = 0.5
"""The gateway's requests per second as a share of the bare handler's (the issue's goal)."""
ERROR_EXAMPLES = 5
SIDES = (("gateway", "through the gateway"), ("bare", "bare aiohttp handler"))


@dataclass
class Tally:
    """What a load generator saw during the counted seconds of one side."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Of every answered or failed request, request sent → whole body read, in seconds."""
    answers: Counter[str] = field(default_factory=Counter)
    """HTTP status (or "failed": no answer) → requests."""
    error_examples: dict[str, None] = field(default_factory=dict)
    """Distinct errors, in the order first seen (a dict keeps the order)."""
    cpu_seconds: float = 0.0
    """CPU the load generator's process used meanwhile."""

    def answered(self, status: int, seconds: float, detail: str) -> None:
        """Count one request; anything but 200 is an error."""
        self.latencies.append(seconds)
        self.answers[str(status)] += 1
        if status != 200 and len(self.error_examples) < ERROR_EXAMPLES:
            self.error_examples.setdefault(f"{status}: {detail}"[:200])

    def failed(self, seconds: float, failure: BaseException) -> None:
        """Count one request that got no answer."""
        self.latencies.append(seconds)
        self.answers["failed"] += 1
        if len(self.error_examples) < ERROR_EXAMPLES:
            self.error_examples.setdefault(repr(failure)[:200])


def summarize_side(tally: Tally, cpu_seconds: Mapping[str, float]) -> dict[str, Any]:
    """Requests per second, latency and errors of one side, with the CPU each process used."""
    requests = len(tally.latencies)
    used = {**cpu_seconds, "load generator": round(tally.cpu_seconds, 2)}
    return {
        "requests": requests,
        "seconds": round(tally.seconds, 3),
        "requests_per_second": round(requests / tally.seconds, 1) if tally.seconds else 0.0,
        "answers": dict(sorted(tally.answers.items())),
        "errors": requests - tally.answers.get("200", 0),
        "error_examples": list(tally.error_examples),
        "latency_ms": distribution_ms(tally.latencies),
        "cpu_seconds": used,
        "cpu_ms_per_request": {
            name: round(1000 * value / requests, 3) for name, value in used.items() if requests
        },
    }


def compare(gateway: Mapping[str, Any], bare: Mapping[str, Any]) -> dict[str, Any]:
    """The gateway's rate as a share of the bare handler's, and whether it meets the goal."""
    bare_rate = bare["requests_per_second"]
    ratio = round(gateway["requests_per_second"] / bare_rate, 3) if bare_rate else 0.0
    return {"ratio": ratio, "goal": GOAL, "goal_met": ratio >= GOAL}


def _side_lines(label: str, side: Mapping[str, Any]) -> list[str]:
    latency = side["latency_ms"]
    lines = [
        f"  {label:<22}{side['requests_per_second']:>9.1f} req/s   p50 {latency['p50']:>7.1f} ms"
        f"   p99 {latency['p99']:>7.1f} ms   errors {side['errors']}",
        f"    {side['requests']} requests in {side['seconds']:.1f} s; answers {side['answers']}",
        *(f"    e.g. {example}" for example in side["error_examples"]),
    ]
    used = side["cpu_seconds"]
    if used and side["seconds"]:
        cells = ", ".join(
            f"{name} {value:.2f} ({value / side['seconds']:.0%})" for name, value in used.items()
        )
        lines.append(f"    CPU seconds (share of the wall time): {cells}")
        each = ", ".join(f"{name} {ms:.2f}" for name, ms in side["cpu_ms_per_request"].items())
        lines.append(f"    CPU ms per request: {each}")
    return lines


def render(result: Mapping[str, Any]) -> str:
    """The report as text, from the dict `--json` prints."""
    verdict = "met" if result["goal_met"] else "NOT met"
    lines = [
        f"GET {result['path']} ({result['body_bytes']} bytes, authenticated),"
        f" {result['concurrency']} keep-alive connections, {result['seconds']} s counted after"
        f" {result['warmup']} s of warm-up, each side:",
        *(line for key, label in SIDES for line in _side_lines(label, result[key])),
        f"ratio gateway/bare: {result['ratio']:.3f}; goal >= {result['goal']}: {verdict}",
        f"machine: {result['cores']} cores; load average before {result['load_before']},"
        f" after {result['load_after']}; store {result['store']}",
    ]
    if result.get("profile"):
        lines += [f"cProfile of {result['profiled']}, the whole run:", result["profile"]]
    return "\n".join(lines)
