"""The accounts service's answers to privacy commands (see decision 0005).

A subject is looked up by index (`accounts.subjects`); each answer is a list of outcomes, one
per category that holds the subject's data, or, when none does, `none_held` for each category
the identifiers were looked up in.

- Locate and export: every category held; the export is decrypted, with readable names.
- Erase: people, sessions, login history, throttle and restriction entries are deleted and
  people's keys shredded. A partner's identity, billing profile and API keys are retained
  under the contract while its account is open, and erased (key shredded) once it is
  closed, with all its people. Ledger entries are retained under the legal obligation for
  7 years after the latest of them; they carry no name, email or phone.
- Erase again (`erase_indexed`, a reapply run after a restore): the same lookups and erasure
  from the ledger entry: emails, phones and IP addresses by blind index, user and partner ids
  by value (see `accounts.subjects`, `accounts.login_ips`).
- Late messages: none. Accounts takes in people's data only through request/reply commands
  of a live caller (the gateway, the dashboard): new processing, never buffered or replayed
  after the fact (a redelivery is answered from the inbox, not applied again).
- Restrict (or object): people and partners found are flagged, and the person's blind
  indexes (also the email and phone of people found by user or partner id) go into accounts'
  own `restrictions`; lifting removes both. The request's broadcast fills the service's
  register (`servicekit.restrictions`), which `accounts.people` asks too: people added after
  the request are not added to new processing or sent non-essential email either.
- Rectify: see `accounts.subject_rectification`.

Scope: a partner's request (`scope` = its id) reaches only the data that partner controls:
its own identity, billing profile, API keys and ledger (when the subject's `partner_id` is
its own id; a `partner_id` naming another partner touches nothing), its contact people and
dashboard users, their sessions and the login history recorded under it. Another partner's
people with the same email or phone, ops users (who have no partner), and the restriction
`restrictions` and sign-in throttle (kept per person across every partner, with no partner
of their own) are out of its scope: a partner's restriction flags its own records and holds,
through the register's entry scoped to that partner, for its own people only (another
partner may still add the person). Without a scope (ops,
or a person about themselves) every partner's records are reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from accounts import store
from accounts.erasure import Eraser
from accounts.inventory import TRANSACTION_RETENTION_DAYS, Category
from accounts.people import People
from accounts.store import Db
from accounts.subject_export import SubjectExport, register_entries
from accounts.subject_rectification import (
    FIELDS_OF,
    InvalidChanges,
    Rectified,
    Rectifier,
    validated,
)
from accounts.subjects import SubjectFinder, SubjectRecords, person_keys
from contracts.erasure_ledger import ErasedIdentifier
from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from servicekit.clock import Clock, utcnow
from servicekit.erasures import IndexedSubject
from servicekit.vault import Vault

RETAINED_UNDER_CONTRACT = (
    "Kept under the partner agreement while the account is open; erased 2 years after the"
    " account is closed, or on request once it is closed."
)
RETAINED_BY_LAW = (
    "Transaction records are kept for 7 years for accounting law; they carry no name, email"
    " or phone."
)


def outcome(
    category: Category, records: int, disposition: Disposition, **details: Any
) -> CategoryOutcome:
    """One category's outcome."""
    return CategoryOutcome(
        category=category.value, records=records, disposition=disposition, **details
    )


def none_held(categories: Iterable[Category]) -> list[CategoryOutcome]:
    """`none_held` for each category looked in."""
    return [outcome(category, 0, Disposition.NONE_HELD) for category in categories]


class AccountsPrivacy:
    """Locate, export, erase, restrict and rectify a subject's data held by accounts."""

    def __init__(self, db: Db, vault: Vault, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock
        self.finder = SubjectFinder(db, vault)
        self.people = People(db, vault)

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """How many records of each category are held about the subject."""
        records = await self.finder.find(subject, whole_closed_partners=True, scope=scope)
        held = records.held()
        found = [outcome(category, n, Disposition.FOUND) for category, n in held.items()]
        return found or none_held(records.searched)

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        """Everything held about the subject, decrypted, under readable names."""
        records = await self.finder.find(subject, whole_closed_partners=True, scope=scope)
        export = await SubjectExport(self.db, self.vault).export(records)
        registered = await register_entries(self.people.register, subject, records, scope)
        if registered:
            listed = export.setdefault(Category.PROCESSING_RESTRICTIONS.value, [])
            listed += to_jsonable_python(registered)
        return export

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Delete what may go, shred its keys; report what is retained, on which basis."""
        records = await self.finder.find(subject, whole_closed_partners=True, scope=scope)
        return await self._erase(records)

    async def erase_indexed(
        self, identifiers: list[ErasedIdentifier], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Erase again what an erasure-ledger entry names (after a restore or a replay): the
        same lookups and erasure, from blind indexes (emails, phones) and ids by value."""
        found = IndexedSubject.of_erased(identifiers)
        records = await self.finder.find_indexed(found, whole_closed_partners=True, scope=scope)
        return await self._erase(records)

    async def _erase(self, records: SubjectRecords) -> list[CategoryOutcome]:
        removed = await Eraser(self.db, self.vault).erase(records, self.clock())
        outcomes = [outcome(c, n, Disposition.DELETED) for c, n in removed.items()]
        outcomes += _retained(records)
        return outcomes or none_held(records.searched)

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Flag (or unflag) the subject's records and, unless a partner asked, register (or
        forget) the person."""
        records = await self.finder.find(subject, whole_closed_partners=False, scope=scope)
        flagging = restricted or objection
        flags = {"restricted": restricted, "objection": objection, "at": self.clock()}
        change = {"$set": {"restriction": flags}} if flagging else {"$unset": {"restriction": ""}}
        groups = (
            (Category.CONTACT_PEOPLE, store.CONTACTS, records.contacts),
            (Category.DASHBOARD_USERS, store.USERS, records.users),
            (Category.PARTNER_IDENTITY, store.PARTNERS, records.partners),
        )
        disposition = Disposition.RESTRICTED if flagging else Disposition.UNRESTRICTED
        outcomes = []
        for category, collection, documents in groups:
            ids = [document["_id"] for document in documents]
            if ids:
                await self.db[collection].update_many({"_id": {"$in": ids}}, change)
                outcomes.append(outcome(category, len(ids), disposition))
        registered = 0
        if scope is None:
            registered = await self._register(subject, records, restricted, objection)
        if registered:
            outcomes.append(outcome(Category.PROCESSING_RESTRICTIONS, registered, disposition))
        return outcomes or none_held(records.searched)

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Replace inaccurate values with the corrected ones (sealed anew), recording it."""
        records = await self.finder.find(subject, whole_closed_partners=False, scope=scope)
        held = records.held()
        rectifiable = [category for category in FIELDS_OF if category in held]
        if not rectifiable:
            return _nothing_to_rectify(records)
        try:
            clean = validated(changes)
        except InvalidChanges as invalid:
            note = f"Not rectified: {invalid}. Nothing was changed."
            return [outcome(c, held[c], Disposition.FOUND, note=note) for c in rectifiable]
        done = await Rectifier(self.db, self.vault).rectify(records, clean, self.clock())
        return [_rectified(c, held[c], done.get(c)) for c in rectifiable]

    async def _register(
        self, subject: SubjectRef, records: SubjectRecords, restricted: bool, objection: bool
    ) -> int:
        """Write (or delete) the register entries of every person in scope; how many."""
        keys = set(self.people.person_keys(email=subject.email, phone=subject.phone))
        for person in records.people():
            keys.update(person_keys(person))
        if not keys:
            return 0
        if not (restricted or objection):
            registry = self.db[store.RESTRICTIONS]
            return (await registry.delete_many({"_id": {"$in": sorted(keys)}})).deleted_count
        flags = {"restricted": restricted, "objection": objection, "at": self.clock()}
        for key in sorted(keys):
            await self.db[store.RESTRICTIONS].find_one_and_update(
                {"_id": key}, {"$set": {"restriction": flags}}, upsert=True
            )
        return len(keys)


def _retained(records: SubjectRecords) -> list[CategoryOutcome]:
    """What erasure keeps: an open partner's own records, and the ledger."""
    kept: list[CategoryOutcome] = []
    open_partners = records.open_partners()
    if open_partners:
        held = records.held()
        for category in (Category.PARTNER_IDENTITY, Category.BILLING_PROFILE, Category.API_KEYS):
            if held.get(category):
                kept.append(
                    outcome(
                        category,
                        held[category],
                        Disposition.RETAINED,
                        legal_basis=LegalBasis.CONTRACT,
                        note=RETAINED_UNDER_CONTRACT,
                    )
                )
    ledger = records.ledger
    if ledger.entries and ledger.latest is not None:
        until = ledger.latest + timedelta(days=TRANSACTION_RETENTION_DAYS)
        kept.append(
            outcome(
                Category.BALANCE_LEDGER,
                ledger.entries,
                Disposition.RETAINED,
                legal_basis=LegalBasis.LEGAL_OBLIGATION,
                retained_until=until.date(),
                note=RETAINED_BY_LAW,
            )
        )
    return kept


def _nothing_to_rectify(records: SubjectRecords) -> list[CategoryOutcome]:
    """No rectifiable record held: say so, and that records of events are not rectified."""
    searched = [category for category in records.searched if category in FIELDS_OF]
    if searched:
        return none_held(searched)
    note = "A record of events; it is not rectified."
    held = records.held().items()
    found = [outcome(c, n, Disposition.FOUND, note=note) for c, n in held]
    return found or none_held(records.searched)


def _rectified(category: Category, held: int, done: Rectified | None) -> CategoryOutcome:
    if done is None:
        fields = ", ".join(FIELDS_OF[category])
        note = f"None of the changes applies here; this category takes {fields}."
        return outcome(category, held, Disposition.FOUND, note=note)
    notes = [f"Changed {', '.join(sorted(done.fields))}."] if done.changed else []
    if done.conflicts:
        notes.append(f"{done.conflicts} not changed: another user signs in with that email.")
    if done.unchanged:
        notes.append(f"{done.unchanged} already as given.")
    if done.changed:
        return outcome(category, done.changed, Disposition.RECTIFIED, note=" ".join(notes))
    return outcome(category, held, Disposition.FOUND, note=" ".join(notes))
