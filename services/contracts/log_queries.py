"""Logs query contracts: a partner's own API usage, ops search of technical logs, and usage
analytics in aggregate.

Usage and analytics cover a period `[period_from, period_to)` of at most
`MAX_QUERY_PERIOD_DAYS` days. Analytics never name a partner: each group reports counts only,
and a group with fewer distinct partners than the service's minimum group size is left out
(only the number of such groups is told).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, Field

from contracts.accounts import Actor
from contracts.base import Contract, Query, Reply

MAX_QUERY_PERIOD_DAYS = 93
"""The longest period one usage or analytics query may cover (about a quarter)."""

Day = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="A UTC day.", examples=["2026-11-26"]
    ),
]
FieldValue = str | int | float | bool


class LatencyPercentiles(Contract):
    """Response times in milliseconds (nearest-rank percentiles of the requests counted)."""

    p50: float = Field(ge=0, examples=[42.5])
    p95: float = Field(ge=0, examples=[180.0])
    p99: float = Field(ge=0, examples=[310.2])


class UsageStats(Contract):
    """Requests of a group, their errors and response times."""

    requests: int = Field(ge=0, description="Requests answered.")
    client_errors: int = Field(ge=0, description="Requests answered with a 4xx status.")
    server_errors: int = Field(ge=0, description="Requests answered with a 5xx status.")
    error_rate: float = Field(
        ge=0, le=1, description="(client_errors + server_errors) / requests; 0 without requests."
    )
    latency_ms: LatencyPercentiles | None = Field(
        default=None, description="Absent without requests."
    )


class RouteUsage(Contract):
    """The usage of one endpoint (method and route template)."""

    method: str = Field(examples=["GET"])
    route: str = Field(description="The route template.", examples=["/v1/orders/{id}"])
    stats: UsageStats


class DayUsage(Contract):
    """The usage of one UTC day, in total and per endpoint."""

    day: Day
    stats: UsageStats
    routes: list[RouteUsage] = Field(description="Per endpoint, by method then route.")


class GetApiUsage(Query):
    """A partner's own API usage of `[period_from, period_to)` (at most 93 days); answered by
    `logs.api_usage.v1`. A partner's key needs `usage:read`; nobody reads another's usage."""

    TYPE: ClassVar[str] = "logs.get_api_usage.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    period_from: AwareDatetime = Field(description="Start, inclusive.")
    period_to: AwareDatetime = Field(description="End, exclusive.")


class ApiUsage(Reply):
    """A partner's API requests of a period: totals, per endpoint, and per day."""

    TYPE: ClassVar[str] = "logs.api_usage.v1"

    partner_id: str
    period_from: datetime
    period_to: datetime
    totals: UsageStats
    routes: list[RouteUsage] = Field(description="The whole period per endpoint.")
    days: list[DayUsage] = Field(description="Days with at least one request, oldest first.")


class LogLevel(StrEnum):
    """Severity of a technical log record."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class SearchLogs(Query):
    """Technical log records, newest first, filtered (all optional, combined) by request id,
    correlation id, service, level and time `[at_from, at_to)`; answered by `logs.log_page.v1`.
    For the platform's operations only (the platform, or a user with the ops or support role).
    """

    TYPE: ClassVar[str] = "logs.search_logs.v1"

    actor: Actor
    request_id: str | None = Field(default=None, max_length=128)
    correlation_id: str | None = Field(default=None, max_length=128)
    service: str | None = Field(default=None, max_length=64, examples=["provisioning"])
    level: LogLevel | None = None
    at_from: AwareDatetime | None = Field(default=None, description="Inclusive.")
    at_to: AwareDatetime | None = Field(default=None, description="Exclusive.")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(
        default=None, max_length=128, description="`next_cursor` of the previous page."
    )


class LogRecord(Contract):
    """A technical log record as ops see it: sealed personal fields are never opened, only
    named in `sealed`."""

    id: str
    at: datetime
    service: str
    level: str
    event: str
    logger: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None
    message_type: str | None = None
    partner_id: str | None = None
    user_id: str | None = None
    fields: dict[str, FieldValue] = Field(
        default_factory=dict, description="What else the record carried, already redacted."
    )
    sealed: list[str] = Field(
        default_factory=list,
        description="Personal fields the record holds encrypted (`email`, `ip`, `user_agent`).",
    )


class LogPage(Reply):
    """A page of technical log records, newest first, and the cursor of the next."""

    TYPE: ClassVar[str] = "logs.log_page.v1"

    data: list[LogRecord]
    next_cursor: str | None = Field(default=None, description="Absent on the last page.")


class AnalyticsDimension(StrEnum):
    """What usage analytics are grouped by: API endpoint or UTC day (API requests), or
    package or destination country (completed orders)."""

    ENDPOINT = "endpoint"
    DAY = "day"
    PACKAGE = "package"
    COUNTRY = "country"


class GetUsageAnalytics(Query):
    """Platform usage of `[period_from, period_to)` (at most 93 days) in aggregate, grouped by
    one dimension; answered by `logs.usage_analytics.v1`. For the platform only."""

    TYPE: ClassVar[str] = "logs.get_usage_analytics.v1"

    actor: Actor
    dimension: AnalyticsDimension
    period_from: AwareDatetime = Field(description="Start, inclusive.")
    period_to: AwareDatetime = Field(description="End, exclusive.")


class AnalyticsGroup(Contract):
    """One group large enough to be anonymous."""

    key: str = Field(
        description="`METHOD /route`, a UTC day, a package id or a country code.",
        examples=["GET /v1/packages"],
    )
    count: int = Field(ge=0, description="API requests, or orders for package and country.")
    quantity: int | None = Field(
        default=None, ge=0, description="eSIMs sold (package and country only)."
    )
    members: int = Field(ge=0, description="Distinct partners in the group.")


class UsageAnalytics(Reply):
    """Usage in aggregate: the groups with at least `min_group_size` distinct partners, and
    how many smaller groups were suppressed. Records of subjects who restricted processing or
    objected to it are not counted."""

    TYPE: ClassVar[str] = "logs.usage_analytics.v1"

    dimension: AnalyticsDimension
    period_from: datetime
    period_to: datetime
    min_group_size: int = Field(ge=1)
    groups: list[AnalyticsGroup] = Field(description="By count, largest first, then by key.")
    suppressed_groups: int = Field(ge=0, description="Groups too small to report.")
