"""Every exchange and queue name, and their declaration, in one place, under a namespace prefix."""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


@dataclass(frozen=True)
class Topology:
    """Names of the bus objects for one namespace (production: `esim`; each test run: its own)."""

    namespace: str

    @property
    def events(self) -> str:
        """Topic exchange for domain events, routed by message type."""
        return f"{self.namespace}.events"

    @property
    def commands(self) -> str:
        """Topic exchange for commands, routed by `<target service>.<message type>`."""
        return f"{self.namespace}.commands"

    @property
    def queries(self) -> str:
        """Direct exchange for request/reply queries, routed by target service."""
        return f"{self.namespace}.queries"

    @property
    def dead_letters(self) -> str:
        """Direct exchange for dead letters, routed by the name of the queue they died in."""
        return f"{self.namespace}.dead"

    def service_queue(self, service: str) -> str:
        """The quorum queue a service consumes its commands and events from."""
        return f"{self.namespace}.{service}"

    def query_queue(self, service: str) -> str:
        """The queue a service answers queries from."""
        return f"{self.namespace}.{service}.queries"

    def broadcast_group(self, service: str) -> str:
        """The common stem of a service's broadcast queues; also their dead letters' key."""
        return f"{self.namespace}.{service}.broadcast"

    def broadcast_queue(self, service: str, instance: str) -> str:
        """One process's own broadcast queue (exclusive, deleted with its connection)."""
        return f"{self.broadcast_group(service)}.{instance}"

    def dead_letter_queue(self, queue: str) -> str:
        """Where a queue's poison messages end."""
        return f"{queue}.dlq"

    def retry_queue(self, queue: str, delay_ms: int) -> str:
        """A holding queue whose messages return to `queue` after `delay_ms`."""
        return f"{queue}.retry.{delay_ms}"

    @staticmethod
    def command_key(target: str, message_type: str) -> str:
        """The routing key of a command addressed to `target`."""
        return f"{target}.{message_type}"


async def declare_exchanges(
    channel: AbstractChannel, topology: Topology
) -> dict[str, AbstractExchange]:
    """Declare the namespace's exchanges (idempotent) and return them by name."""
    kinds = {
        topology.events: aio_pika.ExchangeType.TOPIC,
        topology.commands: aio_pika.ExchangeType.TOPIC,
        topology.queries: aio_pika.ExchangeType.DIRECT,
        topology.dead_letters: aio_pika.ExchangeType.DIRECT,
    }
    return {
        name: await channel.declare_exchange(name, kind, durable=True)
        for name, kind in kinds.items()
    }


async def declare_service_queue(
    channel: AbstractChannel,
    topology: Topology,
    service: str,
    *,
    event_types: list[str],
    delivery_limit: int,
    retry_delays_ms: list[int],
) -> AbstractQueue:
    """Declare a service's quorum queue, its dead-letter queue, retry queues and bindings."""
    name = topology.service_queue(service)
    dlq_name = topology.dead_letter_queue(name)
    dlq = await channel.declare_queue(dlq_name, durable=True, arguments={"x-queue-type": "quorum"})
    await dlq.bind(topology.dead_letters, routing_key=name)
    queue = await channel.declare_queue(
        name,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": topology.dead_letters,
            "x-dead-letter-routing-key": name,
        },
    )
    await queue.bind(topology.commands, routing_key=f"{service}.#")
    for event_type in event_types:
        await queue.bind(topology.events, routing_key=event_type)
    for delay in retry_delays_ms:
        await channel.declare_queue(
            topology.retry_queue(name, delay),
            durable=True,
            arguments={
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            },
        )
    return queue


async def declare_query_queue(
    channel: AbstractChannel, topology: Topology, service: str
) -> AbstractQueue:
    """Declare the queue a service's replicas answer queries from (competing consumers)."""
    queue = await channel.declare_queue(topology.query_queue(service), durable=True)
    await queue.bind(topology.queries, routing_key=service)
    return queue


async def declare_broadcast_queue(
    channel: AbstractChannel,
    topology: Topology,
    service: str,
    *,
    instance: str,
    event_types: list[str],
) -> AbstractQueue:
    """Declare one process's broadcast queue, bound to `event_types`, and the dead-letter
    queue its replicas share.

    The queue is named by the caller, not by the server: a robust channel re-declares it
    under the same name after a reconnect, which a server-named queue cannot be.
    """
    group = topology.broadcast_group(service)
    dlq = await channel.declare_queue(
        topology.dead_letter_queue(group), durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(topology.dead_letters, routing_key=group)
    queue = await channel.declare_queue(
        topology.broadcast_queue(service, instance), exclusive=True, auto_delete=True
    )
    for event_type in event_types:
        await queue.bind(topology.events, routing_key=event_type)
    return queue


async def delete_namespace(
    channel: AbstractChannel, topology: Topology, services: list[str], retry_delays_ms: list[int]
) -> None:
    """Remove a namespace's queues and exchanges (test clean-up)."""
    for service in services:
        name = topology.service_queue(service)
        names = [
            name,
            topology.dead_letter_queue(name),
            topology.query_queue(service),
            topology.dead_letter_queue(topology.broadcast_group(service)),
            *(topology.retry_queue(name, d) for d in retry_delays_ms),
        ]
        for queue_name in names:
            await channel.queue_delete(queue_name, if_unused=False, if_empty=False)
    for exchange in (topology.events, topology.commands, topology.queries, topology.dead_letters):
        await channel.exchange_delete(exchange)
