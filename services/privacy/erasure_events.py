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


def ledger_blind_index(settings: PrivacySettings) -> BlindIndex:
    """The platform's blind index; erasures need it for the ledger (`unavailable` without)."""
    blind = settings.blind_index()
    if blind is None:
        raise ServiceError(
            "unavailable", "erasures need BLIND_INDEX_KEY for the erasure ledger; it is not set"
        )
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
        identifiers=erased_identifiers(request["subject"], ledger_blind_index(settings)),
        erased_at=now,
    )
