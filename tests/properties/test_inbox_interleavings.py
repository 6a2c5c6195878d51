"""Property test of the inbox against the real store: however copies of messages arrive
(duplicates, at the same time, after a crash between the effect and its record), each
message's effect happens exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from servicekit.inbox import Inbox, update_once
from support.names import unique_namespace


@dataclass(frozen=True)
class Delivery:
    """One copy of a message; `crashes` stops it after its effect, before the inbox record."""

    message_id: str
    crashes: bool


DELIVERIES = st.lists(
    st.builds(Delivery, st.sampled_from(["m1", "m2", "m3", "m4"]), st.booleans()),
    min_size=1,
    max_size=14,
)


async def _deliver(inbox: Inbox, counter: AsyncCollection[dict[str, Any]], copy: Delivery) -> bool:
    """What a consumer does with one copy: skip if seen, apply once, record."""
    if await inbox.seen(copy.message_id):
        return False
    applied = await update_once(counter, {"_id": "counter"}, {"$inc": {"n": 1}}, copy.message_id)
    if not copy.crashes:
        await inbox.record(copy.message_id, "test.counted.v1")
    return applied


async def _run(mongo_url: str, deliveries: list[Delivery], at_once: int) -> tuple[int, int]:
    """Deliver the copies `at_once` at a time; the stored count and the effects reported."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    name = f"{unique_namespace()}_inbox"
    try:
        db = client[name]
        counter = db["counter"]
        await counter.insert_one({"_id": "counter", "n": 0})
        inbox = Inbox(db)
        reported = 0
        for start in range(0, len(deliveries), at_once):
            group = deliveries[start : start + at_once]
            results = await asyncio.gather(*(_deliver(inbox, counter, c) for c in group))
            reported += sum(results)
        stored = await counter.find_one({"_id": "counter"})
        assert stored is not None
        return int(stored["n"]), reported
    finally:
        await client.drop_database(name)
        await client.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries=DELIVERIES, at_once=st.integers(min_value=1, max_value=6))
def test_any_interleaving_of_copies_applies_each_message_once(
    mongo_url: str, deliveries: list[Delivery], at_once: int
) -> None:
    """The count equals the number of distinct messages, and exactly that many deliveries
    report having applied their effect, whatever the duplicates, grouping and crashes."""
    stored, reported = asyncio.run(_run(mongo_url, deliveries, at_once))
    distinct = len({copy.message_id for copy in deliveries})
    assert stored == distinct
    assert reported == distinct
