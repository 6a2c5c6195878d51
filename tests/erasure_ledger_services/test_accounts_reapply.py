"""The accounts service and the erasure ledger: a person's erasure applied again after a
restore from backup, found from the ledger's blind indexes (also a partner's scoped one)."""

from __future__ import annotations

from reapply_support import Backup, Reapplier, erased_again

from accounts import store
from contracts.privacy import EraseSubject, SubjectRef
from servicekit.keyring import KEY_COLLECTION
from support.accounts_owner import AccountsOwner, Business, Person
from support.privacy_standin import plaintext_hits

COLLECTIONS = [
    store.CONTACTS,
    store.USERS,
    store.SESSIONS,
    store.LOGIN_HISTORY,
    store.LOGIN_THROTTLE,
    store.RESTRICTIONS,
]


async def test_a_restored_person_is_erased_again_from_the_ledger(
    accounts: tuple[AccountsOwner, Reapplier],
) -> None:
    """A contact and user erased by email and phone, restored with their keys, are found by
    the ledger's blind indexes and erased again with their sessions, login history and
    throttle entry: keys shredded, nothing of the person left in plaintext."""
    harness, reapplier = accounts
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    contact = await harness.contact(partner.id, person)
    user = await harness.user(partner.id, person)
    await harness.login(person, password="wrong password, once")
    await harness.login(person)
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(email=person.email, phone=person.phone)
    assert (await harness.erase(subject)).succeeded
    await backup.restore(harness.db)
    assert await harness.db[store.CONTACTS].count_documents({"_id": contact.id}) == 1

    answer = await reapplier.reapply(subject, harness.vault.index)

    assert erased_again(answer) == {
        "contact_people": 1,
        "dashboard_users": 1,
        "dashboard_sessions": 1,
        "login_history": 2,
        "sign_in_throttling": 1,
    }
    for record_id in (contact.id, user.id):
        assert await harness.db[KEY_COLLECTION].count_documents({"_id": record_id}) == 0
    await harness.outboxes_drained()
    assert plaintext_hits(await harness.everything(), person.values()) == []


async def test_a_scoped_reapply_leaves_the_other_partners_contact(
    accounts: tuple[AccountsOwner, Reapplier],
) -> None:
    """A partner's erasure of a person, applied again after a restore, deletes that partner's
    contact again and leaves the same person's contact at another partner."""
    harness, reapplier = accounts
    asking = await harness.partner(Business.sample())
    other = await harness.partner(Business.sample())
    person = Person.sample()
    mine = await harness.contact(asking.id, person)
    theirs = await harness.contact(other.id, person)
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(email=person.email)
    scoped = EraseSubject(**harness.task(), subject=subject, scope_partner_id=asking.id)
    assert (await harness.run(scoped)).succeeded
    await backup.restore(harness.db)

    answer = await reapplier.reapply(subject, harness.vault.index, scope=asking.id)

    assert erased_again(answer) == {"contact_people": 1}
    contacts = harness.db[store.CONTACTS]
    assert await contacts.count_documents({"_id": mine.id}) == 0
    assert await contacts.count_documents({"_id": theirs.id}) == 1
    assert await harness.db[KEY_COLLECTION].count_documents({"_id": theirs.id}) == 1
