"""The accounts service's answers to privacy commands.

Contacts are found by the blind indexes of their email and phone (their fields are sealed at
rest, see `accounts.people`); erasing a contact shreds its key and deletes the record.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from accounts import store
from accounts.people import CONTACT_SEALED, INDEXED, People
from accounts.store import Db
from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from servicekit.clock import utcnow
from servicekit.ids import new_id
from servicekit.vault import Vault, blind_field

LEDGER_YEARS = 7


def _contact_ids_filter(ids: list[str]) -> dict[str, Any]:
    return {"_id": {"$in": ids}}


class AccountsPrivacy:
    """Locate, export, erase, restrict and rectify a subject's data held by accounts."""

    def __init__(self, db: Db, vault: Vault) -> None:
        self.db = db
        self.vault = vault
        self.people = People(db, vault)

    async def _contacts(self, subject: SubjectRef) -> list[dict[str, Any]]:
        """Contacts found by each identifier the subject gives (one indexed query each)."""
        found: dict[str, dict[str, Any]] = {}
        identifiers = subject.identifiers()
        criteria = [
            {blind_field(kind): self.vault.index(kind, identifiers[kind])}
            for kind in INDEXED
            if kind in identifiers
        ]
        if "partner_id" in identifiers:
            criteria.append({"partner_id": identifiers["partner_id"]})
        for criterion in criteria:
            async for doc in self.db[store.CONTACTS].find(criterion):
                found[doc["_id"]] = doc
        return list(found.values())

    async def _ledger_count(self, subject: SubjectRef) -> int:
        partner_id = subject.partner_id
        if partner_id is None:
            return 0
        return await self.db[store.LEDGER].count_documents({"partner_id": partner_id})

    async def locate(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Contacts matching the subject, and the partner's ledger entries."""
        contacts = await self._contacts(subject)
        ledger = await self._ledger_count(subject)
        return [
            CategoryOutcome(
                category="contact_people",
                records=len(contacts),
                disposition=Disposition.FOUND if contacts else Disposition.NONE_HELD,
            ),
            CategoryOutcome(
                category="balance_ledger",
                records=ledger,
                disposition=Disposition.FOUND if ledger else Disposition.NONE_HELD,
            ),
        ]

    async def export(self, subject: SubjectRef) -> dict[str, Any]:
        """The subject's contact records, with readable field names."""
        contacts = await self._contacts(subject)
        return {
            "contact_people": [
                {
                    **await self.vault.open(doc["_id"], doc, CONTACT_SEALED),
                    "role": doc.get("role"),
                    "restriction": doc.get("restriction"),
                }
                for doc in contacts
            ]
        }

    async def erase(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Contacts deleted; ledger entries retained for 7 years under the legal obligation."""
        ids = [doc["_id"] for doc in await self._contacts(subject)]
        for contact_id in ids:
            await self.vault.shred(contact_id)
        deleted = (
            await self.db[store.CONTACTS].delete_many(_contact_ids_filter(ids))
        ).deleted_count
        outcomes = [
            CategoryOutcome(
                category="contact_people",
                records=deleted,
                disposition=Disposition.DELETED if deleted else Disposition.NONE_HELD,
            )
        ]
        ledger = await self._ledger_count(subject)
        if ledger:
            outcomes.append(
                CategoryOutcome(
                    category="balance_ledger",
                    records=ledger,
                    disposition=Disposition.RETAINED,
                    legal_basis=LegalBasis.LEGAL_OBLIGATION,
                    retained_until=(utcnow() + timedelta(days=365 * LEDGER_YEARS)).date(),
                    note="Transaction records are kept for 7 years for accounting law.",
                )
            )
        return outcomes

    async def restrict(
        self, subject: SubjectRef, *, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Flag (or unflag) the subject's contact records."""
        ids = [doc["_id"] for doc in await self._contacts(subject)]
        restriction = {"restricted": restricted, "objection": objection, "at": utcnow()}
        result = await self.db[store.CONTACTS].update_many(
            _contact_ids_filter(ids), {"$set": {"restriction": restriction}}
        )
        changed = result.matched_count
        identifiers = subject.identifiers()
        await self.people.record_restriction(
            email=identifiers.get("email"),
            phone=identifiers.get("phone"),
            restricted=restricted,
            objection=objection,
            now=utcnow(),
        )
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        return [
            CategoryOutcome(
                category="contact_people",
                records=changed,
                disposition=disposition if changed else Disposition.NONE_HELD,
            )
        ]

    async def rectify(self, subject: SubjectRef, changes: dict[str, str]) -> list[CategoryOutcome]:
        """Correct name, email or phone of the subject's contact records; record the change."""
        allowed = {
            key: value for key, value in changes.items() if key in {"name", "email", "phone"}
        }
        ids = [doc["_id"] for doc in await self._contacts(subject)]
        changed = 0
        if allowed and ids:
            for cid in ids:
                sealed = await self.vault.seal(cid, cid, allowed, indexed=INDEXED)
                result = await self.db[store.CONTACTS].update_one({"_id": cid}, {"$set": sealed})
                changed += result.matched_count
            await self.db[store.RECTIFICATIONS].insert_many(
                [
                    {
                        "_id": new_id("rec"),
                        "record": "contact",
                        "record_id": cid,
                        "fields": sorted(allowed),
                        "at": utcnow(),
                        "by": "privacy",
                    }
                    for cid in ids
                ]
            )
        return [
            CategoryOutcome(
                category="contact_people",
                records=changed,
                disposition=Disposition.RECTIFIED if changed else Disposition.NONE_HELD,
            )
        ]
