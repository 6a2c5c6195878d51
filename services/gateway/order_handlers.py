"""The order and top-up routes: buy eSIMs and top-ups, read them.

Buying answers with the finished purchase when it finishes within the gateway's wait
(`order_sync_wait_seconds`): 201 with status `completed` or `failed`; otherwise 202 with
status `pending`, and the outcome follows as a webhook and on `GET`. The gateway hears the
outcome events of every purchase (a broadcast to each replica) to stop waiting at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import Field

from contracts.accounts import Scope
from contracts.catalogue import PackageId
from contracts.money import PositiveMoney
from contracts.orders import (
    MAX_QUANTITY,
    CreateOrder,
    CreateTopup,
    EndUser,
    GetOrder,
    GetTopup,
    ListOrders,
    ListTopups,
    OrderPage,
    OrderRef,
    OrderView,
    PurchaseStatus,
    TopupPage,
    TopupView,
)
from gateway.account_schemas import Instant
from gateway.api import Answer, Call, Endpoint
from gateway.handlers import actor_of
from gateway.outcomes import OutcomeWaiter
from gateway.problems import ApiError
from gateway.schemas import ApiModel
from servicekit.bus import Bus

TO = "provisioning"
V = TypeVar("V", OrderView, TopupView)


class CreateOrderBody(ApiModel):
    """What to buy, and for whom (only what delivery needs)."""

    package_id: PackageId
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    end_user: EndUser | None = Field(
        default=None, description="Optional: your end user's email and your reference of them."
    )
    max_total_price: PositiveMoney | None = Field(
        default=None, description="Refuse the order if its total would be more than this."
    )


class CreateTopupBody(ApiModel):
    """The package to add to the eSIM."""

    package_id: PackageId
    max_total_price: PositiveMoney | None = None


class OrdersQuery(ApiModel):
    """Filters of the order list (combined) and cursor pagination."""

    status: PurchaseStatus | None = None
    # RFC 3339 text only, as the document says: a bare number would be taken for a Unix time.
    created_from: Instant | None = Field(default=None, description="Inclusive.")
    created_to: Instant | None = Field(default=None, description="Exclusive.")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: OrderRef | None = Field(default=None, description="`next_cursor` of the last page.")


class OrderHandlers:
    """Endpoint functions of `/v1/orders` and the top-ups of `/v1/esims/{iccid}`."""

    def __init__(self, bus: Bus, timeout: float, waiter: OutcomeWaiter, wait: float) -> None:
        self.bus = bus
        self.timeout = timeout
        self.waiter = waiter
        self.wait = wait

    async def create_order(self, call: Call) -> Answer:
        """Buy; the finished order (201), or the pending one after the wait (202)."""
        body: CreateOrderBody = call.body
        assert call.idempotency_key is not None  # an idempotent endpoint always has one
        query = CreateOrder(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            idempotency_key=call.idempotency_key,
            package_id=body.package_id,
            quantity=body.quantity,
            end_user=body.end_user,
            max_total_price=body.max_total_price,
        )
        order = await self.bus.request(query, to=TO, reply=OrderView, timeout=self.timeout)
        if order.status is PurchaseStatus.PENDING:
            order = await self._outcome(order.id, lambda: self._order(call, order.id))
        return _answer(order)

    async def create_topup(self, call: Call) -> Answer:
        """Top up; the finished top-up (201), or the pending one after the wait (202)."""
        body: CreateTopupBody = call.body
        assert call.idempotency_key is not None
        query = CreateTopup(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            idempotency_key=call.idempotency_key,
            iccid=_iccid(call),
            package_id=body.package_id,
            max_total_price=body.max_total_price,
        )
        topup = await self.bus.request(query, to=TO, reply=TopupView, timeout=self.timeout)
        if topup.status is PurchaseStatus.PENDING:
            topup = await self._outcome(topup.id, lambda: self._topup(call, topup.id))
        return _answer(topup)

    async def get_order(self, call: Call) -> OrderView:
        """One of your orders."""
        return await self._order(call, call.path["id"])

    async def list_orders(self, call: Call) -> OrderPage:
        """Your orders, newest first."""
        asked: OrdersQuery = call.query
        query = ListOrders(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            status=asked.status,
            created_from=asked.created_from,
            created_to=asked.created_to,
            limit=asked.limit,
            cursor=asked.cursor,
        )
        return await self.bus.request(query, to=TO, reply=OrderPage, timeout=self.timeout)

    async def get_topup(self, call: Call) -> TopupView:
        """One of your top-ups."""
        return await self._topup(call, call.path["id"])

    async def list_topups(self, call: Call) -> TopupPage:
        """The top-ups of one of your eSIMs, newest first."""
        query = ListTopups(
            actor=actor_of(call), partner_id=call.principal.partner_id, iccid=_iccid(call)
        )
        return await self.bus.request(query, to=TO, reply=TopupPage, timeout=self.timeout)

    async def _order(self, call: Call, order_id: str) -> OrderView:
        query = GetOrder(
            actor=actor_of(call), partner_id=call.principal.partner_id, order_id=order_id
        )
        return await self.bus.request(query, to=TO, reply=OrderView, timeout=self.timeout)

    async def _topup(self, call: Call, topup_id: str) -> TopupView:
        query = GetTopup(
            actor=actor_of(call), partner_id=call.principal.partner_id, topup_id=topup_id
        )
        return await self.bus.request(query, to=TO, reply=TopupView, timeout=self.timeout)

    async def _outcome(self, purchase_id: str, read: Callable[[], Awaitable[V]]) -> V:
        """The purchase once finished, or as it stands when the wait is over."""
        async with self.waiter.watching(purchase_id) as finished:
            # An outcome heard before this wait began is remembered by the waiter, so there
            # is no need to read first; one missed (a broadcast gap) costs the wait, not a
            # wrong answer: the read after it tells the purchase as it stands.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.wait):
                    await finished.wait()
            return await read()


def _answer(purchase: OrderView | TopupView) -> Answer:
    status = 202 if purchase.status is PurchaseStatus.PENDING else 201
    return Answer(purchase, status)


def _iccid(call: Call) -> str:
    iccid = call.path["iccid"]
    if not (iccid.isdigit() and 19 <= len(iccid) <= 20):
        raise ApiError(404, "not_found", "Not found", "no eSIM of yours has this ICCID")
    return iccid


PURCHASE_RULES = (
    " Needs an `Idempotency-Key` header: the same key with the same body answers the original"
    " result; with another body 409 `idempotency_conflict`; while the first request still runs"
    " 409 `idempotency_in_progress`. The price is taken from your balance, then the provider"
    " is asked; if that fails, the money is returned and the status is `failed` with a"
    " machine-readable `failure.reason`. 201 when finished within a few seconds (`completed` or"
    " `failed`), else 202 `pending`: follow it by its id or by webhook."
)


def order_endpoints(handlers: OrderHandlers) -> list[Endpoint]:
    """Orders (`orders:write` to buy, `orders:read` to read) and top-ups of an eSIM."""
    return [
        Endpoint(
            "POST",
            "/v1/orders",
            "createOrder",
            "Buy eSIMs of a package",
            handlers.create_order,
            OrderView,
            scope=Scope.ORDERS_WRITE,
            body=CreateOrderBody,
            status=201,
            also=(202,),
            idempotent=True,
            tags=["orders"],
            description="From 1 to 50 eSIMs of one package, all or nothing." + PURCHASE_RULES,
        ),
        Endpoint(
            "GET",
            "/v1/orders",
            "listOrders",
            "List your orders, newest first",
            handlers.list_orders,
            OrderPage,
            scope=Scope.ORDERS_READ,
            query=OrdersQuery,
            tags=["orders"],
            description="Filtered by `status` and creation time `[created_from, created_to)`;"
            " pages follow `next_cursor`.",
        ),
        Endpoint(
            "GET",
            "/v1/orders/{id}",
            "getOrder",
            "Get one of your orders, with every step it went through",
            handlers.get_order,
            OrderView,
            scope=Scope.ORDERS_READ,
            tags=["orders"],
        ),
        Endpoint(
            "POST",
            "/v1/esims/{iccid}/topups",
            "createTopup",
            "Add a package to one of your eSIMs",
            handlers.create_topup,
            TopupView,
            scope=Scope.ORDERS_WRITE,
            body=CreateTopupBody,
            status=201,
            also=(202,),
            idempotent=True,
            conflicts=True,
            tags=["orders"],
            description="Its data and validity are added to the eSIM's." + PURCHASE_RULES,
        ),
        Endpoint(
            "GET",
            "/v1/esims/{iccid}/topups",
            "listTopups",
            "List the top-ups of one of your eSIMs, newest first",
            handlers.list_topups,
            TopupPage,
            scope=Scope.ORDERS_READ,
            tags=["orders"],
        ),
        Endpoint(
            "GET",
            "/v1/topups/{id}",
            "getTopup",
            "Get one of your top-ups",
            handlers.get_topup,
            TopupView,
            scope=Scope.ORDERS_READ,
            tags=["orders"],
        ),
    ]
