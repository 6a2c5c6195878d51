"""Store vocabulary: aggregation limited to $match, $group ($sum), $sort, $skip, $limit, $project.

Each $group carries exactly one accumulator, $sum of a field or $sum: 1 (see decision 0002).
"""

from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = pytest.mark.store

Doc = dict[str, Any]


@pytest.fixture
async def usage(store_db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    coll = store_db.usage
    await coll.insert_many(
        [
            {"_id": "u1", "partner": "p1", "bytes": 100, "day": 1, "esim": {"iccid": "A"}},
            {"_id": "u2", "partner": "p1", "bytes": 300, "day": 2, "esim": {"iccid": "B"}},
            {"_id": "u3", "partner": "p2", "bytes": 50, "day": 1, "esim": {"iccid": "A"}},
            {"_id": "u4", "partner": "p1", "bytes": 200, "day": 3, "esim": {"iccid": "A"}},
            {"_id": "u5", "partner": "p3", "bytes": 400, "day": 2, "esim": {"iccid": "C"}},
            {"_id": "u6", "partner": "p2", "bytes": 150, "day": 3, "esim": {"iccid": "B"}},
        ]
    )
    return coll


async def run(coll: AsyncCollection[Doc], pipeline: list[Doc]) -> list[Doc]:
    return await (await coll.aggregate(pipeline)).to_list()


async def test_match_then_group_sum_of_field(usage: AsyncCollection[Doc]) -> None:
    """$match then $group by a field with $sum of a field totals that field per group key."""
    rows = await run(
        usage,
        [
            {"$match": {"day": {"$gte": 2}}},
            {"$group": {"_id": "$partner", "total": {"$sum": "$bytes"}}},
            {"$sort": {"_id": 1}},
        ],
    )
    assert rows == [
        {"_id": "p1", "total": 500},
        {"_id": "p2", "total": 150},
        {"_id": "p3", "total": 400},
    ]


async def test_group_sum_one_counts(usage: AsyncCollection[Doc]) -> None:
    """$group with {"$sum": 1} counts the documents per group key."""
    rows = await run(
        usage, [{"$group": {"_id": "$partner", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
    )
    assert rows == [{"_id": "p1", "n": 3}, {"_id": "p2", "n": 2}, {"_id": "p3", "n": 1}]


async def test_group_by_dotted_path(usage: AsyncCollection[Doc]) -> None:
    """$group by "$a.b" groups on a field inside a subdocument."""
    rows = await run(
        usage,
        [{"$group": {"_id": "$esim.iccid", "total": {"$sum": "$bytes"}}}, {"$sort": {"_id": 1}}],
    )
    assert rows == [
        {"_id": "A", "total": 350},
        {"_id": "B", "total": 450},
        {"_id": "C", "total": 400},
    ]


async def test_group_by_null_totals_matched_documents(usage: AsyncCollection[Doc]) -> None:
    """$group with _id: null produces one row over every document that reached it."""
    rows = await run(
        usage,
        [{"$match": {"partner": "p1"}}, {"$group": {"_id": None, "total": {"$sum": "$bytes"}}}],
    )
    assert rows == [{"_id": None, "total": 600}]


async def test_match_nothing_then_group_yields_no_rows(usage: AsyncCollection[Doc]) -> None:
    """$group over no input documents produces no output rows."""
    rows = await run(
        usage, [{"$match": {"partner": "p9"}}, {"$group": {"_id": None, "n": {"$sum": 1}}}]
    )
    assert rows == []


async def test_group_then_sort_skip_limit(usage: AsyncCollection[Doc]) -> None:
    """$sort, $skip and $limit after $group order and page the grouped rows."""
    rows = await run(
        usage,
        [
            {"$group": {"_id": "$partner", "total": {"$sum": "$bytes"}}},
            {"$sort": {"total": -1, "_id": 1}},
            {"$skip": 1},
            {"$limit": 1},
        ],
    )
    assert rows == [{"_id": "p3", "total": 400}]


async def test_sort_skip_limit_on_documents(usage: AsyncCollection[Doc]) -> None:
    """$sort on two keys, then $skip and $limit, return the requested slice of documents."""
    rows = await run(
        usage,
        [
            {"$sort": {"day": 1, "bytes": -1}},
            {"$skip": 1},
            {"$limit": 3},
            {"$project": {"_id": 1, "bytes": 1}},
        ],
    )
    assert rows == [
        {"_id": "u3", "bytes": 50},
        {"_id": "u5", "bytes": 400},
        {"_id": "u2", "bytes": 300},
    ]


async def test_project_include_and_exclude_id(usage: AsyncCollection[Doc]) -> None:
    """$project with field: 1 keeps the listed fields; _id: 0 drops _id."""
    rows = await run(
        usage,
        [{"$match": {"_id": "u1"}}, {"$project": {"_id": 0, "partner": 1, "bytes": 1}}],
    )
    assert rows == [{"partner": "p1", "bytes": 100}]


async def test_project_exclude(usage: AsyncCollection[Doc]) -> None:
    """$project with field: 0 removes the listed fields and keeps the rest."""
    rows = await run(
        usage, [{"$match": {"_id": "u1"}}, {"$project": {"day": 0, "bytes": 0, "esim": 0}}]
    )
    assert rows == [{"_id": "u1", "partner": "p1"}]
