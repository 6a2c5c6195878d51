"""Retention contracts: what a service's retention sweep removed (counts, never records), and
the overview of every service's rules and latest sweep."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.accounts import Actor
from contracts.base import Event, Query, Reply


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


class GetRetentionOverview(Query):
    """Every service's retention rules and its latest sweep; for platform actors only (a
    partner's user or key is refused with `forbidden`)."""

    TYPE: ClassVar[str] = "privacy.get_retention_overview.v1"

    actor: Actor


class RetentionRule(BaseModel):
    """One category of a service's inventory and how long it is kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(examples=["login_history"])
    retention: str | None = Field(default=None, description="The rule as people read it.")
    retention_days: int | None = Field(
        default=None, description="The rule's days, when the rule is a number of days."
    )


class LatestSweep(BaseModel):
    """A service's latest retention sweep as privacy keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    swept_at: datetime
    removed: dict[str, int] = Field(description="Records removed per category.")
    partners_erased: int = Field(default=0, ge=0)


class ServiceRetention(BaseModel):
    """One service's rules (from the registry of inventories) and its latest sweep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    rules: list[RetentionRule] = Field(default_factory=list)
    latest_sweep: LatestSweep | None = Field(
        default=None, description="None when the service never reported a sweep."
    )


class RetentionOverview(Reply):
    """Every service known from an inventory or a sweep, by name."""

    TYPE: ClassVar[str] = "privacy.retention_overview.v1"

    services: list[ServiceRetention]
