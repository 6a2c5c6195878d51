"""Erasure requests end to end across every service, beside the bus ceiling of the same run.

`make bench` runs it after the log-ingest benchmark. It starts accounts, provisioning, logs
and privacy (and the provider simulator, at zero latency and faults) as real processes in a
bus namespace of their own, against RabbitMQ (started if it is local and down) and an
embedded store server (nx-27017 unless $STORE_SERVER says ferretdb; $MONGO_URL if set). It
seeds one subject per erasure to come (`bench_privacy_seed`: a contact in accounts, an order
in provisioning, log records in logs, each through the service's own path), then erases
them with `privacy.submit_request.v1` (ops channel, by email) over request/reply, timing
each from the submit until `privacy.request_closed.v1` for it arrives (`bench_privacy_load`):

- one at a time: `--single` erasures (after `--warmup` uncounted ones), p50 and p99, and the
  median of each stage (submit round trip, each service's task, closing);
- at once: each size of `--burst` submitted together, the wall time until the last closed;
- flatness: the logs store is filled with other subjects' records up to each size of
  `--log-records` (`bench_privacy_logs`), and `--flat-erasures` subjects are erased one at a
  time at each size; the ratio of the largest size's median to the smallest's.

Every request must end `completed`: any other end, a failed submit or a request that does
not close counts as an error and makes the exit code 1. Then, with the platform idle, one raw
aio-pika and one servicekit round of `bench_bus` give the bus ceiling. Progress goes to
stderr, the report (or `--json`) to stdout; everything started is stopped and the namespace's
queues, exchanges and databases removed, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import pstats
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import aio_pika
from bench_bus import load_average
from bench_orders import bus_ceiling, simulator_env, store
from bench_orders_load import say
from bench_privacy_commands import Counted, prepare
from bench_privacy_load import CLIENT, Client, running_client
from bench_privacy_logs import OtherLogs
from bench_privacy_seed import LOG_RECORDS_PER_SUBJECT, seed_subjects, settle
from bench_privacy_stats import (
    burst_summary,
    cpu_ms_per_erasure,
    cpu_seconds,
    flat_level,
    flat_summary,
    render,
    single_summary,
)
from devstack.rabbitmq import amqp_url_from_env, ensure_rabbitmq
from platform_procs import LocalPlatform, interrupts_as_errors, source_path
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from servicekit.logging import configure_logging
from servicekit.topology import Topology

SERVICES = ("accounts", "provisioning", "logs", "privacy")
DATA_OWNERS = ("accounts", "provisioning", "logs")
SEEDED = ("provisioning",)
"""The catalogue the orders buy from."""


async def owners_registered(platform: LocalPlatform) -> None:
    """Wait until privacy holds every data owner's inventory and receipt key."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(platform.mongo_url)
    db = client[f"{platform.namespace}_privacy"]

    async def registered() -> bool:
        inventories = {doc["_id"] async for doc in db["inventory_registry"].find({})}
        keys = {doc["service"] async for doc in db["receipt_keys"].find({})}
        return inventories >= set(DATA_OWNERS) and keys >= set(DATA_OWNERS)

    try:
        await settle(registered, "every data owner registered with privacy")
    finally:
        await client.close()


def subjects_needed(args: argparse.Namespace) -> int:
    """One subject per erasure of the run."""
    flat = args.flat_erasures * len(args.log_records)
    return int(args.warmup + args.single + sum(args.burst) + flat)


class Emails:
    """The seeded subjects' emails, each handed out once."""

    def __init__(self, emails: list[str]) -> None:
        self._left = list(emails)

    def take(self, count: int) -> list[str]:
        """The next `count` emails."""
        taken, self._left = self._left[:count], self._left[count:]
        return taken


async def erase_all(
    platform: LocalPlatform, client: Client, args: argparse.Namespace, pids: dict[str, int]
) -> Any:
    """Seed, then every phase; the phases' summaries (with the CPU time each process of
    `pids` spent per erasure, and each service's store commands per erasure)."""
    counted = Counted(platform.logs_dir.parent / "commands", pids, SERVICES)
    seeded = await seed_subjects(platform, client.bus, subjects_needed(args), secrets.token_hex(3))
    emails = Emails(seeded.emails)
    if args.warmup:
        say(f"warm-up: {args.warmup} erasures one at a time")
        await client.one_at_a_time(emails.take(args.warmup))
    say(f"one at a time: {args.single} erasures")
    await counted.start()
    cpu_before = cpu_seconds(pids)
    single = await client.one_at_a_time(emails.take(args.single))
    single_cpu = cpu_ms_per_erasure(cpu_before, cpu_seconds(pids), len(single))
    single_commands = await counted.per_erasure(len(single))
    result: dict[str, Any] = {
        "seeded": {
            "subjects": len(seeded.emails),
            "log_records_each": LOG_RECORDS_PER_SUBJECT,
            "seconds": seeded.seconds,
        },
        "single": {
            **single_summary(single, await client.views(single)),
            "cpu_ms_per_erasure": single_cpu,
            "commands_per_erasure": single_commands,
        },
        "bursts": [],
    }
    for size in args.burst:
        say(f"at once: {size} erasures")
        await counted.start()
        cpu_before = cpu_seconds(pids)
        erasures, wall = await client.at_once(emails.take(size))
        burst_cpu = cpu_ms_per_erasure(cpu_before, cpu_seconds(pids), size)
        result["bursts"].append(
            {
                **burst_summary(size, erasures, wall),
                "cpu_ms_per_erasure": burst_cpu,
                "commands_per_erasure": await counted.per_erasure(size),
            }
        )
        say(f"  the last closed after {wall:.2f} s")
    result["flatness"] = await flatness(platform, client, emails, args)
    return result


async def flatness(
    platform: LocalPlatform, client: Client, emails: Emails, args: argparse.Namespace
) -> dict[str, Any]:
    """Erasing single subjects with the logs store filled up to each size."""
    other = OtherLogs(platform, args.seed)
    levels = []
    try:
        for target in args.log_records:
            say(f"filling the logs store up to {target} records")
            held = await other.fill_to(target)
            say(f"erasing {args.flat_erasures} subjects beside {held} log records")
            erasures = await client.one_at_a_time(emails.take(args.flat_erasures))
            level = flat_level(target, held, erasures, await client.views(erasures))
            say(f"  median {level['median_s']} s, logs task {level['logs_task_median_s']} s")
            levels.append(level)
    except PyMongoError as failure:  # the phases before keep their figures
        say(f"flatness phase stopped: {failure!r}")
        return {**flat_summary(levels), "failure": repr(failure)[:300]}
    finally:
        await other.close()
    return flat_summary(levels)


async def measure(platform: LocalPlatform, args: argparse.Namespace, pids: dict[str, int]) -> Any:
    """The client's whole run; its queues removed after it."""
    await owners_registered(platform)
    try:
        async with running_client(args.amqp_url, platform.mongo_url, platform.namespace) as client:
            return await erase_all(platform, client, args, pids)
    finally:
        await remove_client_queues(platform)


async def remove_client_queues(platform: LocalPlatform) -> None:
    """Delete the bench client's queues (the platform removes the services' and exchanges)."""
    topology = Topology(platform.namespace)
    queue = topology.service_queue(CLIENT)
    names = [
        queue,
        topology.dead_letter_queue(queue),
        topology.query_queue(CLIENT),
        topology.dead_letter_queue(topology.broadcast_group(CLIENT)),
        *(topology.retry_queue(queue, delay) for delay in platform.retry_delays()),
    ]
    connection = await aio_pika.connect(platform.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name, if_unused=False, if_empty=False)


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Start everything, measure, stop everything; the result as a dict."""
    configure_logging("bench", "warning", "json", stream=sys.stderr)
    say(ensure_rabbitmq(args.amqp_url, say=say))
    load_before = load_average()
    with store(data_dir / "store") as (mongo_url, store_pid, described):
        say(f"store: {described}")
        (data_dir / "logs").mkdir()
        profiled = [args.profile] if args.profile else []
        counting = prepare(data_dir / "commands")
        extra = {
            "LOG_LEVEL": args.log_level,
            "PYTHONPATH": os.pathsep.join([str(data_dir / "commands"), source_path()]),
            **counting,
        }
        with LocalPlatform(
            args.amqp_url, mongo_url, data_dir / "logs", extra_env=extra, profiled=profiled
        ) as platform:
            say(f"namespace {platform.namespace}: seeding, starting {', '.join(SERVICES)}")
            for service in SEEDED:
                platform.seed(service)
            platform.start(SERVICES, simulator_env=simulator_env(subjects_needed(args)))
            platform.wait_ready()
            pids = {**platform.pids(), **({"store": store_pid} if store_pid else {})}
            result = asyncio.run(measure(platform, args, pids))
            result["bus_ceiling"] = (
                None
                if args.skip_ceiling
                else bus_ceiling(args, mongo_url, store_pid, platform.namespace)
            )
            namespace = platform.namespace
        if args.profile:
            result["profiled"] = args.profile
            result["profile"] = profile_text(platform.profile_path(args.profile), args.profile_top)
    return {
        **result,
        "errors": errors_of(result),
        "services": list(SERVICES),
        "namespace": namespace,
        "store": described,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
    }


def profile_text(path: Path, top: int) -> str:
    """The `top` functions by own time, then the platform's own functions (`services/`) by
    calls: coroutines' times in cProfile are only while they run, their calls count every
    store round trip and every retry."""
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("ncalls").print_stats("/services/", top)
    stats.sort_stats("ncalls").print_stats("_run_command|insert_one|find_one|_next_entry", top)
    return out.getvalue()


def errors_of(result: dict[str, Any]) -> int:
    """Counted requests that did not end `completed` (the warm-up is not counted)."""
    bursts = sum(burst["errors"] for burst in result["bursts"])
    flatness = result["flatness"]
    flat = sum(level["errors"] for level in flatness["levels"]) + ("failure" in flatness)
    return int(result["single"]["errors"] + bursts + flat)


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def sizes(text: str) -> list[int]:
    """An argparse type: positive integers separated by commas."""
    return [positive(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--single", type=positive, default=50, help="erasures one at a time")
    parser.add_argument("--warmup", type=int, default=5, help="uncounted erasures first")
    parser.add_argument("--burst", type=sizes, default=[100, 1000], help="sizes, e.g. 100,1000")
    parser.add_argument(
        "--log-records", type=sizes, default=[10_000, 1_000_000], help="logs store sizes"
    )
    parser.add_argument("--flat-erasures", type=positive, default=3, help="at each size")
    parser.add_argument("--bus-messages", type=positive, default=5000, help="per ceiling round")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument(
        "--profile", choices=SERVICES, help="run this service under cProfile (slows it)"
    )
    parser.add_argument("--profile-top", type=positive, default=30)
    parser.add_argument(
        "--skip-ceiling", action="store_true", help="no bus ceiling round (profiling runs)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 if any counted request did not complete."""
    args = parse_args(argv)
    try:
        with (
            interrupts_as_errors(),
            tempfile.TemporaryDirectory(prefix="bench-privacy-") as data_dir,
        ):
            result = bench(args, Path(data_dir))
    except KeyboardInterrupt:
        say("interrupted: everything started was stopped and its namespace removed")
        return 130
    print(json.dumps(result, indent=2) if args.json else render(result), flush=True)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
