"""Orders and top-ups ("purchases") as stored: one document each in `orders`, their views.

```
{_id: "ord_…" | "top_…", kind: "order" | "topup", partner_id, idempotency_key (sha-256 of
 partner and key, unique), body_hash, package_id, quantity, unit_price, total,
 iccids: [...] (an order's allocated eSIMs; a top-up's one target eSIM),
 end_user: {email: "enc1…", email_bidx, reference: "enc1…", reference_bidx} (orders, if given;
 sealed with the order's own key), state, failure: {reason, message, funds_returned},
 transitions: [{step, at}], created_at, _outbox, _outbox_pending}
```
When it last changed is its last transition's time (an update never `$set`s a bare date:
decision 0002).
`state` is the step the flow waits on: `awaiting_funds` → `allocating` → `completed`, or
`refunding` → `failed`; a refused debit goes straight to `failed`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from contracts.money import Money
from contracts.orders import (
    EndUser,
    Failure,
    OrderView,
    PurchaseStatus,
    PurchaseStep,
    TopupView,
    Transition,
)
from contracts.webhooks import OrderCompletedPayload, OrderFailedPayload, WebhookEventType
from provisioning.modes import LIVE, Mode
from provisioning.store import ORDERS, Db
from servicekit.vault import Vault

Document = dict[str, Any]


class Kind(StrEnum):
    """What a purchase buys."""

    ORDER = "order"
    TOPUP = "topup"


class State(StrEnum):
    """The step a purchase's flow is waiting on."""

    AWAITING_FUNDS = "awaiting_funds"
    ALLOCATING = "allocating"
    REFUNDING = "refunding"
    COMPLETED = "completed"
    FAILED = "failed"


STATUS_OF = {
    State.AWAITING_FUNDS: PurchaseStatus.PENDING,
    State.ALLOCATING: PurchaseStatus.PENDING,
    State.REFUNDING: PurchaseStatus.PENDING,
    State.COMPLETED: PurchaseStatus.COMPLETED,
    State.FAILED: PurchaseStatus.FAILED,
}
STATES_OF = {
    status: [state.value for state, of in STATUS_OF.items() if of is status]
    for status in PurchaseStatus
}
END_USER_INDEX = {"email": "email", "reference": "end_user_ref"}
"""The blind-index kind of each end-user field (the subject identifiers privacy looks up)."""


def idempotency_key(partner_id: str, key: str) -> str:
    """The stored form of a partner's idempotency key: keys of two partners never meet."""
    return hashlib.sha256(f"{partner_id}\x00{key}".encode()).hexdigest()


def body_hash(fields: dict[str, Any]) -> str:
    """A fingerprint of the request's terms, to tell a retry from a different request."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def last_change(document: Document) -> datetime:
    """When the purchase last changed: its last transition's time."""
    moments: list[datetime] = [t["at"] for t in document["transitions"]]
    return max(moments)


def transition(step: PurchaseStep, at: datetime) -> Document:
    """A recorded step."""
    return {"step": step.value, "at": at}


async def seal_end_user(vault: Vault, order_id: str, end_user: EndUser | None) -> Document:
    """The end user's fields sealed with the order's own key, with their blind indexes."""
    if end_user is None:
        return {}
    fields = {"email": end_user.email, "reference": end_user.reference}
    present = {name: kind for name, kind in END_USER_INDEX.items() if fields[name] is not None}
    return await vault.seal(order_id, order_id, fields, indexed=present)


END_USER_FIELDS = ("email", "reference")


async def open_end_user(vault: Vault, document: Document) -> EndUser | None:
    """The end user's fields, readable; None when none were given or they were erased."""
    sealed = document.get("end_user") or {}
    return _end_user_of(await vault.open(document["_id"], sealed, END_USER_FIELDS))


def _end_user_of(opened: dict[str, str | None]) -> EndUser | None:
    if opened["email"] is None and opened["reference"] is None:
        return None
    return EndUser(email=opened["email"], reference=opened["reference"])


def purchase_document(
    *,
    purchase_id: str,
    kind: Kind,
    partner_id: str,
    key: str,
    terms: dict[str, Any],
    unit_price: Money,
    quantity: int,
    iccids: list[str],
    end_user: Document,
    now: datetime,
    mode: Mode = LIVE,
) -> Document:
    """A new order or top-up, waiting for its funds (`key`: the client's idempotency key;
    `mode`: of the key that bought it)."""
    total = Money(amount=unit_price.amount * quantity, currency=unit_price.currency)
    document = {
        "_id": purchase_id,
        "kind": kind.value,
        "partner_id": partner_id,
        "idempotency_key": idempotency_key(partner_id, key),
        "body_hash": body_hash(terms),
        "package_id": terms["package_id"],
        "quantity": quantity,
        "unit_price": unit_price.model_dump(),
        "total": total.model_dump(),
        "iccids": iccids,
        "mode": mode,
        "state": State.AWAITING_FUNDS.value,
        "transitions": [transition(PurchaseStep.CREATED, now)],
        "created_at": now,
    }
    if end_user:
        document["end_user"] = end_user
    return document


def _common(document: Document) -> dict[str, Any]:
    failure = document.get("failure")
    return {
        "id": document["_id"],
        "status": STATUS_OF[State(document["state"])],
        "package_id": document["package_id"],
        "total": Money.model_validate(document["total"]),
        "failure": Failure.model_validate(failure) if failure else None,
        "transitions": [Transition.model_validate(t) for t in document["transitions"]],
        "created_at": document["created_at"],
        "updated_at": last_change(document),
    }


async def order_view(vault: Vault, document: Document) -> OrderView:
    """An order as its partner sees it (the end user's fields opened)."""
    return _order_view(document, await open_end_user(vault, document))


async def order_views(vault: Vault, documents: list[Document]) -> list[OrderView]:
    """`order_view` of each order, the end users' keys read in one store query (a page's)."""
    sealed = [(document["_id"], document.get("end_user") or {}) for document in documents]
    opened = await vault.open_many(sealed, END_USER_FIELDS)
    return [
        _order_view(document, _end_user_of(fields))
        for document, fields in zip(documents, opened, strict=True)
    ]


def _order_view(document: Document, end_user: EndUser | None) -> OrderView:
    return OrderView(
        **_common(document),
        quantity=document["quantity"],
        unit_price=Money.model_validate(document["unit_price"]),
        iccids=document["iccids"],
        end_user=end_user,
    )


def outcome_webhook(
    order: Document,
) -> tuple[WebhookEventType, OrderCompletedPayload | OrderFailedPayload] | None:
    """The webhook event type and payload of how an order ended; None while it runs."""
    if order["state"] == State.COMPLETED:
        completed = OrderCompletedPayload(
            order_id=order["_id"],
            package_id=order["package_id"],
            quantity=order["quantity"],
            iccids=order["iccids"],
            total=Money.model_validate(order["total"]),
            completed_at=last_change(order),
        )
        return WebhookEventType.ORDER_COMPLETED, completed
    if order["state"] == State.FAILED:
        failed = OrderFailedPayload(
            order_id=order["_id"],
            reason=order["failure"]["reason"],
            failed_at=last_change(order),
        )
        return WebhookEventType.ORDER_FAILED, failed
    return None


def topup_view(document: Document) -> TopupView:
    """A top-up as its partner sees it."""
    return TopupView(**_common(document), iccid=document["iccids"][0])


async def find_own(
    db: Db, partner_id: str, purchase_id: str, kind: Kind, visible: Document
) -> Document | None:
    """The partner's order or top-up with this id, or None (another partner's, or one of the
    other mode (`visible`: `modes.visible_to`), is unknown)."""
    criteria = {"_id": purchase_id, "partner_id": partner_id, "kind": kind}
    return await db[ORDERS].find_one(criteria | visible)


async def create_indexes(db: Db) -> None:
    """Idempotency keys are unique; listings go by partner and kind (no compound index may
    hold `_id`: decision 0002)."""
    await db[ORDERS].create_index("idempotency_key", unique=True)
    await db[ORDERS].create_index([("partner_id", 1), ("kind", 1)])
    await db[ORDERS].create_index("iccids")
    for field in END_USER_INDEX:
        await db[ORDERS].create_index(f"end_user.{field}_bidx")
