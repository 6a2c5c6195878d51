"""The partner's API usage of the last 7, 30 or 90 days (logs' `GetApiUsage`, the query of
`GET /v1/usage`): totals, a column chart per day of requests, errors and p99 latency, and a
table per endpoint. For the roles that would grant `usage:read` (accounts' answer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from aiohttp import web
from markupsafe import Markup

from contracts.accounts import Scope
from contracts.log_queries import ApiUsage, GetApiUsage, UsageStats
from gateway.dashboard.charts import Point, Tone, column_chart
from gateway.dashboard.lookups import ask
from gateway.dashboard.rendering import PageError, partner_of, render, viewer_of
from gateway.dashboard.role_access import require_scope
from servicekit.clock import utcnow

PERIODS = (7, 30, 90)
"""The periods offered, in days; 30 by default."""
DEFAULT_DAYS = 30


def period_of(asked: str | None, now: datetime) -> tuple[int, datetime, datetime]:
    """The days asked for (`?days=`) and their period: from the midnight (UTC) that starts
    the first of them to now. A 400 page for anything but 7, 30 or 90."""
    days = DEFAULT_DAYS if asked in (None, "") else _days(asked)
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return days, datetime.combine(first, time(), tzinfo=UTC), now


def _days(asked: str) -> int:
    if asked in {str(days) for days in PERIODS}:
        return int(asked)
    raise PageError(400, "Bad request", "Choose a period of 7, 30 or 90 days.")


def daily_charts(usage: ApiUsage, first: date, days: int) -> list[Markup]:
    """Requests, errors and p99 latency per UTC day, a column for every day of the period."""
    per_day = {entry.day: entry.stats for entry in usage.days}
    labels = [(first + timedelta(days=offset)).isoformat() for offset in range(days)]

    def series(value: Callable[[UsageStats], float], tone: Tone) -> list[Point]:
        empty = UsageStats(requests=0, client_errors=0, server_errors=0, error_rate=0)
        return [Point(label, value(per_day.get(label, empty)), tone) for label in labels]

    return [
        column_chart(series(lambda s: s.requests, "normal"), title="Requests per day"),
        column_chart(
            series(lambda s: s.client_errors + s.server_errors, "alert"),
            title="Errors (4xx and 5xx) per day",
        ),
        column_chart(
            series(lambda s: s.latency_ms.p99 if s.latency_ms else 0.0, "warn"),
            title="p99 response time per day",
            unit=" ms",
        ),
    ]


async def usage(request: web.Request) -> web.StreamResponse:
    """The usage page of the period asked for."""
    viewer = viewer_of(request)
    partner_id = partner_of(viewer)
    days, start, end = period_of(request.query.get("days"), utcnow())
    require_scope(viewer, Scope.USAGE_READ, "read the API usage")
    query = GetApiUsage(actor=viewer.actor, partner_id=partner_id, period_from=start, period_to=end)
    found = await ask(request, query, ApiUsage, "logs")
    context = {
        "usage": found,
        "days": days,
        "periods": PERIODS,
        "charts": daily_charts(found, start.date(), days),
    }
    return render(request, "usage.html", context)


def add_routes(routes: web.UrlDispatcher) -> None:
    """The usage page's route."""
    routes.add_get("/usage", usage)
