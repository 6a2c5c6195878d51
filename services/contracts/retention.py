"""Retention contracts: what a service's retention sweep removed (counts, never records)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.base import Event


class RetentionSwept(Event):
    """A service's retention sweep ran: how many records of each category it removed.

    Published by accounts and by provisioning (told apart by `service`). Counts only: no ids,
    no personal data. Categories are the names of the service's personal-data inventory,
    plus, for accounts, `api_key_requests` (ids of carried-out API-key requests).
    """

    TYPE: ClassVar[str] = "privacy.retention_swept.v1"

    service: str = Field(description="The service that swept.", examples=["accounts"])
    swept_at: datetime = Field(description="The time the sweep applied its rules at (UTC).")
    removed: dict[str, int] = Field(
        description="Records removed per category; categories with none are left out.",
        examples=[{"login_history": 120, "dashboard_sessions": 14, "contact_people": 2}],
    )
    partners_erased: int = Field(
        default=0, ge=0, description="Closed partners whose account data reached its end."
    )
