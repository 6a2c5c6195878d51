"""Erasure through the privacy fan-out: what is deleted, shredded and retained per category,
idempotence, and no plaintext personal data left anywhere in the accounts database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts import store
from accounts.inventory import TRANSACTION_RETENTION_DAYS
from contracts.dashboard import SessionPrincipal, VerifySession
from contracts.identity import ContactView, GetPartner, PartnerView, UpdateContact
from contracts.privacy import RestrictSubject, SubjectRef
from servicekit.crypto import KeyDestroyed
from servicekit.errors import RemoteCallError
from servicekit.keyring import KEY_COLLECTION
from support.accounts_owner import OPS, AccountsOwner, Business, Person
from support.privacy_standin import by_category, plaintext_hits


async def test_erasing_a_person_deletes_contact_user_and_everything_of_theirs(
    harness: AccountsOwner,
) -> None:
    """Erasing by email deletes the contact and the user with their sessions, login history,
    throttle and restriction entries, shreds both keys, the session stops working, and none
    of the person's values is left in plaintext."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    contact = await harness.contact(partner.id, person)
    user = await harness.user(partner.id, person)
    await harness.login(person, password="wrong password, twice over")
    signed_in = await harness.login(person)
    assert signed_in.session is not None
    token = signed_in.session.token
    restricted = await harness.run(
        RestrictSubject(**harness.task(), subject=SubjectRef(email=person.email))
    )
    assert restricted.succeeded

    result = await harness.erase(SubjectRef(email=person.email))

    assert result.succeeded
    outcomes = by_category(result)
    assert {name: (o.disposition, o.records) for name, o in outcomes.items()} == {
        "contact_people": ("deleted", 1),
        "dashboard_users": ("deleted", 1),
        "dashboard_sessions": ("deleted", 1),
        "login_history": ("deleted", 2),
        "sign_in_throttling": ("deleted", 1),
        "processing_restrictions": ("deleted", 2),
    }
    for record_id in (contact.id, user.id):
        assert await harness.db[KEY_COLLECTION].count_documents({"_id": record_id}) == 0
    assert await harness.db["contacts"].count_documents({"_id": contact.id}) == 0
    assert await harness.db["users"].count_documents({"_id": user.id}) == 0
    with pytest.raises(RemoteCallError) as refused:
        await harness.ask(VerifySession(token=token), SessionPrincipal)
    assert refused.value.code == "invalid_session"
    await harness.outboxes_drained()
    assert plaintext_hits(await harness.everything(), person.values()) == []


async def test_a_second_erasure_reports_none_held_and_changes_nothing(
    harness: AccountsOwner,
) -> None:
    """Erasing the same person again (a new request) reports none_held for every category
    looked in, and leaves every collection exactly as it was."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    await harness.contact(partner.id, person)
    first = await harness.erase(SubjectRef(email=person.email, phone=person.phone))
    assert by_category(first)["contact_people"].disposition == "deleted"
    await harness.outboxes_drained()
    before = await harness.counts()

    again = await harness.erase(SubjectRef(email=person.email, phone=person.phone))

    assert again.succeeded
    assert {o.disposition for o in again.outcomes} == {"none_held"}
    assert {o.records for o in again.outcomes} == {0}
    assert "contact_people" in by_category(again)
    await harness.outboxes_drained()
    after = await harness.counts()
    assert after.pop("_privacy_receipts") == before.pop("_privacy_receipts") + 1
    assert after == before  # the inbox too: a task is done once per task id, by its receipt


async def test_erasing_an_open_partner_retains_identity_and_ledger_with_their_basis(
    harness: AccountsOwner,
) -> None:
    """While the account is open the partner's identity, billing profile and keys are
    retained under the contract (no until-date: two years after a closure yet to come), the
    ledger under the legal obligation until 7 years after its latest entry; nothing changes."""
    business = Business.sample()
    partner = await harness.partner(business)
    await harness.billing(partner.id)
    await harness.api_key(partner.id, "shop backend")
    await harness.ledger(partner.id)

    result = await harness.erase(SubjectRef(partner_id=partner.id))

    outcomes = by_category(result)
    for category in ("partner_identity", "billing_profile", "api_keys"):
        kept = outcomes[category]
        assert (kept.disposition, kept.legal_basis, kept.records) == ("retained", "contract", 1)
        assert kept.retained_until is None
        assert "2 years after the account is closed" in (kept.note or "")
    ledger = outcomes["balance_ledger"]
    assert (ledger.disposition, ledger.legal_basis, ledger.records) == (
        "retained",
        "legal_obligation",
        2,
    )
    latest = await harness.db["ledger"].find_one(
        {"partner_id": partner.id}, sort=[("created_at", -1)]
    )
    assert latest is not None
    expected = (latest["created_at"] + timedelta(days=TRANSACTION_RETENTION_DAYS)).date()
    assert ledger.retained_until == expected
    assert ledger.retained_until >= (datetime.now(UTC) + timedelta(days=7 * 365)).date()
    assert len(outcomes) == 4
    view = await harness.ask(GetPartner(actor=OPS, partner_id=partner.id), PartnerView)
    assert (view.business_name, view.tax_id) == (business.name, business.tax_id)


async def test_erasing_a_closed_partner_leaves_no_plaintext_personal_data_anywhere(
    harness: AccountsOwner,
) -> None:
    """A closed partner's erasure deletes its identity, people (with their sessions, logins,
    rectification and restriction records), billing profile and keys, keeps the ledger
    pseudonymised; afterwards no collection (outboxes and receipts included) holds any of
    their values in plaintext, and every key of theirs is shredded."""
    business, owner, contact_person = Business.sample(), Person.sample("Ada"), Person.sample()
    partner = await harness.partner(business)
    user = await harness.user(partner.id, owner)
    contact = await harness.contact(partner.id, contact_person)
    renamed = f"{contact_person.name} Jr"
    fix = UpdateContact(actor=OPS, partner_id=partner.id, contact_id=contact.id, name=renamed)
    await harness.ask(fix, ContactView)
    await harness.login(owner)
    await harness.billing(partner.id)
    await harness.api_key(partner.id, f"key of {owner.name}")
    await harness.ledger(partner.id)
    exported = await harness.export(SubjectRef(partner_id=partner.id))
    assert exported.export is not None
    await harness.close(partner.id)
    restrict = RestrictSubject(**harness.task(), subject=SubjectRef(email=contact_person.email))
    assert (await harness.run(restrict)).succeeded
    values = [*business.values(), *owner.values(), *contact_person.values(), owner.ip]
    held_in_plaintext = plaintext_hits(await harness.everything(), values)
    assert any(hit.startswith("partners:") for hit in held_in_plaintext)  # the business name
    history = harness.db[store.LOGIN_HISTORY]
    assert await history.count_documents({"user_id": user.id}) == 1  # sealed, not plaintext

    result = await harness.erase(SubjectRef(partner_id=partner.id))

    outcomes = by_category(result)
    assert {name: o.disposition for name, o in outcomes.items()} == {
        "partner_identity": "deleted",
        "contact_people": "deleted",
        "dashboard_users": "deleted",
        "dashboard_sessions": "deleted",
        "login_history": "deleted",
        "billing_profile": "deleted",
        "api_keys": "deleted",
        "processing_restrictions": "deleted",
        "balance_ledger": "retained",
    }
    await harness.outboxes_drained()
    assert plaintext_hits(await harness.everything(), values) == []
    assert await history.count_documents({"user_id": user.id}) == 0
    for subject_id in (partner.id, user.id, contact.id):
        assert await harness.db[KEY_COLLECTION].count_documents({"_id": subject_id}) == 0
    entries = [doc async for doc in harness.db["ledger"].find({"partner_id": partner.id})]
    assert len(entries) == 2
    assert all(set(entry) & {"name", "email", "phone"} == set() for entry in entries)
    assert await harness.db["rectifications"].count_documents({"partner_id": partner.id}) == 0
    assert await harness.db["restrictions"].count_documents({}) == 0


async def test_shredded_ciphertext_in_a_backup_can_no_longer_be_read(
    harness: AccountsOwner,
) -> None:
    """Copies of a contact's and a user's sealed fields taken before erasure (a backup) still
    hold ciphertext afterwards, but it no longer decrypts: the keys are destroyed."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    contact = await harness.contact(partner.id, person)
    user = await harness.user(partner.id, person)
    backup = {
        record_id: await harness.db[collection].find_one({"_id": record_id})
        for collection, record_id in (("contacts", contact.id), ("users", user.id))
    }
    opened = await harness.vault.open(contact.id, backup[contact.id] or {}, ["email"])
    assert opened == {"email": person.email}

    await harness.erase(SubjectRef(email=person.email))

    for record_id, document in backup.items():
        assert document is not None
        for name in ("name", "email"):
            token = document[name]
            assert token.startswith("enc1.")
            assert person.email not in token
            with pytest.raises(KeyDestroyed):
                await harness.vault.keyring.decrypt(record_id, name, token)
        assert await harness.vault.open(record_id, document, ["name", "email"]) == {
            "name": None,
            "email": None,
        }


async def test_erasing_by_user_id_and_by_ip_reaches_only_their_records(
    harness: AccountsOwner,
) -> None:
    """A user id erases that user (not the contact with the same email); an IP address erases
    the login history and throttle entry of that address only."""
    partner = await harness.partner(Business.sample())
    person, other = Person.sample(), Person.sample("Otto")
    contact = await harness.contact(partner.id, person)
    user = await harness.user(partner.id, person)
    await harness.user(partner.id, other)
    await harness.login(other, password="not the password at all")
    await harness.login(other)

    by_user = by_category(await harness.erase(SubjectRef(user_id=user.id)))
    assert {name: o.records for name, o in by_user.items()} == {"dashboard_users": 1}
    assert await harness.db["contacts"].count_documents({"_id": contact.id}) == 1

    by_ip = by_category(await harness.erase(SubjectRef(ip=other.ip)))
    assert {name: o.records for name, o in by_ip.items()} == {
        "login_history": 2,
        "sign_in_throttling": 1,
    }
    other_ip = harness.vault.index("ip", other.ip)
    assert await harness.db["login_history"].count_documents({"ip_bidx": other_ip}) == 0
    assert await harness.db["users"].count_documents({}) == 1
