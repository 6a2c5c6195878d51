"""The logs service's answers to privacy commands.

What a subject's records are, how they are found and whose key seals them is
`logs.subject_logs`.

- Locate and export: API request logs, technical logs and order facts found by the subject's
  identifiers (IP and email by blind index), and its restriction flags. The export opens the
  sealed IP, user agent and email of the records that are the subject's own.
- Erase: the records are deleted (no obligation keeps logs) and the subject's own keys are
  shredded (partner, user, `ip_…`, `email_…`), so copies elsewhere, in backups, cannot be
  read; so is the address key of each of its records that names neither partner nor user
  (a sign-in failure by email is sealed with its IP address's key). Restriction flags are
  kept while they last, so later records stay out of analytics.
- Restrict and object: one `restricted_subjects` document per identifier the logs hold,
  `{_id: "<kind>:<value>", kind, value, restricted: 0|1, objection: 0|1, at: {at}}`, kept
  while either flag is 1. Analytics honour it at query time (`logs.analytics`).
- Rectify: logs are a record of what happened; nothing is rectified, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from logs.analytics import RESTRICTED_SUBJECTS
from logs.inventory import Category
from logs.store import Db
from logs.subject_logs import CATEGORY_OF, SEALED, Subject, SubjectLogs, readable
from servicekit.clock import utcnow
from servicekit.vault import Vault

Doc = dict[str, Any]
Clock = Callable[[], datetime]
SHREDDED_NOTE = "Deleted; the subject's key was shredded, so copies elsewhere cannot be read."
KEPT_FLAGS_NOTE = "Kept while the restriction or objection lasts, so later records stay out."
NOT_RECTIFIED_NOTE = "Log records are a factual record of events and are not rectified."
HONOURED_NOTE = "Honoured at query time: analytics leave the subject's records out."


def _outcome(
    category: str, records: int, disposition: Disposition, note: str | None = None
) -> CategoryOutcome:
    if not records:
        return CategoryOutcome(category=category, records=0, disposition=Disposition.NONE_HELD)
    return CategoryOutcome(category=category, records=records, disposition=disposition, note=note)


def flag_id(kind: str, value: str) -> str:
    """The `_id` of a subject's `restricted_subjects` document."""
    return f"{kind}:{value}"


class LogsPrivacy:
    """API request logs, technical logs and order facts: located, exported, erased (with
    the subject's keys shredded) and restricted; never rectified."""

    def __init__(self, db: Db, vault: Vault, clock: Clock = utcnow) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock

    def _subject(self, subject: SubjectRef) -> Subject:
        return Subject.of(subject, self.vault)

    async def _flags(self, subject: Subject) -> list[Doc]:
        ids = [flag_id(kind, value) for kind, value in subject.identifiers.items()]
        return await self.db[RESTRICTED_SUBJECTS].find({"_id": {"$in": ids}}).to_list()

    async def _counts(self, subject: Subject) -> dict[str, int]:
        return {
            collection: await SubjectLogs(self.db, collection).count(subject)
            for collection in CATEGORY_OF
        }

    async def locate(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """How many records of each category identify the subject."""
        held = self._subject(subject)
        outcomes = [
            _outcome(CATEGORY_OF[collection], count, Disposition.FOUND)
            for collection, count in (await self._counts(held)).items()
        ]
        flags = len(await self._flags(held))
        return [*outcomes, _outcome(Category.RESTRICTED_SUBJECTS, flags, Disposition.FOUND)]

    async def export(self, subject: SubjectRef) -> dict[str, Any]:
        """The subject's records, JSON-ready, its own sealed fields opened."""
        held = self._subject(subject)
        export: dict[str, Any] = {}
        for collection, category in CATEGORY_OF.items():
            records = await SubjectLogs(self.db, collection).records(held)
            sealed = SEALED.get(collection, ())
            export[category] = [await readable(r, held, self.vault, sealed) for r in records]
        export[Category.RESTRICTED_SUBJECTS] = [
            {
                "kind": flag["kind"],
                "restricted": bool(flag["restricted"]),
                "objection": bool(flag["objection"]),
                "since": flag["at"]["at"].isoformat(),
            }
            for flag in await self._flags(held)
        ]
        return export

    async def erase(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Shred the keys that seal the subject's fields, then delete its records (a crash in
        between leaves the records for the retry, which shreds again and deletes them)."""
        held = self._subject(subject)
        keys = set(held.keys)
        for collection in CATEGORY_OF:
            keys |= await SubjectLogs(self.db, collection).address_keys(held)
        for key in sorted(keys):
            await self.vault.shred(key)
        deleted = {
            collection: await SubjectLogs(self.db, collection).delete(held)
            for collection in CATEGORY_OF
        }
        outcomes = [
            _outcome(CATEGORY_OF[collection], count, Disposition.DELETED, SHREDDED_NOTE)
            for collection, count in deleted.items()
        ]
        flags = len(await self._flags(held))
        kept = _outcome(Category.RESTRICTED_SUBJECTS, flags, Disposition.RETAINED, KEPT_FLAGS_NOTE)
        if flags:
            kept = kept.model_copy(update={"legal_basis": LegalBasis.LEGAL_OBLIGATION})
        return [*outcomes, kept]

    async def restrict(
        self, subject: SubjectRef, *, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Set or lift the restriction (or, with `objection`, the objection) of each of the
        subject's identifiers; analytics read the flags at query time."""
        held = self._subject(subject)
        flag = "objection" if objection else "restricted"
        now = self.clock()
        for kind, value in held.identifiers.items():
            if restricted:
                await self._set_flag(kind, value, flag, now)
            else:
                await self._lift_flag(flag_id(kind, value), flag, now)
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        outcomes = [
            _outcome(CATEGORY_OF[collection], count, disposition, HONOURED_NOTE)
            for collection, count in (await self._counts(held)).items()
        ]
        flags = len(held.identifiers)
        return [*outcomes, _outcome(Category.RESTRICTED_SUBJECTS, flags, disposition)]

    async def _set_flag(self, kind: str, value: str, flag: str, now: datetime) -> None:
        other = "restricted" if flag == "objection" else "objection"
        await self.db[RESTRICTED_SUBJECTS].update_one(
            {"_id": flag_id(kind, value)},
            {
                "$set": {flag: 1, "at": {"at": now}},
                "$setOnInsert": {"kind": kind, "value": value, other: 0},
            },
            upsert=True,
        )

    async def _lift_flag(self, subject_id: str, flag: str, now: datetime) -> None:
        flags = self.db[RESTRICTED_SUBJECTS]
        await flags.update_one({"_id": subject_id}, {"$set": {flag: 0, "at": {"at": now}}})
        await flags.delete_one({"_id": subject_id, "restricted": 0, "objection": 0})

    async def rectify(self, subject: SubjectRef, changes: dict[str, str]) -> list[CategoryOutcome]:
        """Logs record what happened; they are not rectified, and the answer says so."""
        counts = await self._counts(self._subject(subject))
        return [
            CategoryOutcome(
                category=CATEGORY_OF[collection],
                records=count,
                disposition=Disposition.FOUND if count else Disposition.NONE_HELD,
                note=NOT_RECTIFIED_NOTE,
            )
            for collection, count in counts.items()
        ]
