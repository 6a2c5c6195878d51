"""The processes of one bus benchmark round (deploy/bench_bus.py), each in its own process.

Each says "ready" once connected, a producer then waits for "go", and each ends by sending its
`Report`. raw: aio-pika alone. raw_dedupe: raw's producer, and a consumer that deduplicates by
hand against an inbox collection (deploy/bench_bus_dedupe.py). servicekit: real `Service`s; the
consumer's handler is registered with `router.on`, with the inbox (the default) or
`idempotent=True` (no inbox).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, ClassVar, Literal

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web
from bench_bus_dedupe import DedupeTarget, Tally, consume_with_dedupe
from prometheus_client import REGISTRY

from contracts import Event
from servicekit.bus import PUBLISH_WINDOW
from servicekit.logging import configure_logging
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings

OUTGOING_CHUNK = 10 * PUBLISH_WINDOW
"""The producer builds its outgoing messages this many at a time, inside the timed window."""

Kind = Literal["raw", "raw_dedupe", "servicekit"]
"""Which code a round's processes run."""
Role = Literal["producer", "consumer"]

PRODUCER: Role = "producer"
CONSUMER: Role = "consumer"
ROLES: tuple[Role, Role] = (CONSUMER, PRODUCER)
"""In the order they start: the consumer first, so nothing is published before it listens."""


class BenchPinged(Event):
    """A benchmark-only event, about the size of a small domain event."""

    TYPE: ClassVar[str] = "bench.pinged.v1"

    key: str
    n: int
    note: str = "a small payload, about the size of a domain event's"


@dataclass(frozen=True)
class Job:
    """What one process of one round needs to know (sent to it pickled)."""

    kind: Kind
    role: Role
    messages: int
    settings: ServiceSettings
    queue: str
    exchange: str
    profile_path: str | None = None
    idempotent: bool = False
    """servicekit only: register the handler with `idempotent=True` (no inbox)."""


@dataclass(frozen=True)
class Report:
    """What one process says when its part of a round is done (sent back as a tuple)."""

    started: float
    finished: float
    cpu_seconds: float
    inbox_round_trips: float = 0.0
    """The consumer's inbox lookups and records sent to the store (servicekit: each a batch;
    raw_dedupe: each one message)."""


class Counter:
    """Counts messages and wakes a waiter when the expected number is reached."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.reached = asyncio.Event()

    def one(self) -> None:
        """Count one message."""
        self.count += 1
        if self.count >= self.expected:
            self.reached.set()


def now() -> float:
    """A clock every process on this machine shares (CLOCK_MONOTONIC on Linux)."""
    return time.monotonic()


def run_role(job: Job, conn: Connection) -> None:
    """Entry point of a round's process."""
    configure_logging(f"bench-{job.role}", "warning", "json")
    profiler = cProfile.Profile(time.process_time) if job.profile_path else None
    if profiler is not None:
        profiler.enable()
    roles: dict[tuple[Kind, Role], Callable[[Job, Connection], Coroutine[Any, Any, Report]]] = {
        ("raw", PRODUCER): raw_producer,
        ("raw", CONSUMER): raw_consumer,
        ("raw_dedupe", PRODUCER): raw_producer,
        ("raw_dedupe", CONSUMER): raw_dedupe_consumer,
        ("servicekit", PRODUCER): servicekit_producer,
        ("servicekit", CONSUMER): servicekit_consumer,
    }
    report = asyncio.run(roles[job.kind, job.role](job, conn))
    if profiler is not None and job.profile_path:
        profiler.disable()
        profiler.dump_stats(job.profile_path)
    conn.send((report.started, report.finished, report.cpu_seconds, report.inbox_round_trips))


async def wait_for_go(conn: Connection) -> None:
    """Say ready, then wait (off the event loop) until the parent says go."""
    conn.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def raw_producer(job: Job, conn: Connection) -> Report:
    """aio-pika: persistent mandatory messages, confirms awaited in windows."""
    note = BenchPinged.model_fields["note"].default
    connection = await aio_pika.connect(job.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(job.exchange, ensure=False)
        await wait_for_go(conn)
        cpu, started = time.process_time(), now()
        for start in range(0, job.messages, PUBLISH_WINDOW):
            window = [
                aio_pika.Message(
                    body=json.dumps({"key": "k", "n": n, "note": note}).encode(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=secrets.token_hex(13),
                    correlation_id=secrets.token_hex(13),
                    type=BenchPinged.TYPE,
                )
                for n in range(start, min(start + PUBLISH_WINDOW, job.messages))
            ]
            await asyncio.gather(
                *(
                    exchange.publish(message, routing_key=BenchPinged.TYPE, mandatory=True)
                    for message in window
                )
            )
        return Report(started, now(), time.process_time() - cpu)


async def raw_consumer(job: Job, conn: Connection) -> Report:
    """aio-pika: manual acks, the same prefetch as servicekit."""
    connection = await aio_pika.connect(job.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=job.settings.prefetch)
        queue = await channel.get_queue(job.queue, ensure=False)
        acked = Counter(job.messages)

        async def on_message(message: AbstractIncomingMessage) -> None:
            json.loads(message.body)
            await message.ack()
            acked.one()

        tag = await queue.consume(on_message)
        conn.send("ready")
        cpu = time.process_time()
        await acked.reached.wait()
        finished = now()
        used = time.process_time() - cpu
        await queue.cancel(tag)
        return Report(0.0, finished, used)


async def raw_dedupe_consumer(job: Job, conn: Connection) -> Report:
    """aio-pika and PyMongo: raw's consumer with a hand-written inbox (one lookup, one record)."""
    target = DedupeTarget(
        job.settings.amqp_url,
        job.settings.mongo_url,
        job.settings.database_name(CONSUMER),
        job.queue,
        job.settings.prefetch,
    )
    clock = {"cpu": 0.0, "finished": 0.0, "used": 0.0}

    def on_ready() -> None:
        conn.send("ready")
        clock["cpu"] = time.process_time()

    def on_settled(tally: Tally) -> None:
        if tally.settled == job.messages:  # the last ack: the round ends here
            clock["finished"], clock["used"] = now(), time.process_time() - clock["cpu"]

    tally = await consume_with_dedupe(target, job.messages, on_ready, on_settled)
    return Report(0.0, clock["finished"], clock["used"], float(tally.store_calls))


async def servicekit_producer(job: Job, conn: Connection) -> Report:
    """A Service publishing with `bus.publish_many` (confirms awaited in windows)."""
    service = Service.create(PRODUCER, job.settings, stateless=True)
    runner = web.AppRunner(service.http_app())
    await runner.setup()
    try:
        await wait_for_go(conn)
        cpu, started = time.process_time(), now()
        bus = service.bus
        for start in range(0, job.messages, OUTGOING_CHUNK):
            end = min(start + OUTGOING_CHUNK, job.messages)
            await bus.publish_many(
                [bus.outgoing(BenchPinged(key="k", n=n)) for n in range(start, end)]
            )
        return Report(started, now(), time.process_time() - cpu)
    finally:
        await runner.cleanup()


def handled_so_far() -> float:
    """What servicekit's own metric says the consumer has handled and acknowledged."""
    labels = {"service": CONSUMER, "type": BenchPinged.TYPE, "outcome": "handled"}
    return REGISTRY.get_sample_value("bus_messages_consumed_total", labels) or 0.0


async def servicekit_consumer(job: Job, conn: Connection) -> Report:
    """A Service whose handler is registered with `router.on`, run by the real Consumer."""
    service = Service.create(CONSUMER, job.settings)
    handled = Counter(job.messages)

    async def on_pinged(_event: BenchPinged, _context: MessageContext) -> None:
        handled.one()

    service.router.on(BenchPinged, on_pinged, idempotent=job.idempotent)
    runner = web.AppRunner(service.http_app())
    await runner.setup()
    try:
        conn.send("ready")
        cpu = time.process_time()
        await handled.reached.wait()
        # The last handlers have returned; their inbox records and acks follow. The metric
        # counts acknowledged messages and has nothing to wait on, so poll it briefly.
        while handled_so_far() < job.messages:  # noqa: ASYNC110
            await asyncio.sleep(0.0005)
        return Report(0.0, now(), time.process_time() - cpu, inbox_round_trips())
    finally:
        await runner.cleanup()


def inbox_round_trips() -> float:
    """How many batches of inbox lookups and records this process sent to the store."""
    return sum(
        REGISTRY.get_sample_value("inbox_batch_messages_count", {"operation": operation}) or 0.0
        for operation in ("lookup", "record")
    )
