"""Duplicate and out-of-order deliveries, and poison messages among good ones, published
straight to the broker: every effect happens once, the poison ends in the dead-letter queue
with its reason, and the queues keep flowing."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from chaos_checks import Checker
from chaos_infra import OwnBroker
from chaos_support import Traffic, buy, drive, new_buyer
from e2e_support import Platform
from orders_support import PACKAGE_PRICE

from servicekit.ids import new_id
from servicekit.messages import copy_delivery
from servicekit.topology import Topology
from support.platform import DATA_OWNERS
from support.waiting import eventually

COUNTED = {
    "accounts": ["ledger", "balances", "_privacy_receipts"],
    "provisioning": ["orders", "esims", "webhook_deliveries", "_privacy_receipts"],
    "logs": ["_privacy_receipts"],
    "privacy": ["requests"],
}
"""Collections where a doubled effect would show as an extra document."""


@dataclass(frozen=True)
class Captured:
    """A message as it went over an exchange."""

    exchange: str
    routing_key: str
    message: aio_pika.Message


@contextlib.asynccontextmanager
async def tap(broker: OwnBroker, topology: Topology) -> AsyncIterator[list[Captured]]:
    """Copies of every event and command published in the namespace while inside."""
    captured: list[Captured] = []
    connection = await aio_pika.connect(broker.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for exchange in (topology.events, topology.commands):
            await queue.bind(exchange, routing_key="#")

        async def keep(message: AbstractIncomingMessage) -> None:
            captured.append(
                Captured(
                    message.exchange or "",
                    message.routing_key or "",
                    copy_delivery(message, dict(message.headers or {})),
                )
            )
            await message.ack()

        await queue.consume(keep)
        yield captured


def poison_for(topology: Topology, captured: list[Captured]) -> list[tuple[Captured, str, str]]:
    """Poison messages for each data owner (bad JSON, a body its schema refuses, an unknown
    type) and for privacy (an unknown type): each with the dead-letter queue it must reach and
    a word of the reason it must carry."""
    poison = []
    for service in DATA_OWNERS:
        commands = [c for c in captured if c.exchange == topology.commands]
        known = next(c for c in commands if c.routing_key.startswith(f"{service}."))
        dlq = topology.dead_letter_queue(topology.service_queue(service))
        kind = known.message.type or ""
        for body, message_type, reason in (
            (b"{not json", kind, "invalid body"),
            (b'{"unexpected": true}', kind, "invalid body"),
            (b"{}", "chaos.no_such_thing.v1", "unknown message type"),
        ):
            key = topology.command_key(service, message_type)
            poison.append((_poison(topology.commands, key, message_type, body), dlq, reason))
    privacy = topology.dead_letter_queue(topology.service_queue("privacy"))
    unknown = topology.command_key("privacy", "chaos.no_such_thing.v1")
    message = _poison(topology.commands, unknown, "chaos.no_such_thing.v1", b"{}")
    poison.append((message, privacy, "unknown message type"))
    return poison


def _poison(exchange: str, routing_key: str, message_type: str, body: bytes) -> Captured:
    message = aio_pika.Message(
        body=body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=new_id("msg"),
        type=message_type,
    )
    return Captured(exchange, routing_key, message)


async def publish(broker: OwnBroker, messages: list[Captured]) -> None:
    """Publish each message to its exchange with its routing key, with publisher confirms."""
    connection = await aio_pika.connect(broker.url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchanges: dict[str, Any] = {}
        for item in messages:
            if item.exchange not in exchanges:
                exchanges[item.exchange] = await channel.get_exchange(item.exchange, ensure=False)
            await exchanges[item.exchange].publish(item.message, routing_key=item.routing_key)


async def counts(checker: Checker) -> dict[str, int]:
    """Documents in each collection where a doubled effect would show."""
    found = {}
    for service, collections in COUNTED.items():
        for name in collections:
            found[f"{service}.{name}"] = await checker.database(service)[name].count_documents({})
    return found


async def test_duplicates_out_of_order_and_poison_change_nothing_twice(
    platform: Platform, db: Any, own_broker: OwnBroker, checker: Checker, recovery: list[str]
) -> None:
    """Every event and command of a flow published again, newest first, with bad JSON,
    schema-invalid bodies and unknown types among them: no document is added or moved twice,
    the poison is dead-lettered with its reason, and new orders still complete."""
    topology = Topology(platform.namespace)
    async with new_buyer(platform, db, 14 * PACKAGE_PRICE) as buyer:
        traffic = Traffic(buyer)
        async with tap(own_broker, topology) as captured:
            await drive(traffic)
            await checker.settled(traffic)
        before = await counts(checker)
        replayed = [c for c in reversed(captured) if c.exchange]
        poison = poison_for(topology, captured)
        mixed = _interleave(replayed, [message for message, _, _ in poison])
        started = time.monotonic()
        await publish(own_broker, mixed)
        await eventually(
            lambda: _dead_lettered(checker, len(poison)), timeout=30, what="the poison dead"
        )
        await checker.settled(traffic)
        assert await counts(checker) == before, "a duplicate or late message had an effect"
        dead = checker.dead
        await buy(traffic, 3)
        await checker.settled(traffic)
    expected = {(m.message.message_id, dlq) for m, dlq, _ in poison}
    assert {(d.message_id, d.queue) for d in dead} == expected, dead
    reasons = {d.message_id: d.reason for d in dead}
    for message, _, word in poison:
        assert word in reasons[message.message.message_id or ""], reasons
    recovery.append(
        f"{len(replayed)} copies and {len(poison)} poison messages absorbed in"
        f" {time.monotonic() - started:.1f} s"
    )


async def _dead_lettered(checker: Checker, count: int) -> bool:
    depths = await checker.queue_depths()
    return sum(depth for name, depth in depths.items() if name.endswith(".dlq")) >= count


def _interleave(good: list[Captured], bad: list[Captured]) -> list[Captured]:
    """The bad messages spread evenly among the good ones."""
    step = max(len(good) // (len(bad) + 1), 1)
    mixed = list(good)
    for index, message in enumerate(bad):
        mixed.insert(min((index + 1) * step + index, len(mixed)), message)
    return mixed
