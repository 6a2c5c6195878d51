"""Grouped store calls: inserts and reads of concurrent handlers share one command, and each
caller still gets its own answer (inserted, already stored, found)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from servicekit.grouped import (
    Group,
    GroupedFinds,
    GroupedInserts,
    deletes_from,
    grouped_lookup,
    inserts_into,
    lookups_in,
)
from servicekit.settings import ServiceSettings
from support.commands import Commands, watched_client

Doc = dict[str, Any]


@pytest.fixture
async def counted(settings: ServiceSettings) -> AsyncIterator[tuple[Any, Commands]]:
    """A collection of the test's database, and the commands its client sends."""
    async with watched_client(settings.mongo_url) as (client, commands):
        yield client[settings.database_name("alpha")]["grouped"], commands


async def test_concurrent_inserts_go_in_fewer_commands_and_each_learns_its_outcome(
    counted: tuple[Any, Commands],
) -> None:
    """Ten inserts made at once, one of an `_id` stored before and one repeated, take fewer
    than ten commands; each caller learns whether its document was written."""
    collection, commands = counted
    await collection.insert_one({"_id": "old", "n": 0})
    commands.clear()
    inserts = GroupedInserts(collection)
    documents = [{"_id": f"d{i}", "n": i} for i in range(8)] + [{"_id": "old"}, {"_id": "d0"}]
    outcomes = await asyncio.gather(*(inserts.insert(document) for document in documents))
    assert outcomes == [True] * 8 + [False, False]
    assert commands.names.count("insert") < len(documents)
    stored = {doc["_id"]: doc["n"] async for doc in collection.find({})}
    assert stored == {"old": 0, **{f"d{i}": i for i in range(8)}}


async def test_a_lone_insert_goes_at_once_and_reports_a_duplicate(
    counted: tuple[Any, Commands],
) -> None:
    """An insert alone is one command; inserting its `_id` again answers False and changes
    nothing."""
    collection, commands = counted
    inserts = GroupedInserts(collection)
    assert await inserts.insert({"_id": "a", "v": 1}) is True
    assert await inserts.insert({"_id": "a", "v": 2}) is False
    assert commands.names.count("insert") == 2
    assert await collection.find_one({"_id": "a"}) == {"_id": "a", "v": 1}


async def test_concurrent_reads_by_id_share_a_query_and_each_gets_its_own(
    counted: tuple[Any, Commands],
) -> None:
    """Reads by `_id` made at once take fewer queries than callers; each gets its documents
    (in the order asked, missing ones left out) or None."""
    collection, commands = counted
    await collection.insert_many([{"_id": f"k{i}", "n": i} for i in range(5)])
    commands.clear()
    finds = GroupedFinds(collection)
    one, missing, several, none = await asyncio.gather(
        finds.find("k1"),
        finds.find("nope"),
        finds.find_all(["k4", "nope", "k2", "k4"]),
        finds.find_all([]),
    )
    assert one == {"_id": "k1", "n": 1}
    assert missing is None
    assert several == [{"_id": "k4", "n": 4}, {"_id": "k2", "n": 2}]
    assert none == []
    assert commands.names.count("find") < 3


async def test_inserts_into_the_same_collection_share_one_writer(
    counted: tuple[Any, Commands],
) -> None:
    """`inserts_into` hands every caller on the loop the same grouped writer of a
    collection, so their inserts can go together."""
    collection, _ = counted
    assert inserts_into(collection) is inserts_into(collection.database["grouped"])
    assert inserts_into(collection) is not inserts_into(collection.database["other"])


async def test_concurrent_lookups_by_a_field_each_get_what_their_filter_matches(
    counted: tuple[Any, Commands],
) -> None:
    """Lookups by a nested scalar field and by an array field made at once take fewer queries
    than callers; each gets exactly the documents `{field: {$in: its values}}` matches, and
    no two callers share a document object."""
    collection, commands = counted
    await collection.insert_many(
        [
            {"_id": "o1", "user": {"mail": "a"}, "iccids": ["i1", "i2"]},
            {"_id": "o2", "user": {"mail": "b"}, "iccids": ["i2"]},
            {"_id": "o3", "user": {"mail": "c"}, "iccids": []},
        ]
    )
    commands.clear()
    by_mail = lookups_in(collection, "user.mail")
    a, bc, nobody = await asyncio.gather(
        by_mail.find_in(["a"]), by_mail.find_in(["b", "c"]), by_mail.find_in(["z"])
    )
    assert [d["_id"] for d in a] == ["o1"]
    assert sorted(d["_id"] for d in bc) == ["o2", "o3"]
    assert nobody == []
    by_iccid = lookups_in(collection, "iccids")
    first, second = await asyncio.gather(by_iccid.find_in(["i1"]), by_iccid.find_in(["i2"]))
    assert [d["_id"] for d in first] == ["o1"]
    assert sorted(d["_id"] for d in second) == ["o1", "o2"]
    first[0]["iccids"].append("changed")
    assert "changed" not in next(d for d in second if d["_id"] == "o1")["iccids"]
    assert commands.names.count("find") < 5


async def test_a_lookup_of_another_shape_is_read_as_it_is(counted: tuple[Any, Commands]) -> None:
    """`grouped_lookup` answers one-field criteria through the field's grouped lookups and
    reads any other criterion as given."""
    collection, _ = counted
    await collection.insert_many([{"_id": 1, "k": "x", "n": 1}, {"_id": 2, "k": "x", "n": 2}])
    assert [d["_id"] for d in await grouped_lookup(collection, {"k": "x"})] == [1, 2]
    assert [d["_id"] for d in await grouped_lookup(collection, {"k": {"$in": ["x"]}})] == [1, 2]
    assert [d["_id"] for d in await grouped_lookup(collection, {"k": "x", "n": 2})] == [2]


async def test_concurrent_deletes_by_a_field_share_a_command_and_remove_only_what_was_named(
    counted: tuple[Any, Commands],
) -> None:
    """Deletes by a field made at once take fewer commands than callers; each removes the
    documents it named (missing values and no values are fine) and nothing else."""
    collection, commands = counted
    await collection.insert_many([{"_id": f"r{i}", "owner": f"o{i % 4}"} for i in range(12)])
    commands.clear()
    by_owner = deletes_from(collection, "owner")
    await asyncio.gather(
        by_owner.delete_in(["o0"]),
        by_owner.delete_in(["o1", "nobody"]),
        by_owner.delete_in([]),
        by_owner.delete_in(["o1"]),
    )
    assert commands.names.count("delete") < 3
    left = sorted([doc["owner"] async for doc in collection.find({})])
    assert left == ["o2"] * 3 + ["o3"] * 3
    await deletes_from(collection).delete_in(["r2", "r6"])
    assert sorted([doc["_id"] async for doc in collection.find({})]) == sorted(
        ["r3", "r7", "r10", "r11"]
    )
    assert deletes_from(collection, "owner") is by_owner


async def test_a_group_runs_a_lone_call_at_once_and_batches_the_calls_made_meanwhile() -> None:
    """The first call runs alone; calls made while it runs go together in one batch; each
    caller gets its own result or its own exception."""
    batches: list[list[int]] = []

    async def run(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        await asyncio.sleep(0)
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]

    group: Group[int, int] = Group(run, 256)
    outcomes = await asyncio.gather(*(group.call(i) for i in [1, 2, -3, 4]), return_exceptions=True)
    assert outcomes[:2] == [10, 20]
    assert outcomes[3] == 40
    assert isinstance(outcomes[2], ValueError)
    assert batches == [[1], [2, -3, 4]]
    assert await group.call(5) == 50
