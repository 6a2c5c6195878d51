"""Store vocabulary: update operators, upserts, and update counts."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_set_replaces_and_adds_fields(store_db: AsyncDatabase[Doc]) -> None:
    """$set replaces an existing field's value and adds a missing field, leaving others alone."""
    coll = store_db.partners
    await coll.insert_one({"_id": "p1", "name": "Acme", "status": "pending"})
    await coll.update_one({"_id": "p1"}, {"$set": {"status": "active", "tier": 2}})
    assert await coll.find_one({"_id": "p1"}) == {
        "_id": "p1",
        "name": "Acme",
        "status": "active",
        "tier": 2,
    }


async def test_set_dotted_path_updates_subdocument_field(store_db: AsyncDatabase[Doc]) -> None:
    """$set on "a.b" changes only b inside subdocument a, creating a when it is missing."""
    coll = store_db.partners
    await coll.insert_many(
        [{"_id": "p1", "address": {"city": "Berlin", "country": "DE"}}, {"_id": "p2"}]
    )
    await coll.update_one({"_id": "p1"}, {"$set": {"address.city": "Hamburg"}})
    await coll.update_one({"_id": "p2"}, {"$set": {"address.city": "Paris"}})
    assert await coll.find_one({"_id": "p1"}) == {
        "_id": "p1",
        "address": {"city": "Hamburg", "country": "DE"},
    }
    assert await coll.find_one({"_id": "p2"}) == {"_id": "p2", "address": {"city": "Paris"}}


async def test_set_subdocument_value_keeps_datetime_and_bool(
    store_db: AsyncDatabase[Doc],
) -> None:
    """$set of a subdocument value stores its dates and booleans as BSON dates and booleans."""
    coll = store_db.orders
    await coll.insert_many([{"_id": f"o{i}", "status": "pending"} for i in range(3)])
    for i in range(3):
        completion = {"at": T0 + timedelta(hours=i), "refunded": i == 1}
        await coll.update_one(
            {"_id": f"o{i}"}, {"$set": {"status": "completed", "completion": completion}}
        )
    doc = await coll.find_one({"_id": "o1"})
    assert doc == {
        "_id": "o1",
        "status": "completed",
        "completion": {"at": T0 + timedelta(hours=1), "refunded": True},
    }
    assert type(doc["completion"]["refunded"]) is bool
    later = coll.find({"completion.at": {"$gte": T0 + timedelta(hours=1)}}).sort("_id", 1)
    assert [d["_id"] async for d in later] == ["o1", "o2"]


async def test_unset_removes_field(store_db: AsyncDatabase[Doc]) -> None:
    """$unset removes the field from the document."""
    coll = store_db.users
    await coll.insert_one({"_id": "u1", "email": "a@example.com", "phone": "+49"})
    await coll.update_one({"_id": "u1"}, {"$unset": {"phone": ""}})
    assert await coll.find_one({"_id": "u1"}) == {"_id": "u1", "email": "a@example.com"}


async def test_inc_adds_to_existing_and_creates_missing(store_db: AsyncDatabase[Doc]) -> None:
    """$inc adds to an existing number (negative amounts subtract) and creates a missing field."""
    coll = store_db.accounts
    await coll.insert_one({"_id": "a1", "balance": 100})
    await coll.update_one({"_id": "a1"}, {"$inc": {"balance": -30, "debits": 1}})
    assert await coll.find_one({"_id": "a1"}) == {"_id": "a1", "balance": 70, "debits": 1}


async def test_push_appends_single_value(store_db: AsyncDatabase[Doc]) -> None:
    """$push appends one element, creating the array when the field is missing."""
    coll = store_db.orders
    await coll.insert_many([{"_id": "o1", "ids": ["m1"]}, {"_id": "o2"}])
    await coll.update_one({"_id": "o1"}, {"$push": {"ids": "m2"}})
    await coll.update_one({"_id": "o2"}, {"$push": {"ids": "m3"}})
    assert (await coll.find_one({"_id": "o1"}))["ids"] == ["m1", "m2"]  # type: ignore[index]
    assert (await coll.find_one({"_id": "o2"}))["ids"] == ["m3"]  # type: ignore[index]


async def test_push_each_appends_in_order(store_db: AsyncDatabase[Doc]) -> None:
    """$push with $each appends every element in the given order."""
    coll = store_db.orders
    await coll.insert_one({"_id": "o1", "log": ["a"]})
    await coll.update_one({"_id": "o1"}, {"$push": {"log": {"$each": ["b", "c", "d"]}}})
    assert (await coll.find_one({"_id": "o1"}))["log"] == ["a", "b", "c", "d"]  # type: ignore[index]


async def test_add_to_set_adds_only_absent_values(store_db: AsyncDatabase[Doc]) -> None:
    """$addToSet adds a value only when absent; adding a present value modifies nothing."""
    coll = store_db.users
    await coll.insert_one({"_id": "u1", "roles": ["viewer"]})
    added = await coll.update_one({"_id": "u1"}, {"$addToSet": {"roles": "admin"}})
    again = await coll.update_one({"_id": "u1"}, {"$addToSet": {"roles": "admin"}})
    assert (added.matched_count, added.modified_count) == (1, 1)
    assert (again.matched_count, again.modified_count) == (1, 0)
    assert (await coll.find_one({"_id": "u1"}))["roles"] == ["viewer", "admin"]  # type: ignore[index]


async def test_add_to_set_each_adds_missing_values(store_db: AsyncDatabase[Doc]) -> None:
    """$addToSet with $each adds each value that is not yet in the array, in order."""
    coll = store_db.users
    await coll.insert_one({"_id": "u1", "roles": ["viewer"]})
    await coll.update_one(
        {"_id": "u1"}, {"$addToSet": {"roles": {"$each": ["admin", "viewer", "billing"]}}}
    )
    assert (await coll.find_one({"_id": "u1"}))["roles"] == [  # type: ignore[index]
        "viewer",
        "admin",
        "billing",
    ]


async def test_add_to_set_appends_subdocument_to_existing_array(
    store_db: AsyncDatabase[Doc],
) -> None:
    """$addToSet appends a new subdocument (nested values intact) to an existing array, in order."""
    coll = store_db.orders
    await coll.insert_one({"_id": "o1", "status": "pending", "_outbox": []})
    first = {"message_id": "m1", "type": "order_created.v1", "body": {"lines": [1, 2]}}
    second = {"message_id": "m2", "type": "order_completed.v1", "body": {"iccid": "8901"}}
    await coll.update_one({"_id": "o1"}, {"$addToSet": {"_outbox": first}})
    result = await coll.update_one(
        {"_id": "o1"}, {"$set": {"status": "completed"}, "$addToSet": {"_outbox": second}}
    )
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert await coll.find_one({"_id": "o1"}) == {
        "_id": "o1",
        "status": "completed",
        "_outbox": [first, second],
    }


async def test_pull_exact_subdocument(store_db: AsyncDatabase[Doc]) -> None:
    """$pull with a whole subdocument removes the elements with exactly those fields and values."""
    coll = store_db.orders
    outbox = [
        {"message_id": f"m{i}", "at": T0, "body": {"order_id": "o1", "lines": [i]}}
        for i in range(1, 4)
    ]
    await coll.insert_one({"_id": "o1", "_outbox": outbox})
    stored = (await coll.find_one({"_id": "o1"}))["_outbox"]  # type: ignore[index]
    result = await coll.update_one({"_id": "o1"}, {"$pull": {"_outbox": stored[1]}})
    missing = await coll.update_one({"_id": "o1"}, {"$pull": {"_outbox": stored[1]}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert (missing.matched_count, missing.modified_count) == (1, 0)
    assert (await coll.find_one({"_id": "o1"}))["_outbox"] == [outbox[0], outbox[2]]  # type: ignore[index]


async def test_pull_all_exact_subdocuments(store_db: AsyncDatabase[Doc]) -> None:
    """$pullAll removes every element equal to one of the listed values; absent ones are ignored."""
    coll = store_db.orders
    outbox = [{"message_id": f"m{i}", "at": T0, "body": {"lines": [i]}} for i in range(1, 5)]
    await coll.insert_one({"_id": "o1", "_outbox": outbox})
    stored = (await coll.find_one({"_id": "o1"}))["_outbox"]  # type: ignore[index]
    gone = {"message_id": "m9", "at": T0, "body": {"lines": [9]}}
    result = await coll.update_one(
        {"_id": "o1"}, {"$pullAll": {"_outbox": [stored[0], stored[2], gone]}}
    )
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert (await coll.find_one({"_id": "o1"}))["_outbox"] == [outbox[1], outbox[3]]  # type: ignore[index]


async def test_pull_guarded_by_dotted_equality_applies_once(store_db: AsyncDatabase[Doc]) -> None:
    """Filter {"_outbox.message_id": m} with $pull of that entry and $inc matches only once."""
    coll = store_db.orders
    entries = [{"message_id": "m1", "at": T0}, {"message_id": "m2", "at": T0}]
    await coll.insert_one({"_id": "o1", "published": 0, "_outbox": entries})
    query = {"_id": "o1", "_outbox.message_id": "m1"}
    update = {"$pull": {"_outbox": entries[0]}, "$inc": {"published": 1}}
    first = await coll.update_one(query, update)
    second = await coll.update_one(query, update)
    assert (first.modified_count, second.matched_count) == (1, 0)
    assert await coll.find_one({"_id": "o1"}) == {
        "_id": "o1",
        "published": 1,
        "_outbox": [entries[1]],
    }


async def test_pull_scalar_value(store_db: AsyncDatabase[Doc]) -> None:
    """$pull with a plain value removes every element equal to it."""
    coll = store_db.users
    await coll.insert_one({"_id": "u1", "roles": ["viewer", "admin", "viewer"]})
    await coll.update_one({"_id": "u1"}, {"$pull": {"roles": "viewer"}})
    assert (await coll.find_one({"_id": "u1"}))["roles"] == ["admin"]  # type: ignore[index]


async def test_set_on_insert_applies_only_when_upsert_inserts(
    store_db: AsyncDatabase[Doc],
) -> None:
    """With upsert, $setOnInsert fields are written on insert only; $set applies either way."""
    coll = store_db.counters
    query = {"_id": "c1"}
    update = {"$setOnInsert": {"created_at": T0, "active": True}, "$set": {"seen": 1}}
    first = await coll.update_one(query, update, upsert=True)
    assert first.upserted_id == "c1"
    assert (first.matched_count, first.modified_count) == (0, 0)
    later = T0 + timedelta(days=1)
    second = await coll.update_one(
        query,
        {"$setOnInsert": {"created_at": later, "active": False}, "$set": {"seen": 2}},
        upsert=True,
    )
    assert second.upserted_id is None
    assert (second.matched_count, second.modified_count) == (1, 1)
    doc = await coll.find_one(query)
    assert doc == {"_id": "c1", "created_at": T0, "active": True, "seen": 2}
    assert type(doc["active"]) is bool


async def test_upsert_copies_equality_fields_from_filter(store_db: AsyncDatabase[Doc]) -> None:
    """An upsert that inserts builds the new document from the filter's equality fields."""
    coll = store_db.usage
    result = await coll.update_one(
        {"iccid": "8901", "day": "2026-03-01"}, {"$inc": {"bytes": 500}}, upsert=True
    )
    assert result.upserted_id is not None
    doc = await coll.find_one({"_id": result.upserted_id}, {"_id": 0})
    assert doc == {"iccid": "8901", "day": "2026-03-01", "bytes": 500}


async def test_update_one_counts(store_db: AsyncDatabase[Doc]) -> None:
    """update_one reports 0/0 on no match, 1/1 on a change, 1/0 when the values are unchanged."""
    coll = store_db.partners
    await coll.insert_one({"_id": "p1", "status": "active"})
    miss = await coll.update_one({"_id": "p9"}, {"$set": {"status": "closed"}})
    change = await coll.update_one({"_id": "p1"}, {"$set": {"status": "closed"}})
    same = await coll.update_one({"_id": "p1"}, {"$set": {"status": "closed"}})
    assert (miss.matched_count, miss.modified_count) == (0, 0)
    assert (change.matched_count, change.modified_count) == (1, 1)
    assert (same.matched_count, same.modified_count) == (1, 0)


async def test_update_one_changes_only_one_of_many_matches(store_db: AsyncDatabase[Doc]) -> None:
    """update_one modifies at most one document even when several match."""
    coll = store_db.partners
    await coll.insert_many([{"_id": f"p{i}", "status": "pending"} for i in range(3)])
    result = await coll.update_one({"status": "pending"}, {"$set": {"status": "active"}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert await coll.count_documents({"status": "active"}) == 1


async def test_update_many_changes_all_matches(store_db: AsyncDatabase[Doc]) -> None:
    """update_many modifies every matching document and reports their counts."""
    coll = store_db.partners
    await coll.insert_many(
        [{"_id": f"p{i}", "status": "pending" if i < 3 else "active"} for i in range(5)]
    )
    result = await coll.update_many({"status": "pending"}, {"$set": {"status": "expired"}})
    assert (result.matched_count, result.modified_count) == (3, 3)
    assert await coll.count_documents({"status": "expired"}) == 3
    assert await coll.count_documents({"status": "active"}) == 2
