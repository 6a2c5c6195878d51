"""The erasure ledger on the bus: erasures announced to every service, and applied again.

Identifiers travel as blind indexes (HMAC-SHA256 under the platform's `BLIND_INDEX_KEY`, as
the services index their sealed fields), never in the clear; only identifiers the platform
itself assigns (partner id, user id, ICCID) also carry their value, because the services keep
those unsealed and find records by them.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.base import Command, Contract, Event, Query, Reply
from contracts.privacy import CategoryOutcome, IdentifierKind

PLATFORM_KINDS: frozenset[str] = frozenset({"partner_id", "user_id", "iccid"})
"""Identifier kinds the platform assigns; the ledger keeps their values."""


class ErasedIdentifier(Contract):
    """One identifier of an erased subject."""

    kind: IdentifierKind
    index: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="Blind index of the identifier (hex)."
    )
    value: str | None = Field(
        default=None,
        max_length=64,
        description="The identifier itself, for platform-assigned kinds only.",
    )


class SubjectErased(Event):
    """A subject's erasure started: every service remembers it, so that messages about the
    subject from before the erasure that arrive late are not taken in again."""

    TYPE: ClassVar[str] = "privacy.subject_erased.v1"

    request_id: str
    scope_partner_id: str | None = Field(
        default=None, description="The erasure reached only this partner's data."
    )
    identifiers: list[ErasedIdentifier] = Field(min_length=1)
    erased_at: datetime


class ReapplyErasure(Command):
    """Erase again what a ledger entry names (after a restore from backup or a replay)."""

    TYPE: ClassVar[str] = "privacy.reapply_erasure.v1"

    run_id: str = Field(description="The reapply run this belongs to.")
    request_id: str = Field(description="The erasure request the ledger entry records.")
    scope_partner_id: str | None = None
    identifiers: list[ErasedIdentifier] = Field(min_length=1)
    erased_at: datetime


class ErasureReapplied(Event):
    """A service's answer to `ReapplyErasure`: what it found and erased again."""

    TYPE: ClassVar[str] = "privacy.erasure_reapplied.v1"

    run_id: str
    request_id: str
    service: str
    succeeded: bool
    outcomes: list[CategoryOutcome] = Field(default_factory=list)
    error: str | None = None


class ReapplyErasures(Query):
    """Apply every recorded erasure again (or those since a time), on every data owner."""

    TYPE: ClassVar[str] = "privacy.reapply_erasures.v1"

    by: str = Field(min_length=1, max_length=128)
    since: datetime | None = Field(default=None, description="Only erasures from this time.")


class ReapplyStarted(Reply):
    """A reapply run: how many ledger entries it sends to which services."""

    TYPE: ClassVar[str] = "privacy.reapply_started.v1"

    run_id: str
    entries: int = Field(ge=0)
    services: list[str]


class GetReapplyRun(Query):
    """The progress of a reapply run."""

    TYPE: ClassVar[str] = "privacy.get_reapply_run.v1"

    run_id: str


class ReapplyRunView(Reply):
    """A reapply run's progress: answers expected and received, and what was erased again."""

    TYPE: ClassVar[str] = "privacy.reapply_run.v1"

    run_id: str
    started_at: datetime
    expected: int = Field(ge=0, description="Entries times services.")
    answered: int = Field(ge=0)
    failed: int = Field(ge=0)
    erased_again: int = Field(ge=0, description="Records found and erased again, in all.")
