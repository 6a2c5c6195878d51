"""Store vocabulary: membership in an INDEXED array field is asked with `$in`."""

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]


async def test_in_finds_members_of_an_indexed_array_field(store_db: AsyncDatabase[Doc]) -> None:
    """With an index on an array field, `{field: {"$in": [v]}}` matches every document whose
    array holds v (MongoDB: also `{field: v}`, which nx-27017 then misses; see decision 0002)."""
    packages = store_db.packages
    await packages.create_index("countries")
    await packages.insert_many(
        [
            {"_id": "pkg_de", "countries": ["DE"]},
            {"_id": "pkg_eu", "countries": ["DE", "FR", "IT"]},
            {"_id": "pkg_fr", "countries": ["FR"]},
        ]
    )
    found = packages.find({"countries": {"$in": ["DE"]}}, {"_id": 1}).sort("_id", 1)
    assert [doc["_id"] async for doc in found] == ["pkg_de", "pkg_eu"]
    both = packages.find({"countries": {"$in": ["DE", "FR"]}}, {"_id": 1}).sort("_id", 1)
    assert [doc["_id"] async for doc in both] == ["pkg_de", "pkg_eu", "pkg_fr"]
