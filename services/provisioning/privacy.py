"""The provisioning service's answers to privacy commands.

What a subject's records are, and how they are found, is `provisioning.subject_records`.

Erasure: the end user's email and reference are crypto-shredded (the order's key destroyed)
and removed with their blind indexes; orders, top-ups and eSIM profiles are kept as
pseudonymised transaction records for 7 years from their creation (then the retention sweep
deletes them); a partner subject's key is shredded too, which voids its eSIMs' matching ids
and its webhook secrets. Callbacks, deliveries, attempts and (for a partner) endpoints are
deleted, since no obligation keeps them. Restriction (and objection) gives up the deliveries
still due that carry the subject's data; that nothing new is sent about the end user, for
orders and top-ups placed later too, is the register's work (`servicekit.restrictions`, fed
by the request's broadcast and read by `webhooks.enqueue`), so no order carries a flag of
its own. Rectification re-seals the corrected fields with the order's
key, with new blind indexes.

Erasing again (`erase_indexed`, a reapply run after a restore) takes the same path from the
ledger entry: email and reference by blind index, partner id and ICCID by value; nothing
provisioning holds is out of its reach. A provider callback about an erased ICCID that
occurred before the erasure is recorded without the ICCID (`provisioning.callbacks`).

Scope: a partner's request (`scope` = its id) reaches only what that partner controls: its
own orders, top-ups and eSIMs (the end users it sold to), the provider's callbacks about
those eSIMs, and its own webhook endpoints, deliveries and attempts. The same email,
end-user reference or ICCID under another partner is untouched, and a `partner_id` naming
another partner reaches nothing (in particular no partner key is shredded). Without a scope
(ops, or a person about themselves) every partner's records are reached.

The end user's fields are sealed, so every answer needs the vault (MASTER_KEYS and
BLIND_INDEX_KEY). Without them the service still starts, but each privacy task fails with
`unavailable` (and the privacy service reports it failed) rather than answer "none held" or
"erased" for data it cannot find or shred.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from contracts.erasure_ledger import ErasedIdentifier
from contracts.orders import EndUser
from contracts.privacy import CategoryOutcome, Disposition, LegalBasis, SubjectRef
from provisioning import store
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import TRANSACTION_RETENTION_DAYS, Category
from provisioning.purchase_store import END_USER_INDEX, open_end_user
from provisioning.settings import ProvisioningSettings
from provisioning.store import Db
from provisioning.subject_records import Holdings, SubjectRecords, ids_of, partner_in_scope
from provisioning.webhook_store import ATTEMPTS, DELIVERIES, ENDPOINTS
from servicekit.clock import utcnow
from servicekit.erasures import IndexedSubject
from servicekit.errors import ServiceError
from servicekit.grouped import deletes_from
from servicekit.ids import new_id
from servicekit.vault import Vault

Doc = dict[str, Any]
DUE = ["pending", "failed"]
RESTRICTED_ERROR = "subject_restricted"
"""The `last.error` of a delivery given up because its subject restricted processing."""
ERASURE = "end_user_erasure"
"""Where an order records that its end user's fields were erased: `{"at": …}`."""
ERASED_BODY_HASH = "erased"
"""Replaces an erased order's `body_hash`: that hash is of the request's terms, the end
user's email and reference included, so a guess of them could be confirmed against it. A
retry of the order's idempotency key is then refused as a different request."""
RECTIFIABLE = {"email": "email", "end_user_ref": "reference"}
"""Rectifiable subject fields and the end-user field each one corrects."""
KEPT_NOTE = "Transaction records, kept without the end user's identity."


def _outcome(category: str, records: int, disposition: Disposition) -> CategoryOutcome:
    done = disposition if records else Disposition.NONE_HELD
    return CategoryOutcome(category=category, records=records, disposition=done)


def _retained(category: Category, records: list[Doc], note: str) -> CategoryOutcome:
    """Transaction records kept under the legal obligation until 7 years after the newest."""
    if not records:
        return _outcome(category, 0, Disposition.PSEUDONYMISED)
    newest: datetime = max(record["created_at"] for record in records)
    return CategoryOutcome(
        category=category,
        records=len(records),
        disposition=Disposition.PSEUDONYMISED,
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retained_until=(newest + timedelta(days=TRANSACTION_RETENTION_DAYS)).date(),
        note=note,
    )


def _plain(document: Doc, *fields: str) -> Doc:
    """The named fields of a document, datetimes as ISO 8601 (what an export shows)."""
    values = {name: document[name] for name in fields if name in document}
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def _esim_export(esim: Doc) -> Doc:
    """An eSIM as its export shows it: never the matching id or the activation code."""
    usage = ("data_total_bytes", "data_used_bytes", "data_remaining_bytes")
    dates = {
        "installed_at": esim.get("installation", {}).get("at"),
        "validity_ends_at": esim.get("validity", {}).get("ends_at"),
        "expired_at": esim.get("expiry", {}).get("at"),
    }
    known = {name: at for name, at in dates.items() if at is not None}
    return (
        {"iccid": esim["_id"]}
        | _plain(esim, "order_id", "package_id", "status", *usage, "validity_days", "created_at")
        | _plain(known, *known)
    )


class ProvisioningPrivacy:
    """Orders, top-ups, eSIMs, provider callbacks and webhooks: located, exported, erased,
    restricted, rectified."""

    def __init__(self, db: Db, vault: Vault | None) -> None:
        self.db = db
        self.vault = vault

    @classmethod
    def from_settings(cls, db: Db, settings: ProvisioningSettings) -> ProvisioningPrivacy:
        """The privacy answers of a service: with a vault when the keys are configured."""
        encryption = settings.encryption()
        return cls(db, Vault.from_settings(db, encryption) if encryption else None)

    def _records(self) -> SubjectRecords:
        if self.vault is None:
            raise ServiceError(
                "unavailable",
                "MASTER_KEYS and BLIND_INDEX_KEY are not configured: the end"
                " users' sealed fields can be neither found nor opened nor shredded",
            )
        return SubjectRecords(self.db, self.vault)

    async def holdings(self, subject: SubjectRef, scope: str | None) -> Holdings:
        """What provisioning holds about the subject (with a scope: under that partner)."""
        return await self._records().holdings(subject, scope)

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """How many records of each category mention the subject."""
        held = await self.holdings(subject, scope)
        return [
            _outcome(category, len(records), Disposition.FOUND)
            for category, records in held.by_category().items()
        ]

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        """The subject's records, readable; never a matching id, LPA string or secret."""
        records = self._records()
        held = await records.holdings(subject, scope)
        return {
            "orders": [await self._order_export(records.vault, o) for o in held.orders],
            "topups": [
                {"topup_id": t["_id"], "iccid": t["iccids"][0]}
                | _plain(t, "package_id", "total", "state", "created_at")
                for t in held.topups
            ],
            "esims": [_esim_export(esim) for esim in held.esims],
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

    @staticmethod
    async def _order_export(vault: Vault, order: Doc) -> Doc:
        end_user = await open_end_user(vault, order)
        fields = ("package_id", "quantity", "total", "iccids", "state", "created_at")
        return {"order_id": order["_id"], **_plain(order, *fields)} | {
            "end_user": end_user.model_dump(exclude_none=True) if end_user else {}
        }

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Shred and remove the end users' fields, keep the transaction records pseudonymised
        (7 years), shred a partner's key; delete the logs, callbacks and endpoints."""
        records = self._records()
        return await self._erase(
            records, IndexedSubject.of_subject(subject, records.vault.blind_index), scope
        )

    async def erase_indexed(
        self, identifiers: list[ErasedIdentifier], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Erase again what an erasure-ledger entry names (after a restore or a replay)."""
        return await self._erase(self._records(), IndexedSubject.of_erased(identifiers), scope)

    async def _erase(
        self, records: SubjectRecords, indexed: IndexedSubject, scope: str | None
    ) -> list[CategoryOutcome]:
        held = await records.holdings_indexed(indexed, scope)
        outcomes = [await self._erase_end_users(records.vault, held.orders_with_end_user())]
        partner_id = partner_in_scope(indexed, scope)
        if partner_id:
            await records.vault.shred(partner_id)
        esim_note = "eSIM records kept; the partner's key is shredded, so its matching ids are."
        outcomes += [
            _retained(Category.ORDERS, held.orders, KEPT_NOTE),
            _retained(Category.TOPUPS, held.topups, KEPT_NOTE),
            _retained(Category.ESIM_PROFILES, held.esims, esim_note if partner_id else KEPT_NOTE),
        ]
        for collection, category, found in (
            (ATTEMPTS, Category.WEBHOOK_ATTEMPTS, held.attempts),
            (DELIVERIES, Category.WEBHOOK_DELIVERIES, held.deliveries),
            (CALLBACKS, Category.PROVIDER_CALLBACKS, held.callbacks),
            (ENDPOINTS, Category.WEBHOOK_ENDPOINTS, held.endpoints),
        ):
            ids = ids_of(found)
            await deletes_from(self.db[collection]).delete_in(ids)
            outcomes.append(_outcome(category, len(ids), Disposition.DELETED))
        return outcomes

    async def _erase_end_users(self, vault: Vault, orders: list[Doc]) -> CategoryOutcome:
        """Shred each order's key, then drop the sealed fields and their blind indexes (a
        retry after a crash in between still finds the order by its blind index)."""
        ids = ids_of(orders)
        await vault.shred(*ids)
        if ids:
            await self.db[store.ORDERS].update_many(
                {"_id": {"$in": ids}},
                {
                    "$unset": {"end_user": ""},
                    "$set": {ERASURE: {"at": utcnow()}, "body_hash": ERASED_BODY_HASH},
                },
            )
        return _outcome(Category.END_USER_DATA, len(ids), Disposition.DELETED)

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Report the subject's orders and top-ups as restricted (or no longer), which the
        register, fed by the request's broadcast, makes so for webhooks; when restricting or
        objecting, give up the deliveries due that carry the subject's data."""
        held = await self.holdings(subject, scope)
        ids = ids_of(held.orders + held.topups)
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        outcomes = [_outcome(Category.END_USER_DATA, len(ids), disposition)]
        if restricted:
            stopped = await self._give_up(ids_of(held.deliveries))
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

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Re-seal the corrected email or reference on the subject's orders (erased ones
        stay erased), with new blind indexes; each change is recorded (field names only)."""
        corrected = _corrections(changes)
        records = self._records()
        held = await records.holdings(subject, scope) if corrected else Holdings()
        orders = held.orders_with_end_user()
        indexed = {name: END_USER_INDEX[name] for name in corrected}
        now = utcnow()
        for order in orders:
            order_id = order["_id"]
            sealed = await records.vault.seal(order_id, order_id, corrected, indexed=indexed)
            await self.db[store.ORDERS].update_one(
                {"_id": order_id},
                {"$set": {f"end_user.{name}": value for name, value in sealed.items()}},
            )
        if orders:
            await self.db[store.RECTIFICATIONS].insert_many(
                [
                    {"_id": new_id("rec"), "order_id": o["_id"], "fields": sorted(corrected)}
                    | {"at": now}
                    for o in orders
                ]
            )
        return [_outcome(Category.END_USER_DATA, len(orders), Disposition.RECTIFIED)]


def _corrections(changes: dict[str, str]) -> dict[str, str]:
    """The end-user fields a rectification corrects, checked like an order's; a malformed
    value is refused with `invalid_request` before anything changes."""
    corrected = {RECTIFIABLE[key]: value for key, value in changes.items() if key in RECTIFIABLE}
    try:
        EndUser.model_validate(corrected)
    except ValidationError as invalid:
        fields = sorted({str(error["loc"][0]) for error in invalid.errors()})
        raise ServiceError("invalid_request", f"invalid end-user field(s): {fields}") from None
    return corrected
