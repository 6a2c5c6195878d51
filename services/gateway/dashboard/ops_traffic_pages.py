"""The ops traffic page (`/dashboard/ops/traffic`): the gateway's requests per second, 4xx
and 5xx rates and latency p50/p99 (estimated from histogram bucket deltas), and webhook
deliveries with their failure rate; from the status reports of `ops_reports`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup

from gateway.dashboard.charts import Bar, Point, Tone, bar_chart, column_chart, figure
from gateway.dashboard.ops_access import ops_viewer
from gateway.dashboard.ops_activity import (
    Slots,
    average,
    http_latency,
    http_requests,
    http_status,
    own_counter,
    percentile,
    rates,
    ratio,
    series_points,
    slot_increases,
    window_increase,
)
from gateway.dashboard.ops_reports import REPORTS, Received
from gateway.dashboard.rendering import render
from servicekit.clock import utcnow

GATEWAY = "gateway"
WEBHOOK_COUNTER = "webhook_deliveries"
"""Provisioning's reported counter of delivery attempts, by outcome."""
FAILED_OUTCOMES = ("failed", "exhausted")
OUTCOMES = ("delivered", *FAILED_OUTCOMES)
Instances = Sequence[Sequence[Received]]


@dataclass(frozen=True)
class GatewayTraffic:
    """The gateway's averages over the reports held, and its charts."""

    requests_per_second: float
    client_errors_per_second: float
    server_errors_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    charts: list[Markup]


@dataclass(frozen=True)
class WebhookTraffic:
    """Webhook delivery attempts over the reports held, and their charts."""

    attempts: int
    failed: int
    failure_rate: float
    charts: list[Markup]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def latency_ms(instances: Instances, slots: Slots, q: float) -> tuple[float | None, list[float]]:
    """The `q` latency quantile in ms over the window, and per slot (0 where none)."""
    latest = [reports[-1].report.http_latency.bounds_seconds for reports in instances if reports]
    bounds = latest[0] if latest else []
    overall = _ms(percentile(bounds, window_increase(instances, http_latency), q))
    per_slot = [
        _ms(percentile(bounds, buckets, q)) or 0.0
        for buckets in slot_increases(instances, http_latency, slots)
    ]
    return overall, per_slot


def gateway_traffic(instances: Instances, slots: Slots) -> GatewayTraffic:
    """Request rates and latency percentiles of the gateway's instances."""
    now = slots.end
    p50, p50_series = latency_ms(instances, slots, 0.5)
    p99, p99_series = latency_ms(instances, slots, 0.99)
    series: list[tuple[str, list[float], str, Tone]] = [
        ("requests per second", rates(instances, http_requests, slots), "/s", "normal"),
        ("4xx answers per second", rates(instances, http_status("4xx"), slots), "/s", "warn"),
        ("5xx answers per second", rates(instances, http_status("5xx"), slots), "/s", "alert"),
        ("latency p50 (bucket estimate)", p50_series, " ms", "normal"),
        ("latency p99 (bucket estimate)", p99_series, " ms", "warn"),
    ]
    charts = [
        column_chart(series_points(values, slots, tone), title=f"Gateway {title}", unit=unit)
        for title, values, unit, tone in series
    ]
    return GatewayTraffic(
        requests_per_second=average(instances, http_requests, now),
        client_errors_per_second=average(instances, http_status("4xx"), now),
        server_errors_per_second=average(instances, http_status("5xx"), now),
        p50_ms=p50,
        p99_ms=p99,
        charts=charts,
    )


def webhook_traffic(instances: Instances, slots: Slots) -> WebhookTraffic:
    """Delivery attempts per minute and the share that failed, per slot and in all."""
    attempts = own_counter(WEBHOOK_COUNTER)
    failed_by_slot = [
        sum(values)
        for values in zip(
            *(
                rates(instances, own_counter(WEBHOOK_COUNTER, o), slots, 60)
                for o in FAILED_OUTCOMES
            ),
            strict=True,
        )
    ]
    per_minute = rates(instances, attempts, slots, per=60)
    failure_rates = [100 * ratio(f, a) for f, a in zip(failed_by_slot, per_minute, strict=True)]
    by_outcome = {
        outcome: int(sum(window_increase(instances, own_counter(WEBHOOK_COUNTER, outcome))))
        for outcome in OUTCOMES
    }
    failed = sum(by_outcome[outcome] for outcome in FAILED_OUTCOMES)
    total = sum(by_outcome.values())
    tones: dict[str, Tone] = {"delivered": "good", "failed": "warn", "exhausted": "alert"}
    charts = [
        bar_chart(
            [Bar(outcome, count, tones[outcome]) for outcome, count in by_outcome.items()],
            title="Webhook delivery attempts by outcome",
        ),
        column_chart(
            series_points(per_minute, slots),
            title="Webhook delivery attempts per minute",
            unit="/min",
        ),
        column_chart(
            [
                Point(p.label, p.value, "alert" if p.value else "normal")
                for p in series_points(failure_rates, slots)
            ],
            title="Webhook delivery failure rate",
            unit="%",
        ),
    ]
    return WebhookTraffic(total, failed, 100 * ratio(failed, total), charts)


def _reporting(by_service: dict[str, list[list[Received]]], counter: str) -> list[list[Received]]:
    """The instances (of any service) whose reports carry `counter`."""
    return [
        reports
        for instances in by_service.values()
        for reports in instances
        if reports and counter in reports[-1].report.counters
    ]


async def traffic_page(request: web.Request) -> web.StreamResponse:
    """Gateway request rates and latency, and webhook deliveries, from the reports held."""
    ops_viewer(request)
    store = request.config_dict[REPORTS]
    now = utcnow()
    by_service = store.by_service(now)
    slots = Slots.over(now, store.window)
    context = {
        "gateway": gateway_traffic(by_service.get(GATEWAY, []), slots),
        "webhooks": webhook_traffic(_reporting(by_service, WEBHOOK_COUNTER), slots),
        "window_minutes": round(store.window.total_seconds() / 60),
        "figure": figure,
    }
    return render(request, "ops_traffic.html", context)
