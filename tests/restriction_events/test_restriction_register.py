"""The restriction register alone, against the real store: it keeps each announced change
once, computes the flags from all of them so an older change arriving late never undoes a
newer one, and honours partner scope (a partner's change for its own data only; an unscoped
one for everyone's, and an unscoped lift lifts what partners set)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.privacy import SubjectRef
from contracts.restrictions import SubjectRestrictionChanged
from servicekit.crypto import BlindIndex
from servicekit.restrictions import RESTRICTED_SUBJECTS, Flags, RestrictionRegister, value_key
from support.restrictions import restriction_changed

Doc = dict[str, Any]
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
A, B = "ptn_reg_a", "ptn_reg_b"
EMAIL = "traveller@example.net"


@pytest.fixture
def blind() -> BlindIndex:
    """The platform's blind index for these tests."""
    return BlindIndex(base64.b64decode(BlindIndex.generate_key()))


@pytest.fixture
def register(scratch_db: AsyncDatabase[Doc], blind: BlindIndex) -> RestrictionRegister:
    """A register over the scratch database, with the platform's blind index."""
    return RestrictionRegister(scratch_db, blind)


def change(
    blind: BlindIndex,
    flags: dict[str, bool],
    *,
    minutes: int = 0,
    scope: str | None = None,
    subject: SubjectRef | None = None,
) -> SubjectRestrictionChanged:
    """A change about the email (or `subject`), `minutes` after T0."""
    return restriction_changed(
        subject or SubjectRef(email=EMAIL),
        blind,
        flags,
        scope=scope,
        at=T0 + timedelta(minutes=minutes),
    )


async def email_flags(register: RestrictionRegister, partner_id: str | None) -> Flags:
    """The email's flags for the partner's data."""
    return await register.flags_of({"email": EMAIL}, partner_id)


async def test_a_change_is_kept_once_by_blind_index(
    register: RestrictionRegister, blind: BlindIndex, scratch_db: AsyncDatabase[Doc]
) -> None:
    """A redelivered change is kept once, naming the email by blind index only."""
    restriction = change(blind, {"restricted": True})

    assert await register.remember(restriction) is True
    assert await register.remember(restriction) is False

    [stored] = await scratch_db[RESTRICTED_SUBJECTS].find({}).to_list()
    assert stored["keys"] == [blind.of("email", EMAIL)]
    assert EMAIL not in repr(stored)
    assert await email_flags(register, A) == Flags(restricted=True)


async def test_an_older_change_arriving_late_does_not_undo_a_newer_one(
    register: RestrictionRegister, blind: BlindIndex
) -> None:
    """A lift at 10:05 kept before the restriction of 10:00 leaves the email unrestricted;
    a restriction at 10:10 restricts it again."""
    await register.remember(change(blind, {"restricted": False}, minutes=5))
    await register.remember(change(blind, {"restricted": True}, minutes=0))
    assert await email_flags(register, A) == Flags()

    await register.remember(change(blind, {"restricted": True}, minutes=10))
    assert await email_flags(register, A) == Flags(restricted=True)


async def test_a_partners_change_holds_for_its_own_data_only(
    register: RestrictionRegister, blind: BlindIndex
) -> None:
    """A's restriction holds for A's data, not B's nor data of no partner."""
    await register.remember(change(blind, {"restricted": True}, scope=A))

    assert await email_flags(register, A) == Flags(restricted=True)
    assert await email_flags(register, B) == Flags()
    assert await email_flags(register, None) == Flags()


async def test_a_partners_lift_does_not_lift_an_unscoped_restriction(
    register: RestrictionRegister, blind: BlindIndex
) -> None:
    """The person's own restriction stays for A's data after A lifts its own."""
    await register.remember(change(blind, {"restricted": True}))
    await register.remember(change(blind, {"restricted": True}, scope=A, minutes=1))
    await register.remember(change(blind, {"restricted": False}, scope=A, minutes=2))

    assert await email_flags(register, A) == Flags(restricted=True)
    assert await email_flags(register, B) == Flags(restricted=True)


async def test_an_unscoped_lift_lifts_what_partners_set(
    register: RestrictionRegister, blind: BlindIndex
) -> None:
    """An unscoped lift after A's restriction lifts it; A's restriction after the lift holds."""
    await register.remember(change(blind, {"restricted": True}, scope=A))
    await register.remember(change(blind, {"restricted": False}, minutes=1))
    assert await email_flags(register, A) == Flags()

    await register.remember(change(blind, {"restricted": True}, scope=A, minutes=2))
    assert await email_flags(register, A) == Flags(restricted=True)


async def test_an_objection_outlasts_the_lift_of_a_restriction(
    register: RestrictionRegister, blind: BlindIndex
) -> None:
    """The two flags change independently: lifting the restriction keeps the objection."""
    await register.remember(change(blind, {"objection": True}))
    await register.remember(change(blind, {"restricted": True}, minutes=1))
    await register.remember(change(blind, {"restricted": False}, minutes=2))

    assert await email_flags(register, A) == Flags(objection=True)


async def test_platform_identifiers_are_found_by_value_without_a_key(
    scratch_db: AsyncDatabase[Doc], blind: BlindIndex
) -> None:
    """A service without the blind-index key still finds an ICCID's restriction by value,
    and every identifier by a blind index it stores."""
    iccid = "8949000000000000777"
    subject = SubjectRef(iccid=iccid, email=EMAIL)
    keyless = RestrictionRegister(scratch_db, None)
    await keyless.remember(change(blind, {"restricted": True}, subject=subject))

    assert await keyless.flags_of({"iccid": iccid}, A) == Flags(restricted=True)
    assert await keyless.flags_of({"email": EMAIL}, A) == Flags()
    by_index = await keyless.flags_of({}, A, keys=[blind.of("email", EMAIL)])
    assert by_index == Flags(restricted=True)
    assert value_key("iccid", iccid) in (await keyless.book()).changes[0].keys


def test_a_change_that_changes_no_flag_is_refused() -> None:
    """The broadcast must set or clear at least one flag."""
    with pytest.raises(ValueError, match="at least one flag"):
        SubjectRestrictionChanged.model_validate(
            {
                "request_id": "dsr_x",
                "identifiers": [{"kind": "iccid", "index": "0" * 64, "value": "89"}],
                "changed_at": T0,
            }
        )
