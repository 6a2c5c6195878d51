"""Store vocabulary: deletes and retention sweeps."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]

NOW = datetime(2026, 3, 31, 0, 0, tzinfo=UTC)


async def test_delete_one_removes_one_match(store_db: AsyncDatabase[Doc]) -> None:
    """delete_one removes at most one matching document and reports deleted_count 1 or 0."""
    coll = store_db.sessions
    await coll.insert_many([{"_id": f"s{i}", "user": "u1"} for i in range(3)])
    assert (await coll.delete_one({"_id": "s1"})).deleted_count == 1
    assert (await coll.delete_one({"_id": "s1"})).deleted_count == 0
    assert (await coll.delete_one({"user": "u1"})).deleted_count == 1
    assert await coll.count_documents({}) == 1


async def test_delete_many_by_datetime_cutoff(store_db: AsyncDatabase[Doc]) -> None:
    """delete_many with {"at": {"$lt": cutoff}} removes exactly the older documents, counted."""
    coll = store_db.request_logs
    await coll.insert_many(
        [{"_id": f"r{day:02d}", "at": NOW - timedelta(days=day)} for day in range(0, 40, 3)]
    )
    cutoff = NOW - timedelta(days=30)
    result = await coll.delete_many({"at": {"$lt": cutoff}})
    assert result.deleted_count == 3
    remaining = [d["_id"] async for d in coll.find({}).sort("at", 1)]
    assert remaining == [f"r{day:02d}" for day in range(30, -1, -3)]


async def test_delete_many_without_match_deletes_nothing(store_db: AsyncDatabase[Doc]) -> None:
    """delete_many whose filter matches nothing reports deleted_count 0."""
    coll = store_db.request_logs
    await coll.insert_one({"_id": "r1", "at": NOW})
    result = await coll.delete_many({"at": {"$lt": NOW - timedelta(days=30)}})
    assert result.deleted_count == 0
    assert await coll.count_documents({}) == 1
