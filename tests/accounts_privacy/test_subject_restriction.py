"""Restriction and objection through the privacy fan-out: contacts and users flagged, only
essential email, no new processing, the flag in exports, and lifting it."""

from __future__ import annotations

import pytest

from accounts.people import can_email
from contracts.accounts import Role
from contracts.dashboard import CreateUser, ListUsers, UserList, UserView
from contracts.identity import (
    AddContact,
    ContactList,
    ContactRole,
    ContactView,
    EmailPurpose,
    ListContacts,
)
from contracts.privacy import RestrictSubject, SubjectRef
from servicekit.errors import RemoteCallError
from support.accounts_owner import OPS, AccountsOwner, Business, Person
from support.privacy_standin import by_category


async def _people(harness: AccountsOwner, partner_id: str) -> tuple[ContactView, UserView]:
    contacts = await harness.ask(ListContacts(actor=OPS, partner_id=partner_id), ContactList)
    users = await harness.ask(ListUsers(actor=OPS, partner_id=partner_id), UserList)
    [contact] = contacts.data
    [user] = users.data
    return contact, user


def _again(partner_id: str, person: Person) -> AddContact:
    return AddContact(
        actor=OPS,
        partner_id=partner_id,
        name=person.name,
        email=person.email.upper(),
        role=ContactRole.TECHNICAL,
    )


async def test_a_restricted_person_gets_only_essential_email_and_no_new_processing(
    harness: AccountsOwner,
) -> None:
    """Restricting by email flags the contact and the user; they get essential email only;
    the person cannot be added again as a contact (any partner) or a user; the export shows
    the flag; lifting the restriction clears it all and they can be added."""
    partner, other = (
        await harness.partner(Business.sample()),
        await harness.partner(Business.sample()),
    )
    person = Person.sample()
    await harness.contact(partner.id, person)
    await harness.user(partner.id, person)
    subject = SubjectRef(email=person.email)

    restricted = await harness.run(RestrictSubject(**harness.task(), subject=subject))

    assert {name: (o.disposition, o.records) for name, o in by_category(restricted).items()} == {
        "contact_people": ("restricted", 1),
        "dashboard_users": ("restricted", 1),
        "processing_restrictions": ("restricted", 2),
    }
    contact, user = await _people(harness, partner.id)
    for view in (contact, user):
        assert view.restricted
        assert can_email(view, EmailPurpose.ESSENTIAL)
        assert not can_email(view, EmailPurpose.MARKETING)
        assert not can_email(view, EmailPurpose.UPDATES)
    for attempt in (_again(other.id, person), _again(partner.id, person)):
        with pytest.raises(RemoteCallError) as refused:
            await harness.ask(attempt, ContactView)
        assert refused.value.code == "restricted"
    as_user = CreateUser(
        actor=OPS,
        partner_id=other.id,
        name=person.name,
        email=person.email,
        role=Role.VIEWER,
        password="another long password",
    )
    with pytest.raises(RemoteCallError) as refused:
        await harness.ask(as_user, ContactView)
    assert refused.value.code == "restricted"
    exported = (await harness.export(subject)).export or {}
    assert [entry["restricted"] for entry in exported["contact_people"]] == [True]
    assert [entry["restricted"] for entry in exported["dashboard_users"]] == [True]

    lifted = await harness.run(RestrictSubject(**harness.task(), subject=subject, restricted=False))

    assert {o.disposition for o in lifted.outcomes} == {"unrestricted"}
    contact, user = await _people(harness, partner.id)
    assert not contact.restricted
    assert not user.restricted
    assert can_email(contact, EmailPurpose.MARKETING)
    assert await harness.db["restrictions"].count_documents({}) == 0
    added = await harness.ask(_again(other.id, person), ContactView)
    assert not added.restricted


async def test_a_user_restricted_by_user_id_is_registered_by_their_email(
    harness: AccountsOwner,
) -> None:
    """Restricting a user by id flags that user and registers their email, so the same
    person is refused as a new contact; lifting by user id allows it again."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    user = await harness.user(partner.id, person)
    subject = SubjectRef(user_id=user.id)

    restricted = await harness.run(RestrictSubject(**harness.task(), subject=subject))

    assert {name: o.records for name, o in by_category(restricted).items()} == {
        "dashboard_users": 1,
        "processing_restrictions": 1,
    }
    with pytest.raises(RemoteCallError) as refused:
        await harness.ask(_again(partner.id, person), ContactView)
    assert refused.value.code == "restricted"
    await harness.run(RestrictSubject(**harness.task(), subject=subject, restricted=False))
    added = await harness.ask(_again(partner.id, person), ContactView)
    assert (added.email or "").lower() == person.email


async def test_an_objection_stops_non_essential_email_and_a_partner_can_be_restricted(
    harness: AccountsOwner,
) -> None:
    """An objection flags the person (no marketing or updates, essential email still); a
    restriction by partner id flags the partner's identity, visible in its export, and not
    its people."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    await harness.contact(partner.id, person)
    objection = RestrictSubject(
        **harness.task(), subject=SubjectRef(phone=person.phone), restricted=False, objection=True
    )
    objected = await harness.run(objection)
    assert by_category(objected)["contact_people"].disposition == "restricted"
    contacts = await harness.ask(ListContacts(actor=OPS, partner_id=partner.id), ContactList)
    [contact] = contacts.data
    assert (contact.objection, contact.restricted) == (True, False)
    assert not can_email(contact, EmailPurpose.MARKETING)
    assert can_email(contact, EmailPurpose.ESSENTIAL)

    by_partner = SubjectRef(partner_id=partner.id)
    flagged = await harness.run(RestrictSubject(**harness.task(), subject=by_partner))

    assert {name: o.records for name, o in by_category(flagged).items()} == {"partner_identity": 1}
    exported = (await harness.export(by_partner)).export or {}
    assert exported["partner_identity"][0]["restricted"] is True
    [contact] = (
        await harness.ask(ListContacts(actor=OPS, partner_id=partner.id), ContactList)
    ).data
    assert not contact.restricted
