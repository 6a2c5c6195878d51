"""Locate and export through the privacy fan-out: every category held, found by index,
decrypted, with readable names, and nothing secret or sealed in the export."""

from __future__ import annotations

from contracts.privacy import LocateSubject, RestrictSubject, SubjectRef
from support.accounts_owner import AccountsOwner, Business, Person
from support.privacy_standin import by_category


async def test_a_person_is_located_and_exported_decrypted_with_the_restriction_flag(
    harness: AccountsOwner,
) -> None:
    """By email: the contact and the user, the user's session and login history, the throttle
    and restriction entries; the export shows plain values under readable names, the
    restriction flag, and no token, blind index, password or session hash."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    contact = await harness.contact(partner.id, person)
    user = await harness.user(partner.id, person)
    await harness.login(person, password="wrong password, once")
    await harness.login(person)
    subject = SubjectRef(email=person.email.upper())
    await harness.run(RestrictSubject(**harness.task(), subject=subject))

    located = await harness.run(LocateSubject(**harness.task(), subject=subject))
    exported = await harness.export(subject)

    assert {name: (o.disposition, o.records) for name, o in by_category(located).items()} == {
        "contact_people": ("found", 1),
        "dashboard_users": ("found", 1),
        "dashboard_sessions": ("found", 1),
        "login_history": ("found", 2),
        "sign_in_throttling": ("found", 1),
        "processing_restrictions": ("found", 2),
    }
    export = exported.export
    assert export is not None
    assert by_category(exported) == by_category(located)
    [contact_entry] = export["contact_people"]
    assert contact_entry["id"] == contact.id
    assert (contact_entry["name"], contact_entry["email"], contact_entry["phone"]) == (
        person.name,
        person.email,
        person.phone,
    )
    assert contact_entry["restricted"] is True
    [user_entry] = export["dashboard_users"]
    assert (user_entry["id"], user_entry["email"], user_entry["restricted"]) == (
        user.id,
        person.email,
        True,
    )
    assert user_entry["password_set_at"]
    assert {entry["ip"] for entry in export["login_history"]} == {person.ip}
    assert {entry["user_agent"] for entry in export["login_history"]} == {person.user_agent}
    assert {entry["outcome"] for entry in export["login_history"]} == {"refused", "signed_in"}
    assert [entry["restricted"] for entry in export["processing_restrictions"]] == [True, True]
    text = repr(export)
    for never in ("enc1.", "_bidx", "argon2", "token_hash", "_outbox"):
        assert never not in text


async def test_a_partner_is_exported_with_identity_billing_keys_and_ledger(
    harness: AccountsOwner,
) -> None:
    """By partner id (open account): identity with its address as an object, the billing
    profile decrypted, the API keys without their secret, the ledger entries; not its people."""
    business = Business.sample()
    partner = await harness.partner(business)
    await harness.contact(partner.id, Person.sample())
    profile = await harness.billing(partner.id)
    key = await harness.api_key(partner.id, "shop backend")
    await harness.ledger(partner.id)

    exported = await harness.export(SubjectRef(partner_id=partner.id))

    export = exported.export
    assert export is not None
    assert sorted(export) == ["api_keys", "balance_ledger", "billing_profile", "partner_identity"]
    [identity] = export["partner_identity"]
    assert (identity["business_name"], identity["tax_id"], identity["phone"]) == (
        business.name,
        business.tax_id,
        business.phone,
    )
    assert identity["address"]["line1"] == business.street
    assert identity["status"] == "active"
    [billing] = export["billing_profile"]
    assert (billing["customer_token"], billing["last4"]) == (profile.customer_token, "4242")
    [api_key] = export["api_keys"]
    assert api_key["id"] == key.key.id
    assert key.api_key.get_secret_value() not in repr(export)
    assert [entry["kind"] for entry in export["balance_ledger"]] == ["top_up", "debit"]
    assert [entry["amount"]["amount"] for entry in export["balance_ledger"]] == [5_000, -1_200]


async def test_a_subject_nobody_holds_is_none_held_in_each_category_looked_in(
    harness: AccountsOwner,
) -> None:
    """Locate for unknown identifiers answers none_held per category searched (and nothing
    for identifiers accounts does not hold, like an ICCID); the export is empty."""
    subject = SubjectRef(email="nobody.here@example.org", ip="192.0.2.99")
    located = await harness.run(LocateSubject(**harness.task(), subject=subject))
    assert {o.disposition for o in located.outcomes} == {"none_held"}
    assert set(by_category(located)) == {
        "contact_people",
        "dashboard_users",
        "processing_restrictions",
        "sign_in_throttling",
        "login_history",
    }
    iccid_only = await harness.run(
        LocateSubject(**harness.task(), subject=SubjectRef(iccid="8949000000000000001"))
    )
    assert iccid_only.succeeded
    assert iccid_only.outcomes == []
    exported = await harness.export(subject)
    assert exported.export == {}
