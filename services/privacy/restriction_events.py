"""What a restriction, its lift or an objection tells every service: the subject's flags.

The event travels with the request's fan-out (in the same outbox write), so every data owner
keeps the flags in its register (`servicekit.restrictions`) and honours them for records it
takes in later too, not only for those the request's task flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contracts.privacy import RequestType
from contracts.restrictions import SubjectRestrictionChanged
from privacy.erasure_events import erased_identifiers, required_blind_index
from privacy.settings import PrivacySettings

FLAGS_AFTER: dict[str, dict[str, bool]] = {
    RequestType.RESTRICTION.value: {"restricted": True},
    RequestType.RESTRICTION_LIFT.value: {"restricted": False},
    RequestType.OBJECTION.value: {"restricted": True, "objection": True},
}
"""The flags each kind of request leaves set or cleared (the others it leaves alone), as its
task command says them: an objection also restricts, and a lift leaves the objection."""
BROADCAST_TYPES: frozenset[RequestType] = frozenset(RequestType(t) for t in FLAGS_AFTER)
"""The request types announced to every service."""
NEEDED_FOR = "restrictions and objections need it to be announced"


def subject_restriction_changed(
    settings: PrivacySettings, request: Mapping[str, Any], now: datetime
) -> SubjectRestrictionChanged | None:
    """The `privacy.subject_restriction_changed.v1` event of a restriction, restriction lift
    or objection request (None for other types)."""
    flags = FLAGS_AFTER.get(request["type"])
    if flags is None:
        return None
    identifiers = erased_identifiers(request["subject"], required_blind_index(settings, NEEDED_FOR))
    return SubjectRestrictionChanged.model_validate(
        {
            "request_id": request["_id"],
            "scope_partner_id": request.get("scope_partner_id"),
            "identifiers": identifiers,
            "changed_at": now,
        }
        | flags
    )
