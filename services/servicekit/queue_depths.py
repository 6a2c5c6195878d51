"""How many messages wait in each of a service's queues, over plain AMQP (no management plugin).

A passive `queue.declare` answers with the ready messages and the consumers of a queue that
exists; for one that does not, the broker closes the channel (404). So the probe owns its
channel and opens a new one after each missing queue, and takes a connection, not a channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import ChannelNotFoundEntity
from pydantic import BaseModel, ConfigDict, Field

from servicekit.topology import Topology

QueueKind = Literal["main", "dlq", "queries", "retry", "broadcast_dlq"]
"""main: commands and events; dlq: its dead letters (inspectable, replayable); queries:
request/reply; retry: a holding queue of the backoff; broadcast_dlq: dead letters of the
service's broadcasts (per-process broadcast queues themselves are exclusive and not probed)."""

DEAD_LETTER_KINDS: frozenset[str] = frozenset({"dlq", "broadcast_dlq"})


class QueueDepth(BaseModel):
    """One queue of a service, as the broker reports it at the moment of asking."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Full queue name.", examples=["esim.accounts.dlq"])
    service: str = Field(description="The service the queue belongs to.", examples=["accounts"])
    kind: QueueKind
    present: bool = Field(description="False when the queue does not exist (not declared yet).")
    messages: int | None = Field(
        default=None, description="Messages ready for delivery (unacknowledged ones excluded)."
    )
    consumers: int | None = Field(default=None, description="Consumers attached right now.")

    @property
    def holds_dead_letters(self) -> bool:
        """Whether the queue is one of dead letters."""
        return self.kind in DEAD_LETTER_KINDS


def service_queues(
    topology: Topology, service: str, retry_delays_ms: Sequence[int] = ()
) -> list[tuple[str, QueueKind]]:
    """The names and kinds of every durable queue `service` may have declared."""
    main = topology.service_queue(service)
    queues: list[tuple[str, QueueKind]] = [
        (main, "main"),
        (topology.dead_letter_queue(main), "dlq"),
        (topology.query_queue(service), "queries"),
        (topology.dead_letter_queue(topology.broadcast_group(service)), "broadcast_dlq"),
    ]
    queues += [(topology.retry_queue(main, delay), "retry") for delay in retry_delays_ms]
    return queues


class _Probe:
    """Passive declares on a channel of its own, replaced whenever the broker closes it."""

    def __init__(self, connection: AbstractConnection) -> None:
        self._connection = connection
        self._channel: AbstractChannel | None = None

    async def depth(self, name: str, service: str, kind: QueueKind) -> QueueDepth:
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel(publisher_confirms=False)
        try:
            queue = await self._channel.declare_queue(name, passive=True)
        except ChannelNotFoundEntity:
            self._channel = None  # the broker closed it
            return QueueDepth(name=name, service=service, kind=kind, present=False)
        declared = queue.declaration_result
        return QueueDepth(
            name=name,
            service=service,
            kind=kind,
            present=True,
            messages=declared.message_count,
            consumers=declared.consumer_count,
        )

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()


async def queue_depths(
    connection: AbstractConnection,
    topology: Topology,
    services: Sequence[str],
    *,
    retry_delays_ms: Sequence[int] = (),
) -> list[QueueDepth]:
    """Every queue of `services` (retry queues for the given delays), in order; a queue that
    does not exist is reported with `present=False`, not raised."""
    probe = _Probe(connection)
    try:
        return [
            await probe.depth(name, service, kind)
            for service in services
            for name, kind in service_queues(topology, service, retry_delays_ms)
        ]
    finally:
        await probe.close()
