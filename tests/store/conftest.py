"""Fixtures of the store-compatibility suite.

`mongo_url` comes from tests/conftest.py (the embedded server chosen by STORE_SERVER, or
MONGO_URL). Each test gets a database of its own, dropped afterwards.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


@pytest.fixture(scope="session")
async def store_client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Doc]]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def store_db(store_client: AsyncMongoClient[Doc]) -> AsyncIterator[AsyncDatabase[Doc]]:
    name = f"store_{uuid.uuid4().hex[:16]}"
    try:
        yield store_client[name]
    finally:
        await store_client.drop_database(name)
