"""The privacy side of the broadcast: which requests announce which flags, and a restriction
refused at intake when the privacy service cannot hash identifiers (no BLIND_INDEX_KEY)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from restriction_platform import new_email, start_platform

from contracts.privacy import RequestType, SubjectRef
from privacy.restriction_events import subject_restriction_changed
from privacy.settings import PrivacySettings
from servicekit.crypto import BlindIndex
from servicekit.errors import RemoteCallError, ServiceError

NOW = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
KEY = BlindIndex.generate_key()


def request(kind: RequestType, scope: str | None = None) -> dict[str, object]:
    """A stored request of the kind, about an email and an ICCID."""
    stored: dict[str, object] = {
        "_id": "dsr_broadcast",
        "type": kind.value,
        "subject": {"email": "Traveller@Example.net", "iccid": "8949000000000000019"},
    }
    return stored | ({"scope_partner_id": scope} if scope else {})


@pytest.mark.parametrize(
    ("kind", "flags"),
    [
        (RequestType.RESTRICTION, (True, None)),
        (RequestType.RESTRICTION_LIFT, (False, None)),
        (RequestType.OBJECTION, (True, True)),
    ],
)
def test_each_restriction_request_announces_the_flags_it_leaves(
    kind: RequestType, flags: tuple[bool | None, bool | None]
) -> None:
    """A restriction sets, a lift clears the restriction (leaving the objection), an
    objection sets both; identifiers as blind indexes, the ICCID also by value."""
    settings = PrivacySettings(blind_index_key=KEY)
    event = subject_restriction_changed(settings, request(kind, "ptn_a"), NOW)

    assert event is not None
    assert (event.restricted, event.objection) == flags
    assert (event.request_id, event.scope_partner_id, event.changed_at) == (
        "dsr_broadcast",
        "ptn_a",
        NOW,
    )
    blind = BlindIndex(base64.b64decode(KEY))
    by_kind = {i.kind: i for i in event.identifiers}
    assert by_kind["email"].index == blind.of("email", "traveller@example.net")
    assert by_kind["email"].value is None
    assert by_kind["iccid"].value == "8949000000000000019"


@pytest.mark.parametrize("kind", [RequestType.ACCESS, RequestType.ERASURE])
def test_other_requests_announce_no_restriction(kind: RequestType) -> None:
    """Access and erasure requests announce no restriction change."""
    settings = PrivacySettings(blind_index_key=KEY)
    assert subject_restriction_changed(settings, request(kind), NOW) is None


def test_without_the_key_the_broadcast_is_unavailable() -> None:
    """Without BLIND_INDEX_KEY a restriction cannot be announced: `unavailable`."""
    with pytest.raises(ServiceError) as refused:
        subject_restriction_changed(
            PrivacySettings(blind_index_key=None), request(RequestType.RESTRICTION), NOW
        )
    assert refused.value.code == "unavailable"


async def test_a_restriction_is_refused_at_intake_without_the_key(
    amqp_url: str, mongo_url: str
) -> None:
    """Privacy without BLIND_INDEX_KEY refuses a restriction (`unavailable`, naming the
    setting) and stores no request."""
    async with start_platform(amqp_url, mongo_url, privacy_has_key=False) as platform:
        with pytest.raises(RemoteCallError) as refused:
            await platform.request(RequestType.RESTRICTION, SubjectRef(email=new_email()))

        assert refused.value.code == "unavailable"
        assert "BLIND_INDEX_KEY" in str(refused.value)
        assert await platform.privacy.db["requests"].count_documents({}) == 0
