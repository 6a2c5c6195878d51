"""The ops activity page (`/dashboard/ops/activity`): per service, messages published and
consumed per second, retries and dead letters per minute, the outbox backlog now and over
time, and which process instances report; from the status reports of `ops_reports`.

`add_routes` also mounts the gateway-and-webhooks page (`ops_traffic_pages`) and the
retention page (`ops_retention_pages`), and subscribes this replica to the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from markupsafe import Markup

from contracts.ops import ServiceStatusReported
from gateway.dashboard import ops_retention_pages, ops_traffic_pages
from gateway.dashboard.charts import Bar, Point, bar_chart, column_chart, figure
from gateway.dashboard.ops_access import ops_viewer
from gateway.dashboard.ops_activity import (
    Slots,
    average,
    backlog_now,
    consumed,
    consumed_as,
    gauge_over_time,
    live_instances,
    outbox_backlog,
    published,
    rates,
    series_points,
)
from gateway.dashboard.ops_reports import REPORTS, Received, ReportStore, is_gone
from gateway.dashboard.rendering import render
from servicekit.clock import utcnow
from servicekit.service import Service

retried = consumed_as("retried")
dead_lettered = consumed_as("dead_lettered")


def add_routes(dashboard: web.Application, service: Service) -> None:
    """The activity, traffic and retention pages; this replica hears the status reports."""
    reports = dashboard[REPORTS] = ReportStore()
    service.router.on_broadcast(ServiceStatusReported, reports.on_report)
    routes = dashboard.router
    routes.add_get("/ops/activity", activity_page)
    routes.add_get("/ops/traffic", ops_traffic_pages.traffic_page)
    routes.add_get("/ops/retention", ops_retention_pages.retention_page)


@dataclass(frozen=True)
class InstanceState:
    """One process instance and when it last reported."""

    service: str
    instance: str
    seconds_ago: float
    gone: bool


@dataclass(frozen=True)
class ServiceActivity:
    """One service's figures: averages over the reports held, and its charts."""

    service: str
    live: int
    gone: int
    published_per_second: float
    consumed_per_second: float
    retries_per_minute: float
    dead_letters_per_minute: float
    backlog: int | None
    charts: list[Markup]


def _mixed_points(retries: list[float], dead: list[float], slots: Slots) -> list[Point]:
    """Retries and dead letters per minute in one column, alert-toned where any died."""
    return [
        Point(label, r + d, "alert" if d > 0 else ("warn" if r > 0 else "normal"))
        for label, r, d in zip(slots.labels(), retries, dead, strict=True)
    ]


def service_activity(
    service: str, instances: Sequence[Sequence[Received]], slots: Slots
) -> ServiceActivity:
    """A service's averages and charts from its instances' reports."""
    now = slots.end
    live = len(live_instances(instances, now))
    charts = [
        column_chart(
            series_points(rates(instances, published, slots), slots),
            title=f"{service}: messages published per second",
            unit="/s",
        ),
        column_chart(
            series_points(rates(instances, consumed, slots), slots),
            title=f"{service}: messages consumed per second",
            unit="/s",
        ),
        column_chart(
            _mixed_points(
                rates(instances, retried, slots, per=60),
                rates(instances, dead_lettered, slots, per=60),
                slots,
            ),
            title=f"{service}: retries and dead letters per minute (red: dead letters)",
            unit="/min",
        ),
    ]
    return ServiceActivity(
        service=service,
        live=live,
        gone=len(instances) - live,
        published_per_second=average(instances, published, now),
        consumed_per_second=average(instances, consumed, now),
        retries_per_minute=average(instances, retried, now, per=60),
        dead_letters_per_minute=average(instances, dead_lettered, now, per=60),
        backlog=backlog_now(instances, now),
        charts=charts,
    )


def instance_states(
    by_service: dict[str, list[list[Received]]], now: datetime
) -> list[InstanceState]:
    """Every instance heard within the window, live or gone."""
    return [
        InstanceState(
            service=service,
            instance=reports[-1].report.instance,
            seconds_ago=(now - reports[-1].at).total_seconds(),
            gone=is_gone(reports[-1], now),
        )
        for service, instances in by_service.items()
        for reports in instances
    ]


def backlog_charts(by_service: dict[str, list[list[Received]]], slots: Slots) -> list[Markup]:
    """The outbox backlog now per service (bars), and over time for services with one."""
    now = slots.end
    backlogs = {name: backlog_now(instances, now) for name, instances in by_service.items()}
    with_outbox = {name: value for name, value in backlogs.items() if value is not None}
    charts = [
        bar_chart(
            [
                Bar(name, value, "warn" if value else "normal")
                for name, value in with_outbox.items()
            ],
            title="Outbox backlog now (documents)",
        )
    ]
    for name in with_outbox:
        values = gauge_over_time(by_service[name], outbox_backlog, slots)
        charts.append(column_chart(series_points(values, slots), title=f"{name}: outbox backlog"))
    return charts


async def activity_page(request: web.Request) -> web.StreamResponse:
    """Message rates and outbox backlogs per service, from the status reports held."""
    ops_viewer(request)
    store = request.config_dict[REPORTS]
    now = utcnow()
    by_service = store.by_service(now)
    slots = Slots.over(now, store.window)
    context = {
        "services": [service_activity(name, i, slots) for name, i in by_service.items()],
        "instances": instance_states(by_service, now),
        "backlog_charts": backlog_charts(by_service, slots),
        "window_minutes": round(store.window.total_seconds() / 60),
        "figure": figure,
        "slot_seconds": round(slots.width.total_seconds()),
    }
    return render(request, "ops_activity.html", context)
