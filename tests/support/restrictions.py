"""Restriction broadcasts as the privacy service sends them, for tests that stand in for it.

The privacy service sends a restriction, lift or objection as two things at once: the task
command to each service (`privacy.restrict_subject.v1`) and the event every service keeps in
its register (`privacy.subject_restriction_changed.v1`). Stand-ins send both with these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.privacy import RestrictSubject, SubjectRef
from contracts.restrictions import SubjectRestrictionChanged
from privacy.erasure_events import erased_identifiers
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex
from servicekit.ids import new_id
from servicekit.restrictions import RESTRICTED_SUBJECTS
from support.waiting import eventually


def flags_of(command: RestrictSubject) -> dict[str, bool]:
    """The flags the request behind a restrict command changes, as the broadcast says them."""
    if command.objection:
        return {"restricted": command.restricted, "objection": command.restricted}
    return {"restricted": command.restricted}


def restriction_changed(
    subject: SubjectRef,
    blind: BlindIndex,
    flags: dict[str, bool],
    *,
    scope: str | None = None,
    at: datetime | None = None,
    request_id: str | None = None,
) -> SubjectRestrictionChanged:
    """The broadcast of a request about `subject` that sets or clears `flags`."""
    return SubjectRestrictionChanged.model_validate(
        {
            "request_id": request_id or new_id("dsr"),
            "scope_partner_id": scope,
            "identifiers": erased_identifiers(subject.identifiers(), blind),
            "changed_at": at or utcnow(),
        }
        | flags
    )


def broadcast_of(command: RestrictSubject, blind: BlindIndex) -> SubjectRestrictionChanged:
    """The broadcast the privacy service sends with a restrict command."""
    return restriction_changed(
        command.subject,
        blind,
        flags_of(command),
        scope=command.scope_partner_id,
        request_id=command.request_id,
    )


async def announce(bus: Bus, event: SubjectRestrictionChanged, db: Any) -> None:
    """Publish the broadcast and wait until the service whose database is `db` keeps it."""
    await bus.publish(event)

    async def kept() -> object:
        return await db[RESTRICTED_SUBJECTS].find_one({"_id": event.request_id})

    await eventually(kept, what=f"the register keeping {event.request_id}")
