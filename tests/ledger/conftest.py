"""Fixtures of the ledger tests: the ledger on a database of one test (no bus), and the billing
part of accounts running in a fresh namespace with a caller that hears its events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ledger_support import THRESHOLDS, Direct, Doc, OverTheBus, accounts_settings
from pymongo import AsyncMongoClient

from accounts import billing_handlers, ledger_store
from accounts.app import create_service
from accounts.ledger import Ledger
from contracts.ledger import (
    BalanceCredited,
    BalanceCreditRefused,
    BalanceDebited,
    BalanceDebitRefused,
    BalanceLow,
    BalanceRefunded,
    BalanceRefundRefused,
)
from servicekit.bus import Bus
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.topology import Topology
from servicekit.vault import Vault
from support.names import unique_namespace
from support.services import fresh_namespace, running

HEARD = (
    BalanceDebited,
    BalanceDebitRefused,
    BalanceRefunded,
    BalanceRefundRefused,
    BalanceCredited,
    BalanceCreditRefused,
    BalanceLow,
)


@pytest.fixture
async def direct(mongo_url: str) -> AsyncIterator[Direct]:
    """The ledger on a database of this test; its events stay in the outboxes."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    name = f"ledger_{uuid.uuid4().hex[:16]}"
    db = client[name]
    try:
        await ledger_store.create_indexes(db)
        bus = Bus(url="amqp://unused/", topology=Topology(unique_namespace()), service="accounts")
        yield Direct(db=db, ledger=Ledger(db, bus, low_balance_thresholds=THRESHOLDS))
    finally:
        await client.drop_database(name)
        await client.close()


async def _harness(
    amqp_url: str, mongo_url: str, *, whole_service: bool
) -> AsyncIterator[OverTheBus]:
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "caller"]) as base:
        settings = accounts_settings(base, prefetch=32)
        if whole_service:
            accounts = create_service(settings)
        else:
            accounts = Service.create("accounts", settings)
            billing_handlers.register(
                accounts,
                billing_handlers.make_ledger(accounts, settings),
                Vault.from_settings(accounts.db, settings),
            )
        # One message at a time, so the caller hears events in the order they were published.
        caller = Service.create("caller", base.model_copy(update={"prefetch": 1}), stateless=True)
        harness = OverTheBus(accounts=accounts, caller=caller)

        async def heard(event: Any, _context: MessageContext) -> None:
            harness.events.append(event)

        for kind in HEARD:
            caller.router.on(kind, heard)
        # The caller first: its queue must exist before accounts publishes anything.
        async with running(caller, accounts):
            yield harness


@pytest.fixture
async def billing(amqp_url: str, mongo_url: str) -> AsyncIterator[OverTheBus]:
    """The billing handlers of accounts (prefetch 32) and a caller, both running."""
    async for harness in _harness(amqp_url, mongo_url, whole_service=False):
        yield harness


@pytest.fixture
async def whole_accounts(amqp_url: str, mongo_url: str) -> AsyncIterator[OverTheBus]:
    """The whole accounts service as `create_service` builds it (prefetch 32), and a caller."""
    async for harness in _harness(amqp_url, mongo_url, whole_service=True):
        yield harness
