"""A service's dead letters (`<ns>.<service>.dlq`): read them without losing them, and replay
them to the service's queue.

Both work over plain AMQP with `basic.get` and manual acknowledgement on a channel of their
own: every message taken is held unacknowledged until it is given back (`basic.nack` with
requeue) or, on replay, until the broker confirmed its copy on the service's queue. Whatever
goes wrong in between, closing the channel returns every message still held to the DLQ, so
nothing is lost; a crash after a replay's confirm but before its ack leaves the message in
both queues (the consumer's inbox drops the second delivery).

Caveats, for whoever reads the output:
- Order: a message given back may return elsewhere than where it was (quorum queues put
  requeued messages back at the head or the tail depending on the RabbitMQ version), so two
  readings of more dead letters than `limit` may show different ones.
- While one operator reads or replays, the messages they hold are invisible to another.
- A quorum queue counts a returned message again a moment later; a read waits (at most
  `SETTLE_SECONDS`) until it does, so that the next read sees it.
- Quorum queues count every give-back as a delivery, and RabbitMQ 4 drops a message after 20
  by default (the DLQ has no dead-letter target of its own). A message read often is
  therefore given back as a fresh confirmed copy (then the original acknowledged) once its
  count reaches `REFRESH_AT_DELIVERIES`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import ChannelNotFoundEntity
from pamqp.commands import Basic
from pydantic import BaseModel, Field

from servicekit.clock import Clock, utcnow
from servicekit.dead_letter_views import (
    REPLAY_COUNT_HEADER,
    REPLAYED_AT_HEADER,
    DeadLetter,
    Taken,
    dead_letter_of,
    delivery_count,
    header_int,
)
from servicekit.errors import PublishFailed
from servicekit.messages import ATTEMPT_HEADER, DELIVERY_COUNT_HEADER, copy_delivery
from servicekit.topology import Topology

__all__ = [
    "DeadLetter",
    "DeadLetterQueueMissing",
    "ReplayFailure",
    "ReplayReport",
    "inspect_dead_letters",
    "replay_dead_letters",
]

REFRESH_AT_DELIVERIES = 10
"""Give-backs after which a dead letter is re-published instead of requeued (see above)."""
SETTLE_SECONDS, SETTLE_POLL_SECONDS = 2.0, 0.02
"""How long a read waits at most for its give-backs to be counted again, and how often it looks
(more readers at once can keep the count below; then it just stops waiting)."""
RESET_ON_REPLAY = frozenset({ATTEMPT_HEADER, DELIVERY_COUNT_HEADER})
"""Headers a replay drops: the replayed message gets every handler attempt again, and the
broker's delivery count of the DLQ means nothing on the service's queue."""


class DeadLetterQueueMissing(LookupError):
    """The service has no dead-letter queue (it never started, or the name is wrong)."""


class ReplayFailure(BaseModel):
    """A matching dead letter whose copy the broker did not take; it stays in the DLQ."""

    message_id: str | None
    error: str = Field(description="Why the publish failed, in one line.")


class ReplayReport(BaseModel):
    """What a replay did."""

    examined: int = Field(description="Dead letters taken from the DLQ and looked at.")
    replayed: list[str | None] = Field(
        default_factory=list,
        description="Message ids published back to the service's queue (and removed from the"
        " DLQ), in the order done.",
    )
    missing: list[str] = Field(
        default_factory=list,
        description="Requested ids not among the dead letters examined; nothing was done.",
    )
    failed: list[ReplayFailure] = Field(default_factory=list)


@dataclass
class _Held:
    """A channel on the DLQ and the messages taken from it, not yet settled."""

    channel: AbstractChannel
    queue_name: str

    async def take(self, limit: int, enough: Collection[str] | None = None) -> list[Taken]:
        """Up to `limit` messages; with `enough`, stop once every id in it was seen."""
        queue = await self.channel.get_queue(self.queue_name, ensure=False)
        taken: list[Taken] = []
        seen: set[str] = set()
        while len(taken) < limit and not (enough is not None and seen >= set(enough)):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            taken.append(message)
            seen.add(message.message_id or "")
        return taken

    async def give_back(self, messages: list[Taken]) -> None:
        """Return messages to the DLQ, re-publishing those given back too often."""
        for message in messages:
            if delivery_count(message) >= REFRESH_AT_DELIVERIES:
                # Where it came from (the dead-letter exchange, keyed by the queue it died in),
                # so the copy reads the same as the original.
                copy = copy_delivery(message, dict(message.headers or {}))
                await self.publish(copy, message.routing_key or "", exchange=message.exchange)
                await message.ack()
            else:
                await message.nack(requeue=True)
        await self._settle(len(messages))

    async def _settle(self, given_back: int) -> None:
        """Wait, briefly, until the queue counts what was given back: a quorum queue applies
        returns asynchronously, and a read right after this one should see them again."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while given_back and time.monotonic() < deadline:
            queue = await self.channel.declare_queue(self.queue_name, passive=True)
            if (queue.declaration_result.message_count or 0) >= given_back:
                return
            await asyncio.sleep(SETTLE_POLL_SECONDS)

    async def publish(
        self, message: aio_pika.Message, routing_key: str, *, exchange: str | None = None
    ) -> None:
        """Publish (by default to the queue named `routing_key`) and wait for the confirm;
        a message no queue takes raises DeliveryError."""
        target = (
            await self.channel.get_exchange(exchange, ensure=False)
            if exchange
            else self.channel.default_exchange
        )
        confirmation = await target.publish(message, routing_key=routing_key, mandatory=True)
        if not isinstance(confirmation, Basic.Ack):
            raise PublishFailed(f"the broker did not confirm the publish to {routing_key}")


@asynccontextmanager
async def _dead_letter_queue(
    connection: AbstractConnection, topology: Topology, service: str
) -> AsyncIterator[_Held]:
    """A confirmed channel on the service's DLQ; closing it returns what is still held."""
    name = topology.dead_letter_queue(topology.service_queue(service))
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        try:
            await channel.declare_queue(name, passive=True)
        except ChannelNotFoundEntity:
            raise DeadLetterQueueMissing(f"no dead-letter queue {name}") from None
        yield _Held(channel, name)
    finally:
        if not channel.is_closed:
            await channel.close()


async def inspect_dead_letters(
    connection: AbstractConnection,
    topology: Topology,
    service: str,
    limit: int,
    *,
    bodies: bool = False,
) -> list[DeadLetter]:
    """Up to `limit` dead letters of `service`, left in its DLQ (see the module's caveats).

    Bodies may hold personal data: `body_text` is filled only with `bodies=True` (and then
    only for a small UTF-8 body). Raises DeadLetterQueueMissing.
    """
    async with _dead_letter_queue(connection, topology, service) as held:
        taken = await held.take(limit)
        try:
            return [dead_letter_of(message, bodies=bodies) for message in taken]
        finally:
            await held.give_back(taken)


async def replay_dead_letters(
    connection: AbstractConnection,
    topology: Topology,
    service: str,
    message_ids: Collection[str] | None,
    limit: int,
    *,
    clock: Clock = utcnow,
) -> ReplayReport:
    """Publish dead letters back to `<ns>.<service>` (persistent, confirmed), each removed from
    the DLQ only after its confirm: those with `message_ids`, or every one when it is None.

    At most `limit` dead letters are examined; the others are given back untouched. Raises
    DeadLetterQueueMissing.
    """
    target = topology.service_queue(service)
    async with _dead_letter_queue(connection, topology, service) as held:
        taken = await held.take(limit, enough=message_ids)
        report = ReplayReport(examined=len(taken))
        chosen = [message_ids is None or m.message_id in message_ids for m in taken]
        try:
            for message in (m for m, replay in zip(taken, chosen, strict=True) if replay):
                await _replay_one(held, message, target, clock, report)
        finally:
            await held.give_back([m for m, replay in zip(taken, chosen, strict=True) if not replay])
    found = {message.message_id for message in taken}
    report.missing = sorted(set(message_ids or ()) - found)
    return report


async def _replay_one(
    held: _Held, message: Taken, target: str, clock: Clock, report: ReplayReport
) -> None:
    try:
        await held.publish(_replay_copy(message, clock), target)
    except (PublishFailed, aio_pika.exceptions.DeliveryError) as failure:
        report.failed.append(ReplayFailure(message_id=message.message_id, error=_one_line(failure)))
        await message.nack(requeue=True)
        return
    await message.ack()
    report.replayed.append(message.message_id)


def _one_line(failure: Exception) -> str:
    if isinstance(failure, aio_pika.exceptions.DeliveryError):
        return "no queue took the message (is the service's queue declared?)"
    return str(failure)[:200]


def _replay_copy(message: Taken, clock: Clock) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in RESET_ON_REPLAY}
    headers[REPLAYED_AT_HEADER] = clock().isoformat()
    headers[REPLAY_COUNT_HEADER] = header_int(headers.get(REPLAY_COUNT_HEADER)) + 1
    return copy_delivery(message, headers)
