"""Consuming a service's queues: dispatch by type, inbox, retries with backoff, dead letters.

Broadcasts (events every replica hears) come from a per-process queue instead: same parsing,
correlation ids and dead letters for bad input, but no inbox and no retries.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from prometheus_client import Counter
from pydantic import ValidationError

from contracts import Contract, RemoteError
from servicekit.acks import AckBook, ChannelAcks
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.correlation import bind_correlation_id
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.inbox import Inbox
from servicekit.messages import (
    ATTEMPT_HEADER,
    DEATH_REASON_HEADER,
    attempt_of,
    context_of,
    copy_delivery,
    encode,
    validation_summary,
)
from servicekit.metrics import HANDLER_SECONDS, MESSAGES_CONSUMED, TypeMetrics
from servicekit.router import Route, Router
from servicekit.topology import (
    declare_broadcast_queue,
    declare_query_queue,
    declare_service_queue,
)

log = structlog.get_logger("servicekit.consumer")


class Consumer:
    """Runs one service's handlers against its queues."""

    def __init__(
        self,
        *,
        bus: Bus,
        router: Router,
        inbox: Inbox | None,
        prefetch: int,
        delivery_limit: int,
        retry_delays_ms: list[int],
    ) -> None:
        self.bus = bus
        self.router = router
        self.inbox = inbox
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.retry_delays_ms = retry_delays_ms
        self.queue_name = bus.topology.service_queue(bus.service)
        self.broadcast_group = bus.topology.broadcast_group(bus.service)
        self.instance = secrets.token_hex(6)
        self._channels: list[AbstractChannel] = []
        self._metrics: dict[str, TypeMetrics] = {}
        self._acks = AckBook()

    def _metrics_of(self, message_type: str) -> TypeMetrics:
        """The labelled metrics of a routed message type, looked up once (not per message)."""
        metrics = self._metrics.get(message_type)
        if metrics is None:
            metrics = self._metrics[message_type] = TypeMetrics(self.bus.service, message_type)
        return metrics

    async def start(self) -> None:
        """Declare the queues and start consuming; aio-pika resumes them after a reconnect."""
        if self.router.routes:
            channel = await self._channel()
            queue = await declare_service_queue(
                channel,
                self.bus.topology,
                self.bus.service,
                event_types=self.router.event_types,
                delivery_limit=self.delivery_limit,
                retry_delays_ms=self.retry_delays_ms,
            )
            await queue.consume(self._handle)
        if self.router.answers:
            channel = await self._channel()
            queries = await declare_query_queue(channel, self.bus.topology, self.bus.service)
            await queries.consume(self._answer)
        if self.router.broadcasts:
            await self._start_broadcasts()

    async def _start_broadcasts(self) -> None:
        channel = await self._channel()
        queue = await declare_broadcast_queue(
            channel,
            self.bus.topology,
            self.bus.service,
            instance=self.instance,
            event_types=self.router.broadcast_types,
        )
        await queue.consume(self._broadcast)
        # While the connection is down, this process's queue does not exist: broadcasts
        # published meanwhile never reach it. Listeners hear of the gap on both edges.
        self.bus.connection.close_callbacks.add(self._broadcast_gap)
        self.bus.connection.reconnect_callbacks.add(self._broadcast_gap)

    def _broadcast_gap(self, *_: Any) -> None:
        log.warning("broadcasts_may_have_been_missed")
        for listener in self.router.gap_listeners:
            try:
                listener()
            except Exception:
                log.exception("broadcast_gap_listener_failed")

    async def stop(self) -> None:
        """Stop consuming; unacknowledged messages return to their queues."""
        if self.router.broadcasts and self.bus.is_connected:
            self.bus.connection.close_callbacks.discard(self._broadcast_gap)
            self.bus.connection.reconnect_callbacks.discard(self._broadcast_gap)
        await self._acks.drain()
        for channel in self._channels:
            if not channel.is_closed:
                await channel.close()
        self._channels.clear()

    async def _channel(self) -> AbstractChannel:
        channel = await self.bus.connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        self._channels.append(channel)
        return channel

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        acks, tag = self._acks.begin(message)
        try:
            await self._settle(message, acks, tag)
        finally:
            acks.abandon(tag)

    async def _settle(self, message: AbstractIncomingMessage, acks: ChannelAcks, tag: int) -> None:
        """Handle a service-queue delivery, then settle it through its channel's acks."""
        message_type = message.type or ""
        parsed = _parse(message, self.router.routes)
        if isinstance(parsed, str):
            await self._dead_letter_and_settle(message, parsed, acks, tag)
            return
        route, body = parsed
        attempt = attempt_of(message)
        context = context_of(
            message, attempt=attempt, final_attempt=attempt > len(self.retry_delays_ms)
        )
        bind_correlation_id(
            context.correlation_id, message_id=context.message_id, message_type=message_type
        )
        inbox = None if route.idempotent else self.inbox
        metrics = self._metrics_of(message_type)
        try:
            if inbox is not None and await inbox.seen(context.message_id):
                acks.ack(tag, metrics.duplicate.inc)
                return
            started = time.perf_counter()
            await route.handler(body, context)
            metrics.handler_seconds.observe(time.perf_counter() - started)
            if inbox is not None:
                await inbox.record(context.message_id, message_type)
        except Exception as failure:
            outcome = await self._retry_or_dead_letter(message, attempt, failure)
            if outcome is None:
                acks.nack(tag)
            else:
                acks.ack(tag, MESSAGES_CONSUMED.labels(self.bus.service, message_type, outcome).inc)
            return
        acks.ack(tag, metrics.handled.inc)
        log.debug("message_handled")

    async def _dead_letter_and_settle(
        self, message: AbstractIncomingMessage, reason: str, acks: ChannelAcks, tag: int
    ) -> None:
        if await self._dead_letter(message, reason):
            acks.ack(tag, self._dead_lettered(message).inc)
        else:
            acks.nack(tag)

    async def _retry_or_dead_letter(
        self, message: AbstractIncomingMessage, attempt: int, failure: Exception
    ) -> str | None:
        """Republish a failed delivery for a later attempt, or dead-letter it: the outcome
        ("retried", "dead_lettered"), or None if that publish failed (requeue the delivery)."""
        if attempt > len(self.retry_delays_ms):
            log.error("handler_gave_up", attempt=attempt, error=repr(failure))
            reason = f"handler failed {attempt} times: {failure!r}"
            return "dead_lettered" if await self._dead_letter(message, reason) else None
        delay = self.retry_delays_ms[attempt - 1]
        log.warning(
            "handler_failed_will_retry", attempt=attempt, delay_ms=delay, error=repr(failure)
        )
        retry = copy_delivery(message, {**(message.headers or {}), ATTEMPT_HEADER: attempt + 1})
        try:
            await self.bus.publish_raw(
                "", self.bus.topology.retry_queue(self.queue_name, delay), retry
            )
        except Exception:
            log.exception("retry_publish_failed")
            return None
        return "retried"

    async def _broadcast(self, message: AbstractIncomingMessage) -> None:
        parsed = _parse(message, self.router.broadcasts)
        if isinstance(parsed, str):
            # A broadcast whose dead letter cannot be published is dropped: its exclusive
            # queue has no delivery limit to stop a requeued one from coming back forever.
            if await self._dead_letter(message, parsed, queue=self.broadcast_group):
                await message.ack()
                self._dead_lettered(message).inc()
            else:
                await message.nack(requeue=False)
            return
        route, body = parsed
        context = context_of(message, attempt=1, final_attempt=True)
        bind_correlation_id(
            context.correlation_id, message_id=context.message_id, message_type=context.type
        )
        outcome = "broadcast_handled"
        try:
            await route.handler(body, context)
        except Exception as failure:
            log.error("broadcast_handler_failed", error=repr(failure))
            outcome = "broadcast_failed"
        await message.ack()
        MESSAGES_CONSUMED.labels(self.bus.service, context.type, outcome).inc()

    async def _dead_letter(
        self, message: AbstractIncomingMessage, reason: str, *, queue: str | None = None
    ) -> bool:
        """Publish a copy of the message to the dead letters of `queue` (default: the service
        queue); whether that worked. The caller settles the delivery."""
        log.error("message_dead_lettered", reason=reason, message_type=message.type)
        dead = copy_delivery(
            message, {**(message.headers or {}), DEATH_REASON_HEADER: reason[:1000]}
        )
        try:
            await self.bus.publish_raw(
                self.bus.topology.dead_letters, queue or self.queue_name, dead
            )
        except Exception:
            log.exception("dead_letter_publish_failed")
            return False
        return True

    def _dead_lettered(self, message: AbstractIncomingMessage) -> Counter:
        return MESSAGES_CONSUMED.labels(self.bus.service, message.type or "", "dead_lettered")

    async def _answer(self, message: AbstractIncomingMessage) -> None:
        route = self.router.answers.get(message.type or "")
        reply: Contract
        if route is None:
            reply = RemoteError(code="unknown_type", message=f"no answer for {message.type!r}")
        else:
            bind_correlation_id(message.correlation_id or "", message_type=message.type or "")
            reply = await self._call(route.model, route.handler, message)
        if message.reply_to:
            outgoing = aio_pika.Message(
                body=encode(reply),
                content_type="application/json",
                type=reply.TYPE,
                message_id=new_id("msg"),
                timestamp=utcnow(),
                correlation_id=message.correlation_id,
                app_id=self.bus.service,
                headers={"in_reply_to": message.message_id or ""},
            )
            # Not mandatory: RabbitMQ returns mandatory publishes to direct reply-to.
            await self.bus.publish_raw("", message.reply_to, outgoing, mandatory=False)
        await message.ack()

    async def _call(
        self, model: type[Contract], handler: Any, message: AbstractIncomingMessage
    ) -> Contract:
        try:
            body = model.model_validate_json(message.body)
        except ValidationError as invalid:
            return RemoteError(code="invalid_request", message=validation_summary(invalid))
        context = context_of(message, attempt=1, final_attempt=True)
        try:
            started = time.perf_counter()
            result: Contract = await handler(body, context)
            HANDLER_SECONDS.labels(self.bus.service, model.TYPE).observe(
                time.perf_counter() - started
            )
            return result
        except ServiceError as failure:
            return RemoteError(code=failure.code, message=failure.message)
        except Exception:
            log.exception("answer_failed")
            return RemoteError(code="internal", message="internal error")


def _parse(
    message: AbstractIncomingMessage, routes: dict[str, Route]
) -> tuple[Route, Contract] | str:
    """The route and validated body of a message, or why it must be dead-lettered."""
    message_type = message.type or ""
    route = routes.get(message_type)
    if route is None:
        return f"unknown message type {message_type!r}"
    if not message.message_id:
        return "message has no message_id"
    try:
        body = route.model.model_validate_json(message.body)
    except ValidationError as invalid:
        return f"invalid body: {validation_summary(invalid)}"
    return route, body
