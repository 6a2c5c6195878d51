"""What an erasure tells every service: its subject's identifiers as blind indexes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contracts.erasure_ledger import PLATFORM_KINDS, ErasedIdentifier, SubjectErased
from contracts.privacy import RequestType
from privacy.settings import PrivacySettings
from servicekit.crypto import BlindIndex
from servicekit.errors import ServiceError


def required_blind_index(
    settings: PrivacySettings, needed_for: str = "erasures need it for the erasure ledger"
) -> BlindIndex:
    """The platform's blind index, for what announces identifiers to every service (the
    erasure ledger, the restriction broadcast); `unavailable` without it."""
    blind = settings.blind_index()
    if blind is None:
        raise ServiceError("unavailable", f"BLIND_INDEX_KEY is not set: {needed_for}")
    return blind


def erased_identifiers(subject: Mapping[str, str], blind: BlindIndex) -> list[ErasedIdentifier]:
    """The subject's identifiers as the ledger keeps them: hashed, platform ids also in clear."""
    return [
        ErasedIdentifier.model_validate(
            {
                "kind": kind,
                "index": blind.of(kind, value),
                "value": value if kind in PLATFORM_KINDS else None,
            }
        )
        for kind, value in sorted(subject.items())
    ]


def subject_erased(
    settings: PrivacySettings, request: Mapping[str, Any], now: datetime
) -> SubjectErased | None:
    """The `privacy.subject_erased.v1` event of an erasure request (None for other types)."""
    if request["type"] != RequestType.ERASURE.value:
        return None
    return SubjectErased(
        request_id=request["_id"],
        scope_partner_id=request.get("scope_partner_id"),
        identifiers=erased_identifiers(request["subject"], required_blind_index(settings)),
        erased_at=now,
    )
