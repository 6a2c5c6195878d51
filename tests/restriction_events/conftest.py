"""Fixtures of the restriction-broadcast tests: a scratch database for the register alone,
and the real privacy, accounts, provisioning and logs services on one namespace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from restriction_platform import Platform, start_platform

Doc = dict[str, Any]


@pytest.fixture
async def scratch_db(mongo_url: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A database of this test only; dropped afterwards."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    name = f"restrictions_{uuid.uuid4().hex[:16]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
async def platform(amqp_url: str, mongo_url: str) -> AsyncIterator[Platform]:
    """The real privacy service and the three data owners, running, owners registered."""
    async with start_platform(amqp_url, mongo_url) as running:
        yield running
