"""Restriction and objection broadcast: every data owner keeps the subject's flags.

A restriction, its lift or an objection is announced to every service, which keeps it in its
own register and honours it whenever it processes data (webhooks, analytics, non-essential
email), for records it holds already and for those it takes in later. Identifiers travel as
the erasure ledger's do: blind indexes, with the value only for platform-assigned kinds.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field, model_validator

from contracts.base import Event
from contracts.erasure_ledger import ErasedIdentifier


class SubjectRestrictionChanged(Event):
    """A subject's restriction or objection changed: set, lifted, or objected.

    Each flag is the state the request leaves it in, or absent when the request leaves it as
    it was: a restriction sets `restricted`, a lift clears it (and leaves `objection`), an
    objection sets both, as its task command does (there is no lift of an objection). The
    latest change of a flag (by `changed_at`) wins, whatever order the events arrive in."""

    TYPE: ClassVar[str] = "privacy.subject_restriction_changed.v1"

    request_id: str = Field(description="The privacy request that changed the flags.")
    scope_partner_id: str | None = Field(
        default=None,
        description="The change holds only for this partner's data (a partner asked);"
        " absent: for every partner's.",
    )
    identifiers: list[ErasedIdentifier] = Field(
        min_length=1, description="The subject's identifiers, as blind indexes."
    )
    restricted: bool | None = Field(
        default=None,
        description="The restriction flag after the request; absent when it leaves it as it was.",
        examples=[True],
    )
    objection: bool | None = Field(
        default=None,
        description="The objection flag after the request; absent when it leaves it as it was.",
        examples=[True],
    )
    changed_at: datetime = Field(description="When the request took effect (UTC).")

    @model_validator(mode="after")
    def _changes_a_flag(self) -> SubjectRestrictionChanged:
        if self.restricted is None and self.objection is None:
            raise ValueError("a restriction change sets or clears at least one flag")
        return self
