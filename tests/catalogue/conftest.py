"""Fixtures of the catalogue tests: the catalogue part of provisioning running in a fresh
namespace with a caller that asks it over the bus, and a bare database for store tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from catalogue_support import Asker
from pymongo import AsyncMongoClient

from provisioning import catalogue
from servicekit.service import Service
from support.services import fresh_namespace, running

Doc = dict[str, Any]


@pytest.fixture(scope="module")
async def asker(amqp_url: str, mongo_url: str) -> AsyncIterator[Asker]:
    """Provisioning with only the catalogue registered (seeded at start-up), and a caller."""
    async with fresh_namespace(amqp_url, mongo_url, ["provisioning", "caller"]) as base:
        provisioning = Service.create("provisioning", base)
        catalogue.register(provisioning)
        caller = Service.create("caller", base, stateless=True)
        async with running(provisioning, caller):
            yield Asker(bus=caller.bus, db=provisioning.db)


@pytest.fixture
async def bare_db(mongo_url: str) -> AsyncIterator[Any]:
    """An empty database of this test only."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    name = f"catalogue_{uuid.uuid4().hex[:16]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()
