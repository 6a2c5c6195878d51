"""The relay learns of outbox writes from the store client's command events and publishes at
once what they left pending; its poll finds whatever it could not see."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pymongo import AsyncMongoClient

from servicekit.messages import MessageContext, Outgoing
from servicekit.outbox import OUTBOX, PENDING, add_outbox, pending_write_collection, with_outbox
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.messages import ThingHappened, outgoing_thing
from support.services import running
from support.waiting import eventually


def _entry(n: int) -> dict[str, object]:
    return outgoing_thing(n).to_document()


def test_writes_that_leave_messages_pending_name_their_collection() -> None:
    """An insert of an outbox document, an update or a find-and-modify that sets the pending
    flag names its collection; writes that set no pending flag are not watched."""
    document = {"_id": "d1", OUTBOX: [_entry(1)], PENDING: 1}
    assert pending_write_collection("insert", {"insert": "things", "documents": [document]}) == (
        "things"
    )
    update = add_outbox({"$set": {"status": "done"}}, outgoing_thing(2))
    command = {"update": "things", "updates": [{"q": {"kind": "a"}, "u": update, "multi": True}]}
    assert pending_write_collection("update", command) == "things"
    modify = {"findAndModify": "orders", "query": {"_id": "o"}, "update": update}
    assert pending_write_collection("findAndModify", modify) == "orders"
    plain = {"update": "things", "updates": [{"q": {"_id": "x"}, "u": {"$set": {"a": 1}}}]}
    assert pending_write_collection("update", plain) is None
    empty = {"insert": "things", "documents": [{"_id": "y", OUTBOX: [], PENDING: 0}]}
    assert pending_write_collection("insert", empty) is None
    assert pending_write_collection("find", {"find": "things", "filter": {PENDING: 1}}) is None


@dataclass
class Relaying:
    """A service whose relay publishes the outbox of its `things`, and every `ThingHappened`
    it received since, in order of arrival."""

    service: Service
    received: list[int] = field(default_factory=list)

    def thing(self, n: int) -> Outgoing:
        """A message to keep in an outbox."""
        return self.service.bus.outgoing(ThingHappened(key="outbox", n=n))

    async def has(self, wanted: set[int]) -> bool:
        """Whether every wanted message arrived."""
        return wanted <= set(self.received)

    async def outbox_empty(self) -> bool:
        """Whether no document holds unpublished messages."""
        return await self.service.outbox.backlog() == 0


def relaying(settings: ServiceSettings, poll_seconds: float = 60) -> Relaying:
    """A `Relaying` service, not started, whose relay polls every `poll_seconds`."""
    changed = settings.model_copy(update={"outbox_poll_seconds": poll_seconds})
    relay = Relaying(Service.create("alpha", changed))
    relay.service.outbox.collections.append("things")

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        relay.received.append(event.n)

    relay.service.router.on(ThingHappened, on_thing)
    return relay


async def test_every_kind_of_outbox_write_is_published_and_cleared(
    settings: ServiceSettings,
) -> None:
    """Messages left by an insert, an update of one document, an update of many and a
    find-and-modify of the service's own client all arrive at once (the relay's poll is a
    minute away), and every outbox ends empty."""
    relay = relaying(settings)
    things, thing = relay.service.db["things"], relay.thing
    async with running(relay.service):
        await things.insert_one(with_outbox({"_id": "a", "kind": "x"}, thing(1)))
        await things.insert_many([with_outbox({"_id": "b", "kind": "x"}), {"_id": "c"}])
        await things.update_one({"_id": "a"}, add_outbox({"$set": {"seen": 1}}, thing(2)))
        await things.update_many({"kind": "x"}, add_outbox({"$set": {"seen": 2}}, thing(3)))
        await things.find_one_and_update({"_id": "b"}, add_outbox({"$set": {"s": 3}}, thing(4)))
        await eventually(lambda: relay.has({1, 2, 3, 4}), timeout=10, what="every message")
        await eventually(relay.outbox_empty, timeout=10, what="every outbox cleared")


async def test_messages_appended_while_the_relay_works_are_each_published_once(
    settings: ServiceSettings,
) -> None:
    """Documents inserted with a message and appended another at once, many at the same time
    (the relay reading and clearing meanwhile): every message arrives exactly once and every
    outbox ends empty."""
    relay = relaying(settings)
    things, thing = relay.service.db["things"], relay.thing

    async def insert_then_append(n: int) -> None:
        await things.insert_one(with_outbox({"_id": f"t{n}"}, thing(n)))
        await things.update_one({"_id": f"t{n}"}, add_outbox({"$set": {"x": 1}}, thing(1000 + n)))

    expected = sorted([*range(100), *range(1000, 1100)])
    async with running(relay.service):
        await asyncio.gather(*(insert_then_append(n) for n in range(100)))
        await eventually(lambda: relay.has(set(expected)), timeout=20, what="every message")
        await eventually(relay.outbox_empty, timeout=10, what="every outbox cleared")
        assert sorted(relay.received) == expected


async def test_a_write_the_relay_could_not_see_is_found_by_its_poll(
    settings: ServiceSettings,
) -> None:
    """An outbox write through another client (another replica, a process that died before
    publishing) is published by the relay's periodic search."""
    relay = relaying(settings, poll_seconds=0.2)
    async with running(relay.service):
        other: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
        try:
            db = other[settings.database_name("alpha")]
            await db["things"].insert_one(with_outbox({"_id": "z"}, relay.thing(9)))
        finally:
            await other.close()
        await eventually(lambda: relay.has({9}), what="the unseen write's message")
        await eventually(relay.outbox_empty, what="its outbox cleared")
