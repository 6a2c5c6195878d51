"""Each service SIGKILLed in the middle of the flow and restarted, and the store server killed
and restarted while messages are in flight: every order and request still reaches its final
state, nothing twice, nothing lost."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from chaos_checks import Checker, expect_no_dead_letters
from chaos_infra import OwnStore
from chaos_support import Traffic, drive, new_buyer, restart
from e2e_support import Platform
from orders_support import PACKAGE_PRICE

from support.platform import SERVICES
from support.waiting import eventually


async def _flow_started(traffic: Traffic) -> bool:
    return len(traffic.orders) >= 5 and bool(traffic.requests)


@pytest.mark.parametrize("service", SERVICES)
async def test_service_killed_mid_flow_and_restarted(
    service: str,
    platform: Platform,
    db: Any,
    checker: Checker,
    recovery: list[str],
) -> None:
    """SIGKILL one service while orders and data-subject requests are in flight, start it
    again: the rest of the flow completes, each effect once."""
    async with new_buyer(platform, db, 12 * PACKAGE_PRICE) as buyer:
        traffic = Traffic(buyer)
        flow = asyncio.ensure_future(drive(traffic))
        await eventually(lambda: _flow_started(traffic), timeout=30, what="traffic under way")
        platform.processes[service].kill()
        await restart(platform, service)
        restarted = time.monotonic()
        await flow
        await checker.settled(traffic)
    expect_no_dead_letters(checker.dead)
    recovery.append(f"{time.monotonic() - restarted:.1f} s after the restart")


async def test_store_server_killed_while_messages_are_in_flight(
    platform: Platform, db: Any, own_store: OwnStore, checker: Checker, recovery: list[str]
) -> None:
    """SIGKILL the store server in the middle of the flow and start it again on the same
    files: handlers that failed meanwhile are retried, nothing is lost or doubled."""
    async with new_buyer(platform, db, 12 * PACKAGE_PRICE) as buyer:
        traffic = Traffic(buyer)
        flow = asyncio.ensure_future(drive(traffic))
        await eventually(lambda: _flow_started(traffic), timeout=30, what="traffic under way")
        try:
            own_store.kill()
        finally:
            await own_store.start()
        restarted = time.monotonic()
        await flow
        await checker.settled(traffic)
    expect_no_dead_letters(checker.dead)
    recovery.append(f"{time.monotonic() - restarted:.1f} s after the restart")
