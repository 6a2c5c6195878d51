"""FastStream's side of the bus benchmark: the peer, run with `.venv/bench-tools/bin/python`.

FastStream is not a dependency of the platform: it lives in its own virtualenv
(deploy/bench-tools.txt), so its aio-pika cannot clash with ours, and this script imports
only FastStream (with pydantic, which FastStream itself uses) and the standard library.

`deploy/bench_bus.py` starts one consumer and one producer per round on a queue it declared
(a quorum queue bound to a topic exchange, as for raw aio-pika) and talks to them over
stdin/stdout, one line at a time: the script prints `ready` once connected, the producer
then waits for a `go` line, and each prints its report as one JSON line
(`started`, `finished`: CLOCK_MONOTONIC, which every process shares; `cpu_seconds`).

FastStream's best case for this workload, all from its own API:
- publishing: a `broker.publisher(exchange, routing_key, persist=True, mandatory=True)` object
  (about 8% less CPU a message than `broker.publish`, measured) on the default channel with
  publisher confirms (`Channel(publisher_confirms=True, on_return_raises=True)`). FastStream
  has no batch publish for RabbitMQ, so windows of publishes are gathered and their confirms
  awaited together, as servicekit and raw do;
- consuming: `broker.subscriber(RabbitQueue(..., declare=False))` with a pydantic model as the
  body (validated by FastStream) and `AckPolicy.ACK`: FastStream acks once the handler has
  returned (cheaper than `AckPolicy.MANUAL` with `await message.ack()` in the handler, measured).
  The handler counts, so the last count comes just before FastStream's last ack. The prefetch
  is set on the channel;
- `logger=None`: FastStream's default logs two lines per message at INFO.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas import Channel
from pydantic import BaseModel

MESSAGE_TYPE = "bench.pinged.v1"


class Pinged(BaseModel):
    """The benchmark's event: the same fields as bench_bus.py's `BenchPinged`."""

    key: str
    n: int
    note: str = "a small payload, about the size of a domain event's"


def say(line: str) -> None:
    """One line to the parent."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def report(started: float, finished: float, cpu_seconds: float) -> None:
    """The last line: what this process did, as JSON."""
    say(json.dumps({"started": started, "finished": finished, "cpu_seconds": cpu_seconds}))


async def consume(args: argparse.Namespace) -> None:
    """Consume `args.messages` messages, acking each after its handler, then report."""
    broker = RabbitBroker(
        args.amqp_url, default_channel=Channel(prefetch_count=args.prefetch), logger=None
    )
    reached = asyncio.Event()
    count = 0

    @broker.subscriber(
        RabbitQueue(args.queue, queue_type=QueueType.QUORUM, declare=False),
        ack_policy=AckPolicy.ACK,
        no_reply=True,
    )
    async def on_pinged(body: Pinged) -> None:
        nonlocal count
        count += 1
        if count >= args.messages:
            reached.set()

    async with broker:
        await broker.start()
        say("ready")
        cpu = time.process_time()
        await reached.wait()
        report(0.0, time.monotonic(), time.process_time() - cpu)


async def produce(args: argparse.Namespace) -> None:
    """Publish `args.messages` persistent, mandatory messages with confirms, in windows."""
    broker = RabbitBroker(
        args.amqp_url,
        default_channel=Channel(publisher_confirms=True, on_return_raises=True),
        logger=None,
    )
    publisher = broker.publisher(
        exchange=RabbitExchange(args.exchange, type=ExchangeType.TOPIC, declare=False),
        routing_key=MESSAGE_TYPE,
        persist=True,
        mandatory=True,
        message_type=MESSAGE_TYPE,
    )
    async with broker:
        await broker.start()
        say("ready")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu, started = time.process_time(), time.monotonic()
        for start in range(0, args.messages, args.window):
            end = min(start + args.window, args.messages)
            confirms: list[Any] = await asyncio.gather(
                *(publisher.publish(Pinged(key="k", n=n)) for n in range(start, end))
            )
            if not all(confirms):
                raise RuntimeError("a publish was not confirmed")
        report(started, time.monotonic(), time.process_time() - cpu)


def main(argv: list[str] | None = None) -> int:
    """Run one side of one FastStream round."""
    parser = argparse.ArgumentParser(description="FastStream's side of bench_bus.py")
    parser.add_argument("role", choices=["producer", "consumer"])
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--prefetch", type=int, default=32)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args(argv)
    asyncio.run(consume(args) if args.role == "consumer" else produce(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
