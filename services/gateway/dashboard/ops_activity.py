"""The arithmetic of the ops activity pages, from the status reports of `ops_reports`: rates
per time slot over the window, gauges over time, and latency percentiles estimated from
histogram bucket deltas. Pure functions of the reports and `now`.

Reports carry cumulative counters. An instance's first report in the window is only the
baseline of its increases; a counter that went down (its process restarted under the same
id, which a new process never does) counts from zero again, so no rate is ever negative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from contracts.ops import ServiceStatusReported
from gateway.dashboard.charts import Point, Tone
from gateway.dashboard.ops_reports import Received, is_gone

Vector = list[float]
Reading = Callable[[ServiceStatusReported], Vector]
"""The counters of a report a figure needs, as a vector (one entry for a single counter)."""

SLOTS = 30


@dataclass(frozen=True)
class Slots:
    """The window cut into equal slots, oldest first."""

    end: datetime
    width: timedelta
    count: int

    @classmethod
    def over(cls, now: datetime, window: timedelta, count: int = SLOTS) -> Slots:
        """`count` slots ending at `now`."""
        return cls(end=now, width=window / count, count=count)

    @property
    def start(self) -> datetime:
        """When the first slot begins."""
        return self.end - self.width * self.count

    def index(self, at: datetime) -> int | None:
        """The slot `at` falls in, if within the window."""
        if at < self.start or at > self.end:
            return None
        return min(int((at - self.start) / self.width), self.count - 1)

    def labels(self) -> list[str]:
        """Each slot's end as `HH:MM:SS` (UTC)."""
        return [f"{self.start + self.width * (i + 1):%H:%M:%S}" for i in range(self.count)]


def increase(earlier: Vector, later: Vector) -> Vector:
    """How much each counter grew; if any went down the counters restarted from zero, and
    the later values are the whole increase."""
    if len(earlier) != len(later) or any(b < a for a, b in zip(earlier, later, strict=True)):
        return list(later)
    return [b - a for a, b in zip(earlier, later, strict=True)]


def increases(reports: Sequence[Received], reading: Reading) -> list[tuple[datetime, Vector]]:
    """Each report's increase since the one before, at the time it was received."""
    return [
        (later.at, increase(reading(earlier.report), reading(later.report)))
        for earlier, later in pairwise(reports)
    ]


def _add(total: Vector, more: Vector) -> Vector:
    if not total:
        return list(more)
    if len(total) != len(more):
        return total  # a histogram of other bounds is left out rather than mixed in
    return [a + b for a, b in zip(total, more, strict=True)]


def slot_increases(
    instances: Sequence[Sequence[Received]], reading: Reading, slots: Slots
) -> list[Vector]:
    """Per slot, the increases of every instance summed (empty where none was reported)."""
    totals: list[Vector] = [[] for _ in range(slots.count)]
    for reports in instances:
        for at, grown in increases(reports, reading):
            index = slots.index(at)
            if index is not None:
                totals[index] = _add(totals[index], grown)
    return totals


def rates(
    instances: Sequence[Sequence[Received]], reading: Reading, slots: Slots, per: float = 1.0
) -> list[float]:
    """A single counter's rate per slot: its increase per `per` seconds (1: per second, 60:
    per minute), summed over the instances."""
    seconds = slots.width.total_seconds()
    return [
        (grown[0] if grown else 0.0) * per / seconds
        for grown in slot_increases(instances, reading, slots)
    ]


def window_increase(instances: Sequence[Sequence[Received]], reading: Reading) -> Vector:
    """The increase over the whole window, summed over the instances."""
    total: Vector = []
    for reports in instances:
        for _at, grown in increases(reports, reading):
            total = _add(total, grown)
    return total


def gauge_over_time(
    instances: Sequence[Sequence[Received]], reading: Reading, slots: Slots
) -> list[float | None]:
    """A gauge per slot: each instance's last value in the slot, summed (None: no report)."""
    values: list[float | None] = [None] * slots.count
    for reports in instances:
        last: dict[int, float] = {}
        for received in reports:
            index = slots.index(received.at)
            if index is not None:
                last[index] = reading(received.report)[0]
        for index, value in last.items():
            values[index] = (values[index] or 0.0) + value
    return values


def percentile(bounds: Sequence[float], cumulative: Sequence[float], q: float) -> float | None:
    """The `q` quantile (0..1) estimated from cumulative bucket counts (the last being the
    total), interpolated linearly within its bucket; the largest bound when it lies in the
    open-ended bucket; None without observations."""
    if not cumulative or cumulative[-1] <= 0 or len(cumulative) != len(bounds) + 1:
        return None
    rank = q * cumulative[-1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in zip(bounds, cumulative, strict=False):
        if count >= rank:
            inside = count - lower_count
            share = (rank - lower_count) / inside if inside > 0 else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return bounds[-1] if bounds else None


def ratio(part: float, whole: float) -> float:
    """part / whole, 0 when there is no whole."""
    return part / whole if whole > 0 else 0.0


def covered_seconds(instances: Sequence[Sequence[Received]], now: datetime) -> float:
    """The time the held reports span, up to now (at least one second)."""
    first = min((reports[0].at for reports in instances if reports), default=now)
    return max((now - first).total_seconds(), 1.0)


def average(
    instances: Sequence[Sequence[Received]], reading: Reading, now: datetime, per: float = 1.0
) -> float:
    """A counter's increase over the reports held, per `per` seconds."""
    grown = window_increase(instances, reading)
    return (grown[0] if grown else 0.0) * per / covered_seconds(instances, now)


def live_instances(instances: Sequence[Sequence[Received]], now: datetime) -> list[Received]:
    """The latest report of each instance still reporting."""
    return [reports[-1] for reports in instances if reports and not is_gone(reports[-1], now)]


def backlog_now(instances: Sequence[Sequence[Received]], now: datetime) -> int | None:
    """The outbox backlog of the live instances, summed (None: the service has no outbox)."""
    latest = [received.report.outbox_backlog for received in live_instances(instances, now)]
    known = [backlog for backlog in latest if backlog is not None]
    return sum(known) if known else None


def series_points(
    values: Sequence[float | None], slots: Slots, tone: Tone = "normal"
) -> list[Point]:
    """Columns for a series over the window's slots (a slot without a value shows 0)."""
    return [
        Point(label, value or 0.0, tone)
        for label, value in zip(slots.labels(), values, strict=True)
    ]


def published(report: ServiceStatusReported) -> Vector:
    """Messages published."""
    return [float(report.messages_published)]


def consumed(report: ServiceStatusReported) -> Vector:
    """Messages consumed, whatever the outcome."""
    return [float(sum(report.messages_consumed.values()))]


def consumed_as(outcome: str) -> Reading:
    """Messages consumed with one outcome (`retried`, `dead_lettered`, ...)."""
    return lambda report: [float(report.messages_consumed.get(outcome, 0))]


def outbox_backlog(report: ServiceStatusReported) -> Vector:
    """The outbox's backlog (0 for a service without an outbox)."""
    return [float(report.outbox_backlog or 0)]


def http_requests(report: ServiceStatusReported) -> Vector:
    """HTTP requests served, every status."""
    return [float(sum(report.http_requests.values()))]


def http_status(status_class: str) -> Reading:
    """HTTP requests answered with one status class (`4xx`, `5xx`)."""
    return lambda report: [float(report.http_requests.get(status_class, 0))]


def http_latency(report: ServiceStatusReported) -> Vector:
    """The latency histogram's cumulative bucket counts."""
    return [float(count) for count in report.http_latency.cumulative]


def own_counter(name: str, label: str | None = None) -> Reading:
    """One of the service's own reported counters: one label value, or all summed."""

    def reading(report: ServiceStatusReported) -> Vector:
        series = report.counters.get(name, {})
        return [float(series.get(label, 0) if label is not None else sum(series.values()))]

    return reading
