"""Store vocabulary: unordered bulk inserts and bulk upserts."""

from typing import Any

import pytest
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

pytestmark = pytest.mark.store

Doc = dict[str, Any]


async def test_unordered_insert_many_inserts_all_but_duplicate(
    store_db: AsyncDatabase[Doc],
) -> None:
    """insert_many(ordered=False) raises BulkWriteError for a duplicate yet inserts the rest."""
    coll = store_db.events
    await coll.insert_one({"_id": "e2"})
    docs = [{"_id": "e1"}, {"_id": "e2"}, {"_id": "e3"}, {"_id": "e4"}]
    with pytest.raises(BulkWriteError) as caught:
        await coll.insert_many(docs, ordered=False)
    details = caught.value.details
    assert details["nInserted"] == 3
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(1, 11000)]
    assert [d["_id"] async for d in coll.find({}).sort("_id", 1)] == ["e1", "e2", "e3", "e4"]


async def test_unordered_insert_many_with_duplicate_inside_batch(
    store_db: AsyncDatabase[Doc],
) -> None:
    """Unordered insert_many with an _id repeated in the batch keeps the first, inserts the rest."""
    coll = store_db.events
    docs: list[Doc] = [{"_id": "e1", "v": 1}, {"_id": "e2"}, {"_id": "e1", "v": 2}, {"_id": "e3"}]
    with pytest.raises(BulkWriteError) as caught:
        await coll.insert_many(docs, ordered=False)
    details = caught.value.details
    assert details["nInserted"] == 3
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(2, 11000)]
    assert await coll.find_one({"_id": "e1"}) == {"_id": "e1", "v": 1}
    assert await coll.count_documents({}) == 3


async def test_bulk_write_update_one_upserts(store_db: AsyncDatabase[Doc]) -> None:
    """bulk_write of UpdateOne(upsert=True) inserts missing and updates existing docs, counted."""
    coll = store_db.usage
    await coll.insert_one({"_id": "d1", "bytes": 10})
    result = await coll.bulk_write(
        [
            UpdateOne({"_id": "d1"}, {"$inc": {"bytes": 5}}, upsert=True),
            UpdateOne({"_id": "d2"}, {"$inc": {"bytes": 7}}, upsert=True),
            UpdateOne({"_id": "d3"}, {"$inc": {"bytes": 9}}, upsert=True),
        ],
        ordered=False,
    )
    assert (result.matched_count, result.modified_count, result.upserted_count) == (1, 1, 2)
    assert sorted((result.upserted_ids or {}).values()) == ["d2", "d3"]
    assert [d async for d in coll.find({}).sort("_id", 1)] == [
        {"_id": "d1", "bytes": 15},
        {"_id": "d2", "bytes": 7},
        {"_id": "d3", "bytes": 9},
    ]
