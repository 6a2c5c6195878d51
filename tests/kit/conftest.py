"""Fixtures for the servicekit tests: a fresh namespace per test, cleaned up afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from servicekit.settings import ServiceSettings
from support.services import fast_settings, remove_namespace

SERVICES = ["alpha", "privacy"]


@pytest.fixture
async def settings(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace used by this test only."""
    values = fast_settings(amqp_url, mongo_url)
    yield values
    await remove_namespace(values, SERVICES)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    for service in SERVICES:
        await client.drop_database(values.database_name(service))
    await client.close()
