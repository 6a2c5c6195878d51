"""Store vocabulary: string `_id`s, unique indexes, duplicate-key errors, index management."""

from typing import Any

import pytest
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

pytestmark = pytest.mark.store

Doc = dict[str, Any]


async def test_insert_one_and_find_one_by_string_id(store_db: AsyncDatabase[Doc]) -> None:
    """insert_one keeps a client-supplied string _id; find_one by _id returns the doc, else None."""
    coll = store_db.partners
    result = await coll.insert_one({"_id": "ptn_01", "name": "Acme"})
    assert result.inserted_id == "ptn_01"
    assert await coll.find_one({"_id": "ptn_01"}) == {"_id": "ptn_01", "name": "Acme"}
    assert await coll.find_one({"_id": "ptn_02"}) is None


async def test_duplicate_id_raises_duplicate_key_error(store_db: AsyncDatabase[Doc]) -> None:
    """A second insert with an existing _id fails with code 11000 and leaves the first intact."""
    coll = store_db.partners
    await coll.insert_one({"_id": "ptn_01", "name": "Acme"})
    with pytest.raises(DuplicateKeyError) as caught:
        await coll.insert_one({"_id": "ptn_01", "name": "Other"})
    assert caught.value.code == 11000
    assert await coll.find_one({"_id": "ptn_01"}) == {"_id": "ptn_01", "name": "Acme"}


async def test_unique_secondary_index_rejects_duplicate(store_db: AsyncDatabase[Doc]) -> None:
    """An insert that repeats a value of a unique index fails with code 11000."""
    coll = store_db.users
    await coll.create_index("email", unique=True)
    await coll.insert_one({"_id": "usr_1", "email": "a@example.com"})
    await coll.insert_one({"_id": "usr_2", "email": "b@example.com"})
    with pytest.raises(DuplicateKeyError) as caught:
        await coll.insert_one({"_id": "usr_3", "email": "a@example.com"})
    assert caught.value.code == 11000
    assert await coll.count_documents({}) == 2


async def test_compound_unique_index_rejects_only_repeated_pair(
    store_db: AsyncDatabase[Doc],
) -> None:
    """A compound unique index rejects a repeated combination but accepts each part repeated."""
    coll = store_db.orders
    await coll.create_index([("partner_id", ASCENDING), ("ref", ASCENDING)], unique=True)
    await coll.insert_one({"_id": "o1", "partner_id": "p1", "ref": "r1"})
    await coll.insert_one({"_id": "o2", "partner_id": "p1", "ref": "r2"})
    await coll.insert_one({"_id": "o3", "partner_id": "p2", "ref": "r1"})
    with pytest.raises(DuplicateKeyError) as caught:
        await coll.insert_one({"_id": "o4", "partner_id": "p1", "ref": "r1"})
    assert caught.value.code == 11000
    assert await coll.count_documents({}) == 3


async def test_create_index_twice_is_idempotent(store_db: AsyncDatabase[Doc]) -> None:
    """create_index with an identical spec and options is a no-op returning the same name."""
    coll = store_db.users
    first = await coll.create_index("email", unique=True)
    second = await coll.create_index("email", unique=True)
    assert first == second
    keys = [dict(ix["key"]) async for ix in await coll.list_indexes()]
    assert keys.count({"email": 1}) == 1


async def test_list_indexes_shows_unique_flag(store_db: AsyncDatabase[Doc]) -> None:
    """list_indexes reports unique: true for a unique index and not for a plain one."""
    coll = store_db.users
    await coll.create_index("email", unique=True)
    await coll.create_index([("partner_id", ASCENDING), ("created_at", ASCENDING)])
    by_key = {tuple(ix["key"].items()): ix async for ix in await coll.list_indexes()}
    assert by_key[(("email", 1),)].get("unique") is True
    assert not by_key[(("partner_id", 1), ("created_at", 1))].get("unique", False)
    assert (("_id", 1),) in by_key
