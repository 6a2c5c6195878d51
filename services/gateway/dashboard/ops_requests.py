"""Data-subject requests for ops: open requests by state, and those overdue or due soon with
their deadlines, from privacy's `ListPrivacyRequests` (the same figures privacy's watch
exports as metrics).

`ListPrivacyRequests` carries no actor, so privacy answers whoever asks: the page itself is
for platform roles only (`ops_access`). Only open requests are counted; closed ones are many
and would need paging through the whole history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from contracts.privacy import (
    OPEN_STATUSES,
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    RequestStatus,
)
from gateway.dashboard.charts import Bar, bar_chart
from gateway.dashboard.ops_access import ops_viewer
from gateway.dashboard.rendering import render
from gateway.dashboard.state import DASHBOARD
from servicekit.bus import Bus
from servicekit.clock import utcnow

DUE_SOON_DAYS = 7
"""Privacy's default PRIVACY_DUE_SOON_DAYS (privacy's own setting; services never import one
another): an open request due within this many days is due soon."""
PAGE_SIZE = 200
MAX_PAGES = 10
"""At most this many pages are read per figure; beyond, the page says "at least"."""
OPEN_IN_ORDER = [status for status in RequestStatus if status in OPEN_STATUSES]


@dataclass(frozen=True)
class Collected:
    """Requests read from privacy, and whether there were more than read."""

    requests: list[PrivacyRequestView]
    capped: bool


@dataclass(frozen=True)
class RequestFigures:
    """What the page shows: open requests by state, and the deadline list."""

    by_status: dict[str, int]
    overdue: list[PrivacyRequestView]
    due_soon: list[PrivacyRequestView]
    counts_capped: bool
    deadlines_capped: bool


def request_figures(
    open_requests: Collected, due: Collected, now: datetime, due_soon_days: int = DUE_SOON_DAYS
) -> RequestFigures:
    """Counts by open state; overdue (deadline passed) and due-soon (within `due_soon_days`)
    open requests, earliest deadline first."""
    counted = Counter(request.status.value for request in open_requests.requests)
    soon = now + timedelta(days=due_soon_days)
    pending = sorted(
        (r for r in due.requests if r.status in OPEN_STATUSES and r.due_at < soon),
        key=lambda r: r.due_at,
    )
    return RequestFigures(
        by_status={status.value: counted.get(status.value, 0) for status in OPEN_IN_ORDER},
        overdue=[r for r in pending if r.due_at < now],
        due_soon=[r for r in pending if r.due_at >= now],
        counts_capped=open_requests.capped,
        deadlines_capped=due.capped,
    )


async def collect(bus: Bus, first: ListPrivacyRequests, timeout: float) -> Collected:
    """Every request the query matches, page after page, up to MAX_PAGES pages."""
    found: list[PrivacyRequestView] = []
    query = first
    for _ in range(MAX_PAGES):
        page = await bus.request(query, to="privacy", reply=PrivacyRequestPage, timeout=timeout)
        found += page.data
        if page.next_cursor is None:
            return Collected(found, capped=False)
        query = first.model_copy(update={"cursor": page.next_cursor})
    return Collected(found, capped=True)


def status_bars(by_status: dict[str, int]) -> list[Bar]:
    """One bar per open state."""
    return [Bar(status.replace("_", " "), count) for status, count in by_status.items()]


async def requests_page(request: web.Request) -> web.StreamResponse:
    """Open data-subject requests by state, and the overdue and due-soon ones."""
    ops_viewer(request)
    gate = request.config_dict[DASHBOARD].gate
    now = utcnow()
    statuses = list(OPEN_IN_ORDER)
    open_query = ListPrivacyRequests(statuses=statuses, limit=PAGE_SIZE)
    due_query = ListPrivacyRequests(
        statuses=statuses, due_before=now + timedelta(days=DUE_SOON_DAYS), limit=PAGE_SIZE
    )
    figures = request_figures(
        await collect(gate.bus, open_query, gate.timeout),
        await collect(gate.bus, due_query, gate.timeout),
        now,
    )
    chart = bar_chart(status_bars(figures.by_status), title="Open requests by state")
    context = {"figures": figures, "chart": chart, "now": now, "due_soon_days": DUE_SOON_DAYS}
    return render(request, "ops_requests.html", context)
