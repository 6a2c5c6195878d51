"""Fixtures for the API-key tests: the keys part of accounts, in a fresh namespace, on a clock
the tests move, and a caller that asks over the bus and hears the revocation events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from keys_support import PARTNER_A, PARTNER_B, FakeClock, KeysHarness, accounts_settings

from accounts import keys, store
from contracts.apikeys import ApiKeyRevoked
from servicekit.messages import MessageContext
from servicekit.service import Service
from support.services import fresh_namespace, running


@pytest.fixture
async def harness(amqp_url: str, mongo_url: str) -> AsyncIterator[KeysHarness]:
    """The keys handlers of accounts (on a fake clock) and a caller, both running."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "tester"]) as base:
        settings = accounts_settings(base)
        clock = FakeClock()
        accounts = Service.create("accounts", settings)
        keys.register(accounts, settings, clock=clock)
        caller = Service.create("tester", base, stateless=True)
        harness = KeysHarness(accounts=accounts, caller=caller, clock=clock)

        async def heard(event: ApiKeyRevoked, _context: MessageContext) -> None:
            harness.revocations.append(event)

        caller.router.on(ApiKeyRevoked, heard)
        async with running(accounts, caller):
            await accounts.db[store.PARTNERS].insert_many(
                [{"_id": PARTNER_A, "status": "active"}, {"_id": PARTNER_B, "status": "active"}]
            )
            yield harness
