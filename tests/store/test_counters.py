"""Counters that grow past 32 bits: byte counts of data allowances (decision 0002)."""

from typing import Any

import pytest
from bson import Int64
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


pytestmark = pytest.mark.store

GIB = 1024**3


async def test_inc_of_64_bit_counters_is_exact(store_db: AsyncDatabase[Doc]) -> None:
    """`$inc` of Int64 values past 2**31 adds exactly (a 32-bit counter wraps on FerretDB)."""
    await store_db.c.insert_one({"_id": 1, "total": Int64(GIB)})
    await store_db.c.update_one({"_id": 1}, {"$inc": {"total": Int64(GIB)}})
    await store_db.c.update_one({"_id": 1}, {"$inc": {"total": Int64(3 * GIB)}})
    found = await store_db.c.find_one({"_id": 1})
    assert found is not None
    assert found["total"] == 5 * GIB
