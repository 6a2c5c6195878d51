"""The ops status arithmetic as pure functions: rates per slot summed over instances, counter
restarts never negative, gone instances, bucket percentiles, the bounded memory of reports,
reports read from the Prometheus registry, the retention page's flags, and who privacy
gives the retention overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.accounts import Actor, Role
from contracts.ops import LatencyHistogram, ServiceStatusReported
from gateway.dashboard.ops_activity import (
    Slots,
    gauge_over_time,
    http_latency,
    outbox_backlog,
    percentile,
    published,
    rates,
    window_increase,
)
from gateway.dashboard.ops_reports import Received, ReportStore, is_gone
from gateway.dashboard.ops_retention_pages import sweep_state
from gateway.dashboard.ops_traffic_pages import webhook_traffic
from privacy.retention_overview import require_platform
from provisioning.webhook_delivery import WEBHOOK_DELIVERIES
from servicekit.errors import ServiceError
from servicekit.metrics import HTTP_REQUESTS, HTTP_SECONDS, MESSAGES_CONSUMED, MESSAGES_PUBLISHED
from servicekit.status_report import status_report

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
BOUNDS = [0.01, 0.1, 1.0]


def report(
    instance: str,
    seconds: float,
    published_count: int,
    *,
    service: str = "accounts",
    backlog: int | None = None,
    latency: list[int] | None = None,
    webhooks: dict[str, int] | None = None,
) -> ServiceStatusReported:
    """A report of `instance` at T0 + seconds."""
    return ServiceStatusReported(
        service=service,
        instance=instance,
        reported_at=T0 + timedelta(seconds=seconds),
        interval_seconds=10,
        messages_published=published_count,
        messages_consumed={},
        outbox_backlog=backlog,
        http_requests={},
        http_latency=LatencyHistogram(bounds_seconds=BOUNDS, cumulative=latency or [0, 0, 0, 0]),
        counters={"webhook_deliveries": webhooks} if webhooks else {},
    )


def received(*reports: ServiceStatusReported) -> list[Received]:
    """Reports as received at their own time."""
    return [Received(r.reported_at, r) for r in reports]


SLOTS = Slots.over(T0 + timedelta(seconds=60), timedelta(seconds=60), count=2)
"""Two 30-second slots: T0..T0+30s and T0+30s..T0+60s."""


def test_rates_sum_the_increases_of_every_instance_per_slot() -> None:
    """Each report's increase lands in its slot; instances add up; the rate is per second."""
    first = received(report("a", 0, 100), report("a", 10, 130), report("a", 40, 160))
    second = received(report("b", 5, 7), report("b", 45, 67))
    assert rates([first, second], published, SLOTS) == [1.0, 3.0]
    assert rates([first, second], published, SLOTS, per=60) == [60.0, 180.0]
    assert window_increase([first, second], published) == [120.0]


def test_a_restarted_process_never_gives_a_negative_rate() -> None:
    """A new instance's first report is only a baseline; a counter that went down counts from
    zero again instead of going negative."""
    old = received(report("old", 0, 500), report("old", 10, 520))
    new = received(report("new", 20, 3), report("new", 40, 33))
    assert rates([old, new], published, SLOTS) == [20 / 30, 1.0]
    dropped = received(report("x", 0, 500), report("x", 40, 12))
    assert rates([dropped], published, SLOTS) == [0.0, 12 / 30]


def test_an_instance_silent_for_three_intervals_is_gone() -> None:
    """Gone after three of its report intervals without a report, live before."""
    last = received(report("a", 0, 1))[0]
    assert not is_gone(last, T0 + timedelta(seconds=29))
    assert is_gone(last, T0 + timedelta(seconds=31))


def test_percentiles_are_interpolated_within_the_histograms_buckets() -> None:
    """Half of 100 requests at most 10 ms, all at most 100 ms: p50 10 ms, p99 ~98 ms; in the
    open-ended bucket the largest bound; none without requests."""
    assert percentile(BOUNDS, [50, 100, 100, 100], 0.5) == 0.01
    assert percentile(BOUNDS, [50, 100, 100, 100], 0.99) == pytest.approx(0.0982)
    assert percentile(BOUNDS, [0, 0, 0, 10], 0.5) == 1.0
    assert percentile(BOUNDS, [0, 0, 0, 0], 0.5) is None
    reports = received(
        report("g", 0, 0, latency=[10, 10, 10, 10]),
        report("g", 40, 0, latency=[10, 110, 110, 110]),
    )
    assert percentile(BOUNDS, window_increase([reports], http_latency), 0.5) == pytest.approx(0.055)


def test_backlog_over_time_is_each_instances_last_value_summed() -> None:
    """Per slot, the last backlog of each instance, summed over instances."""
    first = received(report("a", 0, 0, backlog=5), report("a", 20, 0, backlog=2))
    second = received(report("b", 10, 0, backlog=1), report("b", 50, 0, backlog=4))
    assert gauge_over_time([first, second], outbox_backlog, SLOTS) == [3.0, 4.0]


def test_webhook_failure_rate_counts_failed_and_exhausted_attempts() -> None:
    """Attempts by outcome over the window; failed and exhausted ones are the failures."""
    reports = received(
        report("p", 0, 0, service="provisioning", webhooks={"delivered": 1}),
        report(
            "p",
            40,
            0,
            service="provisioning",
            webhooks={"delivered": 7, "failed": 2, "exhausted": 1},
        ),
    )
    traffic = webhook_traffic([reports], SLOTS)
    assert (traffic.attempts, traffic.failed) == (9, 3)
    assert traffic.failure_rate == pytest.approx(100 / 3)


def test_the_store_of_reports_is_bounded_in_time_count_and_instances() -> None:
    """Reports older than the window are forgotten, each instance keeps a bounded number, the
    longest silent instance goes first, and a late report is dropped."""
    store = ReportStore(window=timedelta(seconds=60), per_instance=5, max_instances=2)
    for second in range(20):
        store.add(report("a", second, second), T0 + timedelta(seconds=second))
    assert store.count() == 5
    store.add(report("a", 3, 3), T0 + timedelta(seconds=20))  # late: dropped
    assert store.count() == 5
    store.add(report("b", 21, 0), T0 + timedelta(seconds=21))
    store.add(report("c", 22, 0), T0 + timedelta(seconds=22))
    assert sorted(
        r[-1].report.instance
        for i in store.by_service(T0 + timedelta(seconds=22)).values()
        for r in i
    ) == ["b", "c"]
    assert store.by_service(T0 + timedelta(seconds=200)) == {}
    assert store.count() == 0


def test_a_status_report_reads_the_services_own_counters() -> None:
    """Published (reports left out), consumed by outcome, HTTP by status class, latency
    buckets, and the service's own reported counters, for that service only."""
    service = "reporting-test"
    MESSAGES_PUBLISHED.labels(service, "x.thing_happened.v1").inc(3)
    MESSAGES_PUBLISHED.labels(service, ServiceStatusReported.TYPE).inc(9)
    MESSAGES_CONSUMED.labels(service, "x.thing_happened.v1", "retried").inc(2)
    HTTP_REQUESTS.labels(service, "GET", "/x", "404").inc()
    HTTP_REQUESTS.labels(service, "GET", "/x", "200").inc(4)
    HTTP_SECONDS.labels(service, "GET", "/x").observe(0.003)
    WEBHOOK_DELIVERIES.labels(service, "failed").inc()
    built = status_report(service, "inst_1", 10, [WEBHOOK_DELIVERIES], now=T0)
    assert built.messages_published == 3
    assert built.messages_consumed == {
        "handled": 0,
        "duplicate": 0,
        "retried": 2,
        "dead_lettered": 0,
    }
    assert built.http_requests == {"2xx": 4, "3xx": 0, "4xx": 1, "5xx": 0}
    assert built.http_latency.cumulative[-1] == 1
    assert len(built.http_latency.cumulative) == len(built.http_latency.bounds_seconds) + 1
    assert built.counters == {"webhook_deliveries": {"failed": 1}}
    assert built.outbox_backlog is None


def test_a_sweep_older_than_a_day_or_missing_is_flagged() -> None:
    """Fresh sweeps are ok; a day-old one is too old; none at all is missing."""
    assert sweep_state(T0 - timedelta(hours=23), T0) == "ok"
    assert sweep_state(T0 - timedelta(hours=25), T0) == "stale"
    assert sweep_state(None, T0) == "missing"


def test_only_platform_actors_get_the_retention_overview() -> None:
    """Privacy answers the overview to the platform and its staff, never to a partner."""
    require_platform(Actor(kind="platform", id="job"))
    require_platform(Actor(kind="user", id="usr_1", role=Role.SUPPORT))
    for outsider in (
        Actor(kind="user", id="usr_2", partner_id="prt_1", role=Role.OWNER),
        Actor(kind="api_key", id="key_1", partner_id="prt_1"),
    ):
        with pytest.raises(ServiceError) as refused:
            require_platform(outsider)
        assert refused.value.code == "forbidden"
