"""Bus throughput, end to end: servicekit against raw aio-pika, same broker, same run.

`make bench-bus` runs it. A round publishes N small JSON events from one process while
another process consumes them, as a producing and a consuming service would, and is timed
from the first publish until the consumer has acknowledged all N:

- raw: aio-pika alone. A durable quorum queue (delivery limit, dead-letter exchange) bound to
  a topic exchange; persistent, mandatory messages; publisher confirms awaited in windows of
  100; manual acks with the same prefetch as servicekit.
- servicekit: two real `Service`s started through their aiohttp apps' cleanup contexts. The
  producer publishes with `bus.publish_many`; the consumer's handler is registered with
  `router.on`, and its real Consumer validates the body, looks the message up in the inbox,
  runs the handler, records the inbox, observes the metrics and acks.

Rounds alternate, raw first; the first pair is a warm-up and is not counted. Every queue,
exchange and database belongs to this run only and is deleted after its round. The inbox is
$MONGO_URL when set, else an embedded store server started here and stopped at the end:
nx-27017 unless $STORE_SERVER says ferretdb. FerretDB 1.24's SQLite backend does not use its
`_id` index for lookups, so every inbox lookup scans the whole inbox and a round of N
messages costs O(N^2) there: that measures FerretDB, not servicekit (decision 0003).

Both sides share the machine with the broker and the store server, so other work running
at the same time skews the numbers; the load average is printed before and after.

This is a measurement, not a test: it exits 0 whether or not the goal is met, and says which.
`--profile` instead runs servicekit rounds with both processes under cProfile (CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, ClassVar, Literal

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web
from devstack.net import free_port, redact_url
from devstack.rabbitmq import amqp_url_from_env
from devstack.store_server import kind_from_env, start_store_server
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from contracts import Event
from servicekit.bus import PUBLISH_WINDOW
from servicekit.logging import configure_logging
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology, delete_namespace

GOAL = 0.85
"""servicekit's end-to-end throughput as a share of raw aio-pika's (the issue's goal)."""

ROUND_DEADLINE_S = 900.0
"""A round still running after this is abandoned: something is broken, not slow."""

START_DEADLINE_S = 60.0
"""How long a process may take to connect and declare what it needs."""

OUTGOING_CHUNK = 10 * PUBLISH_WINDOW
"""The producer builds its outgoing messages this many at a time, inside the timed window."""

Side = Literal["raw", "servicekit"]
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

    side: Side
    role: Role
    messages: int
    settings: ServiceSettings
    queue: str
    exchange: str
    profile_path: str | None = None


@dataclass(frozen=True)
class Report:
    """What one process says when its part of a round is done (sent back as a tuple)."""

    started: float
    finished: float
    cpu_seconds: float


@dataclass(frozen=True)
class Round:
    """One timed round of one side."""

    side: Side
    messages: int
    seconds: float
    publish_seconds: float
    producer_cpu: float
    consumer_cpu: float
    store_cpu: float | None
    broker_cpu: float | None

    @property
    def rate(self) -> float:
        """Messages per second, end to end."""
        return self.messages / self.seconds


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


def broker_pid() -> int | None:
    """The local RabbitMQ node's process id, if it runs on this machine (Linux only)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "beam.smp":
                return int(entry.name)
        except (OSError, ValueError):
            continue
    return None


def used_since(pid: int | None, before: float | None) -> float | None:
    """CPU seconds a process has used since `before` was read."""
    after = process_cpu_seconds(pid)
    return after - before if after is not None and before is not None else None


def process_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds (user + system) a process has used so far; None when unknown (not Linux)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The processes of a round. Each says "ready" once connected, the producer then waits for
# "go", and each ends by sending its Report.


def run_role(job: Job, conn: Connection) -> None:
    """Entry point of a round's process."""
    configure_logging(f"bench-{job.role}", "warning", "json")
    profiler = cProfile.Profile(time.process_time) if job.profile_path else None
    if profiler is not None:
        profiler.enable()
    roles: dict[tuple[Side, Role], Callable[[Job, Connection], Coroutine[Any, Any, Report]]] = {
        ("raw", PRODUCER): raw_producer,
        ("raw", CONSUMER): raw_consumer,
        ("servicekit", PRODUCER): servicekit_producer,
        ("servicekit", CONSUMER): servicekit_consumer,
    }
    report = asyncio.run(roles[job.side, job.role](job, conn))
    if profiler is not None and job.profile_path:
        profiler.disable()
        profiler.dump_stats(job.profile_path)
    conn.send((report.started, report.finished, report.cpu_seconds))


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

    service.router.on(BenchPinged, on_pinged)
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
        return Report(0.0, now(), time.process_time() - cpu)
    finally:
        await runner.cleanup()


# The parent: declares and deletes, starts the processes, times them.


def expect(conn: Connection, processes: list[BaseProcess], what: str, deadline_s: float) -> object:
    """The next thing a process sends, or an error naming what did not come and why."""
    deadline = now() + deadline_s
    while not conn.poll(1.0):
        failed = [process.exitcode for process in processes if process.exitcode]
        if failed:
            raise RuntimeError(f"no {what}: a process exited with code {failed[0]} (see above)")
        if now() > deadline:
            raise RuntimeError(f"no {what} within {deadline_s:.0f} s")
    return conn.recv()


def expect_report(conn: Connection, processes: list[BaseProcess], what: str) -> Report:
    """A process's report of its part of the round."""
    values = expect(conn, processes, what, ROUND_DEADLINE_S)
    if not isinstance(values, tuple) or len(values) != 3:
        raise RuntimeError(f"the {what} is not a report: {values!r}")
    return Report(*(float(value) for value in values))


def run_round(jobs: tuple[Job, Job], store_pid: int | None) -> Round:
    """Start the consumer, then the producer; say go; collect both reports."""
    consumer_job, producer_job = jobs
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    conns: dict[Role, Connection] = {}
    try:
        for job in (consumer_job, producer_job):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=run_role, args=(job, child_end), daemon=True)
            process.start()
            processes.append(process)
            conns[job.role] = parent_end
            expect(parent_end, processes, f"{job.side} {job.role} ready", START_DEADLINE_S)
        broker = broker_pid()
        store_cpu, broker_cpu = process_cpu_seconds(store_pid), process_cpu_seconds(broker)
        conns[PRODUCER].send("go")
        produced = expect_report(conns[PRODUCER], processes, "producer report")
        consumed = expect_report(conns[CONSUMER], processes, "consumer report")
        store_used, broker_used = used_since(store_pid, store_cpu), used_since(broker, broker_cpu)
        for finished in processes:
            finished.join(START_DEADLINE_S)
    finally:
        for running in processes:
            if running.is_alive():
                running.terminate()
                running.join()
    return Round(
        side=producer_job.side,
        messages=producer_job.messages,
        seconds=consumed.finished - produced.started,
        publish_seconds=produced.finished - produced.started,
        producer_cpu=produced.cpu_seconds,
        consumer_cpu=consumed.cpu_seconds,
        store_cpu=store_used,
        broker_cpu=broker_used,
    )


async def declare_raw(settings: ServiceSettings, queue: str, exchange: str) -> None:
    """The raw round's topology: the same queue arguments as servicekit's service queues."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        events = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        dead = await channel.declare_exchange(
            f"{exchange}.dead", aio_pika.ExchangeType.DIRECT, durable=True
        )
        declared = await channel.declare_queue(
            queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": settings.delivery_limit,
                "x-dead-letter-exchange": dead.name,
                "x-dead-letter-routing-key": queue,
            },
        )
        await declared.bind(events, routing_key=BenchPinged.TYPE)


async def delete_raw(settings: ServiceSettings, queue: str, exchange: str) -> None:
    """Delete the raw round's topology (quorum queues refuse `if_unused=True`)."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue, if_unused=False, if_empty=False)
        for name in (exchange, f"{exchange}.dead"):
            await channel.exchange_delete(name)


async def delete_servicekit(settings: ServiceSettings) -> None:
    """Delete a servicekit round's queues, exchanges and inbox database."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_namespace(
            channel, Topology(settings.bus_namespace), [CONSUMER], settings.retry_delays_ms
        )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    try:
        await client.drop_database(settings.database_name(CONSUMER))
    finally:
        await client.close()


def round_settings(args: argparse.Namespace, mongo_url: str, namespace: str) -> ServiceSettings:
    """Settings of one round's own namespace; logging at warning, so only trouble shows."""
    return ServiceSettings.model_validate(
        {
            "amqp_url": args.amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": namespace,
            "prefetch": args.prefetch,
            "log_level": "warning",
            "log_format": "json",
        }
    )


def raw_round(settings: ServiceSettings, messages: int, store_pid: int | None) -> Round:
    """One raw aio-pika round in its own queue."""
    queue, exchange = f"{settings.bus_namespace}.raw", f"{settings.bus_namespace}.raw.events"
    asyncio.run(declare_raw(settings, queue, exchange))
    try:
        jobs = tuple(Job("raw", role, messages, settings, queue, exchange) for role in ROLES)
        return run_round((jobs[0], jobs[1]), store_pid)
    finally:
        asyncio.run(delete_raw(settings, queue, exchange))


def servicekit_round(
    settings: ServiceSettings,
    messages: int,
    store_pid: int | None,
    profile_dir: Path | None = None,
) -> Round:
    """One servicekit round in its own namespace (the consumer service declares its queue)."""
    topology = Topology(settings.bus_namespace)
    jobs = tuple(
        Job(
            "servicekit",
            role,
            messages,
            settings,
            topology.service_queue(CONSUMER),
            topology.events,
            str(profile_dir / f"{role}.prof") if profile_dir else None,
        )
        for role in ROLES
    )
    try:
        return run_round((jobs[0], jobs[1]), store_pid)
    finally:
        asyncio.run(delete_servicekit(settings))


@contextmanager
def store(data_dir: Path) -> Iterator[tuple[str, int | None]]:
    """$MONGO_URL, else an embedded store server of our own: its URL and process id."""
    external = os.environ.get("MONGO_URL")
    if external:
        print(f"store: MONGO_URL={redact_url(external)}", flush=True)
        yield external, None
        return
    server = start_store_server(kind_from_env() or "nx", data_dir, free_port())
    try:
        print(f"store: {server.describe()}", flush=True)
        yield server.url, server.process.pid
    finally:
        server.stop()


def bench(args: argparse.Namespace, mongo_url: str, store_pid: int | None) -> list[Round]:
    """Alternate raw and servicekit rounds, warm-ups first."""
    run_id = secrets.token_hex(3)
    print(
        f"bench-bus: {args.messages} messages a round, {args.warmups} warm-up and"
        f" {args.rounds} counted rounds a side, prefetch {args.prefetch}, confirm window"
        f" {PUBLISH_WINDOW}, broker {redact_url(args.amqp_url)}, namespaces bench{run_id}*,"
        f" load average {load_average()}",
        flush=True,
    )
    rounds: list[Round] = []
    for index in range(args.warmups + args.rounds):
        label = "warm-up" if index < args.warmups else f"round {index - args.warmups + 1}"
        raw = raw_round(
            round_settings(args, mongo_url, f"bench{run_id}r{index}"), args.messages, store_pid
        )
        print(f"  {label:<8} raw         {raw.rate:7.0f} msg/s", flush=True)
        kit = servicekit_round(
            round_settings(args, mongo_url, f"bench{run_id}s{index}"), args.messages, store_pid
        )
        print(f"  {label:<8} servicekit  {kit.rate:7.0f} msg/s", flush=True)
        rounds += [raw, kit]
    return rounds


def seconds(value: float | None) -> str:
    """A CPU time for the table; "-" when it could not be read."""
    return "-" if value is None else f"{value:.2f}"


def load_average() -> str:
    """The 1-minute load average, as a hint of other work on the machine."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def report(rounds: list[Round], warmups: int) -> None:
    """Print the table, the medians, the ratio and the verdict."""
    print()
    print("CPU seconds each process used during the round: the producer, the consumer, the")
    print('store server, the broker ("-": not on this machine). The machine has', end=" ")
    print(f"{os.cpu_count()} cores.")
    print(
        f"{'round':<9}{'side':<12}{'msg/s':>7}{'seconds':>9}{'published at':>14}"
        f"{'producer':>10}{'consumer':>10}{'store':>8}{'broker':>8}"
    )
    for index, item in enumerate(rounds):
        label = "warm-up" if index < 2 * warmups else str(index // 2 - warmups + 1)
        print(
            f"{label:<9}{item.side:<12}{item.rate:>7.0f}{item.seconds:>9.2f}"
            f"{item.publish_seconds:>14.2f}{item.producer_cpu:>10.2f}{item.consumer_cpu:>10.2f}"
            f"{seconds(item.store_cpu):>8}{seconds(item.broker_cpu):>8}"
        )
    counted = rounds[2 * warmups :]
    raw = statistics.median(r.rate for r in counted if r.side == "raw")
    kit = statistics.median(r.rate for r in counted if r.side == "servicekit")
    ratio = kit / raw
    print()
    print(f"raw aio-pika, median:  {raw:7.0f} msg/s")
    print(f"servicekit, median:    {kit:7.0f} msg/s")
    print(f"servicekit / raw:      {ratio:7.2f}  (goal {GOAL:.2f})")
    if ratio >= GOAL:
        print("goal met")
    else:
        print(f"goal NOT met: servicekit reached {ratio:.2f} of raw aio-pika, short of {GOAL:.2f}")
    print(f"load average now: {load_average()}")


def profile(args: argparse.Namespace, mongo_url: str, store_pid: int | None) -> None:
    """A warm-up servicekit round, then one with both processes under cProfile (CPU time)."""
    run_id = secrets.token_hex(3)
    servicekit_round(round_settings(args, mongo_url, f"bench{run_id}w"), args.messages, store_pid)
    with tempfile.TemporaryDirectory(prefix="bench-bus-profile-") as directory:
        result = servicekit_round(
            round_settings(args, mongo_url, f"bench{run_id}p"),
            args.messages,
            store_pid,
            Path(directory),
        )
        print(
            f"profiled servicekit round: {args.messages} messages, {result.rate:.0f} msg/s"
            f" (slowed by the profiler); cpu s: producer {result.producer_cpu:.2f},"
            f" consumer {result.consumer_cpu:.2f}, store {result.store_cpu or 0:.2f}"
        )
        for role in ROLES:
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                stats = pstats.Stats(str(Path(directory) / f"{role}.prof"), stream=out)
                stats.sort_stats(order).print_stats(args.profile_top)
                print(f"--- {role}, by {order}")
                print(out.getvalue())


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; 0 whether or not the goal is met."""
    defaults = ServiceSettings()
    parser = argparse.ArgumentParser(
        description="servicekit publish+consume throughput against raw aio-pika"
    )
    parser.add_argument("--messages", type=positive, default=20_000, help="per round")
    parser.add_argument("--rounds", type=positive, default=3, help="counted rounds per side")
    parser.add_argument("--warmups", type=int, default=1, help="uncounted rounds per side")
    parser.add_argument("--prefetch", type=positive, default=defaults.prefetch)
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument("--profile", action="store_true", help="profile servicekit instead")
    parser.add_argument("--profile-top", type=positive, default=40)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-bus-") as data_dir,
        store(Path(data_dir)) as (mongo_url, store_pid),
    ):
        if args.profile:
            profile(args, mongo_url, store_pid)
            return 0
        rounds = bench(args, mongo_url, store_pid)
    report(rounds, args.warmups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
