"""Finding everything provisioning holds about a data subject, each step by an index.

1. Orders and top-ups (`orders`): by partner id; by ICCID (membership in `iccids`); by the
   end user's email or reference through their blind indexes (`end_user.email_bidx`,
   `end_user.reference_bidx`): the plaintext is never stored, so never queried.
2. The ICCIDs of those purchases (and the subject's own ICCID) then find the top-ups of the
   same eSIMs, the eSIM profiles (`_id`, also by order id and partner), and the provider's
   callbacks about them.
3. Webhook deliveries by those ICCIDs and purchase ids (copied onto each delivery, indexed)
   and by partner; their attempts by delivery id and partner; endpoints by partner.

A request's subject and an erasure-ledger entry take the same path (`holdings_indexed`): the
email and end-user reference by blind index, the partner id and ICCID by value (the ledger
keeps both), so every kind provisioning holds is found again after a restore.

With a `scope` (a partner asked), every lookup also requires `partner_id` = the scope, and a
`partner_id` identifier naming another partner is not looked up at all. The provider's
callbacks carry no partner: they are reached only through the ICCIDs of the scope's own
purchases and eSIMs, never through the subject's ICCID alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contracts.privacy import SubjectRef
from provisioning import store
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import Category
from provisioning.purchase_store import END_USER_INDEX, Kind
from provisioning.store import Db
from provisioning.webhook_store import ATTEMPTS, DELIVERIES, ENDPOINTS
from servicekit.erasures import IndexedSubject
from servicekit.grouped import grouped_lookup
from servicekit.vault import Vault

Doc = dict[str, Any]
BLIND_KINDS = frozenset(END_USER_INDEX.values())
"""The subject identifiers stored sealed, looked up by their blind index (of that kind)."""


def ids_of(documents: Iterable[Doc]) -> list[Any]:
    """The `_id` of each document."""
    return [document["_id"] for document in documents]


def _any_of(path: str, values: Iterable[Any]) -> list[Doc]:
    """A criterion matching `path` against any of the values; none when there are none."""
    listed = sorted(set(values))
    return [{path: {"$in": listed}}] if listed else []


def partner_in_scope(found: IndexedSubject, scope: str | None) -> str | None:
    """The subject's partner id, if a request with this scope may reach that partner."""
    partner_id = found.values.get("partner_id")
    if partner_id is None or scope not in (None, partner_id):
        return None
    return partner_id


@dataclass
class Holdings:
    """Everything provisioning holds about one subject, per collection."""

    orders: list[Doc] = field(default_factory=list)
    topups: list[Doc] = field(default_factory=list)
    esims: list[Doc] = field(default_factory=list)
    callbacks: list[Doc] = field(default_factory=list)
    endpoints: list[Doc] = field(default_factory=list)
    deliveries: list[Doc] = field(default_factory=list)
    attempts: list[Doc] = field(default_factory=list)

    def by_category(self) -> dict[Category, list[Doc]]:
        """The records of each category (the end user's fields counted with the orders)."""
        return {
            Category.END_USER_DATA: self.orders_with_end_user(),
            Category.ORDERS: self.orders,
            Category.TOPUPS: self.topups,
            Category.ESIM_PROFILES: self.esims,
            Category.PROVIDER_CALLBACKS: self.callbacks,
            Category.WEBHOOK_ENDPOINTS: self.endpoints,
            Category.WEBHOOK_DELIVERIES: self.deliveries,
            Category.WEBHOOK_ATTEMPTS: self.attempts,
        }

    def orders_with_end_user(self) -> list[Doc]:
        """The orders that still hold end-user fields (not given, or erased, otherwise)."""
        return [order for order in self.orders if "end_user" in order]


@dataclass(frozen=True)
class SubjectRecords:
    """Looks a subject up in provisioning's collections (the vault computes blind indexes)."""

    db: Db
    vault: Vault

    async def _find(self, collection: str, criteria: Iterable[Doc], scope: str | None) -> list[Doc]:
        """The union of the documents matching any of the criteria (each one indexed); with
        a scope, only those whose `partner_id` is the scope.

        Each criterion is one field's values, read together with the same field's lookups of
        the other subjects handled at the same time (`servicekit.grouped.GroupedLookups`);
        the scope is then applied to what was found, as the store would have."""
        found: dict[Any, Doc] = {}
        lookups = [grouped_lookup(self.db[collection], criterion) for criterion in criteria]
        for documents in await asyncio.gather(*lookups):
            found.update(
                (document["_id"], document)
                for document in documents
                if scope is None or document.get("partner_id") == scope
            )
        return list(found.values())

    @staticmethod
    def _purchase_criteria(found: IndexedSubject, scope: str | None) -> list[Doc]:
        criteria = []
        for key, path in store.SUBJECT_FIELDS.items():
            if key in BLIND_KINDS:
                if key in found.indexes:
                    criteria.append({path: found.indexes[key]})
                continue
            value = found.values.get(key)
            if value is None or (key == "partner_id" and scope not in (None, value)):
                continue
            if key == "iccid":
                criteria += _any_of(path, [value])  # nx: indexed arrays need `$in`
            else:
                criteria.append({path: value})
        return criteria

    async def holdings(self, subject: SubjectRef, scope: str | None = None) -> Holdings:
        """What provisioning holds about the subject (with a scope: under that partner)."""
        indexed = IndexedSubject.of_subject(subject, self.vault.blind_index)
        return await self.holdings_indexed(indexed, scope)

    async def holdings_indexed(self, indexed: IndexedSubject, scope: str | None = None) -> Holdings:
        """The same from identifiers as blind indexes and, where known, values (an erasure-
        ledger entry has the values of partner ids and ICCIDs, which is all this needs)."""
        purchases = await self._find(store.ORDERS, self._purchase_criteria(indexed, scope), scope)
        own_iccid = indexed.values.get("iccid")
        own = {own_iccid} if own_iccid else set()
        iccids = own | {iccid for p in purchases for iccid in p.get("iccids", [])}
        found = {p["_id"] for p in purchases}
        purchases += [
            p
            for p in await self._find(store.ORDERS, _any_of("iccids", iccids), scope)
            if p["_id"] not in found
        ]
        held = Holdings(
            orders=[p for p in purchases if p.get("kind") != Kind.TOPUP],
            topups=[p for p in purchases if p.get("kind") == Kind.TOPUP],
        )
        partner_id = partner_in_scope(indexed, scope)
        partner = [{"partner_id": partner_id}] if partner_id else []
        order_ids = ids_of(held.orders)
        held.esims = await self._find(
            store.ESIMS, _any_of("_id", iccids) + _any_of("order_id", order_ids) + partner, scope
        )
        if scope is not None:  # the subject's ICCID counts only if the scope's eSIM has it
            iccids = {iccid for p in purchases for iccid in p.get("iccids", [])}
        iccids |= set(ids_of(held.esims))
        linked = _any_of("iccid", iccids) + _any_of("order_id", ids_of(purchases))
        # Independent lookups at once: an erasure waits for one round trip, not three.
        held.callbacks, held.endpoints, held.deliveries = await asyncio.gather(
            self._find(CALLBACKS, _any_of("iccid", iccids), None),
            self._find(ENDPOINTS, partner, scope),
            self._find(DELIVERIES, linked + partner, scope),
        )
        by_delivery = _any_of("delivery_id", ids_of(held.deliveries))
        held.attempts = await self._find(ATTEMPTS, by_delivery + partner, scope)
        return held
