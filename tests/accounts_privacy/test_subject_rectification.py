"""Rectification through the privacy fan-out: corrected values replace the old ones sealed
anew, the change is recorded without values, and invalid changes change nothing."""

from __future__ import annotations

import json

from contracts.identity import ContactList, GetPartner, ListContacts, PartnerView
from contracts.privacy import LocateSubject, RectifySubject, SubjectRef
from support.accounts_owner import OPS, AccountsOwner, Business, Person
from support.privacy_standin import by_category, plaintext_hits


async def test_corrected_values_replace_the_old_ones_sealed_anew_and_recorded(
    harness: AccountsOwner,
) -> None:
    """Name, email and phone of a contact and the user with that email are replaced: the
    stored tokens are new, neither old nor new values are in plaintext, the person is found
    by the new email only, and each change is recorded (fields, time, by) without values."""
    partner = await harness.partner(Business.sample())
    person, corrected = Person.sample(), Person.sample("Zora")
    contact = await harness.contact(partner.id, person)
    user = await harness.user(partner.id, person)
    before = await harness.db["contacts"].find_one({"_id": contact.id})
    assert before is not None
    changes = {"name": corrected.name, "email": corrected.email, "phone": corrected.phone}

    result = await harness.run(
        RectifySubject(**harness.task(), subject=SubjectRef(email=person.email), changes=changes)
    )

    outcomes = by_category(result)
    assert (outcomes["contact_people"].disposition, outcomes["contact_people"].records) == (
        "rectified",
        1,
    )
    assert outcomes["contact_people"].note == "Changed email, name, phone."
    assert outcomes["dashboard_users"].note == "Changed email, name."
    after = await harness.db["contacts"].find_one({"_id": contact.id})
    assert after is not None
    assert all(after[name] != before[name] for name in ("name", "email", "phone", "email_bidx"))
    opened = await harness.vault.open(contact.id, after, ["name", "email", "phone"])
    assert opened == changes
    [listed] = (await harness.ask(ListContacts(actor=OPS, partner_id=partner.id), ContactList)).data
    assert (listed.name, listed.email) == (corrected.name, corrected.email)
    everything = await harness.everything()
    assert (
        plaintext_hits(everything, [person.name, person.email, person.phone, *corrected.values()])
        == []
    )
    records = [doc async for doc in harness.db["rectifications"].find({}, {"_id": 0})]
    assert sorted((r["record_id"], tuple(r["fields"]), r["by"]) for r in records) == sorted(
        [
            (contact.id, ("email", "name", "phone"), "privacy"),
            (user.id, ("email", "name"), "privacy"),
        ]
    )
    old = await harness.run(LocateSubject(**harness.task(), subject=SubjectRef(email=person.email)))
    new = await harness.run(
        LocateSubject(**harness.task(), subject=SubjectRef(email=corrected.email))
    )
    assert {o.disposition for o in old.outcomes} == {"none_held"}
    assert by_category(new)["contact_people"].records == 1
    signed_in = await harness.login(corrected)
    assert signed_in.session is not None


async def test_invalid_or_unknown_changes_change_nothing_and_never_echo_the_value(
    harness: AccountsOwner,
) -> None:
    """An invalid email, or a field nobody has, is refused with a note naming the field but
    not the value; nothing is written."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    contact = await harness.contact(partner.id, person)
    before = await harness.db["contacts"].find_one({"_id": contact.id})
    subject = SubjectRef(email=person.email)

    invalid = await harness.run(
        RectifySubject(**harness.task(), subject=subject, changes={"email": "zq-not-an-address"})
    )
    unknown = await harness.run(
        RectifySubject(**harness.task(), subject=subject, changes={"shoe_size": "44"})
    )

    [refused] = invalid.outcomes
    assert (refused.category, refused.disposition) == ("contact_people", "found")
    assert refused.note == "Not rectified: `email` is not a valid value. Nothing was changed."
    assert "zq-not-an-address" not in invalid.model_dump_json()
    [not_a_field] = unknown.outcomes
    assert "shoe_size" in (not_a_field.note or "")
    assert await harness.db["contacts"].find_one({"_id": contact.id}) == before
    assert await harness.db["rectifications"].count_documents({}) == 0


async def test_a_partner_identity_is_rectified_and_a_taken_sign_in_email_is_not(
    harness: AccountsOwner,
) -> None:
    """By partner id the business name and the address are replaced (recorded as a partner
    rectification); a user's email is not changed to another user's sign-in email, while the
    contact with the same email is."""
    partner = await harness.partner(Business.sample())
    address = {"line1": "Korrekturgasse 5", "city": "Wien", "country": "AT"}
    changes = {"business_name": "Quasar Corrected AG", "address": json.dumps(address)}

    result = await harness.run(
        RectifySubject(**harness.task(), subject=SubjectRef(partner_id=partner.id), changes=changes)
    )

    assert by_category(result)["partner_identity"].disposition == "rectified"
    view = await harness.ask(GetPartner(actor=OPS, partner_id=partner.id), PartnerView)
    assert view.business_name == "Quasar Corrected AG"
    assert view.address is not None
    assert (view.address.line1, view.address.country) == ("Korrekturgasse 5", "AT")
    record = await harness.db["rectifications"].find_one({"record_id": partner.id})
    assert record is not None
    assert (record["record"], record["fields"]) == ("partner", ["address", "business_name"])

    person, taken = Person.sample(), Person.sample("Tess")
    await harness.contact(partner.id, person)
    await harness.user(partner.id, person)
    await harness.user(partner.id, taken)
    clash = await harness.run(
        RectifySubject(
            **harness.task(), subject=SubjectRef(email=person.email), changes={"email": taken.email}
        )
    )
    outcomes = by_category(clash)
    assert outcomes["contact_people"].disposition == "rectified"
    assert outcomes["dashboard_users"].disposition == "found"
    assert "another user signs in with that email" in (outcomes["dashboard_users"].note or "")
    signed_in = await harness.login(person)
    assert signed_in.session is not None
