"""Store vocabulary: one database per service, created on first write and droppable."""

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]


async def test_database_listed_after_first_write(store_db: AsyncDatabase[Doc]) -> None:
    """A database is created implicitly by its first write and then appears in the listing."""
    await store_db.things.insert_one({"_id": "t1"})
    assert store_db.name in await store_db.client.list_database_names()


async def test_drop_database_removes_it(store_db: AsyncDatabase[Doc]) -> None:
    """drop_database removes the database and its data from the listing."""
    client = store_db.client
    await store_db.things.insert_one({"_id": "t1"})
    await client.drop_database(store_db.name)
    assert store_db.name not in await client.list_database_names()
    assert await store_db.things.find_one({"_id": "t1"}) is None


async def test_collections_listed_after_first_write(store_db: AsyncDatabase[Doc]) -> None:
    """A collection is created implicitly by its first write and appears in the listing."""
    await store_db.orders.insert_one({"_id": "o1"})
    await store_db.events.insert_one({"_id": "e1"})
    assert {"orders", "events"} <= set(await store_db.list_collection_names())
