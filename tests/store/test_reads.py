"""Store vocabulary: sorting, paging, projection, counting and distinct values."""

from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]

ROWS = [
    {"_id": "ord_01", "partner": "p2", "amount": 300, "status": "completed"},
    {"_id": "ord_02", "partner": "p1", "amount": 100, "status": "pending"},
    {"_id": "ord_03", "partner": "p2", "amount": 100, "status": "completed"},
    {"_id": "ord_04", "partner": "p1", "amount": 500, "status": "failed"},
    {"_id": "ord_05", "partner": "p3", "amount": 200, "status": "completed"},
    {"_id": "ord_06", "partner": "p1", "amount": 300, "status": "completed"},
]


@pytest.fixture
async def orders(store_db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    coll = store_db.orders
    await coll.insert_many([dict(row) for row in ROWS])
    return coll


async def test_sort_on_one_key(orders: AsyncCollection[Doc]) -> None:
    """sort on one key orders ascending or descending by that key."""
    asc = [d["_id"] async for d in orders.find({}).sort("_id", ASCENDING)]
    desc = [d["_id"] async for d in orders.find({}).sort("_id", DESCENDING)]
    assert asc == [row["_id"] for row in ROWS]
    assert desc == asc[::-1]


async def test_sort_on_two_keys(orders: AsyncCollection[Doc]) -> None:
    """sort on two keys orders by the first, then breaks ties by the second."""
    cursor = orders.find({}).sort([("amount", DESCENDING), ("_id", ASCENDING)])
    assert [d["_id"] async for d in cursor] == [
        "ord_04",
        "ord_01",
        "ord_06",
        "ord_05",
        "ord_02",
        "ord_03",
    ]


async def test_skip_and_limit_after_sort(orders: AsyncCollection[Doc]) -> None:
    """skip and limit apply after sort: skip 2, limit 3 returns the 3rd to 5th documents."""
    cursor = orders.find({}).sort("_id", ASCENDING).skip(2).limit(3)
    assert [d["_id"] async for d in cursor] == ["ord_03", "ord_04", "ord_05"]


async def test_keyset_pagination_by_id(orders: AsyncCollection[Doc]) -> None:
    """Paging by {"_id": {"$gt": last}} sorted by _id with a limit visits every document once."""
    pages: list[list[str]] = []
    last = ""
    while True:
        query = {"partner": {"$in": ["p1", "p2"]}, "_id": {"$gt": last}}
        page = [d["_id"] async for d in orders.find(query).sort("_id", ASCENDING).limit(2)]
        if not page:
            break
        pages.append(page)
        last = page[-1]
    assert pages == [["ord_01", "ord_02"], ["ord_03", "ord_04"], ["ord_06"]]


async def test_projection_include(orders: AsyncCollection[Doc]) -> None:
    """An inclusion projection returns only the listed fields plus _id."""
    doc = await orders.find_one({"_id": "ord_01"}, {"amount": 1, "status": 1})
    assert doc == {"_id": "ord_01", "amount": 300, "status": "completed"}


async def test_projection_include_without_id(orders: AsyncCollection[Doc]) -> None:
    """An inclusion projection with _id: 0 returns only the listed fields."""
    doc = await orders.find_one({"_id": "ord_01"}, {"_id": 0, "amount": 1})
    assert doc == {"amount": 300}


async def test_projection_exclude(orders: AsyncCollection[Doc]) -> None:
    """An exclusion projection returns every field except the listed ones."""
    doc = await orders.find_one({"_id": "ord_01"}, {"amount": 0, "status": 0})
    assert doc == {"_id": "ord_01", "partner": "p2"}


async def test_count_documents_with_filter(orders: AsyncCollection[Doc]) -> None:
    """count_documents counts the documents matching the filter ({} counts all)."""
    assert await orders.count_documents({"status": "completed"}) == 4
    assert await orders.count_documents({"partner": "p1", "amount": {"$gte": 300}}) == 2
    assert await orders.count_documents({"status": "refunded"}) == 0
    assert await orders.count_documents({}) == 6


async def test_distinct(orders: AsyncCollection[Doc]) -> None:
    """distinct returns each value of the field once, optionally among filtered documents."""
    assert sorted(await orders.distinct("partner")) == ["p1", "p2", "p3"]
    assert sorted(await orders.distinct("status", {"partner": "p1"})) == [
        "completed",
        "failed",
        "pending",
    ]
