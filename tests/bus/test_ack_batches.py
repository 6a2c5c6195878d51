"""Batched acknowledgements (`servicekit.acks`): which frames go out, and when.

The channel here is a stand-in that settles tags as RabbitMQ does: a `basic.ack` or
`basic.nack` of a tag that is not outstanding fails (RabbitMQ closes the channel with
PRECONDITION_FAILED), and `multiple` settles every outstanding tag up to the one given.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import AbstractChannel

from servicekit.acks import AckBook, ChannelAcks
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.messages import ThingHappened
from support.services import running
from support.waiting import eventually

BOUND = 10.0


@dataclass(eq=False)
class BrokerChannel:
    """A channel's outstanding deliveries, settled the way RabbitMQ settles them."""

    outstanding: set[int] = field(default_factory=set)
    frames: list[tuple[str, int, bool]] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    closed: bool = False

    def deliver(self, *tags: int) -> None:
        """The broker hands these tags out on this channel."""
        self.outstanding.update(tags)

    def _settle(self, tag: int, multiple: bool) -> list[int]:
        if self.closed:
            raise ConnectionError("channel closed")
        if tag not in self.outstanding:
            raise AssertionError(f"PRECONDITION_FAILED - unknown delivery tag {tag}")
        settled = sorted(t for t in self.outstanding if t <= tag) if multiple else [tag]
        self.outstanding.difference_update(settled)
        return settled

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        """Record an ack frame after checking it against the outstanding tags."""
        self._settle(delivery_tag, multiple)
        self.frames.append(("ack", delivery_tag, multiple))

    async def basic_nack(
        self, delivery_tag: int, multiple: bool = False, requeue: bool = True, wait: bool = True
    ) -> None:
        """Record a nack frame; requeued tags are remembered."""
        settled = self._settle(delivery_tag, multiple)
        self.frames.append(("nack", delivery_tag, multiple))
        if requeue:
            self.requeued.extend(settled)


def tracker(channel: BrokerChannel, *tags: int) -> ChannelAcks:
    """A tracker of `channel` with `tags` delivered and being handled."""
    channel.deliver(*tags)
    acks = ChannelAcks(cast(AbstractChannel, channel))
    for tag in tags:
        acks.begin(tag)
    return acks


async def settled(acks: ChannelAcks) -> None:
    """Wait (bounded) until the sender is idle; held-back deliveries stay held back."""
    async with asyncio.timeout(BOUND):
        await acks.drain(release_held=False)


async def test_finished_deliveries_wait_for_a_running_one_below_them() -> None:
    """Tags finishing out of order are acked in one frame once the lowest one finishes."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2, 3, 4, 5)
    acked: list[int] = []
    for tag in (3, 2, 5):
        acks.ack(tag, partial(acked.append, tag))
    await settled(acks)
    assert channel.frames == []
    assert acked == []
    acks.ack(1, partial(acked.append, 1))
    await settled(acks)
    assert channel.frames == [("ack", 3, True)]
    assert sorted(acked) == [1, 2, 3]
    assert channel.outstanding == {4, 5}
    acks.ack(4)
    await settled(acks)
    assert channel.frames == [("ack", 3, True), ("ack", 5, True)]
    assert channel.outstanding == set()
    assert sorted(acked) == [1, 2, 3, 5]


async def test_a_delivery_held_back_by_a_slow_one_is_soon_acked_alone() -> None:
    """A finished delivery does not wait for a slow one below it for long: it is acked alone,
    and the slow one's own ack later covers only what is still outstanding."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2, 3)
    acks.ack(2)
    acks.ack(3)

    async def released() -> bool:
        return len(channel.frames) == 2

    await eventually(released, timeout=BOUND, what="held-back deliveries acked alone")
    assert channel.frames == [("ack", 2, False), ("ack", 3, False)]
    acks.ack(1)
    await settled(acks)
    assert channel.frames[-1] == ("ack", 1, True)
    assert channel.outstanding == set()


async def test_draining_acks_held_back_deliveries_at_once() -> None:
    """On the way out (consumer stop), held-back deliveries are acked without the wait."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2)
    acks.ack(2)
    async with asyncio.timeout(BOUND):
        await acks.drain()
    assert channel.frames == [("ack", 2, False)]
    assert channel.outstanding == {1}


async def test_a_lone_delivery_is_acked_without_waiting_for_another() -> None:
    """When the consumer goes idle, its last finished delivery is acked at once."""
    channel = BrokerChannel()
    acks = tracker(channel, 1)
    acks.ack(1)
    await settled(acks)
    assert channel.frames == [("ack", 1, True)]


async def test_deliveries_finishing_together_share_one_frame() -> None:
    """Deliveries finished in the same turn of the event loop are acked by one frame."""
    channel = BrokerChannel()
    acks = tracker(channel, *range(1, 33))
    for tag in range(1, 33):
        acks.ack(tag)
    await settled(acks)
    assert channel.frames == [("ack", 32, True)]
    assert acks.frames == 1


async def test_a_requeued_delivery_in_the_middle_gets_its_own_nack_and_is_not_acked() -> None:
    """A nacked tag is requeued by its own frame; the acks around it never cover it first."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2, 3, 4)
    acks.ack(1)
    acks.ack(3)
    acks.nack(2)
    acks.ack(4)
    await settled(acks)
    assert channel.requeued == [2]
    assert channel.frames == [("nack", 2, False), ("ack", 4, True)]
    assert channel.outstanding == set()


async def test_a_nack_above_a_running_delivery_is_sent_at_once() -> None:
    """A requeue does not wait for lower deliveries still running."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2, 3)
    acks.nack(3)
    await settled(acks)
    assert channel.frames == [("nack", 3, False)]
    acks.ack(2)
    acks.ack(1)
    await settled(acks)
    assert channel.frames == [("nack", 3, False), ("ack", 2, True)]
    assert channel.outstanding == set()


async def test_an_abandoned_delivery_is_requeued_and_unblocks_the_rest() -> None:
    """A handling that ended without settling its delivery requeues it; later acks go on."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2)
    acks.ack(2)
    acks.abandon(1)
    acks.abandon(2)
    await settled(acks)
    assert channel.requeued == [1]
    assert channel.frames == [("nack", 1, False), ("ack", 2, True)]


async def test_a_tag_that_never_reached_the_handler_is_never_covered() -> None:
    """Past a tag that was never handled, deliveries are acked one by one, never over it."""
    channel = BrokerChannel()
    channel.deliver(2)
    acks = tracker(channel, 1, 3, 4)
    acks.ack(3)
    acks.ack(1)
    acks.ack(4)
    await settled(acks)
    assert channel.outstanding == {2}
    assert ("ack", 1, True) in channel.frames
    assert all(not multiple for _, tag, multiple in channel.frames if tag > 2)


async def test_acks_that_cannot_be_sent_on_a_closed_channel_are_dropped_quietly() -> None:
    """A channel closed under its acks loses them (the broker requeues) without an error,
    and so do the deliveries whose handlers finish after that."""
    channel = BrokerChannel()
    acks = tracker(channel, 1, 2, 3)
    channel.closed = True
    acked: list[int] = []
    acks.ack(1, partial(acked.append, 1))
    acks.ack(2, partial(acked.append, 2))
    await settled(acks)
    acks.ack(3, partial(acked.append, 3))
    await settled(acks)
    assert acks.unsettled == 0
    assert channel.frames == []
    assert acked == []


@dataclass
class Delivery:
    """What `AckBook` reads of an incoming message."""

    channel: Any
    delivery_tag: int


async def test_a_reopened_channel_gets_its_own_tags() -> None:
    """Tags restart on a reopened channel: each channel object has its own tracker."""
    old, new = BrokerChannel(), BrokerChannel()
    old.deliver(1, 2)
    new.deliver(1)
    book = AckBook()
    old_acks, old_tag = book.begin(cast(AbstractIncomingMessage, Delivery(old, 2)))
    first, _ = book.begin(cast(AbstractIncomingMessage, Delivery(old, 1)))
    new_acks, new_tag = book.begin(cast(AbstractIncomingMessage, Delivery(new, 1)))
    assert first is old_acks
    assert new_acks is not old_acks
    new_acks.ack(new_tag)
    old_acks.ack(old_tag)
    async with asyncio.timeout(BOUND):
        await book.drain()
    assert new.frames == [("ack", 1, True)]
    assert old.frames == [("ack", 2, False)]
    assert old.outstanding == {1}


async def test_out_of_order_handlers_and_a_retry_leave_nothing_unacknowledged(
    settings: ServiceSettings,
) -> None:
    """Against the broker: handlers finishing out of order, one failing once, are each run
    once, and after the consumer stops its queue holds nothing (every delivery was acked)."""
    service = Service.create("alpha", settings)
    handled: list[int] = []
    failed: list[int] = []
    gate = asyncio.Event()

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        if event.n == 7 and not failed:
            failed.append(event.n)
            raise RuntimeError("fails once")
        if event.n % 4 == 0:
            await gate.wait()
        handled.append(event.n)
        if len(handled) == 30:
            gate.set()

    service.router.on(ThingHappened, on_thing, idempotent=True)
    async with running(service):
        await service.bus.publish_many(
            [service.bus.outgoing(ThingHappened(key="k", n=n)) for n in range(40)]
        )
        await eventually(lambda: _at_least(handled, 40), what="every message handled")
    assert sorted(handled) == list(range(40))
    assert failed == [7]
    queue = Topology(settings.bus_namespace).service_queue("alpha")
    counts = await eventually(lambda: _idle_queue(settings.amqp_url, queue), what="no consumer")
    assert counts == (0, 0)


async def _at_least(values: list[int], count: int) -> bool:
    return len(values) >= count


async def _idle_queue(amqp_url: str, name: str) -> tuple[int, int] | None:
    """The queue's (messages, consumers) once it has no consumer left, else None."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        result = queue.declaration_result
        if result.consumer_count:
            return None
        return (result.message_count or 0, result.consumer_count or 0)
