"""Gateway contracts: the record of every API request, for the logs service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.base import Event


class ApiRequestLogged(Event):
    """One partner API request, recorded after its response; free of secrets and bodies."""

    TYPE: ClassVar[str] = "gateway.api_request_logged.v1"

    request_id: str
    partner_id: str | None = None
    key_id: str | None = None
    method: str
    route: str = Field(description="The route template, e.g. `/v1/orders/{id}`.")
    path: str
    status: int = Field(ge=100, le=599)
    duration_ms: float = Field(ge=0)
    ip: str | None = None
    user_agent: str | None = Field(default=None, max_length=512)
    received_at: datetime
    request_bytes: int | None = Field(
        default=None, ge=0, description="Size of the request body, when the client declared it."
    )
    response_bytes: int | None = Field(
        default=None, ge=0, description="Size of the response body, when known."
    )
