"""Deadlines and states as metrics: open requests by state, due soon and overdue.

The gauges are refreshed on a timer from indexed counts, so every replica reports the same
figures (take one replica's, not the sum, in dashboards).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import structlog
from prometheus_client import Gauge

from contracts.privacy import OPEN_STATUSES
from privacy.requests import Desk

log = structlog.get_logger("privacy.watch")

WATCH_EVERY_SECONDS = 30.0

REQUESTS_OPEN = Gauge("privacy_requests_open", "Open data-subject requests, by state.", ["status"])
REQUESTS_DUE_SOON = Gauge(
    "privacy_requests_due_soon",
    "Open data-subject requests due within PRIVACY_DUE_SOON_DAYS (not yet overdue).",
)
REQUESTS_OVERDUE = Gauge(
    "privacy_requests_overdue", "Open data-subject requests past their deadline."
)


@dataclass(frozen=True)
class DeadlineFigures:
    """How many open requests are in each state, due soon and overdue."""

    by_status: dict[str, int]
    due_soon: int
    overdue: int


async def deadline_figures(desk: Desk) -> DeadlineFigures:
    """Count open requests by state and by deadline, as of the desk's clock."""
    now = desk.clock()
    soon = now + timedelta(days=desk.settings.privacy_due_soon_days)
    open_states = sorted(s.value for s in OPEN_STATUSES)
    by_status = {
        status: await desk.requests.count_documents({"status": status}) for status in open_states
    }
    open_filter = {"status": {"$in": open_states}}
    overdue = await desk.requests.count_documents({**open_filter, "deadline.at": {"$lt": now}})
    due_soon = await desk.requests.count_documents(
        {**open_filter, "deadline.at": {"$gte": now, "$lt": soon}}
    )
    return DeadlineFigures(by_status=by_status, due_soon=due_soon, overdue=overdue)


async def refresh_gauges(desk: Desk) -> DeadlineFigures:
    """Set the gauges from fresh counts."""
    figures = await deadline_figures(desk)
    for status, count in figures.by_status.items():
        REQUESTS_OPEN.labels(status=status).set(count)
    REQUESTS_DUE_SOON.set(figures.due_soon)
    REQUESTS_OVERDUE.set(figures.overdue)
    return figures


async def run_watch(desk: Desk) -> None:
    """Refresh the gauges every WATCH_EVERY_SECONDS while the service runs."""
    while True:
        try:
            await refresh_gauges(desk)
        except Exception as failure:
            log.warning("privacy_watch_failed", error=repr(failure))
        await asyncio.sleep(WATCH_EVERY_SECONDS)
