"""Orders and top-ups: creating them (idempotently), and reading them.

Creating one checks everything that can be checked at once (the package exists and is for
sale, the total is within the partner's maximum, the eSIM of a top-up is the partner's),
then stores it with its debit command in the same document, so the flow (`purchase_flow`)
starts exactly once. The answer comes at once, status `pending`.

The idempotency key is the partner's: the same key with the same terms answers the original
purchase once it has finished, and `idempotency_in_progress` while it runs; the same key with
other terms is refused (`idempotency_conflict`).
"""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from contracts.accounts import Actor, Scope, scopes_of
from contracts.catalogue import Package
from contracts.ledger import DebitBalance
from contracts.money import Money
from contracts.orders import (
    CreateOrder,
    CreateTopup,
    EndUser,
    GetOrder,
    GetTopup,
    ListOrders,
    ListTopups,
    OrderPage,
    OrderView,
    TopupPage,
    TopupView,
)
from provisioning import catalogue_store, esim_store
from provisioning.modes import mode_of, visible_to
from provisioning.purchase_store import (
    END_USER_INDEX,
    STATES_OF,
    Document,
    Kind,
    State,
    body_hash,
    find_own,
    idempotency_key,
    order_view,
    order_views,
    purchase_document,
    seal_end_user,
    topup_view,
)
from provisioning.store import ORDERS, Db
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.outbox import with_outbox
from servicekit.vault import Vault

PROVISIONING = Actor(kind="platform", id="provisioning")
"""Who provisioning is when it asks accounts to debit or refund."""
FINISHED = (State.COMPLETED, State.FAILED)


def require_orders(actor: Actor, partner_id: str, *scopes: Scope) -> None:
    """A partner's key or user acts for its own partner only; a key needs one of the scopes."""
    if actor.kind == "platform":
        return
    if actor.partner_id != partner_id:
        raise ServiceError("forbidden", "you may act only for your own partner")
    if actor.kind == "api_key" and not set(scopes) & set(actor.scopes):
        needed = " or ".join(scope.value for scope in scopes)
        raise ServiceError("forbidden", f"this needs the {needed} scope")


def require_buyer(actor: Actor, partner_id: str) -> None:
    """Buying (orders, top-ups): as `require_orders` with `orders:write`, and a dashboard user's
    role must grant `orders:write` too (reading stays open to every user of the partner)."""
    require_orders(actor, partner_id, Scope.ORDERS_WRITE)
    if actor.kind == "user" and Scope.ORDERS_WRITE not in scopes_of(actor):
        raise ServiceError("forbidden", "your role may not buy")


READ_ONE = (Scope.ORDERS_READ, Scope.ORDERS_WRITE)
"""Reading one order or top-up: a key that may buy may read what it bought."""


class Purchases:
    """The order and top-up handlers that answer requests."""

    def __init__(self, db: Db, bus: Bus, vault: Vault) -> None:
        self.db = db
        self.bus = bus
        self.vault = vault

    async def create_order(self, query: CreateOrder, _context: MessageContext) -> OrderView:
        """Store a new order and its debit; or answer the original one of this key."""
        require_buyer(query.actor, query.partner_id)
        terms = query.model_dump(
            mode="json", include={"package_id", "quantity", "max_total_price"}
        ) | {
            "kind": Kind.ORDER.value,
            "end_user": self._end_user_terms(query.end_user),
            "mode": mode_of(query.actor),
        }
        replayed = await self._replay(query.partner_id, query.idempotency_key, terms)
        if replayed is None:
            package = await self._for_sale(query.package_id)
            total = _total(package.price, query.quantity, query.max_total_price)
            order_id = new_id("ord")
            document = purchase_document(
                purchase_id=order_id,
                kind=Kind.ORDER,
                partner_id=query.partner_id,
                key=query.idempotency_key,
                terms=terms,
                unit_price=package.price,
                quantity=query.quantity,
                iccids=[],
                end_user=await seal_end_user(self.vault, order_id, query.end_user),
                now=utcnow(),
                mode=mode_of(query.actor),
            )
            replayed = await self._store(document, total, query.idempotency_key, terms)
        return await order_view(self.vault, replayed)

    async def create_topup(self, query: CreateTopup, _context: MessageContext) -> TopupView:
        """Store a new top-up of the partner's eSIM and its debit; or answer the original."""
        require_buyer(query.actor, query.partner_id)
        terms = query.model_dump(
            mode="json", include={"iccid", "package_id", "max_total_price"}
        ) | {"kind": Kind.TOPUP.value, "mode": mode_of(query.actor)}
        replayed = await self._replay(query.partner_id, query.idempotency_key, terms)
        if replayed is None:
            visible = visible_to(query.actor)
            esim = await esim_store.find_own(self.db, query.partner_id, query.iccid, visible)
            if esim is None:
                raise ServiceError("not_found", "no eSIM of yours has this ICCID")
            if esim["status"] == "expired":
                raise ServiceError("esim_expired", "this eSIM has expired: buy a new one")
            package = await self._for_sale(query.package_id)
            total = _total(package.price, 1, query.max_total_price)
            document = purchase_document(
                purchase_id=new_id("top"),
                kind=Kind.TOPUP,
                partner_id=query.partner_id,
                key=query.idempotency_key,
                terms=terms,
                unit_price=package.price,
                quantity=1,
                iccids=[query.iccid],
                end_user={},
                now=utcnow(),
                mode=mode_of(query.actor),
            )
            replayed = await self._store(document, total, query.idempotency_key, terms)
        return topup_view(replayed)

    async def get_order(self, query: GetOrder, _context: MessageContext) -> OrderView:
        """One of the partner's orders."""
        require_orders(query.actor, query.partner_id, *READ_ONE)
        visible = visible_to(query.actor)
        document = await find_own(self.db, query.partner_id, query.order_id, Kind.ORDER, visible)
        if document is None:
            raise ServiceError("not_found", "no order of yours has this id")
        return await order_view(self.vault, document)

    async def list_orders(self, query: ListOrders, _context: MessageContext) -> OrderPage:
        """The partner's orders, newest first, filtered by status and creation time."""
        require_orders(query.actor, query.partner_id, Scope.ORDERS_READ)
        criteria: Document = {
            "partner_id": query.partner_id,
            "kind": Kind.ORDER.value,
            **visible_to(query.actor),
        }
        if query.status is not None:
            criteria["state"] = {"$in": STATES_OF[query.status]}
        created = {
            operator: value
            for operator, value in (("$gte", query.created_from), ("$lt", query.created_to))
            if value is not None
        }
        if created:
            criteria["created_at"] = created
        if query.cursor is not None:
            criteria["_id"] = {"$lt": query.cursor}
        found = self.db[ORDERS].find(criteria).sort("_id", -1).limit(query.limit + 1)
        documents = await found.to_list()
        page = documents[: query.limit]
        more = len(documents) > query.limit
        return OrderPage(
            data=await order_views(self.vault, page),
            next_cursor=page[-1]["_id"] if more else None,
        )

    async def get_topup(self, query: GetTopup, _context: MessageContext) -> TopupView:
        """One of the partner's top-ups."""
        require_orders(query.actor, query.partner_id, *READ_ONE)
        visible = visible_to(query.actor)
        document = await find_own(self.db, query.partner_id, query.topup_id, Kind.TOPUP, visible)
        if document is None:
            raise ServiceError("not_found", "no top-up of yours has this id")
        return topup_view(document)

    async def list_topups(self, query: ListTopups, _context: MessageContext) -> TopupPage:
        """The top-ups of one of the partner's eSIMs, newest first."""
        require_orders(query.actor, query.partner_id, Scope.ORDERS_READ)
        visible = visible_to(query.actor)
        if await esim_store.find_own(self.db, query.partner_id, query.iccid, visible) is None:
            raise ServiceError("not_found", "no eSIM of yours has this ICCID")
        criteria = {
            "partner_id": query.partner_id,
            "kind": Kind.TOPUP.value,
            "iccids": {"$in": [query.iccid]},
            **visible,
        }
        documents = await self.db[ORDERS].find(criteria).sort("_id", -1).to_list()
        return TopupPage(data=[topup_view(d) for d in documents])

    def _end_user_terms(self, end_user: EndUser | None) -> dict[str, str]:
        """The end user's fields as they enter the terms' hash: their keyed blind indexes, so
        the stored hash cannot confirm a guessed email."""
        fields = end_user.model_dump(exclude_none=True) if end_user is not None else {}
        return {
            name: self.vault.index(END_USER_INDEX[name], value) for name, value in fields.items()
        }

    async def _for_sale(self, package_id: str) -> Package:
        package = await catalogue_store.find_package(self.db, package_id)
        if package is None:
            raise ServiceError("unknown_package", f"there is no package {package_id}")
        if not package.active:
            raise ServiceError("package_unavailable", f"{package_id} is no longer for sale")
        return package

    async def _replay(self, partner_id: str, key: str, terms: Document) -> Document | None:
        """The purchase stored under this key, if any: refused if its terms differ or it is
        still running."""
        document = await self.db[ORDERS].find_one(
            {"idempotency_key": idempotency_key(partner_id, key)}
        )
        if document is None:
            return None
        if document["body_hash"] != body_hash(terms):
            raise ServiceError(
                "idempotency_conflict",
                "this Idempotency-Key was used with another request: use a new key",
            )
        if State(document["state"]) not in FINISHED:
            raise ServiceError(
                "idempotency_in_progress",
                f"the request with this Idempotency-Key is still running ({document['_id']});"
                " retry later or follow it by its id",
            )
        return document

    async def _store(self, document: Document, total: Money, key: str, terms: Document) -> Document:
        """Insert the purchase with its debit; a concurrent twin of the key answers instead."""
        debit = DebitBalance(
            actor=PROVISIONING,
            partner_id=document["partner_id"],
            order_id=document["_id"],
            amount=total,
        )
        try:
            await self.db[ORDERS].insert_one(
                with_outbox(document, self.bus.outgoing(debit, to="accounts"))
            )
        except DuplicateKeyError:
            replayed = await self._replay(document["partner_id"], key, terms)
            if replayed is None:
                raise
            return replayed
        return document


def _total(price: Money, quantity: int, maximum: Money | None) -> Money:
    """The price of `quantity` packages, refused above the caller's maximum."""
    total = Money(amount=price.amount * quantity, currency=price.currency)
    if maximum is None:
        return total
    if maximum.currency != total.currency:
        raise ServiceError(
            "invalid_request", f"max_total_price must be in {total.currency}, the price's currency"
        )
    if total.amount > maximum.amount:
        raise ServiceError(
            "price_above_maximum",
            f"the total is {total.amount} {total.currency} minor units, above your maximum",
        )
    return total
