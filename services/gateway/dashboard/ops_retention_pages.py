"""The ops retention page (`/dashboard/ops/retention`): per service, when it last swept and
what that sweep removed per category, flagging a service whose last sweep is older than a
day or missing; from privacy's `privacy.get_retention_overview.v1`, asked as the viewer
(privacy answers platform actors only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from markupsafe import Markup

from contracts.retention import GetRetentionOverview, RetentionOverview, ServiceRetention
from gateway.dashboard.charts import Bar, bar_chart
from gateway.dashboard.lookups import ask
from gateway.dashboard.ops_access import ops_viewer
from gateway.dashboard.rendering import render
from servicekit.clock import utcnow

STALE_AFTER = timedelta(days=1)
"""A service's sweeps run daily: a last sweep older than this means its sweeper stopped."""

SweepState = Literal["ok", "stale", "missing"]


@dataclass(frozen=True)
class ServiceSweep:
    """One service's latest sweep as the page shows it."""

    service: str
    state: SweepState
    swept_at: datetime | None
    hours_ago: float | None
    removed_total: int
    partners_erased: int
    rules: int
    chart: Markup | None


def sweep_state(swept_at: datetime | None, now: datetime) -> SweepState:
    """Whether a service's last sweep is recent, too old, or missing."""
    if swept_at is None:
        return "missing"
    return "stale" if now - swept_at > STALE_AFTER else "ok"


def service_sweep(entry: ServiceRetention, now: datetime) -> ServiceSweep:
    """A service's figures and its chart of records removed per category."""
    sweep = entry.latest_sweep
    if sweep is None:
        return ServiceSweep(entry.service, "missing", None, None, 0, 0, len(entry.rules), None)
    chart = bar_chart(
        [Bar(category, count) for category, count in sorted(sweep.removed.items())],
        title=f"{entry.service}: records removed by its last sweep, per category",
    )
    return ServiceSweep(
        service=entry.service,
        state=sweep_state(sweep.swept_at, now),
        swept_at=sweep.swept_at,
        hours_ago=(now - sweep.swept_at).total_seconds() / 3600,
        removed_total=sum(sweep.removed.values()),
        partners_erased=sweep.partners_erased,
        rules=len(entry.rules),
        chart=chart,
    )


async def retention_page(request: web.Request) -> web.StreamResponse:
    """Every service's latest retention sweep; missing and day-old sweeps flagged."""
    viewer = ops_viewer(request)
    overview = await ask(
        request, GetRetentionOverview(actor=viewer.actor), RetentionOverview, "privacy"
    )
    now = utcnow()
    sweeps = [service_sweep(entry, now) for entry in overview.services]
    context = {
        "sweeps": sweeps,
        "flagged": [sweep for sweep in sweeps if sweep.state != "ok"],
        "stale_hours": round(STALE_AFTER.total_seconds() / 3600),
    }
    return render(request, "ops_retention.html", context)
