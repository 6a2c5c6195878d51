"""The logs service's answers to privacy commands.

What a subject's records are, how they are found and whose key seals them is
`logs.subject_logs`.

- Locate and export: API request logs, technical logs and order facts found by the subject's
  identifiers (IP and email by blind index), and the register's entries about it (the
  restrictions and objections it asked for). The export opens the
  sealed IP, user agent and email of the records that are the subject's own.
- Erase: the records are deleted (no obligation keeps logs) and the subject's own keys are
  shredded (partner, user, `ip_…`, `email_…`), so copies elsewhere, in backups, cannot be
  read; so is the address key of each of its records that names neither partner nor user
  (a sign-in failure by email is sealed with its IP address's key). The register's entries
  are kept, so later records stay out of analytics while a restriction lasts.
- Erase again (`erase_indexed`, a reapply run after a restore): the same path as erase, from
  the ledger entry's identifiers; partner and user ids come with their value, IP addresses
  and emails as blind indexes, which is how the logs hold them, so nothing is out of reach.
- Late records: see `logs.late_records`.
- Restrict and object: the flags are the register's (`servicekit.restrictions`, the
  collection `_restricted_subjects` every data owner keeps from the privacy service's
  broadcast); the task reports the records they now cover. Analytics honour the register at
  query time, per record and partner (`logs.analytics`).
- Rectify: logs are a record of what happened; nothing is rectified, and the answer says so.

Scope: a partner's request (`scope` = its id) reaches only the records that partner
controls: those with its `partner_id` (its API requests and order facts, its technical
records, its users' records). The same email, IP address or user under another partner,
anonymous records with no partner, and a `partner_id` naming another partner are out of its
scope. Its erasure shreds only keys that seal nothing but its records: its own key when the
subject is the partner itself, and a user's key when every record of that user is the
partner's (never an address key, which seals anonymous records). Its restriction holds for
its own records only: the analytics leave out the identifier's records under that partner.
Without a scope (ops, or a person about themselves) every record is reached, and a lift
lifts what every partner set.
"""

from __future__ import annotations

from typing import Any

from contracts.erasure_ledger import ErasedIdentifier
from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from logs.inventory import Category
from logs.store import Db
from logs.subject_logs import (
    BLIND_KINDS,
    CATEGORY_OF,
    LOOKUPS,
    SEALED,
    Subject,
    SubjectLogs,
    readable,
)
from servicekit.clock import Clock, utcnow
from servicekit.erasures import IndexedSubject
from servicekit.restrictions import Change, RestrictionRegister, value_key
from servicekit.vault import Vault

Doc = dict[str, Any]
SHREDDED_NOTE = "Deleted; the subject's key was shredded, so copies elsewhere cannot be read."
KEPT_FLAGS_NOTE = "Kept while the restriction or objection lasts, so later records stay out."
NOT_RECTIFIED_NOTE = "Log records are a factual record of events and are not rectified."
HONOURED_NOTE = "Honoured at query time: analytics leave the subject's records out."
REGISTER_NOTE = "Kept in the restriction register, from the request's broadcast."


def _outcome(
    category: str, records: int, disposition: Disposition, note: str | None = None
) -> CategoryOutcome:
    if not records:
        return CategoryOutcome(category=category, records=0, disposition=Disposition.NONE_HELD)
    return CategoryOutcome(category=category, records=records, disposition=disposition, note=note)


class LogsPrivacy:
    """API request logs, technical logs and order facts: located, exported, erased (with
    the subject's keys shredded) and restricted; never rectified."""

    def __init__(
        self,
        db: Db,
        vault: Vault,
        restrictions: RestrictionRegister | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.vault = vault
        self.restrictions = restrictions or RestrictionRegister(db, vault.blind_index)
        self.clock = clock

    def _subject(self, subject: SubjectRef, scope: str | None) -> Subject:
        return Subject.of(subject, self.vault, scope)

    async def _flags(self, subject: Subject) -> list[Change]:
        """The register's entries about the subject: a partner's own; without a scope, all."""
        keys = [
            key if kind in BLIND_KINDS else value_key(kind, key)
            for kind, key in subject.identifiers.items()
        ]
        book = await self.restrictions.changes_of(keys)
        if subject.scope is None:
            return book.changes
        return [c for c in book.changes if c.scope_partner_id == subject.scope]

    async def _keys(self, subject: Subject) -> set[str]:
        """The keys erasure shreds: the subject's own and those of its anonymous records;
        with a scope, only keys that seal nothing but the scope's records."""
        if subject.scope is None:
            keys = set(subject.keys)
            for collection in CATEGORY_OF:
                keys |= await SubjectLogs(self.db, collection).address_keys(subject)
            return keys
        keys = {subject.identifiers["partner_id"]} if "partner_id" in subject.identifiers else set()
        user_id = subject.identifiers.get("user_id")
        if user_id is not None and await self._only_under(user_id, subject.scope):
            keys.add(user_id)
        return keys

    async def _only_under(self, user_id: str, partner_id: str) -> bool:
        """Whether the user has records, and every one of them is under the partner (read
        from the user's records through its index: `count_documents` reads the whole
        collection on nx-27017)."""
        partners: set[str | None] = set()
        for collection, fields in LOOKUPS.items():
            if "user_id" in fields:
                found = self.db[collection].find({"user_id": user_id}, {"partner_id": 1})
                partners |= {record.get("partner_id") async for record in found}
        return partners == {partner_id}

    async def _counts(self, subject: Subject) -> dict[str, int]:
        return {
            collection: await SubjectLogs(self.db, collection).count(subject)
            for collection in CATEGORY_OF
        }

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """How many records of each category identify the subject."""
        held = self._subject(subject, scope)
        outcomes = [
            _outcome(CATEGORY_OF[collection], count, Disposition.FOUND)
            for collection, count in (await self._counts(held)).items()
        ]
        flags = len(await self._flags(held))
        return [*outcomes, _outcome(Category.RESTRICTED_SUBJECTS, flags, Disposition.FOUND)]

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        """The subject's records, JSON-ready, its own sealed fields opened."""
        held = self._subject(subject, scope)
        export: dict[str, Any] = {}
        for collection, category in CATEGORY_OF.items():
            records = await SubjectLogs(self.db, collection).records(held)
            sealed = SEALED.get(collection, ())
            export[category] = [await readable(r, held, self.vault, sealed) for r in records]
        export[Category.RESTRICTED_SUBJECTS] = [
            {"kinds": sorted({i.kind for i in change.identifiers}), **change.flags}
            | {"since": change.changed_at.isoformat()}
            | ({"partner_id": change.scope_partner_id} if change.scope_partner_id else {})
            for change in await self._flags(held)
        ]
        return export

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Shred the keys that seal the subject's fields, then delete its records (a crash in
        between leaves the records for the retry, which shreds again and deletes them)."""
        return await self._erase(self._subject(subject, scope))

    async def erase_indexed(
        self, identifiers: list[ErasedIdentifier], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Erase again what an erasure-ledger entry names (after a restore or a replay)."""
        return await self._erase(Subject.indexed(IndexedSubject.of_erased(identifiers), scope))

    async def _erase(self, held: Subject) -> list[CategoryOutcome]:
        keys = await self._keys(held)
        await self.vault.shred(*keys)
        deleted = {
            collection: await SubjectLogs(self.db, collection).delete(held)
            for collection in CATEGORY_OF
        }
        note = SHREDDED_NOTE if keys else None
        outcomes = [
            _outcome(CATEGORY_OF[collection], count, Disposition.DELETED, note)
            for collection, count in deleted.items()
        ]
        flags = len(await self._flags(held))
        kept = _outcome(Category.RESTRICTED_SUBJECTS, flags, Disposition.RETAINED, KEPT_FLAGS_NOTE)
        if flags:
            kept = kept.model_copy(update={"legal_basis": LegalBasis.LEGAL_OBLIGATION})
        return [*outcomes, kept]

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """The records the restriction (or objection) now covers, or no longer does. The
        flags themselves are the register's, kept from the request's broadcast, which the
        analytics read at query time; nothing is written here."""
        held = self._subject(subject, scope)
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        outcomes = [
            _outcome(CATEGORY_OF[collection], count, disposition, HONOURED_NOTE)
            for collection, count in (await self._counts(held)).items()
        ]
        flags = len(held.identifiers)
        register = _outcome(Category.RESTRICTED_SUBJECTS, flags, disposition, REGISTER_NOTE)
        return [*outcomes, register]

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Logs record what happened; they are not rectified, and the answer says so."""
        counts = await self._counts(self._subject(subject, scope))
        return [
            CategoryOutcome(
                category=CATEGORY_OF[collection],
                records=count,
                disposition=Disposition.FOUND if count else Disposition.NONE_HELD,
                note=NOT_RECTIFIED_NOTE,
            )
            for collection, count in counts.items()
        ]
