"""Every service process's status report: its cumulative counters, read from its own
Prometheus registry and broadcast every `status_report_seconds` for the ops dashboard
(`ops.service_status_reported.v1`, decision 0017).

Counters stay cumulative, so a lost report loses only resolution; a report that fails to
publish is logged and skipped, never stopping the service.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import structlog
from prometheus_client import Counter
from prometheus_client.metrics import MetricWrapperBase

from contracts.ops import (
    MAX_COUNTER_SERIES,
    MAX_REPORTED_COUNTERS,
    LatencyHistogram,
    ServiceStatusReported,
)
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.metrics import (
    HTTP_REQUESTS,
    HTTP_SECONDS,
    MESSAGES_CONSUMED,
    MESSAGES_PUBLISHED,
    OUTBOX_BACKLOG,
)

log = structlog.get_logger("servicekit.status_report")

CONSUMED_OUTCOMES = ("handled", "duplicate", "retried", "dead_lettered")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")


def _samples(
    metric: MetricWrapperBase, service: str, suffix: str
) -> Iterable[tuple[dict[str, str], float]]:
    """The service's samples of a metric whose name ends with `suffix`."""
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(suffix) and sample.labels.get("service") == service:
                yield sample.labels, sample.value


def _published(service: str) -> int:
    """Messages published, this report's own kind left out (it would only count itself)."""
    return sum(
        int(value)
        for labels, value in _samples(MESSAGES_PUBLISHED, service, "_total")
        if labels.get("type") != ServiceStatusReported.TYPE
    )


def _consumed(service: str) -> dict[str, int]:
    counts = dict.fromkeys(CONSUMED_OUTCOMES, 0)
    for labels, value in _samples(MESSAGES_CONSUMED, service, "_total"):
        outcome = labels.get("outcome", "")
        if outcome in counts:
            counts[outcome] += int(value)
    return counts


def _http_requests(service: str) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_CLASSES, 0)
    for labels, value in _samples(HTTP_REQUESTS, service, "_total"):
        status_class = labels.get("status", "")[:1] + "xx"
        if status_class in counts:
            counts[status_class] += int(value)
    return counts


def _latency(service: str) -> LatencyHistogram:
    """Bucket counts summed over the service's routes and methods."""
    by_bound: dict[float, int] = defaultdict(int)
    for family in HTTP_SECONDS.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("service") == service:
                by_bound[float(sample.labels["le"])] += int(sample.value)
    if not by_bound:
        by_bound = dict.fromkeys([*HTTP_SECONDS.DEFAULT_BUCKETS], 0)
    bounds = sorted(bound for bound in by_bound if not math.isinf(bound))
    return LatencyHistogram(
        bounds_seconds=bounds,
        cumulative=[by_bound[bound] for bound in bounds] + [by_bound.get(math.inf, 0)],
    )


def _backlog(service: str) -> int | None:
    values = [value for _labels, value in _samples(OUTBOX_BACKLOG, service, "documents")]
    return int(values[0]) if values else None


def _own_counters(service: str, counters: Sequence[Counter]) -> dict[str, dict[str, int]]:
    """Each reported counter by its other labels' values (joined by `,`), bounded in size."""
    reported: dict[str, dict[str, int]] = {}
    for counter in counters[:MAX_REPORTED_COUNTERS]:
        series: dict[str, int] = {}
        for labels, value in _samples(counter, service, "_total"):
            key = ",".join(v for name, v in labels.items() if name != "service")
            if key in series or len(series) < MAX_COUNTER_SERIES:
                series[key] = series.get(key, 0) + int(value)
        reported[next(iter(counter.describe())).name] = series
    return reported


def status_report(
    service: str,
    instance: str,
    interval_seconds: float,
    counters: Sequence[Counter] = (),
    now: datetime | None = None,
) -> ServiceStatusReported:
    """The service's counters as this process counts them now."""
    return ServiceStatusReported(
        service=service,
        instance=instance,
        reported_at=now or utcnow(),
        interval_seconds=interval_seconds,
        messages_published=_published(service),
        messages_consumed=_consumed(service),
        outbox_backlog=_backlog(service),
        http_requests=_http_requests(service),
        http_latency=_latency(service),
        counters=_own_counters(service, counters),
    )


async def report_forever(
    bus: Bus, every_seconds: float, build: Callable[[], ServiceStatusReported]
) -> None:
    """Publish a report now and every `every_seconds`, until cancelled."""
    while True:
        try:
            await bus.publish(build())
        except Exception as failure:  # a lost report loses only resolution
            log.warning("status_report_failed", error=repr(failure))
        await asyncio.sleep(every_seconds)
