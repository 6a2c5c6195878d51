"""The provisioning service's answers to privacy commands.

A subject is found by the identifiers provisioning indexes: orders by end-user email and
reference, ICCID and partner; the ICCIDs and order ids of those orders (and the subject's own
ICCID) then find the provider's callbacks and the webhook deliveries that carry them, each
by an indexed field. A partner subject also finds its webhook endpoints, deliveries and
attempts by `partner_id`.

Erasure: end-user fields removed from orders, which are kept pseudonymised for 7 years
(transaction records); callbacks, deliveries, attempts and (for a partner) endpoints deleted,
since no obligation keeps them. Restriction flags the orders (`webhooks.enqueue` then sends
nothing about them) and gives up the deliveries still due that carry the subject's data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from provisioning import store
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import TRANSACTION_RETENTION_DAYS, Category
from provisioning.store import Db
from provisioning.webhook_store import ATTEMPTS, DELIVERIES, ENDPOINTS
from servicekit.clock import utcnow
from servicekit.ids import new_id

Doc = dict[str, Any]
DUE = ["pending", "failed"]
RESTRICTED_ERROR = "subject_restricted"
"""The `last.error` of a delivery given up because its subject restricted processing."""


@dataclass
class Holdings:
    """Everything provisioning holds about one subject, per collection."""

    orders: list[Doc] = field(default_factory=list)
    callbacks: list[Doc] = field(default_factory=list)
    endpoints: list[Doc] = field(default_factory=list)
    deliveries: list[Doc] = field(default_factory=list)
    attempts: list[Doc] = field(default_factory=list)

    def by_category(self) -> dict[Category, list[Doc]]:
        """The records of each category but the orders' end-user data."""
        return {
            Category.ORDERS: self.orders,
            Category.PROVIDER_CALLBACKS: self.callbacks,
            Category.WEBHOOK_ENDPOINTS: self.endpoints,
            Category.WEBHOOK_DELIVERIES: self.deliveries,
            Category.WEBHOOK_ATTEMPTS: self.attempts,
        }


def _ids(documents: Iterable[Doc]) -> list[Any]:
    return [document["_id"] for document in documents]


def _outcome(category: str, records: int, disposition: Disposition) -> CategoryOutcome:
    done = disposition if records else Disposition.NONE_HELD
    return CategoryOutcome(category=category, records=records, disposition=done)


def _plain(document: Doc, *fields: str) -> Doc:
    """The named fields of a document, datetimes as ISO 8601 (what an export shows)."""
    values = {name: document[name] for name in fields if name in document}
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


class ProvisioningPrivacy:
    """Orders, provider callbacks and webhooks: located, exported, erased, restricted."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def _find(self, collection: str, criteria: Iterable[Doc]) -> list[Doc]:
        """The union of the documents matching any of the criteria (each one indexed)."""
        found: dict[Any, Doc] = {}
        for one in criteria:
            async for document in self.db[collection].find(one):
                found[document["_id"]] = document
        return list(found.values())

    async def _orders(self, subject: SubjectRef) -> list[Doc]:
        identifiers = subject.identifiers()
        criteria = [
            {path: identifiers[key]}
            for key, path in store.SUBJECT_FIELDS.items()
            if key in identifiers
        ]
        return await self._find(store.ORDERS, criteria)

    async def holdings(self, subject: SubjectRef) -> Holdings:
        """What provisioning holds about the subject."""
        held = Holdings(orders=await self._orders(subject))
        iccids = sorted({o["iccid"] for o in held.orders if "iccid" in o} | _own_iccid(subject))
        order_ids = _ids(held.orders)
        partner = [{"partner_id": subject.partner_id}] if subject.partner_id else []
        linked = [{"iccid": {"$in": iccids}}] if iccids else []
        linked += [{"order_id": {"$in": order_ids}}] if order_ids else []
        held.callbacks = await self._find(CALLBACKS, [{"iccid": {"$in": iccids}}] if iccids else [])
        held.endpoints = await self._find(ENDPOINTS, partner)
        held.deliveries = await self._find(DELIVERIES, linked + partner)
        delivery_ids = _ids(held.deliveries)
        by_delivery = [{"delivery_id": {"$in": delivery_ids}}] if delivery_ids else []
        held.attempts = await self._find(ATTEMPTS, by_delivery + partner)
        return held

    async def locate(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """How many records of each category mention the subject."""
        held = await self.holdings(subject)
        return [
            _outcome(category, len(records), Disposition.FOUND)
            for category, records in held.by_category().items()
        ]

    async def export(self, subject: SubjectRef) -> dict[str, Any]:
        """The subject's records, readable; never a webhook secret."""
        held = await self.holdings(subject)
        return {
            "orders": [
                {"order_id": o["_id"], **_plain(o, "iccid", "package_id", "created_at")}
                | {"end_user": o.get("end_user", {})}
                for o in held.orders
            ],
            "provider_callbacks": [
                _plain(c, "type", "iccid", "occurred_at", "received_at", "data")
                for c in held.callbacks
            ],
            "webhook_endpoints": [
                {"id": e["_id"], **_plain(e, "url", "event_types", "mode", "status", "created_at")}
                for e in held.endpoints
            ],
            "webhook_deliveries": [
                {"id": d["_id"], **_plain(d, "event_type", "status", "created_at")}
                | {"payload": json.loads(d["payload"])}
                for d in held.deliveries
            ],
            "webhook_attempts": [
                _plain(a, "delivery_id", "number", "at", "code", "error") for a in held.attempts
            ],
        }

    async def erase(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Delete the logs, callbacks and endpoints; pseudonymise the orders (kept 7 years)."""
        held = await self.holdings(subject)
        outcomes = await self._pseudonymise_orders(_ids(held.orders))
        for collection, category, records in (
            (ATTEMPTS, Category.WEBHOOK_ATTEMPTS, held.attempts),
            (DELIVERIES, Category.WEBHOOK_DELIVERIES, held.deliveries),
            (CALLBACKS, Category.PROVIDER_CALLBACKS, held.callbacks),
            (ENDPOINTS, Category.WEBHOOK_ENDPOINTS, held.endpoints),
        ):
            ids = _ids(records)
            if ids:
                await self.db[collection].delete_many({"_id": {"$in": ids}})
            outcomes.append(_outcome(category, len(ids), Disposition.DELETED))
        return outcomes

    async def _pseudonymise_orders(self, ids: list[str]) -> list[CategoryOutcome]:
        if not ids:
            return [_outcome(Category.ORDERS, 0, Disposition.PSEUDONYMISED)]
        now = utcnow()
        await self.db[store.ORDERS].update_many(
            {"_id": {"$in": ids}},
            {"$set": {"end_user": {"erasure": {"at": now}}}},
        )
        return [
            _outcome(Category.END_USER_DATA, len(ids), Disposition.DELETED),
            CategoryOutcome(
                category=Category.ORDERS,
                records=len(ids),
                disposition=Disposition.PSEUDONYMISED,
                legal_basis=LegalBasis.LEGAL_OBLIGATION,
                retained_until=(now + timedelta(days=TRANSACTION_RETENTION_DAYS)).date(),
                note="Orders are transaction records, kept without the end user's identity.",
            ),
        ]

    async def restrict(
        self, subject: SubjectRef, *, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Flag the subject's orders; when restricting, give up deliveries still due."""
        held = await self.holdings(subject)
        ids = _ids(held.orders)
        restriction = {"restricted": restricted, "objection": objection, "at": utcnow()}
        if ids:
            await self.db[store.ORDERS].update_many(
                {"_id": {"$in": ids}}, {"$set": {"end_user_restriction": restriction}}
            )
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        outcomes = [_outcome(Category.END_USER_DATA, len(ids), disposition)]
        if restricted:
            stopped = await self._give_up(_ids(held.deliveries))
            outcomes.append(_outcome(Category.WEBHOOK_DELIVERIES, stopped, Disposition.RESTRICTED))
        return outcomes

    async def _give_up(self, delivery_ids: list[str]) -> int:
        """Mark the due deliveries exhausted so none is sent; the lease is dropped so a
        worker already sending one cannot put it back. How many."""
        if not delivery_ids:
            return 0
        result = await self.db[DELIVERIES].update_many(
            {"_id": {"$in": delivery_ids}, "status": {"$in": DUE}},
            {
                "$set": {"status": "exhausted", "last": {"error": RESTRICTED_ERROR}},
                "$unset": {"lease": ""},
            },
        )
        return result.modified_count

    async def rectify(self, subject: SubjectRef, changes: dict[str, str]) -> list[CategoryOutcome]:
        """Correct the end user's email or reference on the subject's orders."""
        fields = {"email": "end_user.email", "end_user_ref": "end_user.reference"}
        updates = {fields[key]: value for key, value in changes.items() if key in fields}
        ids = _ids(await self._orders(subject)) if updates else []
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
        return [_outcome(Category.END_USER_DATA, len(ids), Disposition.RECTIFIED)]


def _own_iccid(subject: SubjectRef) -> set[str]:
    return {subject.iccid} if subject.iccid else set()
