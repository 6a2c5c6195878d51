"""The outbox relay publishes a whole batch of documents' messages together and clears their
outboxes together, without losing a message appended meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient

from servicekit.messages import Outgoing
from servicekit.outbox import OUTBOX, PENDING, OutboxRelay, add_outbox, with_outbox
from servicekit.settings import ServiceSettings
from support.messages import outgoing_thing

Doc = dict[str, Any]


class RecordingBus:
    """Stands in for the bus: records each `publish_many` call, and can run a write in the
    middle of one (as another handler appending to an outbox would)."""

    service = "alpha"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.during_publish: Any = None

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Record the ids of one call's messages."""
        self.calls.append([message.message_id for message in messages])
        if self.during_publish is not None:
            action, self.during_publish = self.during_publish, None
            await action()


async def _relay_with(settings: ServiceSettings) -> tuple[AsyncMongoClient[Doc], Any, Any]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    db = client[settings.database_name("alpha")]
    bus = RecordingBus()
    relay = OutboxRelay(db=db, collections=["things"], bus=bus, poll_seconds=60)  # type: ignore[arg-type]
    return client, relay, bus


async def test_one_drain_publishes_every_document_at_once_and_clears_them(
    settings: ServiceSettings,
) -> None:
    """Documents holding one, two and no messages are published in a single call and all
    end with an empty outbox and no pending flag."""
    client, relay, bus = await _relay_with(settings)
    things = client[settings.database_name("alpha")]["things"]
    try:
        await things.insert_one(with_outbox({"_id": "a"}, outgoing_thing(1)))
        await things.insert_one(with_outbox({"_id": "b"}, outgoing_thing(2), outgoing_thing(3)))
        await things.insert_one(with_outbox({"_id": "c"}, outgoing_thing(4)))
        await things.update_one({"_id": "c"}, {"$set": {PENDING: 1, OUTBOX: []}})
        assert await relay.drain(["things"]) == []
        assert len(bus.calls) == 1
        assert sorted(bus.calls[0]) == ["msg_1", "msg_2", "msg_3"]
        stored = {doc["_id"]: doc async for doc in things.find({})}
        assert all(doc[OUTBOX] == [] and doc[PENDING] == 0 for doc in stored.values())
    finally:
        await client.close()


async def test_a_message_appended_while_publishing_stays_for_the_next_drain(
    settings: ServiceSettings,
) -> None:
    """A message added to one document while its batch is being published is neither
    cleared nor lost: the other documents are cleared, it stays pending and goes out next."""
    client, relay, bus = await _relay_with(settings)
    things = client[settings.database_name("alpha")]["things"]
    try:
        await things.insert_one(with_outbox({"_id": "a"}, outgoing_thing(1)))
        await things.insert_one(with_outbox({"_id": "b"}, outgoing_thing(2)))

        async def append_to_a() -> None:
            await things.update_one(
                {"_id": "a"}, add_outbox({"$set": {"seen": 1}}, outgoing_thing(5))
            )

        bus.during_publish = append_to_a
        await relay.drain(["things"])
        a = await things.find_one({"_id": "a"})
        b = await things.find_one({"_id": "b"})
        assert a is not None
        assert b is not None
        assert [entry["message_id"] for entry in a[OUTBOX]] == ["msg_5"]
        assert a[PENDING] == 1
        assert b[OUTBOX] == []
        assert b[PENDING] == 0
        await relay.drain(["things"])
        assert bus.calls[-1] == ["msg_5"]
        a = await things.find_one({"_id": "a"})
        assert a is not None
        assert a[OUTBOX] == []
        assert a[PENDING] == 0
    finally:
        await client.close()


async def test_another_relays_clear_in_between_does_not_wipe_a_new_message(
    settings: ServiceSettings,
) -> None:
    """Two relays (two replicas) drain the same document: while the first publishes, the
    second publishes and clears it and a writer appends a new message, so the outbox is as
    long as when the first read it. The first relay's clear leaves the new message pending,
    and it is published next."""
    client, first, bus = await _relay_with(settings)
    other_client, second, other_bus = await _relay_with(settings)
    things = client[settings.database_name("alpha")]["things"]
    try:
        await things.insert_one(with_outbox({"_id": "a"}, outgoing_thing(1)))

        async def second_drains_then_a_write_appends() -> None:
            await second.drain(["things"])
            await things.update_one({"_id": "a"}, add_outbox({"$set": {"x": 1}}, outgoing_thing(2)))

        bus.during_publish = second_drains_then_a_write_appends
        await first.drain(["things"])
        a = await things.find_one({"_id": "a"})
        assert a is not None
        assert [entry["message_id"] for entry in a[OUTBOX]] == ["msg_2"]
        assert a[PENDING] == 1
        await first.drain(["things"])
        assert bus.calls == [["msg_1"], ["msg_2"]]
        assert other_bus.calls == [["msg_1"]]
        a = await things.find_one({"_id": "a"})
        assert a is not None
        assert (a[OUTBOX], a[PENDING]) == ([], 0)
    finally:
        await client.close()
        await other_client.close()
