"""Restriction and objection broadcast end to end: requests through the real privacy service
reach every data owner's register over the real bus, and each service honours it when it
processes data later: no webhook about an order placed after a partner's restriction (until
it is lifted), an objecting IP address left out of analytics, a restricted person not added
as a contact by the partner who asked, and another partner's same email untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from restriction_platform import Platform, new_email

from contracts.privacy import RequestType, SubjectRef
from servicekit.errors import RemoteCallError
from servicekit.restrictions import Flags


async def test_a_new_order_after_a_partners_restriction_sends_no_webhook(
    platform: Platform,
) -> None:
    """A partner restricts an end user; an order placed afterwards for the same email queues
    no webhook; once lifted, the next event about it queues one again."""
    email = new_email()
    partner = await platform.partner()
    await platform.endpoint(partner)
    subject = SubjectRef(email=email)
    await platform.request(RequestType.RESTRICTION, subject, partner_id=partner)

    order = await platform.order(partner, email)
    assert await platform.completed(partner, order) == []

    await platform.request(RequestType.RESTRICTION_LIFT, subject, partner_id=partner)
    assert len(await platform.completed(partner, order)) == 1


async def test_a_partners_restriction_leaves_another_partners_end_user_alone(
    platform: Platform,
) -> None:
    """Partner A's restriction of an email stops A's webhooks about it, not B's about the
    same email; every owner's register holds it for A only."""
    email = new_email()
    a, b = await platform.partner(), await platform.partner()
    for partner in (a, b):
        await platform.endpoint(partner)
    await platform.request(RequestType.RESTRICTION, SubjectRef(email=email), partner_id=a)

    assert await platform.completed(a, await platform.order(a, email)) == []
    assert len(await platform.completed(b, await platform.order(b, email))) == 1
    for owner in (platform.accounts, platform.provisioning, platform.logs):
        register = owner.restrictions
        assert await register.flags_of({"email": email}, a) == Flags(restricted=True)
        assert await register.flags_of({"email": email}, b) == Flags()


async def test_an_objection_leaves_the_subjects_records_out_of_analytics(
    platform: Platform,
) -> None:
    """After an objection to processing by an IP address, analytics no longer count the
    requests from it, whichever partner they came under; other requests still count."""
    start = datetime(2031, 3, 1, tzinfo=UTC)
    objecting, other = "203.0.113.45", "198.51.100.45"
    partners = [await platform.partner() for _ in range(3)]
    logged = [(p, objecting) for p in partners[:2]] + [(p, other) for p in partners]
    await platform.api_requests(logged, start + timedelta(days=1))
    period = (start, start + timedelta(days=30))
    assert await platform.analytics(*period) == {"GET /v1/packages": (5, 3)}

    await platform.request(RequestType.OBJECTION, SubjectRef(ip=objecting))

    assert await platform.analytics(*period) == {"GET /v1/packages": (3, 3)}


async def test_a_restricted_person_is_not_added_by_the_partner_who_asked(
    platform: Platform,
) -> None:
    """After partner A restricts a person's processing, A cannot add them as a contact
    (`restricted`); partner B still can, and B's contact shows no flag."""
    email = new_email()
    a, b = await platform.partner(), await platform.partner()
    await platform.request(RequestType.RESTRICTION, SubjectRef(email=email), partner_id=a)

    with pytest.raises(RemoteCallError) as refused:
        await platform.add_contact(a, email)
    contact = await platform.add_contact(b, email)

    assert refused.value.code == "restricted"
    assert (contact.restricted, contact.objection) == (False, False)


async def test_an_objection_outlives_the_lift_on_a_person_added_afterwards(
    platform: Platform,
) -> None:
    """A person objects and then lifts the restriction (unscoped) before being added: they
    can be added now, and show as objecting, so no non-essential email reaches them."""
    email = new_email()
    partner = await platform.partner()
    await platform.request(RequestType.OBJECTION, SubjectRef(email=email))
    with pytest.raises(RemoteCallError):
        await platform.add_contact(partner, email)
    await platform.request(RequestType.RESTRICTION_LIFT, SubjectRef(email=email))

    contact = await platform.add_contact(partner, email)

    assert (contact.restricted, contact.objection) == (False, True)
