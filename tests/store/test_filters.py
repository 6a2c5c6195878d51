"""Store vocabulary: equality, dotted paths, $in/$nin, ranges, datetimes, arrays, $exists."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def ids(coll: AsyncCollection[Doc], query: Doc) -> list[Any]:
    return [doc["_id"] async for doc in coll.find(query, {"_id": 1}).sort("_id", 1)]


@pytest.fixture
async def partners(store_db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    coll = store_db.partners
    await coll.insert_many(
        [
            {"_id": "p1", "status": "active", "n": 1, "address": {"country": "DE", "city": "B"}},
            {"_id": "p2", "status": "suspended", "n": 2, "address": {"country": "FR"}},
            {"_id": "p3", "status": "active", "n": 3, "address": {"country": "DE"}},
            {"_id": "p4", "status": "closed", "n": 4},
            {"_id": "p5", "n": 5},
        ]
    )
    return coll


async def test_equality_on_scalar(partners: AsyncCollection[Doc]) -> None:
    """{field: value} matches exactly the documents whose field equals value."""
    assert await ids(partners, {"status": "active"}) == ["p1", "p3"]
    assert await ids(partners, {"n": 2}) == ["p2"]


async def test_equality_on_dotted_path(partners: AsyncCollection[Doc]) -> None:
    """{"a.b": value} matches documents whose subdocument a has b equal to value."""
    assert await ids(partners, {"address.country": "DE"}) == ["p1", "p3"]
    assert await ids(partners, {"address.country": "DE", "address.city": "B"}) == ["p1"]


async def test_in_on_scalar(partners: AsyncCollection[Doc]) -> None:
    """$in matches documents whose field equals any listed value."""
    assert await ids(partners, {"status": {"$in": ["suspended", "closed"]}}) == ["p2", "p4"]
    assert await ids(partners, {"_id": {"$in": ["p5", "p1", "nope"]}}) == ["p1", "p5"]


async def test_nin_on_scalar_includes_missing_field(partners: AsyncCollection[Doc]) -> None:
    """$nin matches documents whose field equals none of the values, including those lacking it."""
    assert await ids(partners, {"status": {"$nin": ["active", "closed"]}}) == ["p2", "p5"]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("$gt", ["p4", "p5"]),
        ("$gte", ["p3", "p4", "p5"]),
        ("$lt", ["p1", "p2"]),
        ("$lte", ["p1", "p2", "p3"]),
    ],
)
async def test_range_on_int(partners: AsyncCollection[Doc], op: str, expected: list[str]) -> None:
    """$gt/$gte/$lt/$lte compare integers with strict or inclusive bounds."""
    assert await ids(partners, {"n": {op: 3}}) == expected


async def test_half_open_range_on_int(partners: AsyncCollection[Doc]) -> None:
    """Two range operators on one field combine as AND: $gte 2 and $lt 4 is the window [2, 4)."""
    assert await ids(partners, {"n": {"$gte": 2, "$lt": 4}}) == ["p2", "p3"]


@pytest.fixture
async def events(store_db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    coll = store_db.events
    await coll.insert_many([{"_id": f"e{i}", "at": T0 + timedelta(hours=i)} for i in range(5)])
    return coll


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("$gt", ["e3", "e4"]),
        ("$gte", ["e2", "e3", "e4"]),
        ("$lt", ["e0", "e1"]),
        ("$lte", ["e0", "e1", "e2"]),
    ],
)
async def test_range_on_aware_datetime(
    events: AsyncCollection[Doc], op: str, expected: list[str]
) -> None:
    """$gt/$gte/$lt/$lte compare BSON dates by instant, with strict or inclusive bounds."""
    assert await ids(events, {"at": {op: T0 + timedelta(hours=2)}}) == expected


async def test_datetime_range_is_by_instant_across_offsets(events: AsyncCollection[Doc]) -> None:
    """A bound given in another UTC offset compares by instant (the driver sends UTC)."""
    bound = (T0 + timedelta(hours=2)).astimezone(timezone(timedelta(hours=1)))
    assert await ids(events, {"at": {"$gte": bound}}) == ["e2", "e3", "e4"]


async def test_aware_utc_datetime_round_trips(store_db: AsyncDatabase[Doc]) -> None:
    """A BSON date is UTC milliseconds: an aware datetime returns aware UTC, truncated to ms."""
    coll = store_db.events
    sent = datetime(2026, 3, 1, 12, 30, 45, 678_901, tzinfo=UTC)
    await coll.insert_one({"_id": "e1", "at": sent})
    got = (await coll.find_one({"_id": "e1"}))["at"]  # type: ignore[index]
    assert got == sent.replace(microsecond=678_000)
    assert got.utcoffset() == timedelta(0)


async def test_equality_on_array_element(store_db: AsyncDatabase[Doc]) -> None:
    """{"tags": "x"} matches a document whose tags array contains x (or whose tags is x)."""
    coll = store_db.things
    await coll.insert_many(
        [
            {"_id": "t1", "tags": ["x", "y"]},
            {"_id": "t2", "tags": ["y"]},
            {"_id": "t3", "tags": "x"},
            {"_id": "t4", "tags": []},
            {"_id": "t5"},
        ]
    )
    assert await ids(coll, {"tags": "x"}) == ["t1", "t3"]


async def test_in_on_array_field(store_db: AsyncDatabase[Doc]) -> None:
    """$in against an array field matches when any element equals any listed value."""
    coll = store_db.things
    await coll.insert_many(
        [{"_id": "t1", "tags": ["x", "y"]}, {"_id": "t2", "tags": ["y"]}, {"_id": "t3", "tags": []}]
    )
    assert await ids(coll, {"tags": {"$in": ["x", "z"]}}) == ["t1"]


async def test_size_zero_matches_only_empty_arrays(store_db: AsyncDatabase[Doc]) -> None:
    """{"_outbox": {"$size": 0}} matches only documents whose _outbox is an empty array."""
    coll = store_db.orders
    await coll.insert_many(
        [
            {"_id": "o1", "_outbox": []},
            {"_id": "o2", "_outbox": [{"message_id": "m1"}]},
            {"_id": "o3"},
            {"_id": "o4", "_outbox": [{"message_id": "m2"}, {"message_id": "m3"}]},
        ]
    )
    assert await ids(coll, {"_outbox": {"$size": 0}}) == ["o1"]


async def test_equality_through_array_of_subdocuments(store_db: AsyncDatabase[Doc]) -> None:
    """{"_outbox.pending": true} matches documents with any array element whose field equals it."""
    coll = store_db.orders
    await coll.insert_many(
        [
            {"_id": "o1", "_outbox": []},
            {"_id": "o2", "_outbox": [{"message_id": "m1", "pending": True}]},
            {"_id": "o3"},
            {"_id": "o4", "_outbox": [{"message_id": "m2"}, {"message_id": "m3", "pending": True}]},
        ]
    )
    assert await ids(coll, {"_outbox.pending": True}) == ["o2", "o4"]
    assert await ids(coll, {"_outbox.message_id": "m2"}) == ["o4"]


@pytest.fixture
async def sparse(store_db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    coll = store_db.sparse
    await coll.insert_many(
        [{"_id": "d1", "erased_at": T0}, {"_id": "d2", "erased_at": "soon"}, {"_id": "d3"}]
    )
    return coll


async def test_exists_true_matches_present_non_null(sparse: AsyncCollection[Doc]) -> None:
    """$exists: true matches documents that contain the field (here with non-null values)."""
    assert await ids(sparse, {"erased_at": {"$exists": True}}) == ["d1", "d2"]


async def test_exists_false_matches_absent(sparse: AsyncCollection[Doc]) -> None:
    """$exists: false matches only documents that lack the field."""
    assert await ids(sparse, {"erased_at": {"$exists": False}}) == ["d3"]
