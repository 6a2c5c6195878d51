"""Waiting for a purchase's outcome: its completed or failed event, heard by every replica."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from contracts.orders import OrderCompleted, OrderFailed, TopupCompleted, TopupFailed
from servicekit.messages import MessageContext
from servicekit.router import Router

RECENT_OUTCOMES = 4096
"""How many finished purchases a waiter remembers: an outcome heard before its request began
to wait (the purchase finished while the create reply was on its way) still wakes it."""


class OutcomeWaiter:
    """Wakes the requests waiting for a purchase when its outcome event is heard."""

    def __init__(self, remember: int = RECENT_OUTCOMES) -> None:
        self._waiting: dict[str, asyncio.Event] = {}
        self._finished: dict[str, None] = {}  # insertion-ordered: the oldest goes first
        self._remember = remember

    def listen(self, router: Router) -> None:
        """Hear the outcome events in this replica."""
        router.on_broadcast(OrderCompleted, self._order_finished)
        router.on_broadcast(OrderFailed, self._order_finished)
        router.on_broadcast(TopupCompleted, self._topup_finished)
        router.on_broadcast(TopupFailed, self._topup_finished)

    @contextlib.asynccontextmanager
    async def watching(self, purchase_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when the purchase's outcome is heard (already set if it was heard
        before), while in the block."""
        finished = self._waiting.setdefault(purchase_id, asyncio.Event())
        if purchase_id in self._finished:
            finished.set()
        try:
            yield finished
        finally:
            self._waiting.pop(purchase_id, None)

    async def _order_finished(self, event: OrderCompleted | OrderFailed, _: MessageContext) -> None:
        self._wake(event.order_id)

    async def _topup_finished(self, event: TopupCompleted | TopupFailed, _: MessageContext) -> None:
        self._wake(event.topup_id)

    def _wake(self, purchase_id: str) -> None:
        self._finished[purchase_id] = None
        while len(self._finished) > self._remember:
            del self._finished[next(iter(self._finished))]
        finished = self._waiting.get(purchase_id)
        if finished is not None:
            finished.set()
