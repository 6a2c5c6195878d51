"""The broker stopped in the middle of a privacy fan-out, and provisioning's link to it cut:
every order and request still reaches its final state, nothing twice, nothing lost."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from chaos_checks import Checker, expect_no_dead_letters
from chaos_infra import CuttableProxy, OwnBroker
from chaos_support import Traffic, ask, buy, drive, new_buyer, paused
from e2e_support import Platform
from orders_support import PACKAGE_PRICE

from support.waiting import eventually

OUTAGE_S = 2.0
"""How long each outage lasts: longer than a query's timeout would fail callers; this is
about message flow, so the outage is short and its recovery is what is measured."""


async def test_broker_stopped_mid_privacy_fanout(
    platform: Platform, db: Any, own_broker: OwnBroker, checker: Checker, recovery: list[str]
) -> None:
    """`rabbitmqctl stop_app` while data-subject requests fan out (logs held frozen until the
    broker is down, so its tasks are in flight) and orders flow, then `start_app`: every
    request closes with one receipt per task, every order completes once."""
    async with new_buyer(platform, db, 12 * PACKAGE_PRICE) as buyer:
        traffic = Traffic(buyer)
        await buy(traffic, 5)
        requested = asyncio.ensure_future(ask(traffic, traffic.emails[:5], spacing=0.15))
        ordered = asyncio.ensure_future(buy(traffic, 5, spacing=0.15))
        await eventually(lambda: _some(traffic.requests), timeout=20, what="a request accepted")
        # Logs frozen meanwhile: its tasks are surely still open when the broker stops.
        try:
            with paused(platform, "logs"):
                await own_broker.stop_app()
                open_at_stop = await _open_requests(checker, traffic)
            await asyncio.sleep(OUTAGE_S)  # the outage itself: nothing to wait for
        finally:
            await own_broker.start_app()
        restored = time.monotonic()
        await asyncio.gather(requested, ordered)
        await checker.settled(traffic)
    expect_no_dead_letters(checker.dead)
    assert open_at_stop, "the broker stopped after every request had closed: no fan-out was hit"
    recovery.append(
        f"{time.monotonic() - restored:.1f} s after start_app"
        f" ({len(open_at_stop)} requests open at the stop)"
    )


async def test_link_between_provisioning_and_broker_cut(
    platform: Platform, db: Any, proxy: CuttableProxy, checker: Checker, recovery: list[str]
) -> None:
    """Provisioning's connections to the broker are severed and refused for a while in the
    middle of the flow, then allowed again: it reconnects and nothing is lost or doubled."""
    async with new_buyer(platform, db, 12 * PACKAGE_PRICE) as buyer:
        traffic = Traffic(buyer)
        flow = asyncio.ensure_future(drive(traffic))
        await eventually(lambda: _some(traffic.orders), timeout=20, what="an order accepted")
        proxy.cut()
        await asyncio.sleep(OUTAGE_S)  # the outage itself: nothing to wait for
        proxy.restore()
        restored = time.monotonic()
        await flow
        await checker.settled(traffic)
    expect_no_dead_letters(checker.dead)
    assert proxy.connections_made >= 2, "provisioning never reconnected"
    recovery.append(f"{time.monotonic() - restored:.1f} s after the link was restored")


async def _some(values: list[str]) -> bool:
    return bool(values)


async def _open_requests(checker: Checker, traffic: Traffic) -> list[str]:
    requests = checker.database("privacy")["requests"]
    found = await requests.find(
        {"_id": {"$in": traffic.requests}, "status": "in_progress"}, {"_id": 1}
    ).to_list()
    return [r["_id"] for r in found]
