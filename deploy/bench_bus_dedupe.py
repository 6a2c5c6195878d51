"""The "raw + dedupe" side of the bus benchmark (deploy/bench_bus.py): exactly-once by hand.

What a developer would write with aio-pika and PyMongo's async API to get what servicekit's
inbox gives, in the obvious way and without grouping: for each delivery, decode the body,
look its message id up in an inbox collection (`find_one({"_id": id})`), skip it when seen,
otherwise handle it (nothing, as on the other sides) and record it (`insert_one({"_id": id,
"at": now})`; a duplicate key means another delivery recorded it first), then ack. Every
store call is one round trip of its own, concurrent up to the prefetch (aio-pika runs each
delivery's callback as a task). The inbox has an index on `at` (for pruning), as
servicekit's does, so a record costs the store the same index work. Store shapes from
decision 0002's vocabulary only.

A delivery without a message id cannot be deduplicated: it is rejected (dead-lettered), not
handled. (aio-pika's publishers never send one: aiormq gives every message a random id.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

INBOX = "inbox"
"""The collection of message ids already handled, in the consumer's database."""


@dataclass
class Tally:
    """What a dedupe consumer did with its deliveries so far."""

    handled: int = 0
    skipped: int = 0
    rejected: int = 0
    store_calls: int = 0
    """Lookups and records sent to the store, each a round trip of its own."""

    @property
    def settled(self) -> int:
        """Deliveries acked or rejected."""
        return self.handled + self.skipped + self.rejected


class HandWrittenInbox:
    """The inbox collection, used one message at a time."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], tally: Tally) -> None:
        self.collection = collection
        self.tally = tally

    async def seen(self, message_id: str) -> bool:
        """Whether the message id has been recorded."""
        self.tally.store_calls += 1
        return await self.collection.find_one({"_id": message_id}) is not None

    async def record(self, message_id: str) -> None:
        """Record the message id; already recorded (a duplicate key) is fine."""
        self.tally.store_calls += 1
        with suppress(DuplicateKeyError):
            await self.collection.insert_one({"_id": message_id, "at": datetime.now(UTC)})


@dataclass(frozen=True)
class DedupeTarget:
    """Where a dedupe consumer reads and records."""

    amqp_url: str
    mongo_url: str
    database: str
    queue: str
    prefetch: int


async def consume_with_dedupe(
    target: DedupeTarget,
    expected: int,
    on_ready: Callable[[], None],
    on_settled: Callable[[Tally], None] | None = None,
) -> Tally:
    """Consume until `expected` deliveries are settled; `on_ready` once consuming.

    `on_settled` runs after each settled delivery (the benchmark's consumer reads its clock
    there, so the round ends at the last ack, not after the clean-up)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        target.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    tally = Tally()
    done = asyncio.Event()
    try:
        collection = client[target.database][INBOX]
        await collection.create_index("at")
        inbox = HandWrittenInbox(collection, tally)
        connection = await aio_pika.connect(target.amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=target.prefetch)
            queue = await channel.get_queue(target.queue, ensure=False)

            async def on_message(message: AbstractIncomingMessage) -> None:
                await settle(message, inbox, tally)
                if on_settled is not None:
                    on_settled(tally)
                if tally.settled >= expected:
                    done.set()

            tag = await queue.consume(on_message)
            on_ready()
            await done.wait()
            await queue.cancel(tag)
    finally:
        await client.close()
    return tally


async def settle(message: AbstractIncomingMessage, inbox: HandWrittenInbox, tally: Tally) -> None:
    """Decode, skip if seen, else handle and record; then ack (reject without a message id)."""
    json.loads(message.body)
    message_id = message.message_id
    if not message_id:
        tally.rejected += 1
        await message.reject(requeue=False)
        return
    if await inbox.seen(message_id):
        tally.skipped += 1
    else:
        tally.handled += 1  # the handler: nothing, as on the other sides
        await inbox.record(message_id)
    await message.ack()
