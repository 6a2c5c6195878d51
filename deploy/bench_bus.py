"""Bus throughput: servicekit against raw aio-pika, end to end, on the same broker in one run.

`make bench-bus` runs it. Each round publishes N small JSON events and consumes them at the
same time, timed from the first publish until the consumer has handled all N:

- raw: aio-pika alone. A durable quorum queue (delivery limit, dead-letter exchange) bound to
  a topic exchange, persistent mandatory messages, publisher confirms awaited in windows of
  100, manual acks, the same prefetch as servicekit.
- servicekit: a real `Service` (store, bus, consumer, outbox relay) started through its
  aiohttp app's cleanup context; `bus.publish_many` publishes, and the real Consumer
  validates, checks and records the inbox, observes the metrics and acks.

Rounds alternate between the two; the first pair is a warm-up and is not counted. Every name
is unique to the run and deleted afterwards, and so is the inbox database. This is a
measurement, not a test: it exits 0 whether or not the goal is met, and says which.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from aiohttp import web
from pymongo import AsyncMongoClient

from contracts import Event
from devstack.net import free_port, redact_url
from devstack.rabbitmq import amqp_url_from_env
from devstack.store_server import StoreServer, kind_from_env, start_store_server
from servicekit.bus import PUBLISH_WINDOW
from servicekit.logging import configure_logging
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology, delete_namespace

GOAL = 0.85
"""servicekit's end-to-end throughput as a share of raw aio-pika's, as the issue asks."""

DEADLINE_S = 600.0
"""A round that has not finished by then is abandoned: something is wrong, not slow."""


class BenchPinged(Event):
    """A benchmark-only event, about the size of a small domain event."""

    TYPE: ClassVar[str] = "bench.pinged.v1"

    key: str
    n: int
    note: str = "a small payload of the size a domain event carries"


@dataclass(frozen=True)
class Round:
    """One timed round of one side."""

    side: str
    messages: int
    seconds: float
    publish_seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        """Messages per second, end to end."""
        return self.messages / self.seconds


class Finish:
    """Counts handled messages and notes when the last one arrives."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.handled = 0
        self.done = asyncio.Event()

    def one(self) -> None:
        """Count one handled message."""
        self.handled += 1
        if self.handled >= self.expected:
            self.done.set()


async def timed(
    side: str, messages: int, finish: Finish, publish: Callable[[], Awaitable[None]]
) -> Round:
    """Run `publish` while the consumer runs; time it until `finish` has seen every message."""
    cpu = time.process_time()
    started = time.perf_counter()
    publisher = asyncio.create_task(publish())
    await asyncio.wait_for(finish.done.wait(), DEADLINE_S)
    ended = time.perf_counter()
    await publisher
    published = publisher_ended.get(id(publisher), ended)
    return Round(side, messages, ended - started, published - started, time.process_time() - cpu)


publisher_ended: dict[int, float] = {}


def mark_published(task: asyncio.Task[None] | None) -> None:
    """Note when the publisher finished (before the consumer, usually)."""
    if task is not None:
        publisher_ended[id(task)] = time.perf_counter()


async def raw_round(amqp_url: str, namespace: str, messages: int, prefetch: int) -> Round:
    """aio-pika alone: the same queue arguments, confirms in windows, manual acks."""
    exchange_name = f"{namespace}.raw.events"
    queue_name = f"{namespace}.raw"
    dead_letters = f"{namespace}.raw.dead"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        publish_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=prefetch)
        try:
            exchange = await publish_channel.declare_exchange(
                exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await publish_channel.declare_exchange(
                dead_letters, aio_pika.ExchangeType.DIRECT, durable=True
            )
            queue = await consume_channel.declare_queue(
                queue_name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": 5,
                    "x-dead-letter-exchange": dead_letters,
                    "x-dead-letter-routing-key": queue_name,
                },
            )
            await queue.bind(exchange_name, routing_key=BenchPinged.TYPE)
            finish = Finish(messages)

            async def on_message(message: AbstractIncomingMessage) -> None:
                json.loads(message.body)
                await message.ack()
                finish.one()

            await queue.consume(on_message)

            async def publish() -> None:
                for start in range(0, messages, PUBLISH_WINDOW):
                    window = [
                        aio_pika.Message(
                            body=json.dumps(
                                {"key": "k", "n": n, "note": BenchPinged.model_fields["note"].default}
                            ).encode(),
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=secrets.token_hex(12),
                            type=BenchPinged.TYPE,
                        )
                        for n in range(start, min(start + PUBLISH_WINDOW, messages))
                    ]
                    await asyncio.gather(
                        *(
                            exchange.publish(m, routing_key=BenchPinged.TYPE, mandatory=True)
                            for m in window
                        )
                    )
                mark_published(asyncio.current_task())

            return await timed("raw", messages, finish, publish)
        finally:
            await delete_raw(publish_channel, [queue_name], [exchange_name, dead_letters])


async def delete_raw(channel: AbstractChannel, queues: list[str], exchanges: list[str]) -> None:
    """Delete what a raw round declared (quorum queues refuse `if_unused=True`)."""
    for name in queues:
        await channel.queue_delete(name, if_unused=False, if_empty=False)
    for name in exchanges:
        await channel.exchange_delete(name)


async def servicekit_round(settings: ServiceSettings, service_name: str, messages: int) -> Round:
    """A real Service consuming what its own bus publishes, through the real Consumer."""
    service = Service.create(service_name, settings)
    finish = Finish(messages)

    async def on_pinged(_event: BenchPinged, _context: MessageContext) -> None:
        finish.one()

    service.router.on(BenchPinged, on_pinged)
    runner = web.AppRunner(service.http_app())
    await runner.setup()
    try:

        async def publish() -> None:
            chunk = 10 * PUBLISH_WINDOW
            for start in range(0, messages, chunk):
                await service.bus.publish_many(
                    [
                        service.bus.outgoing(BenchPinged(key="k", n=n))
                        for n in range(start, min(start + chunk, messages))
                    ]
                )
            mark_published(asyncio.current_task())

        return await timed("servicekit", messages, finish, publish)
    finally:
        await runner.cleanup()
        await forget_service(settings, service_name)


async def forget_service(settings: ServiceSettings, service_name: str) -> None:
    """Delete the service's queues, exchanges and inbox database."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_namespace(
            channel, Topology(settings.bus_namespace), [service_name], settings.retry_delays_ms
        )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    try:
        await client.drop_database(settings.database_name(service_name))
    finally:
        await client.close()


@contextmanager
def store_url(data_root: Path) -> Iterator[tuple[str, StoreServer | None]]:
    """$MONGO_URL, else an embedded store server of our own, stopped afterwards."""
    external = os.environ.get("MONGO_URL")
    if external:
        yield external, None
        return
    server = start_store_server(kind_from_env(), data_root, free_port())
    try:
        yield server.url, server
    finally:
        server.stop()


def report(rounds: list[Round], warmups: int) -> None:
    """Print the table, the medians, the ratio and the verdict."""
    print()
    print(f"{'round':<7}{'side':<12}{'msg/s':>9}{'seconds':>9}{'publish s':>11}{'cpu s':>8}")
    for index, item in enumerate(rounds):
        label = "warm-up" if index < 2 * warmups else str(index // 2 - warmups + 1)
        print(
            f"{label:<7}{item.side:<12}{item.rate:>9.0f}{item.seconds:>9.2f}"
            f"{item.publish_seconds:>11.2f}{item.cpu_seconds:>8.2f}"
        )
    counted = rounds[2 * warmups :]
    raw = statistics.median(r.rate for r in counted if r.side == "raw")
    kit = statistics.median(r.rate for r in counted if r.side == "servicekit")
    ratio = kit / raw
    print()
    print(f"raw aio-pika median:  {raw:8.0f} msg/s")
    print(f"servicekit median:    {kit:8.0f} msg/s")
    print(f"ratio servicekit/raw: {ratio:8.2f}   goal {GOAL:.2f}: ", end="")
    print("met" if ratio >= GOAL else "NOT met")


async def bench(args: argparse.Namespace, mongo_url: str) -> list[Round]:
    """Alternate raw and servicekit rounds, warm-ups first."""
    namespace = f"bench{secrets.token_hex(4)}"
    settings = ServiceSettings.model_validate(
        {
            "amqp_url": args.amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": namespace,
            "prefetch": args.prefetch,
            "log_format": "json",
            "log_level": "warning",
        }
    )
    configure_logging("bench", settings.log_level, settings.log_format)
    print(
        f"bench-bus: {args.messages} messages a round, {args.rounds} rounds after"
        f" {args.warmups} warm-up, prefetch {args.prefetch}, confirm window {PUBLISH_WINDOW};"
        f" broker {redact_url(args.amqp_url)}, store {redact_url(mongo_url)},"
        f" namespace {namespace}",
        flush=True,
    )
    rounds: list[Round] = []
    for index in range(args.warmups + args.rounds):
        rounds.append(await raw_round(args.amqp_url, f"{namespace}r{index}", args.messages, args.prefetch))
        rounds.append(await servicekit_round(settings, f"bench{index}", args.messages))
        for item in rounds[-2:]:
            print(f"  {item.side:<11} {item.rate:7.0f} msg/s", flush=True)
    return rounds


async def profile(args: argparse.Namespace, mongo_url: str) -> None:
    """One warm-up and one profiled servicekit round; the top of the profile."""
    namespace = f"bench{secrets.token_hex(4)}"
    settings = ServiceSettings.model_validate(
        {
            "amqp_url": args.amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": namespace,
            "prefetch": args.prefetch,
            "log_format": "json",
            "log_level": "warning",
        }
    )
    configure_logging("bench", settings.log_level, settings.log_format)
    await servicekit_round(settings, "benchw", args.messages)
    profiler = cProfile.Profile()
    profiler.enable()
    result = await servicekit_round(settings, "benchp", args.messages)
    profiler.disable()
    print(f"profiled servicekit round: {result.rate:.0f} msg/s, cpu {result.cpu_seconds:.2f} s")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile_top)
        print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; 0 whether or not the goal is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmups", type=int, default=1)
    parser.add_argument("--prefetch", type=int, default=ServiceSettings().prefetch)
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-top", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-bus-") as tmp, store_url(Path(tmp)) as (url, _):
        if args.profile:
            asyncio.run(profile(args, url))
            return 0
        rounds = asyncio.run(bench(args, url))
    report(rounds, args.warmups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
