"""Gateway contracts: the records of API requests, shipped in batches to the logs service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Event
from contracts.logs import MAX_RECORDS_PER_BATCH


class ApiRequestRecord(BaseModel):
    """One partner API request, recorded after its response; free of secrets and bodies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    partner_id: str | None = None
    key_id: str | None = None
    method: str
    route: str = Field(description="The route template, e.g. `/v1/orders/{id}`.")
    path: str
    status: int = Field(ge=100, le=599)
    duration_ms: float = Field(ge=0)
    ip: str | None = Field(default=None, description="Personal: sealed at rest, blind-indexed.")
    user_agent: str | None = Field(
        default=None, max_length=512, description="Personal: sealed at rest."
    )
    received_at: datetime
    request_bytes: int | None = Field(
        default=None, ge=0, description="Size of the request body, when the client declared it."
    )
    response_bytes: int | None = Field(
        default=None, ge=0, description="Size of the response body, when known."
    )


class ApiRequestsLogged(Event):
    """A batch of API request records from one gateway process, for the logs service."""

    TYPE: ClassVar[str] = "gateway.api_requests_logged.v1"

    records: list[ApiRequestRecord] = Field(
        min_length=1,
        max_length=MAX_RECORDS_PER_BATCH,
        description="In the order the responses were ready; the n-th is stored as"
        " `<message id>:<nnn>`.",
    )


MAX_SPENT_KEYS = 1000
"""API keys one rate-limit report names at most (a replica sends several when it has more)."""


class RateLimitSpent(Event):
    """Tokens of API keys' rate limits spent on one gateway replica since its last report.

    Every other replica takes them from its own bucket for each key, so a key's limit holds
    across replicas however its requests are spread.
    """

    TYPE: ClassVar[str] = "gateway.rate_limit_spent.v1"

    replica: str = Field(
        max_length=64, description="The reporting replica, which ignores its own report."
    )
    spent: dict[str, int] = Field(
        min_length=1,
        max_length=MAX_SPENT_KEYS,
        description="Tokens spent per API key id (`key_id`, never the key itself).",
        examples=[{"key_7GfQ2x": 12}],
    )
