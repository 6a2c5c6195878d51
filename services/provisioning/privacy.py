"""The provisioning service's answers to privacy commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from provisioning import store
from provisioning.store import Db
from servicekit.clock import utcnow
from servicekit.ids import new_id

ORDER_RETENTION = timedelta(days=7 * 365)


class ProvisioningPrivacy:
    """End-user data on orders: pseudonymised on erasure, the orders themselves retained."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def _orders(self, subject: SubjectRef) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        identifiers = subject.identifiers()
        for key, field in store.SUBJECT_FIELDS.items():
            if key in identifiers:
                async for doc in self.db[store.ORDERS].find({field: identifiers[key]}):
                    found[doc["_id"]] = doc
        return list(found.values())

    async def _order_ids(self, subject: SubjectRef) -> list[str]:
        return [doc["_id"] for doc in await self._orders(subject)]

    async def locate(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Orders that mention the subject."""
        count = len(await self._orders(subject))
        return [
            CategoryOutcome(
                category="orders",
                records=count,
                disposition=Disposition.FOUND if count else Disposition.NONE_HELD,
            )
        ]

    async def export(self, subject: SubjectRef) -> dict[str, Any]:
        """The subject's orders with their end-user data."""
        return {
            "orders": [
                {
                    "order_id": doc["_id"],
                    "iccid": doc.get("iccid"),
                    "package_id": doc.get("package_id"),
                    "end_user": doc.get("end_user", {}),
                    "created_at": doc["created_at"].isoformat(),
                }
                for doc in await self._orders(subject)
            ]
        }

    async def erase(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """End-user fields removed from the orders, which are kept for 7 years."""
        ids = await self._order_ids(subject)
        if not ids:
            return [
                CategoryOutcome(category="orders", records=0, disposition=Disposition.NONE_HELD)
            ]
        now = utcnow()
        await self.db[store.ORDERS].update_many(
            {"_id": {"$in": ids}},
            {"$set": {"end_user": {"erasure": {"at": now}}}},
        )
        return [
            CategoryOutcome(
                category="end_user_data",
                records=len(ids),
                disposition=Disposition.DELETED,
            ),
            CategoryOutcome(
                category="orders",
                records=len(ids),
                disposition=Disposition.PSEUDONYMISED,
                legal_basis=LegalBasis.LEGAL_OBLIGATION,
                retained_until=(now + ORDER_RETENTION).date(),
                note="Orders are transaction records, kept without the end user's identity.",
            ),
        ]

    async def restrict(
        self, subject: SubjectRef, *, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Flag the subject's orders so no further processing uses the end-user data."""
        ids = await self._order_ids(subject)
        restriction = {"restricted": restricted, "objection": objection, "at": utcnow()}
        await self.db[store.ORDERS].update_many(
            {"_id": {"$in": ids}}, {"$set": {"end_user_restriction": restriction}}
        )
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        return [
            CategoryOutcome(
                category="end_user_data",
                records=len(ids),
                disposition=disposition if ids else Disposition.NONE_HELD,
            )
        ]

    async def rectify(self, subject: SubjectRef, changes: dict[str, str]) -> list[CategoryOutcome]:
        """Correct the end user's email or reference on the subject's orders."""
        fields = {"email": "end_user.email", "end_user_ref": "end_user.reference"}
        updates = {fields[key]: value for key, value in changes.items() if key in fields}
        ids = await self._order_ids(subject) if updates else []
        if ids:
            await self.db[store.ORDERS].update_many({"_id": {"$in": ids}}, {"$set": updates})
            await self.db[store.RECTIFICATIONS].insert_many(
                [
                    {
                        "_id": new_id("rec"),
                        "order_id": oid,
                        "fields": sorted(updates),
                        "at": utcnow(),
                    }
                    for oid in ids
                ]
            )
        return [
            CategoryOutcome(
                category="end_user_data",
                records=len(ids),
                disposition=Disposition.RECTIFIED if ids else Disposition.NONE_HELD,
            )
        ]
