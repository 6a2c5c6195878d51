"""The logs service's queries: a partner's own API usage, and the ops search of technical logs.

Usage is computed in Python from the request records of the period (found with a date range
in `find`, which both embedded servers honour; see decision 0002), percentiles included.
The ops search pages newest first by `_id`: technical record ids start with the batch's
time-sortable message id. Sealed personal fields are never opened here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.accounts import Actor, Role, Scope, scopes_of
from contracts.log_queries import (
    ApiUsage,
    DayUsage,
    GetApiUsage,
    GetUsageAnalytics,
    LatencyPercentiles,
    LogPage,
    LogRecord,
    RouteUsage,
    SearchLogs,
    UsageStats,
)
from contracts.orders import OrderCompleted
from logs import order_facts, store
from logs.analytics import UsageAnalyticsQueries, checked_period, day_of
from logs.order_facts import OrderFacts
from logs.store import Db
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.service import Service

OPS_ROLES = frozenset({Role.OPS, Role.SUPPORT})
"""The platform roles that may search technical logs."""
SEALED_FIELDS = ("email", "ip", "user_agent")
RECORD_FIELDS = (
    "logger",
    "correlation_id",
    "request_id",
    "message_type",
    "partner_id",
    "user_id",
)
USAGE_PROJECTION = {
    "_id": 0,
    "method": 1,
    "route": 1,
    "status": 1,
    "duration_ms": 1,
    "received_at": 1,
}


def require_own_usage(actor: Actor, partner_id: str) -> None:
    """The platform reads any partner's usage; a partner's user or key only its own, and only
    with `usage:read`: a key's own scope, a user's through its role."""
    if actor.kind == "platform":
        return
    if actor.partner_id is None or actor.partner_id != partner_id:
        raise ServiceError("forbidden", "you may read only your own partner's usage")
    if Scope.USAGE_READ not in scopes_of(actor):
        raise ServiceError("forbidden", f"this needs the {Scope.USAGE_READ.value} scope")


def require_ops(actor: Actor) -> None:
    """Only the platform and its ops or support users search technical logs."""
    if actor.kind == "platform":
        return
    if actor.kind == "user" and actor.partner_id is None and actor.role in OPS_ROLES:
        return
    raise ServiceError("forbidden", "log search is for the platform's operations only")


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in (0, 1]) of a non-empty ascending list."""
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Tally:
    """Requests of one group, as they are counted."""

    client_errors: int = 0
    server_errors: int = 0
    durations: list[float] = field(default_factory=list)

    def add(self, status: int, duration_ms: float) -> None:
        """Count one request."""
        self.durations.append(float(duration_ms))
        if 400 <= status < 500:
            self.client_errors += 1
        elif status >= 500:
            self.server_errors += 1

    def stats(self) -> UsageStats:
        """The group's numbers."""
        requests = len(self.durations)
        errors = self.client_errors + self.server_errors
        latency = None
        if requests:
            ordered = sorted(self.durations)
            latency = LatencyPercentiles(
                p50=percentile(ordered, 0.50),
                p95=percentile(ordered, 0.95),
                p99=percentile(ordered, 0.99),
            )
        return UsageStats(
            requests=requests,
            client_errors=self.client_errors,
            server_errors=self.server_errors,
            error_rate=round(errors / requests, 6) if requests else 0.0,
            latency_ms=latency,
        )


RouteKey = tuple[str, str]


def route_usage(tallies: dict[RouteKey, Tally]) -> list[RouteUsage]:
    """Per endpoint, by method then route."""
    return [
        RouteUsage(method=method, route=route, stats=tallies[(method, route)].stats())
        for method, route in sorted(tallies)
    ]


def usage_of(partner_id: str, start: datetime, end: datetime, records: Iterable[Any]) -> ApiUsage:
    """The usage report of request records (each with method, route, status, duration_ms and
    received_at)."""
    totals = Tally()
    routes: dict[RouteKey, Tally] = defaultdict(Tally)
    days: dict[str, Tally] = defaultdict(Tally)
    day_routes: dict[str, dict[RouteKey, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for record in records:
        key = (record["method"], record["route"])
        day = day_of(record["received_at"])
        for tally in (totals, routes[key], days[day], day_routes[day][key]):
            tally.add(record["status"], record["duration_ms"])
    return ApiUsage(
        partner_id=partner_id,
        period_from=start,
        period_to=end,
        totals=totals.stats(),
        routes=route_usage(routes),
        days=[
            DayUsage(day=day, stats=days[day].stats(), routes=route_usage(day_routes[day]))
            for day in sorted(days)
        ],
    )


def search_criteria(query: SearchLogs) -> dict[str, Any]:
    """The find filter of an ops search (equality, a date range, the cursor)."""
    criteria: dict[str, Any] = {
        name: value
        for name, value in (
            ("request_id", query.request_id),
            ("correlation_id", query.correlation_id),
            ("service", query.service),
            ("level", query.level.value if query.level is not None else None),
        )
        if value is not None
    }
    window = {
        operator: moment
        for operator, moment in (("$gte", query.at_from), ("$lt", query.at_to))
        if moment is not None
    }
    if window:
        criteria["at"] = window
    if query.cursor is not None:
        criteria["_id"] = {"$lt": query.cursor}
    return criteria


def log_record(document: dict[str, Any]) -> LogRecord:
    """A stored technical record as ops see it: sealed fields named, never opened."""
    stored = document.get("fields")
    fields = (
        {k: v for k, v in stored.items() if isinstance(v, str | int | float | bool)}
        if isinstance(stored, dict)
        else {}
    )
    return LogRecord(
        id=document["_id"],
        at=document["at"],
        service=document.get("service", ""),
        level=document.get("level", ""),
        event=document.get("event", ""),
        fields=fields,
        sealed=[name for name in SEALED_FIELDS if name in document],
        **{name: document[name] for name in RECORD_FIELDS if isinstance(document.get(name), str)},
    )


class LogQueries:
    """The request/reply handlers of usage and ops search."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def get_api_usage(self, query: GetApiUsage, _context: MessageContext) -> ApiUsage:
        """The partner's own API usage of a period: per day, per endpoint, in total."""
        require_own_usage(query.actor, query.partner_id)
        start, end = checked_period(query.period_from, query.period_to)
        criteria = {"partner_id": query.partner_id, "received_at": {"$gte": start, "$lt": end}}
        cursor = self.db[store.API_REQUESTS].find(criteria, USAGE_PROJECTION)
        return usage_of(query.partner_id, start, end, [record async for record in cursor])

    async def search_logs(self, query: SearchLogs, _context: MessageContext) -> LogPage:
        """A page of technical records, newest first, for the platform's operations."""
        require_ops(query.actor)
        if query.at_from and query.at_to and query.at_to <= query.at_from:
            raise ServiceError("invalid_request", "at_to must be later than at_from")
        found = self.db[store.TECHNICAL].find(search_criteria(query))
        documents = await found.sort("_id", -1).limit(query.limit + 1).to_list()
        page = documents[: query.limit]
        more = len(documents) > query.limit
        return LogPage(
            data=[log_record(document) for document in page],
            next_cursor=page[-1]["_id"] if more else None,
        )


def register(service: Service, min_group_size: int) -> None:
    """Answer usage, ops search and analytics queries (groups of fewer than `min_group_size`
    partners suppressed), and keep order facts."""
    queries = LogQueries(service.db)
    service.router.answer(GetApiUsage, queries.get_api_usage)
    service.router.answer(SearchLogs, queries.search_logs)
    usage_analytics = UsageAnalyticsQueries(service.db, min_group_size, service.restrictions)
    service.router.answer(GetUsageAnalytics, usage_analytics.get_usage_analytics)
    facts = OrderFacts(service.db)
    service.router.on(OrderCompleted, facts.order_completed)
    service.startup.append(lambda: order_facts.create_indexes(service.db))
