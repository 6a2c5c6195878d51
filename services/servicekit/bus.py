"""The message bus over aio-pika: confirmed publishing, request/reply, and the consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypeVar

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from aio_pika.exceptions import DeliveryError, PublishError
from pamqp.commands import Basic
from prometheus_client import Counter

from contracts import Contract, RemoteError, Reply
from servicekit.clock import utcnow
from servicekit.correlation import bound_correlation_id, correlation_of, current_correlation_id
from servicekit.errors import PublishFailed, RemoteCallError, RequestTimeout
from servicekit.ids import new_id
from servicekit.messages import Outgoing, encode
from servicekit.metrics import MESSAGES_PUBLISHED
from servicekit.topology import DIRECT_REPLY_TO, Topology, declare_exchanges

R = TypeVar("R", bound=Reply)

log = structlog.get_logger("servicekit.bus")

PUBLISH_WINDOW = 100
"""Publishes awaiting their confirms together; one round trip per message caps throughput."""


class Bus:
    """One service's connection to RabbitMQ: a robust connection, confirmed channels."""

    def __init__(self, *, url: str, topology: Topology, service: str) -> None:
        self.url = url
        self.topology = topology
        self.service = service
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._rpc_channel: AbstractChannel | None = None
        self._pending_replies: dict[str, asyncio.Future[AbstractIncomingMessage]] = {}
        self._rpc_lock = asyncio.Lock()
        self._published: dict[str, Counter] = {}

    @property
    def connection(self) -> AbstractRobustConnection:
        """The live connection; consumers open their channels on it."""
        if self._connection is None:
            raise RuntimeError("the bus is not connected")
        return self._connection

    @property
    def is_connected(self) -> bool:
        """Whether the connection is open (false while it reconnects)."""
        return self._connection is not None and not self._connection.is_closed

    async def connect(self) -> None:
        """Connect (with heartbeats and a connection name) and declare the exchanges."""
        self._connection = await aio_pika.connect_robust(
            self.url,
            heartbeat=30,
            reconnect_interval=1,
            client_properties={"connection_name": f"{self.topology.namespace}.{self.service}"},
        )
        self._publish_channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchanges = await declare_exchanges(self._publish_channel, self.topology)
        self._exchanges[""] = self._publish_channel.default_exchange

    async def close(self) -> None:
        """Close the connection; pending request/reply calls fail."""
        for future in self._pending_replies.values():
            future.cancel()
        if self._connection is not None:
            await self._connection.close()
        self._connection = None

    def outgoing(
        self, message: Contract, *, to: str | None = None, correlation_id: str | None = None
    ) -> Outgoing:
        """Prepare a message: events go to the events exchange, commands to the target service."""
        if message.KIND == "event":
            exchange, routing_key = self.topology.events, message.TYPE
        elif message.KIND == "command":
            if to is None:
                raise ValueError(f"command {message.TYPE} needs a target service (to=...)")
            exchange = self.topology.commands
            routing_key = self.topology.command_key(to, message.TYPE)
        else:
            raise ValueError(f"{message.TYPE} is a {message.KIND}; use request() for queries")
        message_id = new_id("msg")
        return Outgoing(
            exchange=exchange,
            routing_key=routing_key,
            message_id=message_id,
            correlation_id=correlation_id or bound_correlation_id() or correlation_of(message_id),
            type=message.TYPE,
            body=encode(message),
            occurred_at=utcnow(),
            producer=self.service,
        )

    async def publish(
        self, message: Contract, *, to: str | None = None, correlation_id: str | None = None
    ) -> None:
        """Publish one message and wait for the broker's confirm."""
        await self.publish_many([self.outgoing(message, to=to, correlation_id=correlation_id)])

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Publish messages in windows, each window awaiting its confirms together.

        Raises PublishFailed if any message was not confirmed; the others may have been
        published, so callers retry the lot and consumers deduplicate by message id.
        """
        for start in range(0, len(messages), PUBLISH_WINDOW):
            window = messages[start : start + PUBLISH_WINDOW]
            channel = await self._underlay()
            results = await asyncio.gather(
                *[self._publish_confirmed(channel, item) for item in window],
                return_exceptions=True,
            )
            failures = [result for result in results if isinstance(result, BaseException)]
            if failures:
                raise PublishFailed(
                    f"{len(failures)} of {len(window)} not confirmed"
                ) from failures[0]

    async def publish_raw(
        self,
        exchange: str,
        routing_key: str,
        message: aio_pika.Message,
        *,
        mandatory: bool = True,
    ) -> None:
        """Publish a prepared AMQP message (retries, dead letters, replies) with a confirm."""
        confirmation = await self._exchange(exchange).publish(
            message, routing_key=routing_key, mandatory=mandatory
        )
        if not isinstance(confirmation, Basic.Ack):
            raise PublishFailed(f"broker did not ack the publish to {exchange or 'default'}")

    async def _underlay(self) -> aiormq.Channel:
        """The publish channel's current AMQP channel (a new one after a reconnect)."""
        if self._publish_channel is None:
            raise PublishFailed("the bus is not connected")
        if self._publish_channel.is_closed:  # reconnecting: fail now, as Exchange.publish does
            raise PublishFailed("the publish channel is closed")
        channel = await self._publish_channel.get_underlay_channel()
        if not isinstance(channel, aiormq.Channel):
            raise PublishFailed(f"unexpected AMQP channel {type(channel).__name__}")
        return channel

    async def _publish_confirmed(self, channel: aiormq.Channel, item: Outgoing) -> None:
        """Publish one message on aiormq's channel and wait for its confirm.

        What `Exchange.publish` does, without building an `aio_pika.Message`, and without
        waiting for each frame to drain: the confirm comes after the frame is written, and
        the window bounds what is in flight.
        """
        self._exchange(item.exchange)
        try:
            confirmation = await channel.basic_publish(
                item.body,
                exchange=item.exchange,
                routing_key=item.routing_key,
                properties=item.properties(),
                mandatory=True,
                wait=False,
            )
        except PublishError as returned:
            if item.exchange != self.topology.events:
                raise PublishFailed(f"no queue takes {item.routing_key}") from returned
            log.debug("event_has_no_subscriber", message_type=item.type)
        else:
            if not isinstance(confirmation, Basic.Ack):
                raise PublishFailed(f"broker did not ack the publish of {item.type}")
        self._published_counter(item.type).inc()

    def _published_counter(self, message_type: str) -> Counter:
        """The publish counter of a message type, labelled once (not per message)."""
        counter = self._published.get(message_type)
        if counter is None:
            counter = self._published[message_type] = MESSAGES_PUBLISHED.labels(
                self.service, message_type
            )
        return counter

    def _exchange(self, name: str) -> AbstractExchange:
        if not self._exchanges:
            raise PublishFailed("the bus is not connected")
        return self._exchanges[name]

    async def request(self, query: Contract, *, to: str, reply: type[R], timeout: float) -> R:
        """Ask `to` over direct reply-to and return its reply, or raise a typed error."""
        channel = await self._reply_channel()
        message_id = new_id("msg")
        future: asyncio.Future[AbstractIncomingMessage] = asyncio.get_running_loop().create_future()
        self._pending_replies[message_id] = future
        try:
            outgoing = aio_pika.Message(
                body=encode(query),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                message_id=message_id,
                correlation_id=current_correlation_id(),
                type=query.TYPE,
                timestamp=utcnow(),
                app_id=self.service,
                reply_to=DIRECT_REPLY_TO,
                expiration=timeout,
            )
            exchange = await channel.get_exchange(self.topology.queries, ensure=False)
            try:
                await exchange.publish(outgoing, routing_key=to, mandatory=True)
            except DeliveryError as returned:
                raise RemoteCallError("unavailable", f"{to} does not serve requests") from returned
            try:
                answer = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise RequestTimeout(
                    f"{to} did not answer {query.TYPE} within {timeout}s"
                ) from None
        finally:
            self._pending_replies.pop(message_id, None)
        if answer.type == RemoteError.TYPE:
            error = RemoteError.model_validate_json(answer.body)
            raise RemoteCallError(error.code, error.message)
        return reply.model_validate_json(answer.body)

    async def _reply_channel(self) -> AbstractChannel:
        async with self._rpc_lock:
            if self._rpc_channel is None or self._rpc_channel.is_closed:
                channel = await self.connection.channel(on_return_raises=True)
                replies = await channel.declare_queue(DIRECT_REPLY_TO, passive=True)
                await replies.consume(self._on_reply, no_ack=True)
                self._rpc_channel = channel
            return self._rpc_channel

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        in_reply_to = str((message.headers or {}).get("in_reply_to", ""))
        future = self._pending_replies.get(in_reply_to)
        if future is not None and not future.done():
            future.set_result(message)
