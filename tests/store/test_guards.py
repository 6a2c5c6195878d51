"""Store vocabulary: single-document conditional updates used as atomic guards."""

import asyncio
from typing import Any

import pytest
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

pytestmark = pytest.mark.store

Doc = dict[str, Any]


async def test_guarded_debit_stops_at_insufficient_balance(store_db: AsyncDatabase[Doc]) -> None:
    """Filter {"balance": {"$gte": n}} with $inc -n applies while it fits, then matches nothing."""
    coll = store_db.balances
    await coll.insert_one({"_id": "ptn_1", "balance": 100})
    applied = []
    for _ in range(12):
        result = await coll.update_one(
            {"_id": "ptn_1", "balance": {"$gte": 10}}, {"$inc": {"balance": -10}}
        )
        applied.append(result.modified_count)
    assert applied == [1] * 10 + [0, 0]
    assert await coll.find_one({"_id": "ptn_1"}) == {"_id": "ptn_1", "balance": 0}


async def test_concurrent_inserts_of_one_id_admit_exactly_one(
    store_db: AsyncDatabase[Doc],
) -> None:
    """Of 30 concurrent inserts with one _id exactly one succeeds; the rest fail with 11000."""
    coll = store_db.inbox

    async def claim(worker: int) -> str:
        try:
            await coll.insert_one({"_id": "msg_1", "worker": worker})
        except DuplicateKeyError as exc:
            return f"dup:{exc.code}"
        return "ok"

    outcomes = await asyncio.gather(*(claim(i) for i in range(30)))
    assert sorted(outcomes) == ["dup:11000"] * 29 + ["ok"]
    assert await coll.count_documents({}) == 1


async def test_concurrent_inserts_into_unique_index_admit_exactly_one(
    store_db: AsyncDatabase[Doc],
) -> None:
    """Of 30 concurrent inserts repeating a unique-index value exactly one succeeds."""
    coll = store_db.claims
    await coll.create_index("email", unique=True)

    async def claim(worker: int) -> int:
        try:
            await coll.insert_one({"_id": f"usr_{worker}", "email": "a@example.com"})
        except DuplicateKeyError:
            return 0
        return 1

    assert sum(await asyncio.gather(*(claim(i) for i in range(30)))) == 1
    assert await coll.count_documents({"email": "a@example.com"}) == 1


async def test_inbox_nin_guard_applies_a_message_once(store_db: AsyncDatabase[Doc]) -> None:
    """A filter {"ids": {"$nin": [m]}} with $push ids m matches once; a repeat changes nothing."""
    coll = store_db.orders
    await coll.insert_one({"_id": "o1", "paid": 0, "ids": []})
    update = {"$inc": {"paid": 500}, "$push": {"ids": "m1"}}
    first = await coll.update_one({"_id": "o1", "ids": {"$nin": ["m1"]}}, update)
    second = await coll.update_one({"_id": "o1", "ids": {"$nin": ["m1"]}}, update)
    other = await coll.update_one(
        {"_id": "o1", "ids": {"$nin": ["m2"]}}, {"$inc": {"paid": 7}, "$push": {"ids": "m2"}}
    )
    assert (first.matched_count, first.modified_count) == (1, 1)
    assert (second.matched_count, second.modified_count) == (0, 0)
    assert other.modified_count == 1
    assert await coll.find_one({"_id": "o1"}) == {"_id": "o1", "paid": 507, "ids": ["m1", "m2"]}


async def test_inbox_nin_guard_matches_document_without_the_array(
    store_db: AsyncDatabase[Doc],
) -> None:
    """$nin matches a document lacking the array, so the first message creates it via $push."""
    coll = store_db.orders
    await coll.insert_one({"_id": "o1", "paid": 0})
    update = {"$inc": {"paid": 500}, "$push": {"ids": "m1"}}
    first = await coll.update_one({"_id": "o1", "ids": {"$nin": ["m1"]}}, update)
    second = await coll.update_one({"_id": "o1", "ids": {"$nin": ["m1"]}}, update)
    assert (first.modified_count, second.modified_count) == (1, 0)
    assert await coll.find_one({"_id": "o1"}) == {"_id": "o1", "paid": 500, "ids": ["m1"]}


async def test_status_transition_guard_succeeds_once(store_db: AsyncDatabase[Doc]) -> None:
    """Filter {"status": "pending"} with $set completed applies once; a repeat matches nothing."""
    coll = store_db.orders
    await coll.insert_one({"_id": "o1", "status": "pending"})
    query = {"_id": "o1", "status": "pending"}
    first = await coll.update_one(query, {"$set": {"status": "completed", "by": 1}})
    second = await coll.update_one(query, {"$set": {"status": "completed", "by": 2}})
    assert (first.matched_count, first.modified_count) == (1, 1)
    assert (second.matched_count, second.modified_count) == (0, 0)
    assert await coll.find_one({"_id": "o1"}) == {"_id": "o1", "status": "completed", "by": 1}


async def test_find_one_and_update_returns_document_after(store_db: AsyncDatabase[Doc]) -> None:
    """find_one_and_update with ReturnDocument.AFTER returns the updated document."""
    coll = store_db.balances
    await coll.insert_one({"_id": "ptn_1", "balance": 100})
    doc = await coll.find_one_and_update(
        {"_id": "ptn_1", "balance": {"$gte": 30}},
        {"$inc": {"balance": -30}},
        return_document=ReturnDocument.AFTER,
    )
    assert doc == {"_id": "ptn_1", "balance": 70}


async def test_find_one_and_update_returns_document_before_by_default(
    store_db: AsyncDatabase[Doc],
) -> None:
    """find_one_and_update returns the document as it was before the update by default."""
    coll = store_db.balances
    await coll.insert_one({"_id": "ptn_1", "balance": 100})
    doc = await coll.find_one_and_update({"_id": "ptn_1"}, {"$inc": {"balance": -30}})
    assert doc == {"_id": "ptn_1", "balance": 100}


async def test_find_one_and_update_without_match_returns_none(
    store_db: AsyncDatabase[Doc],
) -> None:
    """find_one_and_update returns None and changes nothing when the filter matches nothing."""
    coll = store_db.balances
    await coll.insert_one({"_id": "ptn_1", "balance": 20})
    doc = await coll.find_one_and_update(
        {"_id": "ptn_1", "balance": {"$gte": 30}},
        {"$inc": {"balance": -30}},
        return_document=ReturnDocument.AFTER,
    )
    assert doc is None
    assert await coll.find_one({"_id": "ptn_1"}) == {"_id": "ptn_1", "balance": 20}


async def test_find_one_and_update_upsert_allocates_sequence(
    store_db: AsyncDatabase[Doc],
) -> None:
    """find_one_and_update with upsert and AFTER inserts on first use, then returns new values."""
    coll = store_db.sequences
    seen = []
    for _ in range(3):
        doc = await coll.find_one_and_update(
            {"_id": "invoice"},
            {"$inc": {"next": 1}, "$set": {"prefix": "INV"}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        seen.append(doc)
    assert seen == [{"_id": "invoice", "next": n, "prefix": "INV"} for n in (1, 2, 3)]
