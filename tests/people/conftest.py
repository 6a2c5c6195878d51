"""Fixtures for the people tests: the people part of accounts running in a fresh namespace on a
fake clock, a caller that hears the partner events, and the domain objects on a database of
one test for tests that drive time directly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from people_support import (
    LIMITS,
    Doc,
    Domain,
    FakeClock,
    PeopleHarness,
    accounts_settings,
    cheap_passwords,
)
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from accounts import people_handlers, store
from accounts.auth import Auth
from accounts.partners import Partners
from accounts.people import People
from accounts.settings import AccountsSettings
from accounts.users import Users
from contracts.identity import PartnerClosed, PartnerCreated, PartnerUpdated
from servicekit.bus import Bus
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from servicekit.vault import Vault
from support.names import unique_namespace
from support.services import fresh_namespace, running


@pytest.fixture
async def harness(amqp_url: str, mongo_url: str) -> AsyncIterator[PeopleHarness]:
    """The people handlers of accounts (on a fake clock) and a caller, both running."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "tester"]) as base:
        settings = accounts_settings(base)
        clock = FakeClock()
        accounts = Service.create("accounts", settings)
        vault = Vault.from_settings(accounts.db, settings)
        accounts.startup.append(lambda: store.create_indexes(accounts.db))
        accounts.startup.append(vault.keyring.create_indexes)
        people_handlers.register(accounts, settings, vault, clock=clock)
        caller = Service.create("tester", base, stateless=True)
        harness = PeopleHarness(service=accounts, caller=caller, clock=clock, vault=vault)

        async def heard(event: Any, _context: MessageContext) -> None:
            harness.events.append(event)

        for event_type in (PartnerCreated, PartnerUpdated, PartnerClosed):
            caller.router.on(event_type, heard)
        async with running(accounts, caller):
            yield harness


@pytest.fixture
async def scratch_db(mongo_url: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A database of this test only, with the accounts indexes; dropped afterwards."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    name = f"people_{uuid.uuid4().hex[:16]}"
    try:
        await store.create_indexes(client[name])
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
def scratch_settings(amqp_url: str, mongo_url: str) -> AccountsSettings:
    """Accounts settings with fresh keys and a namespace of this test."""
    base = ServiceSettings(amqp_url=amqp_url, mongo_url=mongo_url, bus_namespace=unique_namespace())
    return accounts_settings(base)


@pytest.fixture
def domain(scratch_db: AsyncDatabase[Doc], scratch_settings: AccountsSettings) -> Domain:
    """Partners, people, users and auth on a database of this test, with small login limits."""
    vault = Vault.from_settings(scratch_db, scratch_settings)
    topology = Topology(scratch_settings.bus_namespace)
    bus = Bus(url=scratch_settings.amqp_url, topology=topology, service="accounts")
    return Domain(
        db=scratch_db,
        vault=vault,
        partners=Partners(scratch_db, vault, bus.outgoing),
        people=People(scratch_db, vault),
        users=Users(scratch_db, vault),
        auth=Auth(scratch_db, vault, cheap_passwords(), LIMITS),
    )
