"""A partner's webhook receiver that answers 500, then times out, then recovers: every order's
webhook is delivered in the end, exactly once acknowledged, under one delivery per event."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from chaos_checks import Checker, expect_no_dead_letters, one_each, webhook_deliveries
from chaos_support import Traffic, drive, new_buyer
from e2e_support import Platform
from orders_support import PACKAGE_PRICE

from support.processes import free_port
from support.waiting import eventually

FAILURES_PER_MODE = 3
HANG_S = 2.0
"""Longer than the platform's WEBHOOK_TIMEOUT_SECONDS (1 s in the chaos environment)."""


@dataclass
class Receiver:
    """A partner's webhook endpoint that fails as told: `500`, `timeout`, then `ok`."""

    url: str = ""
    modes: list[str] = field(default_factory=lambda: ["500", "timeout", "ok"])
    failures: int = 0
    acknowledged: list[str] = field(default_factory=list)
    healthy_at: float = 0.0

    async def take(self, request: web.Request) -> web.Response:
        """Answer one delivery according to the current mode."""
        await request.read()
        mode = self.modes[0]
        if mode != "ok":
            self.failures += 1
            if self.failures % FAILURES_PER_MODE == 0:
                self.modes.pop(0)
                self.healthy_at = time.monotonic()
            if mode == "timeout":
                await asyncio.sleep(HANG_S)
            return web.Response(status=500 if mode == "500" else 503)
        self.acknowledged.append(request.headers["webhook-id"])
        return web.Response(status=204)


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """The receiver, listening on loopback."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.take)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def test_failing_webhook_receiver_gets_every_event_once(
    platform: Platform, db: Any, checker: Checker, recovery: list[str]
) -> None:
    """Deliveries answered 500 and deliveries that time out are retried until the receiver
    recovers: one delivery per order event, every one delivered, each acknowledged once."""
    async with receiving() as receiver, new_buyer(platform, db, 12 * PACKAGE_PRICE) as buyer:
        endpoint = {"url": receiver.url, "event_types": ["order.completed", "order.failed"]}
        async with buyer.api.post("/v1/webhook-endpoints", json=endpoint) as response:
            assert response.status == 201, await response.text()
        traffic = Traffic(buyer)
        await drive(traffic, erasures=0)  # an erasure deletes the subject's deliveries
        await checker.settled(traffic)

        async def all_delivered() -> list[dict[str, Any]] | None:
            deliveries = await webhook_deliveries(platform, db, buyer.partner_id)
            done = len(deliveries) == len(traffic.orders)
            return (
                deliveries if done and all(d["status"] == "delivered" for d in deliveries) else None
            )

        try:
            deliveries = await eventually(all_delivered, timeout=60, interval=0.2, what="sent")
        except AssertionError as failure:
            found = await webhook_deliveries(platform, db, buyer.partner_id)
            states = [(d["order_id"], d["status"], d["attempts"], d.get("last")) for d in found]
            raise AssertionError(f"{failure}; {len(traffic.orders)} orders, {states}") from None
    expect_no_dead_letters(checker.dead)
    assert receiver.failures >= 2 * FAILURES_PER_MODE, "the receiver never failed"
    one_each([d["key"] for d in deliveries], "a delivery of one event")
    one_each(receiver.acknowledged, "an acknowledged delivery")
    assert sorted(receiver.acknowledged) == sorted(d["_id"] for d in deliveries)
    assert {d["order_id"] for d in deliveries} == set(traffic.orders)
    recovery.append(f"{time.monotonic() - receiver.healthy_at:.1f} s after the receiver recovered")
