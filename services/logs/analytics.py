"""Usage analytics in aggregate: API requests per endpoint or day, orders per package or
country, for the platform only.

Two rules keep them anonymous, both applied at query time:
- records of subjects who restricted processing or objected to it (`restricted_subjects`,
  kept by the privacy handlers) are not counted;
- a group with fewer distinct partners than `ANALYTICS_MIN_GROUP_SIZE` is not reported, only
  counted among the suppressed groups.
Dates are ranged in `find` (aggregation `$match` on dates is wrong on nx-27017) and the
groups are counted in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.accounts import Actor
from contracts.log_queries import (
    MAX_QUERY_PERIOD_DAYS,
    AnalyticsDimension,
    AnalyticsGroup,
    GetUsageAnalytics,
    UsageAnalytics,
)
from logs import store
from logs.order_facts import ORDER_FACTS
from logs.store import Db
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext

RESTRICTED_SUBJECTS = "restricted_subjects"
SUBJECT_FIELD = {
    "partner_id": "partner_id",
    "user_id": "user_id",
    "ip": "ip_bidx",
    "email": "email_bidx",
}
"""For each kind of restricted subject, the record field that identifies it."""
ORDER_SUBJECT_KINDS: tuple[str, ...] = ("partner_id",)
"""Order facts identify a partner only."""


def checked_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period in UTC; `invalid_request` unless it is ordered and at most 93 days long."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ServiceError("invalid_request", "period_to must be later than period_from")
    if end - start > timedelta(days=MAX_QUERY_PERIOD_DAYS):
        raise ServiceError(
            "invalid_request", f"a period may span at most {MAX_QUERY_PERIOD_DAYS} days"
        )
    return start, end


def day_of(moment: datetime) -> str:
    """The UTC day of a moment, as `YYYY-MM-DD`."""
    return moment.astimezone(UTC).date().isoformat()


def require_platform(actor: Actor) -> None:
    """Analytics are the platform's own business."""
    if actor.kind != "platform":
        raise ServiceError("forbidden", "usage analytics are for the platform only")


async def excluded_subjects(db: Db) -> dict[str, set[str]]:
    """Per kind, the subjects whose records analytics leave out (restricted or objecting)."""
    excluded: dict[str, set[str]] = defaultdict(set)
    async for subject in db[RESTRICTED_SUBJECTS].find({}):
        kind, value = subject.get("kind"), subject.get("value")
        flagged = subject.get("restricted") or subject.get("objection")
        if flagged and kind in SUBJECT_FIELD and isinstance(value, str):
            excluded[kind].add(value)
    return excluded


def exclusion_filter(excluded: dict[str, set[str]], kinds: Iterable[str]) -> dict[str, Any]:
    """`$nin` per identifying field (which also keeps records that lack the field)."""
    return {
        SUBJECT_FIELD[kind]: {"$nin": sorted(excluded[kind])} for kind in kinds if excluded[kind]
    }


@dataclass
class Group:
    """One group as it is counted."""

    count: int = 0
    quantity: int = 0
    members: set[str] = field(default_factory=set)


def report(
    query: GetUsageAnalytics,
    period: tuple[datetime, datetime],
    groups: dict[str, Group],
    min_group_size: int,
    *,
    with_quantity: bool,
) -> UsageAnalytics:
    """The groups large enough to report, largest first, and how many were suppressed."""
    shown = [
        AnalyticsGroup(
            key=key,
            count=group.count,
            quantity=group.quantity if with_quantity else None,
            members=len(group.members),
        )
        for key, group in groups.items()
        if len(group.members) >= min_group_size
    ]
    shown.sort(key=lambda group: (-group.count, group.key))
    return UsageAnalytics(
        dimension=query.dimension,
        period_from=period[0],
        period_to=period[1],
        min_group_size=min_group_size,
        groups=shown,
        suppressed_groups=len(groups) - len(shown),
    )


def endpoint_key(record: dict[str, Any]) -> list[str]:
    """An API request's endpoint group."""
    return [f"{record['method']} {record['route']}"]


def day_key(record: dict[str, Any]) -> list[str]:
    """An API request's day group."""
    return [day_of(record["received_at"])]


def package_key(fact: dict[str, Any]) -> list[str]:
    """An order's package group."""
    return [fact["package_id"]]


def country_keys(fact: dict[str, Any]) -> list[str]:
    """An order's country groups: one per country its package works in."""
    countries: list[str] = fact.get("countries", [])
    return countries


KEYS: dict[AnalyticsDimension, Callable[[dict[str, Any]], list[str]]] = {
    AnalyticsDimension.ENDPOINT: endpoint_key,
    AnalyticsDimension.DAY: day_key,
    AnalyticsDimension.PACKAGE: package_key,
    AnalyticsDimension.COUNTRY: country_keys,
}
ORDER_DIMENSIONS = (AnalyticsDimension.PACKAGE, AnalyticsDimension.COUNTRY)
REQUEST_PROJECTION = {"_id": 0, "partner_id": 1, "method": 1, "route": 1, "received_at": 1}
ORDER_PROJECTION = {"_id": 0, "partner_id": 1, "package_id": 1, "countries": 1, "quantity": 1}


class UsageAnalyticsQueries:
    """The request/reply handler of usage analytics."""

    def __init__(self, db: Db, min_group_size: int) -> None:
        self.db = db
        self.min_group_size = min_group_size

    async def get_usage_analytics(
        self, query: GetUsageAnalytics, _context: MessageContext
    ) -> UsageAnalytics:
        """Usage of a period grouped by one dimension, anonymous by construction."""
        require_platform(query.actor)
        period = checked_period(query.period_from, query.period_to)
        excluded = await excluded_subjects(self.db)
        by_orders = query.dimension in ORDER_DIMENSIONS
        if by_orders:
            collection, moment, kinds = ORDER_FACTS, "completed_at", ORDER_SUBJECT_KINDS
            projection = ORDER_PROJECTION
        else:
            collection, moment, kinds = store.API_REQUESTS, "received_at", tuple(SUBJECT_FIELD)
            projection = REQUEST_PROJECTION
        criteria = {moment: {"$gte": period[0], "$lt": period[1]}}
        criteria |= exclusion_filter(excluded, kinds)
        groups: dict[str, Group] = defaultdict(Group)
        keys_of = KEYS[query.dimension]
        async for record in self.db[collection].find(criteria, projection):
            for key in keys_of(record):
                group = groups[key]
                group.count += 1
                group.quantity += int(record.get("quantity", 0))
                if isinstance(record.get("partner_id"), str):
                    group.members.add(record["partner_id"])
        return report(query, period, groups, self.min_group_size, with_quantity=by_orders)
