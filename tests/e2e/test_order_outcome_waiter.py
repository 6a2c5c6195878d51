"""The gateway's wait for a purchase's outcome: woken by the event, also one heard earlier."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contracts.money import Money
from contracts.orders import OrderCompleted, TopupFailed
from gateway.outcomes import OutcomeWaiter
from servicekit.messages import MessageContext

CONTEXT = MessageContext("msg_1", "cor_1", "event", "provisioning", 1, False)
WAIT = 10.0


def completed(order_id: str) -> OrderCompleted:
    """The completion event of an order."""
    return OrderCompleted(
        order_id=order_id,
        partner_id="ptn_a",
        package_id="pkg_a",
        iccids=[],
        total=Money(amount=100, currency="EUR"),
        completed_at=datetime.now(UTC),
        countries=[],
    )


async def test_a_waiting_request_is_woken_by_its_outcome() -> None:
    """A watcher's event is set when its purchase's outcome is heard, not another's."""
    waiter = OutcomeWaiter()
    async with waiter.watching("ord_1") as finished:
        await waiter._order_finished(completed("ord_2"), CONTEXT)
        assert not finished.is_set()
        await waiter._order_finished(completed("ord_1"), CONTEXT)
        async with asyncio.timeout(WAIT):
            await finished.wait()


async def test_an_outcome_heard_before_the_wait_began_still_counts() -> None:
    """An order or top-up that finished before its request began to wait wakes it at once."""
    waiter = OutcomeWaiter()
    await waiter._order_finished(completed("ord_early"), CONTEXT)
    failed = TopupFailed(
        topup_id="top_early",
        partner_id="ptn_a",
        iccid="8900000000000000001",
        reason="provider_rejected",
        failed_at=datetime.now(UTC),
    )
    await waiter._topup_finished(failed, CONTEXT)
    for purchase_id in ("ord_early", "top_early"):
        async with waiter.watching(purchase_id) as finished:
            assert finished.is_set()


async def test_only_the_latest_outcomes_are_remembered() -> None:
    """The memory of outcomes is bounded: the oldest is forgotten first."""
    waiter = OutcomeWaiter(remember=2)
    for number in range(3):
        await waiter._order_finished(completed(f"ord_{number}"), CONTEXT)
    async with waiter.watching("ord_0") as forgotten:
        assert not forgotten.is_set()
    async with waiter.watching("ord_2") as remembered:
        assert remembered.is_set()
