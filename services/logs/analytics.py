"""Usage analytics in aggregate: API requests per endpoint or day, orders per package or
country, for the platform only.

Two rules keep them anonymous, both applied at query time:
- records of subjects who restricted processing or objected to it are not counted: the
  service's register (`servicekit.restrictions`, fed by the privacy service's broadcast) is
  asked for each record's partner, user, IP address and email under the record's partner,
  so a partner's own restriction leaves out only that partner's records;
- a group with fewer distinct partners than `ANALYTICS_MIN_GROUP_SIZE` is not reported, only
  counted among the suppressed groups.
Dates are ranged in `find` (aggregation `$match` on dates is wrong on nx-27017) and the
groups are counted in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
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
from servicekit.restrictions import FlagBook, RestrictionRegister, value_key

VALUE_FIELDS = ("partner_id", "user_id")
"""Record fields that hold an identifier as it is (the register knows them by value)."""
BLIND_FIELDS = ("ip_bidx", "email_bidx")
"""Record fields that hold the blind index of an identifier (the register's own keys)."""


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


def register_keys(record: dict[str, Any]) -> list[str]:
    """The register keys of the subjects a record identifies."""
    keys = [value_key(name, record[name]) for name in VALUE_FIELDS if record.get(name)]
    return keys + [record[name] for name in BLIND_FIELDS if record.get(name)]


def left_out(book: FlagBook, record: dict[str, Any]) -> bool:
    """Whether a subject of the record restricted processing or objected to it, for the
    record's partner (a record without one: only unscoped flags)."""
    if not book:
        return False
    partner_id = record.get("partner_id")
    scope = partner_id if isinstance(partner_id, str) else None
    return book.flags(register_keys(record), scope).any


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
REQUEST_PROJECTION = {
    "_id": 0,
    "partner_id": 1,
    "user_id": 1,
    "ip_bidx": 1,
    "email_bidx": 1,
    "method": 1,
    "route": 1,
    "received_at": 1,
}
ORDER_PROJECTION = {"_id": 0, "partner_id": 1, "package_id": 1, "countries": 1, "quantity": 1}


class UsageAnalyticsQueries:
    """The request/reply handler of usage analytics."""

    def __init__(self, db: Db, min_group_size: int, restrictions: RestrictionRegister) -> None:
        self.db = db
        self.min_group_size = min_group_size
        self.restrictions = restrictions

    async def get_usage_analytics(
        self, query: GetUsageAnalytics, _context: MessageContext
    ) -> UsageAnalytics:
        """Usage of a period grouped by one dimension, anonymous by construction."""
        require_platform(query.actor)
        period = checked_period(query.period_from, query.period_to)
        book = await self.restrictions.book()
        by_orders = query.dimension in ORDER_DIMENSIONS
        if by_orders:
            collection, moment, projection = ORDER_FACTS, "completed_at", ORDER_PROJECTION
        else:
            collection, moment, projection = store.API_REQUESTS, "received_at", REQUEST_PROJECTION
        criteria = {moment: {"$gte": period[0], "$lt": period[1]}}
        groups: dict[str, Group] = defaultdict(Group)
        keys_of = KEYS[query.dimension]
        async for record in self.db[collection].find(criteria, projection):
            if left_out(book, record):
                continue
            for key in keys_of(record):
                group = groups[key]
                group.count += 1
                group.quantity += int(record.get("quantity", 0))
                if isinstance(record.get("partner_id"), str):
                    group.members.add(record["partner_id"])
        return report(query, period, groups, self.min_group_size, with_quantity=by_orders)
