"""Erasing a subject's records: shared by privacy requests and the retention sweep.

Per category: contact people and users are deleted and their keys shredded, with their
rectification records; sessions, login history, throttle and restriction entries are
deleted. Erasing an IP address (unscoped) also shreds the address's own key, under which the
attempts of no known user from it are sealed (`accounts.login_ips`).
A closed partner also loses its billing profile, API keys and identity: the
partner document keeps only what has no personal data (id, status, currency, dates), marked
`erasure`, and the partner's key is shredded. Ledger entries are never touched here: they
are kept under the legal obligation and removed by the retention sweep.

Keys are shredded before their records are deleted: a retry after a crash in between still
finds the records (by their indexes) and finishes, whereas a key left behind by a deleted
record could no longer be found, and would keep copies in backups readable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts import store
from accounts.billing import PROFILES
from accounts.inventory import Category
from accounts.login_ips import ip_subject
from accounts.partners import PARTNER_PLAIN, PARTNER_SEALED
from accounts.store import Db
from accounts.subjects import ERASED, SubjectRecords
from servicekit.grouped import deletes_from
from servicekit.vault import Vault, blind_field

PARTNER_PERSONAL = (
    *PARTNER_PLAIN,
    *PARTNER_SEALED,
    blind_field("phone"),
    "created_by",
    "restriction",
)
"""What a partner document loses when its identity is erased."""


def _ids(documents: list[dict[str, Any]]) -> list[Any]:
    return [document["_id"] for document in documents]


@dataclass
class Eraser:
    """Deletes (and crypto-shreds) the records of a subject found by `SubjectFinder`."""

    db: Db
    vault: Vault

    async def erase(self, records: SubjectRecords, now: datetime) -> Counter[Category]:
        """Erase everything in `records` but the ledger; how many records of each category."""
        removed: Counter[Category] = Counter()
        removed[Category.CONTACT_PEOPLE] = await self._people(store.CONTACTS, records.contacts)
        removed[Category.DASHBOARD_USERS] = await self._people(store.USERS, records.users)
        removed[Category.DASHBOARD_SESSIONS] = await self._delete(store.SESSIONS, records.sessions)
        if records.ip_index is not None:  # attempts of no known user from that address
            await self.vault.shred(ip_subject(records.ip_index))
        removed[Category.LOGIN_HISTORY] = await self._delete(store.LOGIN_HISTORY, records.logins)
        removed[Category.SIGN_IN_THROTTLING] = await self._delete(
            store.LOGIN_THROTTLE, records.throttles
        )
        removed[Category.PROCESSING_RESTRICTIONS] = await self._delete(
            store.RESTRICTIONS, records.restrictions
        )
        for partner_id in records.closed_partner_ids:
            removed += await self.erase_closed_partner(partner_id, now)
        return +removed

    async def erase_closed_partner(self, partner_id: str, now: datetime) -> Counter[Category]:
        """Erase a closed partner's own records: billing profile, API keys, identity.

        Safe to repeat: an erased partner has nothing left to erase but its ledger.
        """
        await self.vault.shred(partner_id)
        removed: Counter[Category] = Counter()
        billing = await self.db[PROFILES].delete_one({"_id": partner_id})
        removed[Category.BILLING_PROFILE] = billing.deleted_count
        keys = await self.db[store.API_KEYS].delete_many({"partner_id": partner_id})
        removed[Category.API_KEYS] = keys.deleted_count
        await self.db[store.RECTIFICATIONS].delete_many({"partner_id": partner_id})
        await self.db[store.RECTIFICATIONS].delete_many({"record_id": partner_id})
        identity = await self.db[store.PARTNERS].update_one(
            {"_id": partner_id, ERASED: {"$exists": False}},
            {
                "$unset": {name: "" for name in PARTNER_PERSONAL},
                "$set": {ERASED: {"at": now}},
            },
        )
        removed[Category.PARTNER_IDENTITY] = identity.modified_count
        return +removed

    async def _people(self, collection: str, documents: list[dict[str, Any]]) -> int:
        """Shred the people's keys, delete their rectification records, then them; how many."""
        ids = _ids(documents)
        await self.vault.shred(*ids)
        await deletes_from(self.db[store.RECTIFICATIONS], "record_id").delete_in(ids)
        return await self._delete(collection, documents)

    async def _delete(self, collection: str, documents: list[dict[str, Any]]) -> int:
        """Delete the records found, together with other erasures' deletes; how many (each
        found record is gone when this returns)."""
        ids = _ids(documents)
        await deletes_from(self.db[collection]).delete_in(ids)
        return len(ids)
