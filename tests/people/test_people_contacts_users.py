"""Contact people and dashboard users: permissions and role grants, bad input refused with
nothing written, one user per email even under a race, and restriction of processing."""

from __future__ import annotations

import asyncio

import pytest
from people_support import (
    OPS,
    PASSWORD,
    T0,
    Domain,
    PeopleHarness,
    member,
    partner_request,
    raw_request,
)

from accounts.people import can_email
from accounts.privacy import AccountsPrivacy
from accounts.users import NewUser
from contracts import Query
from contracts.accounts import Actor, Role, Scope
from contracts.dashboard import CreateUser, ListUsers, UserList, UserView
from contracts.identity import (
    AddContact,
    ContactList,
    ContactView,
    EmailPurpose,
    ListContacts,
    UpdateContact,
    UpdatePartner,
)
from contracts.privacy import SubjectRef
from servicekit.errors import RemoteCallError, ServiceError
from servicekit.ids import new_id
from servicekit.keyring import KEY_COLLECTION


def _contact(actor: Actor, partner_id: str, email: str = "carla.contact@example.com") -> AddContact:
    return AddContact(
        actor=actor, partner_id=partner_id, name="Carla Contact", email=email, role="technical"
    )


async def test_contacts_are_managed_by_admins_and_read_by_viewers(harness: PeopleHarness) -> None:
    """A viewer lists but cannot add, a developer cannot even list, an admin adds and
    rectifies (recorded without values), and a read-only API key lists."""
    partner = await harness.partner()
    viewer, admin = member(partner.id, Role.VIEWER), member(partner.id, Role.ADMIN)
    developer = member(partner.id, Role.DEVELOPER)
    assert (await harness.refusal(_contact(viewer, partner.id))).code == "forbidden"
    listing = ListContacts(actor=developer, partner_id=partner.id)
    assert (await harness.refusal(listing)).code == "forbidden"

    contact = await harness.ask(_contact(admin, partner.id), ContactView)
    fix = UpdateContact(
        actor=admin, partner_id=partner.id, contact_id=contact.id, name="Carla Correct"
    )
    assert (await harness.ask(fix, ContactView)).name == "Carla Correct"
    record = await harness.db["rectifications"].find_one({"record_id": contact.id})
    assert record is not None
    assert (record["fields"], record["by"]) == (["name"], admin.id)
    assert "Carla" not in repr(record)

    key = Actor(kind="api_key", id="key_r", partner_id=partner.id, scopes=[Scope.ACCOUNT_READ])
    for reader in (viewer, key):
        listed = await harness.ask(ListContacts(actor=reader, partner_id=partner.id), ContactList)
        assert [c.name for c in listed.data] == ["Carla Correct"]


def _bad_requests(partner_id: str) -> dict[str, Query]:
    """Requests the service must refuse, sent without client-side validation."""
    admin = member(partner_id, Role.ADMIN)
    contact = _contact(admin, partner_id)
    user = CreateUser(
        actor=admin,
        partner_id=partner_id,
        name="Wanda Weak",
        email="wanda.weak@example.com",
        role=Role.VIEWER,
        password=PASSWORD,
    )
    partner = partner_request()
    address = {"line1": "x", "city": "y", "country": "de"}
    return {
        "malformed email": raw_request(contact, email="not-an-email"),
        "oversize name": raw_request(contact, name="N" * 201),
        "unknown contact role": raw_request(contact, role="ceo"),
        "phone not E.164": raw_request(contact, phone="030 1234"),
        "unknown user role": raw_request(user, role="superuser"),
        "short password": raw_request(user, password="tooshort"),
        "password is the email": raw_request(user, password="Wanda.Weak@example.com"),
        "oversize business name": raw_request(partner, business_name="B" * 201),
        "lower-case country": raw_request(partner, address=address),
        "unknown field": raw_request(partner, nickname="Nim"),
        "empty rectification": raw_request(
            UpdatePartner(actor=admin, partner_id=partner_id, tax_id="x"), tax_id=...
        ),
    }


async def test_bad_input_is_refused_and_nothing_is_written(harness: PeopleHarness) -> None:
    """Malformed emails, oversize fields, unknown roles and weak passwords get
    `invalid_request` naming the field, never echoing a password, and write nothing."""
    partner = await harness.partner()
    before = await harness.counts()
    for case, request in _bad_requests(partner.id).items():
        refused = await harness.refusal(request)
        assert refused.code == "invalid_request", case
        assert "tooshort" not in refused.message
        assert PASSWORD not in refused.message
    assert await harness.counts() == before


async def test_two_racing_creations_of_one_email_leave_one_user(
    harness: PeopleHarness, domain: Domain
) -> None:
    """Two users created at once with one email (differently cased): exactly one succeeds, the
    other gets `conflict`; ten racing inserts in the domain leave one user and one key."""
    partner = await harness.partner()

    def create(email: str) -> CreateUser:
        return CreateUser(
            actor=OPS,
            partner_id=partner.id,
            name="Rita Race",
            email=email,
            role=Role.VIEWER,
            password=PASSWORD,
        )

    results = await asyncio.gather(
        harness.ask(create("rita.race@example.com"), UserView),
        harness.ask(create("Rita.Race@example.com"), UserView),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, UserView)]
    losers = [r for r in results if isinstance(r, RemoteCallError)]
    assert (len(winners), [e.code for e in losers]) == (1, ["conflict"])
    assert await harness.db["users"].count_documents({}) == 1

    user_ids = [new_id("usr") for _ in range(10)]
    racer = NewUser(None, "Rita Race", "rita.race@example.com", Role.SUPPORT.value)
    outcomes = await asyncio.gather(
        *(
            domain.users.insert_user(uid, racer, password_hash=None, by=OPS.id, now=T0)
            for uid in user_ids
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert all(isinstance(o, (dict, ServiceError)) for o in outcomes)
    assert await domain.db["users"].count_documents({}) == 1
    keys = await domain.db[KEY_COLLECTION].count_documents({"_id": {"$in": user_ids}})
    assert keys == 1


async def test_roles_are_granted_only_by_those_who_may(harness: PeopleHarness) -> None:
    """An admin may add a developer but not an owner or an ops user; the owner may add an
    owner; an API key adds nobody; ops adds platform users, which only ops can list."""
    partner = await harness.partner()
    admin, owner = member(partner.id, Role.ADMIN), member(partner.id, Role.OWNER)
    key = Actor(kind="api_key", id="key_w", partner_id=partner.id, scopes=list(Scope))

    def user(actor: Actor, role: Role, partner_id: str | None = partner.id) -> CreateUser:
        email = f"{new_id('u')}@example.com"
        return CreateUser(
            actor=actor,
            partner_id=partner_id,
            name="Gus Grant",
            email=email,
            role=role,
            password=PASSWORD,
        )

    assert (await harness.ask(user(admin, Role.DEVELOPER), UserView)).role == Role.DEVELOPER
    assert (await harness.refusal(user(admin, Role.OWNER))).code == "forbidden"
    assert (await harness.refusal(user(admin, Role.OPS, None))).code == "not_found"
    assert (await harness.refusal(user(key, Role.VIEWER))).code == "forbidden"
    assert (await harness.ask(user(owner, Role.OWNER), UserView)).role == Role.OWNER
    support = await harness.ask(user(OPS, Role.SUPPORT, None), UserView)
    assert support.partner_id is None

    platform = await harness.ask(ListUsers(actor=OPS), UserList)
    assert [u.id for u in platform.data] == [support.id]
    assert (await harness.refusal(ListUsers(actor=owner))).code == "not_found"
    mine = await harness.ask(ListUsers(actor=owner, partner_id=partner.id), UserList)
    assert sorted(u.role for u in mine.data) == [Role.DEVELOPER, Role.OWNER]
    assert all(u.email and u.name == "Gus Grant" for u in mine.data)


async def test_a_restricted_person_is_not_added_to_new_processing(domain: Domain) -> None:
    """After a restriction (through the privacy handler) a contact or user with that email,
    however cased, is refused with `restricted` and nothing is written; the restricted contact
    gets only essential email; lifting the restriction lets them be added again."""
    partner = await domain.partners.create(partner_request(), partner_id=new_id("ptn"), now=T0)
    admin = member(partner.id, Role.ADMIN)
    existing = await domain.people.add_contact(
        _contact(admin, partner.id, "rosa.restricted@example.com"), contact_id=new_id("con"), now=T0
    )
    assert all(can_email(existing, purpose) for purpose in EmailPurpose)
    privacy = AccountsPrivacy(domain.db, domain.vault)
    subject = SubjectRef(email="rosa.restricted@example.com")
    await privacy.restrict(subject, scope=None, restricted=True, objection=False)

    [restricted] = await domain.people.list_contacts(partner.id)
    assert restricted.restricted
    assert can_email(restricted, EmailPurpose.ESSENTIAL)
    assert not can_email(restricted, EmailPurpose.MARKETING)
    assert not can_email(restricted, EmailPurpose.UPDATES)

    again = _contact(admin, partner.id, "ROSA.Restricted@example.com")
    with pytest.raises(ServiceError) as refused:
        await domain.people.add_contact(again, contact_id=new_id("con"), now=T0)
    assert refused.value.code == "restricted"
    as_user = CreateUser(
        actor=OPS,
        partner_id=partner.id,
        name="Rosa",
        email="rosa.restricted@example.com",
        role=Role.VIEWER,
        password=PASSWORD,
    )
    with pytest.raises(ServiceError) as refused:
        await domain.users.create_user(as_user, user_id=new_id("usr"), password_hash="x", now=T0)
    assert refused.value.code == "restricted"
    assert await domain.db["contacts"].count_documents({}) == 1
    assert await domain.db["users"].count_documents({}) == 0

    await privacy.restrict(subject, scope=None, restricted=False, objection=False)
    added = await domain.people.add_contact(again, contact_id=new_id("con"), now=T0)
    assert can_email(added, EmailPurpose.MARKETING)


async def test_privacy_finds_contacts_by_blind_index_exports_and_erases_them(
    domain: Domain,
) -> None:
    """The privacy handler finds a contact by email, exports it decrypted, rectifies it sealed,
    and erasure deletes the record and shreds its key."""
    partner = await domain.partners.create(partner_request(), partner_id=new_id("ptn"), now=T0)
    contact = await domain.people.add_contact(
        _contact(member(partner.id, Role.ADMIN), partner.id, "erin.erase@example.com"),
        contact_id=new_id("con"),
        now=T0,
    )
    privacy = AccountsPrivacy(domain.db, domain.vault)
    subject = SubjectRef(email="Erin.Erase@example.com")
    exported = await privacy.export(subject, scope=None)
    assert exported["contact_people"][0]["email"] == "erin.erase@example.com"

    await privacy.rectify(subject, {"name": "Erin Exact"}, scope=None)
    stored = await domain.db["contacts"].find_one({"_id": contact.id})
    assert stored is not None
    assert "Erin Exact" not in repr(stored)
    assert (await domain.people.list_contacts(partner.id))[0].name == "Erin Exact"

    [outcome] = await privacy.erase(subject, scope=None)
    assert (outcome.disposition, outcome.records) == ("deleted", 1)
    assert await domain.db["contacts"].count_documents({"_id": contact.id}) == 0
    assert await domain.db[KEY_COLLECTION].count_documents({"_id": contact.id}) == 0
