"""Partner scope in accounts: a partner's request reaches only its own people and its own
identity; the same email under another partner is untouched; ops (no scope) reach both."""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts.dashboard import ListUsers, UserList, UserView
from contracts.identity import ContactList, ContactView, GetPartner, ListContacts, PartnerView
from contracts.privacy import (
    EraseSubject,
    ExportSubject,
    LocateSubject,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from support.accounts_owner import OPS, AccountsOwner, Business, Person
from support.privacy_standin import by_category


@dataclass(frozen=True)
class TwoPartners:
    """The same person as a contact of partner A, and as a contact and a user of B."""

    a: str
    b: str
    person: Person


async def _two_partners(harness: AccountsOwner) -> TwoPartners:
    a = await harness.partner(Business.sample())
    b = await harness.partner(Business.sample())
    person = Person.sample()
    await harness.contact(a.id, person)
    await harness.contact(b.id, person)
    await harness.user(b.id, person)
    return TwoPartners(a=a.id, b=b.id, person=person)


async def _contacts(harness: AccountsOwner, partner_id: str) -> list[ContactView]:
    listed = await harness.ask(ListContacts(actor=OPS, partner_id=partner_id), ContactList)
    return listed.data


async def _users(harness: AccountsOwner, partner_id: str) -> list[UserView]:
    return (await harness.ask(ListUsers(actor=OPS, partner_id=partner_id), UserList)).data


async def _b_untouched(harness: AccountsOwner, two: TwoPartners) -> None:
    """B's contact and user are there, readable and unflagged."""
    [contact] = await _contacts(harness, two.b)
    [user] = await _users(harness, two.b)
    for view in (contact, user):
        assert (view.name, view.email) == (two.person.name, two.person.email)
        assert not view.restricted
        assert not view.objection


async def _locate(
    harness: AccountsOwner, subject: SubjectRef, scope: str | None
) -> PrivacyTaskCompleted:
    return await harness.run(
        LocateSubject(**harness.task(), subject=subject, scope_partner_id=scope)
    )


def _held(result: PrivacyTaskCompleted) -> dict[str, int]:
    return {o.category: o.records for o in result.outcomes if o.disposition == "found"}


async def test_a_partners_erasure_deletes_its_own_contact_only(harness: AccountsOwner) -> None:
    """Erasing an email scoped to A deletes A's contact; B's contact and user with the same
    email, and the restriction register, are not touched."""
    two = await _two_partners(harness)
    subject = SubjectRef(email=two.person.email)

    result = await harness.run(
        EraseSubject(**harness.task(), subject=subject, scope_partner_id=two.a)
    )

    assert {o.category: (o.disposition, o.records) for o in result.outcomes} == {
        "contact_people": ("deleted", 1)
    }
    assert await _contacts(harness, two.a) == []
    await _b_untouched(harness, two)


async def test_a_partners_export_holds_only_its_own_people(harness: AccountsOwner) -> None:
    """An export scoped to A carries A's contact only; one scoped to B carries B's contact
    and user; neither carries the other partner's."""
    two = await _two_partners(harness)
    subject = SubjectRef(email=two.person.email)

    for_a = await harness.run(
        ExportSubject(**harness.task(), subject=subject, scope_partner_id=two.a)
    )
    for_b = await harness.run(
        ExportSubject(**harness.task(), subject=subject, scope_partner_id=two.b)
    )

    assert for_a.export is not None
    assert for_b.export is not None
    assert set(for_a.export) == {"contact_people"}
    assert [c["partner_id"] for c in for_a.export["contact_people"]] == [two.a]
    assert for_a.export["contact_people"][0]["email"] == two.person.email
    assert [c["partner_id"] for c in for_b.export["contact_people"]] == [two.b]
    assert [u["partner_id"] for u in for_b.export["dashboard_users"]] == [two.b]


async def test_a_partners_restriction_flags_its_own_contact_only(harness: AccountsOwner) -> None:
    """A restriction scoped to A flags A's contact; B's people stay unflagged, and no entry
    in the register keeps B from adding the person again."""
    two = await _two_partners(harness)
    subject = SubjectRef(email=two.person.email)

    result = await harness.run(
        RestrictSubject(**harness.task(), subject=subject, scope_partner_id=two.a)
    )

    assert {o.category: (o.disposition, o.records) for o in result.outcomes} == {
        "contact_people": ("restricted", 1)
    }
    [contact] = await _contacts(harness, two.a)
    assert contact.restricted
    await _b_untouched(harness, two)
    assert await harness.db["restrictions"].count_documents({}) == 0
    await harness.contact(two.b, two.person)  # B may still add the person


async def test_a_partners_rectification_corrects_its_own_contact_only(
    harness: AccountsOwner,
) -> None:
    """A rectification scoped to A corrects the name of A's contact; B's contact and user
    keep the old name."""
    two = await _two_partners(harness)
    subject = SubjectRef(email=two.person.email)
    changes = {"name": "Zora Corrected"}

    result = await harness.run(
        RectifySubject(**harness.task(), subject=subject, changes=changes, scope_partner_id=two.a)
    )

    assert by_category(result)["contact_people"].disposition == "rectified"
    assert "dashboard_users" not in by_category(result)
    [contact] = await _contacts(harness, two.a)
    assert contact.name == "Zora Corrected"
    await _b_untouched(harness, two)


async def test_without_a_scope_both_partners_people_are_reached(harness: AccountsOwner) -> None:
    """Unscoped (ops, or the person), the email finds both contacts and the user, and an
    erasure deletes all three."""
    two = await _two_partners(harness)
    subject = SubjectRef(email=two.person.email)

    assert _held(await _locate(harness, subject, None)) == {
        "contact_people": 2,
        "dashboard_users": 1,
    }
    await harness.run(EraseSubject(**harness.task(), subject=subject))

    assert await _contacts(harness, two.a) == []
    assert await _contacts(harness, two.b) == []
    assert await _users(harness, two.b) == []


async def test_the_login_history_of_an_address_is_scoped_to_the_partner(
    harness: AccountsOwner,
) -> None:
    """Two partners' users sign in from one IP address: scoped to A, the address finds A's
    user's sign-in only; unscoped, both."""
    a = await harness.partner(Business.sample())
    b = await harness.partner(Business.sample())
    anna = Person.sample("Anna")
    bert = replace(Person.sample("Bert"), ip=anna.ip)
    await harness.user(a.id, anna)
    await harness.user(b.id, bert)
    await harness.login(anna)
    await harness.login(bert)
    subject = SubjectRef(ip=anna.ip)

    scoped = _held(await _locate(harness, subject, a.id))
    unscoped = _held(await _locate(harness, subject, None))

    assert scoped.get("login_history") == 1
    assert "sign_in_throttling" not in scoped
    assert unscoped.get("login_history") == 2


async def test_a_partner_id_of_another_partner_touches_nothing(harness: AccountsOwner) -> None:
    """Scoped to A, the subject `partner_id` = B (closed, so an unscoped erasure would take
    its identity and people) finds nothing, and erasure, restriction and rectification leave
    B's identity and people as they were; A asking about itself finds its identity."""
    two = await _two_partners(harness)
    await harness.close(two.b)
    subject = SubjectRef(partner_id=two.b)
    scoped = {"subject": subject, "scope_partner_id": two.a}

    assert _held(await _locate(harness, subject, two.a)) == {}
    erased = await harness.run(EraseSubject(**harness.task(), **scoped))
    await harness.run(RestrictSubject(**harness.task(), **scoped))
    changes = {"business_name": "Renamed By A"}
    await harness.run(RectifySubject(**harness.task(), **scoped, changes=changes))

    assert all(o.disposition == "none_held" for o in erased.outcomes)
    partner = await harness.ask(GetPartner(actor=OPS, partner_id=two.b), PartnerView)
    assert partner.business_name != "Renamed By A"
    stored = await harness.db["partners"].find_one({"_id": two.b})
    assert stored is not None
    assert "restriction" not in stored
    assert "erasure" not in stored
    await _b_untouched(harness, two)
    itself = _held(await _locate(harness, SubjectRef(partner_id=two.a), two.a))
    assert itself.get("partner_identity") == 1
