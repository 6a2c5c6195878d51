"""The usage route (`usage:read`): the partner's own API usage of a period, from the logs
service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import Field, ValidationInfo, field_validator

from contracts.accounts import Scope
from contracts.log_queries import MAX_QUERY_PERIOD_DAYS, ApiUsage, GetApiUsage
from gateway.account_schemas import Instant, after_start
from gateway.api import Call, Endpoint
from gateway.handlers import actor_of
from gateway.schemas import ApiModel
from servicekit.bus import Bus
from servicekit.clock import utcnow

TO = "logs"
DEFAULT_PERIOD = timedelta(days=30)


class UsageQuery(ApiModel):
    """A period `[from, to)` of at most 93 days; by default the 30 days before `to`."""

    period_from: Instant | None = Field(
        default=None, alias="from", description="Start, inclusive; default: 30 days before `to`."
    )
    period_to: Instant | None = Field(
        default=None, alias="to", description="End, exclusive; default: now."
    )

    @field_validator("period_to")
    @classmethod
    def _period_is_ordered(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        return after_start(end, info)

    def period(self, now: datetime) -> tuple[datetime, datetime]:
        """The period asked for, in UTC, with the defaults filled in."""
        end = (self.period_to or now).astimezone(UTC)
        start = (self.period_from or end - DEFAULT_PERIOD).astimezone(UTC)
        return start, end


class UsageHandlers:
    """Endpoint functions of `/v1/usage`."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def get_usage(self, call: Call) -> ApiUsage:
        """The partner's own API usage of a period."""
        asked: UsageQuery = call.query
        start, end = asked.period(utcnow())
        query = GetApiUsage(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            period_from=start,
            period_to=end,
        )
        return await self.bus.request(query, to=TO, reply=ApiUsage, timeout=self.timeout)


def usage_endpoints(handlers: UsageHandlers) -> list[Endpoint]:
    """The partner's own API usage: needs `usage:read`."""
    return [
        Endpoint(
            "GET",
            "/v1/usage",
            "getApiUsage",
            "Get your API usage of a period",
            handlers.get_usage,
            ApiUsage,
            scope=Scope.USAGE_READ,
            query=UsageQuery,
            tags=["usage"],
            description="Requests, client (4xx) and server (5xx) errors, error rate and"
            " response-time percentiles (p50, p95, p99, in milliseconds, nearest rank) of"
            " your API requests in `[from, to)`: in total, per endpoint (method and route"
            " template), and per UTC day. The period spans at most"
            f" {MAX_QUERY_PERIOD_DAYS} days; by default the 30 days before `to` (default:"
            " now). Requests appear within seconds of their response.",
        ),
    ]
