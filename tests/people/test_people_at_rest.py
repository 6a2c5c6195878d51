"""Encryption at rest: no name, email, phone, address or tax id of a partner, contact or user is
stored in plaintext; emails and phones are still found exactly, through blind indexes."""

from __future__ import annotations

from typing import Any

from people_support import (
    BUSINESS_NAME,
    PARTNER_PHONE,
    PASSWORD,
    PERSONAL_VALUES,
    STREET,
    TAX_ID,
    PeopleHarness,
    member,
)

from contracts.accounts import Role
from contracts.dashboard import LoginResult
from contracts.identity import (
    AddContact,
    ContactList,
    ContactRemoved,
    ContactRole,
    ContactView,
    GetPartner,
    ListContacts,
    PartnerView,
    PostalAddress,
    RemoveContact,
    UpdateContact,
    UpdatePartner,
)
from servicekit.keyring import KEY_COLLECTION

CONTACT_NAME = "Zelda Quartermain"
CONTACT_EMAIL = "zelda.quartermain@example.com"
CONTACT_PHONE = "+4917612345678"
USER_NAME = "Victor Vantablack"
USER_EMAIL = "victor.vantablack@example.com"


async def _contact(harness: PeopleHarness, partner_id: str) -> ContactView:
    request = AddContact(
        actor=member(partner_id, Role.ADMIN),
        partner_id=partner_id,
        name=CONTACT_NAME,
        email=CONTACT_EMAIL,
        phone=CONTACT_PHONE,
        role=ContactRole.BILLING,
    )
    return await harness.ask(request, ContactView)


async def _everything(harness: PeopleHarness) -> str:
    dump: list[Any] = []
    for name in await harness.db.list_collection_names():
        dump.extend([document async for document in harness.db[name].find({})])
    return repr(dump).lower()


async def test_a_raw_scan_finds_no_personal_value_in_plaintext(harness: PeopleHarness) -> None:
    """After creating, rectifying and signing in, no collection of accounts holds any of the
    names, emails, phones, addresses, tax ids, the password or the session token in clear."""
    partner = await harness.partner()
    admin = member(partner.id, Role.ADMIN)
    contact = await _contact(harness, partner.id)
    await harness.user(partner.id, Role.VIEWER, email=USER_EMAIL, name=USER_NAME)
    new_address = PostalAddress(line1="Unter den Linden 77", city="Greifswald", country="DE")
    rectify = UpdatePartner(
        actor=admin, partner_id=partner.id, tax_id="DE999888777", address=new_address
    )
    await harness.ask(rectify, PartnerView)
    fix_phone = UpdateContact(
        actor=admin, partner_id=partner.id, contact_id=contact.id, phone="+4917699999999"
    )
    await harness.ask(fix_phone, ContactView)
    signed_in = await harness.login(USER_EMAIL)
    assert signed_in.session is not None
    token = signed_in.session.token.get_secret_value()

    stored = await _everything(harness)
    assert BUSINESS_NAME.lower() in stored, "the scan sees the stored documents"
    secrets_in_clear = [
        *PERSONAL_VALUES,
        CONTACT_NAME,
        CONTACT_EMAIL,
        CONTACT_PHONE[1:],
        USER_NAME,
        USER_EMAIL,
        "DE999888777",
        "Unter den Linden",
        "Greifswald",
        "4917699999999",
        PASSWORD,
        token,
    ]
    assert [value for value in secrets_in_clear if value.lower() in stored] == []
    raw = await harness.db["partners"].find_one({"_id": partner.id})
    assert raw is not None
    assert all(raw[name].startswith("enc1.") for name in ("tax_id", "address", "phone"))


async def test_views_come_back_decrypted(harness: PeopleHarness) -> None:
    """Reading a partner and listing its contacts returns the plaintext values."""
    partner = await harness.partner()
    await _contact(harness, partner.id)
    viewer = member(partner.id, Role.VIEWER)
    read = await harness.ask(GetPartner(actor=viewer, partner_id=partner.id), PartnerView)
    assert (read.tax_id, read.phone) == (TAX_ID, PARTNER_PHONE)
    assert read.address is not None
    assert read.address.line1 == STREET
    listed = await harness.ask(ListContacts(actor=viewer, partner_id=partner.id), ContactList)
    assert [(c.name, c.email, c.phone) for c in listed.data] == [
        (CONTACT_NAME, CONTACT_EMAIL, CONTACT_PHONE)
    ]


async def test_emails_and_phones_are_found_through_their_blind_index(
    harness: PeopleHarness,
) -> None:
    """A contact is found by the blind index of its email however it is cased or padded and by
    its phone, a user by its email, and signing in with the email in capitals works."""
    partner = await harness.partner()
    contact = await _contact(harness, partner.id)
    user = await harness.user(partner.id, Role.VIEWER, email=USER_EMAIL)
    contacts, users = harness.db["contacts"], harness.db["users"]
    by_email = {"email_bidx": harness.vault.index("email", f"  {CONTACT_EMAIL.upper()} ")}
    by_phone = {"phone_bidx": harness.vault.index("phone", "+49 176 1234 5678")}
    assert [doc["_id"] async for doc in contacts.find(by_email)] == [contact.id]
    assert [doc["_id"] async for doc in contacts.find(by_phone)] == [contact.id]
    user_filter = {"email_bidx": harness.vault.index("email", USER_EMAIL)}
    assert [doc["_id"] async for doc in users.find(user_filter)] == [user.id]
    other = {"email_bidx": harness.vault.index("email", "someone.else@example.com")}
    assert await contacts.count_documents(other) == 0
    signed_in: LoginResult = await harness.login(USER_EMAIL.upper())
    assert signed_in.session is not None


async def test_removing_a_contact_deletes_it_and_shreds_its_key(harness: PeopleHarness) -> None:
    """Removal deletes the record and the contact's data key; another partner's admin cannot
    remove it (not found) and changes nothing."""
    partner = await harness.partner()
    stranger = await harness.partner()
    contact = await _contact(harness, partner.id)
    keys = harness.db[KEY_COLLECTION]
    assert await keys.count_documents({"_id": contact.id}) == 1

    intruder = member(stranger.id, Role.ADMIN)
    refused = await harness.refusal(
        RemoveContact(actor=intruder, partner_id=partner.id, contact_id=contact.id)
    )
    assert refused.code == "not_found"
    refused = await harness.refusal(
        RemoveContact(actor=intruder, partner_id=stranger.id, contact_id=contact.id)
    )
    assert refused.code == "not_found"
    assert await keys.count_documents({"_id": contact.id}) == 1

    admin = member(partner.id, Role.ADMIN)
    removal = RemoveContact(actor=admin, partner_id=partner.id, contact_id=contact.id)
    assert (await harness.ask(removal, ContactRemoved)).contact_id == contact.id
    assert await harness.db["contacts"].count_documents({"_id": contact.id}) == 0
    assert await keys.count_documents({"_id": contact.id}) == 0
