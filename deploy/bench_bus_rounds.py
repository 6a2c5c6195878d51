"""The rounds of the bus benchmark (deploy/bench_bus.py): declare, run, time, clean up.

A round publishes N messages from one process while another consumes them, timed from the
first publish to the N-th ack, on queues of its own that are deleted afterwards. The parent
reads the CPU the store server and the broker used meanwhile from /proc.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Literal

import aio_pika
from bench_bus_procs import (
    CONSUMER,
    PRODUCER,
    ROLES,
    BenchPinged,
    Job,
    Kind,
    Report,
    Role,
    now,
    run_role,
)
from pymongo import AsyncMongoClient

from servicekit.settings import ServiceSettings
from servicekit.topology import Topology, delete_namespace

ROUND_DEADLINE_S = 900.0
"""A round still running after this is abandoned: something is broken, not slow."""

START_DEADLINE_S = 60.0
"""How long a process may take to connect and declare what it needs."""

Side = Literal["raw", "raw_dedupe", "servicekit", "idempotent", "faststream"]
"""raw aio-pika; raw aio-pika with an inbox written by hand (deploy/bench_bus_dedupe.py);
servicekit with the inbox; servicekit with `idempotent=True`; FastStream."""


@dataclass(frozen=True)
class Round:
    """One timed round of one side."""

    side: Side
    prefetch: int
    messages: int
    seconds: float
    publish_seconds: float
    producer_cpu: float
    consumer_cpu: float
    store_cpu: float | None
    broker_cpu: float | None
    inbox_round_trips: float = 0.0
    counted: bool = True
    """False for a warm-up round."""

    @property
    def rate(self) -> float:
        """Messages per second, end to end."""
        return self.messages / self.seconds


def broker_pid() -> int | None:
    """The local RabbitMQ node's process id, if it runs on this machine (Linux only).

    The oldest `beam.smp`: the shared development node, not one a fault suite started since."""
    nodes: list[tuple[int, int]] = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "beam.smp":
                started = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[19])
                nodes.append((started, int(entry.name)))
        except (OSError, ValueError, IndexError):
            continue
    return min(nodes)[1] if nodes else None


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
    if not isinstance(values, tuple) or len(values) != 4:
        raise RuntimeError(f"the {what} is not a report: {values!r}")
    return Report(*(float(value) for value in values))


def run_round(side: Side, jobs: tuple[Job, Job], store_pid: int | None) -> Round:
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
            expect(parent_end, processes, f"{side} {job.role} ready", START_DEADLINE_S)
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
        side=side,
        prefetch=producer_job.settings.prefetch,
        messages=producer_job.messages,
        seconds=consumed.finished - produced.started,
        publish_seconds=produced.finished - produced.started,
        producer_cpu=produced.cpu_seconds,
        consumer_cpu=consumed.cpu_seconds,
        store_cpu=store_used,
        broker_cpu=broker_used,
        inbox_round_trips=consumed.inbox_round_trips,
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
    await drop_consumer_database(settings)


async def drop_consumer_database(settings: ServiceSettings) -> None:
    """Drop the database of a round's consumer (its inbox)."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    try:
        await client.drop_database(settings.database_name(CONSUMER))
    finally:
        await client.close()


def raw_queue(settings: ServiceSettings) -> tuple[str, str]:
    """The queue and exchange of a round on the raw topology (raw aio-pika, FastStream)."""
    return f"{settings.bus_namespace}.raw", f"{settings.bus_namespace}.raw.events"


def raw_round(
    settings: ServiceSettings, messages: int, store_pid: int | None, *, dedupe: bool = False
) -> Round:
    """One raw aio-pika round in its own queue; with `dedupe`, the consumer deduplicates by
    hand against an inbox collection in its own database (deleted afterwards)."""
    kind: Kind = "raw_dedupe" if dedupe else "raw"
    queue, exchange = raw_queue(settings)
    asyncio.run(declare_raw(settings, queue, exchange))
    try:
        jobs = tuple(Job(kind, role, messages, settings, queue, exchange) for role in ROLES)
        return run_round(kind, (jobs[0], jobs[1]), store_pid)
    finally:
        asyncio.run(delete_raw(settings, queue, exchange))
        if dedupe:
            asyncio.run(drop_consumer_database(settings))


def servicekit_round(
    settings: ServiceSettings,
    messages: int,
    store_pid: int | None,
    *,
    idempotent: bool = False,
    profile_dir: Path | None = None,
) -> Round:
    """One servicekit round in its own namespace (the consumer service declares its queue).

    With `idempotent`, the handler is registered with `idempotent=True`: no inbox."""
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
            idempotent=idempotent,
        )
        for role in ROLES
    )
    try:
        return run_round(
            "idempotent" if idempotent else "servicekit", (jobs[0], jobs[1]), store_pid
        )
    finally:
        asyncio.run(delete_servicekit(settings))
